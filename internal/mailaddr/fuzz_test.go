package mailaddr

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

var reasons = []error{
	ErrRequired, ErrInvalid, ErrInvalidUTF8, ErrTooLong, ErrWhitespace, ErrControl,
	ErrInvisible, ErrPrivateUse, ErrUnassigned, ErrCharacter, ErrCompatibility,
	ErrMixedScript, ErrDirection, ErrAddressLiteral, ErrDomain, ErrReservedDomain,
}

// FuzzCanonical checks, for any input: no panic; a refusal is an *Error
// carrying one of the package's reasons and showing nothing else; an
// accepted form is valid UTF-8, within the lengths, free of every refused
// class, lower case, NFC and NFKC stable, has an ASCII domain, and is its
// own canonical form; and for ASCII input it is what the previous check
// stored. Run it with
//
//	go test ./internal/mailaddr -run '^$' -fuzz FuzzCanonical -fuzztime 3m
func FuzzCanonical(f *testing.F) {
	for _, tc := range cases(f) {
		f.Add(tc.in)
	}
	for _, s := range []string{
		"Jörg.Müller+news@Bücher.example.de", "ǅemal@example.com", "ΣΊΣΥΦΟΣ@example.gr",
		"Ꭰ@example.com", "ᲐᲑᲒ@example.ge", "ǰ@example.com", "ﬀ@example.com", "a@xn--80ak6aa92e.com",
		"a@ß.com", "a@ẞ.com", "\u1e9e@example.de", "İ@example.com", "a@i\u0307.com", "x@\u3002\u3002",
		"a\u0345@example.com", "\u1f88@example.gr", "a@xn--.com", "a@xn---.com", "a@[::ffff:127.0.0.1]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Canonical(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Canonical(%q): error %T is not an *Error", s, err)
			}
			known := false
			for _, r := range reasons {
				known = known || e.Reason == r
			}
			if !known || err.Error() != e.Reason.Error() {
				t.Fatalf("Canonical(%q): error %q is not one of the public reasons", s, err)
			}
			if got != "" {
				t.Fatalf("Canonical(%q) returned %q with its error", s, got)
			}
			return
		}
		checkCanonicalForm(t, s, got)
		again, err := Canonical(got)
		if err != nil || again != got {
			t.Fatalf("Canonical(%q) = %q, but Canonical(%q) = %q, %v", s, got, got, again, err)
		}
		if isASCII(s) {
			if want := strings.ToLower(strings.TrimSpace(s)); got != want {
				t.Fatalf("ASCII Canonical(%q) = %q, want %q", s, got, want)
			}
			if old, ok := oldNormalize(s); !ok || old != got {
				t.Fatalf("ASCII Canonical(%q) = %q accepted what the previous check refused (%q, %v)", s, got, old, ok)
			}
		}
	})
}

// checkCanonicalForm asserts that out carries none of the refused classes.
func checkCanonicalForm(t *testing.T, in, out string) {
	t.Helper()
	fail := func(why string) { t.Fatalf("Canonical(%q) = %q: %s", in, out, why) }
	if !utf8.ValidString(out) {
		fail("invalid UTF-8")
	}
	if len(out) > MaxLength {
		fail("longer than 254 bytes")
	}
	if strings.Count(out, "@") != 1 {
		fail("not exactly one @")
	}
	local, domain, _ := strings.Cut(out, "@")
	if local == "" || len(local) > MaxLocalLength {
		fail("local part empty or longer than 64 bytes")
	}
	if strings.ToLower(out) != out || strings.TrimSpace(out) != out {
		fail("not lower case and trimmed")
	}
	if !norm.NFC.IsNormalString(out) || !norm.NFKC.IsNormalString(out) {
		fail("not NFC and NFKC stable")
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		fail("local part is not a dot-atom")
	}
	for _, r := range local {
		switch {
		case r < utf8.RuneSelf && !atext(byte(r)) && r != '.':
			fail("ASCII outside atext in the local part")
		case r >= utf8.RuneSelf && !unicode.In(r, unicode.L, unicode.Mn, unicode.Mc, unicode.Nd):
			fail("non-ASCII character outside letters, marks and digits")
		case unicode.In(r, unicode.White_Space, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs,
			unicode.Bidi_Control, unicode.Join_Control, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point):
			fail("space, control, invisible or private-use character")
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		fail("single-label domain")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			fail("bad domain label")
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				fail("domain is not lower-case ASCII letters, digits and hyphens")
			}
		}
	}
	if ipLike(labels) || reservedTLDs[labels[len(labels)-1]] {
		fail("IP-like or reserved domain")
	}
}
