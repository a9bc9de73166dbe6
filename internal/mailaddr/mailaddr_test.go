package mailaddr

import (
	"errors"
	"net/mail"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/net/idna"
)

// punycode encodes s label by label without any validation, to build
// A-labels that smuggle characters the Unicode spelling may not carry.
func punycode(t testing.TB, s string) string {
	t.Helper()
	a, err := idna.Punycode.ToASCII(s)
	if err != nil {
		t.Fatalf("punycode %q: %v", s, err)
	}
	return a
}

type testCase struct {
	name string
	in   string
	want string // canonical form; "" when refused
	err  error  // the reason when refused
}

// cases covers every class of the policy: ordinary addresses that must keep
// working and, for each refused class, at least one input.
func cases(t testing.TB) []testCase {
	return []testCase{
		// Ordinary addresses, ASCII: exactly strings.ToLower(strings.TrimSpace(s)).
		{name: "ascii plain", in: "a@example.com", want: "a@example.com"},
		{name: "ascii case and outer space", in: "  Alice.Smith@Example.COM \r\n", want: "alice.smith@example.com"},
		{name: "ascii apostrophe", in: "o'brien@example.ie", want: "o'brien@example.ie"},
		{name: "ascii subaddress kept", in: "a+tag@example.com", want: "a+tag@example.com"},
		{name: "ascii dots and subdomains", in: "first.last@sub.example.co.uk", want: "first.last@sub.example.co.uk"},
		{name: "ascii every atext character", in: "!#$%&'*+-/=?^_`{|}~@example.com", want: "!#$%&'*+-/=?^_`{|}~@example.com"},
		{name: "ascii digits in labels", in: "1@1.2.3.example.com", want: "1@1.2.3.example.com"},
		{name: "ascii hyphenated label", in: "a@my-mail.example.com", want: "a@my-mail.example.com"},
		{name: "ascii hyphens inside a label", in: "a@a--b.com", want: "a@a--b.com"},
		{name: "ascii local part of 64", in: strings.Repeat("a", 64) + "@example.com", want: strings.Repeat("a", 64) + "@example.com"},
		{name: "ascii total of 254", in: strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".com", want: strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".com"},
		{name: "ascii punycode domain upper case", in: "JÖRG@XN--BCHER-KVA.DE", want: "jörg@xn--bcher-kva.de"},

		// Ordinary international addresses.
		{name: "german umlauts", in: "jörg@bücher.de", want: "jörg@xn--bcher-kva.de"},
		{name: "german upper case", in: "Jörg@BÜCHER.DE", want: "jörg@xn--bcher-kva.de"},
		{name: "german decomposed", in: "jo\u0308rg@bu\u0308cher.de", want: "jörg@xn--bcher-kva.de"},
		{name: "chinese", in: "用户@例子.广告", want: "用户@xn--fsqu00a.xn--4rr70v"},
		{name: "chinese ideographic full stop", in: "用户@例子。广告", want: "用户@xn--fsqu00a.xn--4rr70v"},
		{name: "chinese punycode", in: "用户@XN--FSQU00A.XN--4RR70V", want: "用户@xn--fsqu00a.xn--4rr70v"},
		{name: "spanish precomposed", in: "josé@example.com", want: "josé@example.com"},
		{name: "spanish decomposed", in: "jose\u0301@example.com", want: "josé@example.com"},
		{name: "spanish upper case", in: "JOSÉ@EXAMPLE.COM", want: "josé@example.com"},
		{name: "russian", in: "Почта@пример.рф", want: "почта@xn--e1afmkfd.xn--p1ai"},
		{name: "greek", in: "δοκιμή@παράδειγμα.δοκιμή", want: "δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp"},
		{name: "japanese with prolonged sound mark", in: "メール@例え.jp", want: "メール@xn--r8jz45g.jp"},
		{name: "japanese with latin", in: "taro.山田@example.jp", want: "taro.山田@example.jp"},
		{name: "arabic", in: "محمد@example.com", want: "محمد@example.com"},
		{name: "hindi", in: "उपयोगकर्ता@उदाहरण.भारत", want: "उपयोगकर्ता@xn--p1b6ci4b4b3a.xn--h2brj9c"},
		{name: "turkish dotless i", in: "ılgın@example.com.tr", want: "ılgın@example.com.tr"},
		{name: "sharp s domain is not fass", in: "a@faß.de", want: "a@xn--fa-hia.de"},
		{name: "fass stays fass", in: "a@FASS.DE", want: "a@fass.de"},
		{name: "capital sharp s domain is sharp s", in: "a@STRA\u1e9eE.DE", want: "a@xn--strae-oqa.de"},
		{name: "capital sharp s local part", in: "STRA\u1e9eE@example.de", want: "straße@example.de"},
		{name: "ohm sign is omega by NFC", in: "\u2126μέγα@example.gr", want: "ωμέγα@example.gr"},
		{name: "cjk compatibility ideograph by NFC", in: "\uf900@example.com", want: "\u8c48@example.com"},

		{name: "required empty", in: "", err: ErrRequired},
		{name: "required spaces", in: " \t\n", err: ErrRequired},

		{name: "invalid utf-8 byte", in: "a\xff@example.com", err: ErrInvalidUTF8},
		{name: "invalid utf-8 overlong", in: "\xc0\xaf@example.com", err: ErrInvalidUTF8},
		{name: "invalid utf-8 surrogate", in: "a\xed\xa0\x80@example.com", err: ErrInvalidUTF8},
		{name: "invalid utf-8 truncated", in: "j\xc3@example.com", err: ErrInvalidUTF8},
		{name: "invalid utf-8 in domain", in: "a@b\xfc.de", err: ErrInvalidUTF8},
		{name: "invalid utf-8 replaced by a json decoder", in: "a\ufffd@example.com", err: ErrInvalidUTF8},
		{name: "hangul", in: "사용자@예시.한국", want: "사용자@xn--vv4b11d.xn--3e0b707e"},
		{name: "thai with marks", in: "ทดสอบ@example.th", want: "ทดสอบ@example.th"},

		{name: "too long input", in: strings.Repeat("a", 2000) + "@example.com", err: ErrTooLong},
		{name: "too long local part", in: strings.Repeat("a", 65) + "@example.com", err: ErrTooLong},
		{name: "too long local part in octets", in: strings.Repeat("ö", 33) + "@example.com", err: ErrTooLong},
		{name: "too long total", in: strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".com", err: ErrTooLong},
		{name: "too long domain label", in: "a@" + strings.Repeat("b", 64) + ".com", err: ErrDomain},

		{name: "whitespace space", in: "a b@example.com", err: ErrWhitespace},
		{name: "whitespace tab", in: "a\tb@example.com", err: ErrWhitespace},
		{name: "whitespace in domain", in: "a@exa mple.com", err: ErrWhitespace},
		{name: "whitespace no-break space", in: "a\u00a0b@example.com", err: ErrWhitespace},
		{name: "whitespace ideographic space", in: "用\u3000户@example.com", err: ErrWhitespace},
		{name: "whitespace next line", in: "a\u0085b@example.com", err: ErrWhitespace},
		{name: "whitespace display name", in: "Alice <a@example.com>", err: ErrWhitespace},

		{name: "control nul", in: "a\x00b@example.com", err: ErrControl},
		{name: "control escape", in: "a\x1b[31m@example.com", err: ErrControl},
		{name: "control delete", in: "a\x7f@example.com", err: ErrControl},
		{name: "control c1", in: "a\u0080b@example.com", err: ErrControl},

		{name: "format zero width space", in: "ad\u200bmin@example.com", err: ErrInvisible},
		{name: "format zero width joiner", in: "ad\u200dmin@example.com", err: ErrInvisible},
		{name: "format zero width non-joiner in domain", in: "a@exam\u200cple.com", err: ErrInvisible},
		{name: "format soft hyphen", in: "a@exa\u00admple.com", err: ErrInvisible},
		{name: "format byte order mark", in: "\ufeffa@example.com", err: ErrInvisible},
		{name: "format word joiner", in: "a\u2060b@example.com", err: ErrInvisible},
		{name: "format tag character", in: "a\U000e0041@example.com", err: ErrInvisible},
		{name: "invisible variation selector", in: "a\ufe0f@example.com", err: ErrInvisible},
		{name: "invisible combining grapheme joiner", in: "a\u034fb@example.com", err: ErrInvisible},
		{name: "invisible hangul filler", in: "\u115f@example.com", err: ErrInvisible},
		{name: "bidi right-to-left override", in: "moc.elpmaxe\u202e@example.com", err: ErrInvisible},
		{name: "bidi right-to-left mark", in: "a\u200f@example.com", err: ErrInvisible},
		{name: "bidi isolate", in: "a\u2066b\u2069@example.com", err: ErrInvisible},
		{name: "bidi arabic letter mark", in: "a@\u061cexample.com", err: ErrInvisible},

		{name: "private use", in: "a\ue000@example.com", err: ErrPrivateUse},
		{name: "private use plane 15", in: "a@b\U000f0000.com", err: ErrPrivateUse},
		{name: "unassigned", in: "a\u0378@example.com", err: ErrUnassigned},
		{name: "unassigned noncharacter", in: "a\ufdd0@example.com", err: ErrUnassigned},
		{name: "unassigned plane 16 noncharacter", in: "a\U0010ffff@example.com", err: ErrUnassigned},

		{name: "compatibility fullwidth local part", in: "ａｄｍｉｎ@example.com", err: ErrCompatibility},
		{name: "compatibility fullwidth domain", in: "a@ｅｘａｍｐｌｅ.com", err: ErrCompatibility},
		{name: "compatibility fullwidth at", in: "a＠example.com", err: ErrCompatibility},
		{name: "compatibility fullwidth dot", in: "a@example．com", err: ErrCompatibility},
		{name: "compatibility halfwidth katakana", in: "ﾒｰﾙ@example.jp", err: ErrCompatibility},
		{name: "compatibility ligature", in: "\ufb01le@example.com", err: ErrCompatibility},
		{name: "compatibility superscript", in: "a\u00b2@example.com", err: ErrCompatibility},
		{name: "compatibility circled letter", in: "\u24d0@example.com", err: ErrCompatibility},
		{name: "compatibility mathematical bold", in: "\U0001d41a@example.com", err: ErrCompatibility},
		{name: "compatibility modifier letter h", in: "a\u02b0@example.com", err: ErrCompatibility},
		{name: "compatibility kelvin sign folds to k", in: "\u212aate@example.com", err: ErrCompatibility},
		{name: "compatibility kelvin sign in domain", in: "a@\u212aelvin.com", err: ErrCompatibility},
		{name: "compatibility dotted capital i lowers to ascii", in: "\u0130stanbul@example.com", err: ErrCompatibility},
		{name: "compatibility long s", in: "\u017fam@example.com", err: ErrCompatibility},
		{name: "compatibility greek question mark", in: "a\u037e@example.com", err: ErrCompatibility},
		{name: "look-alike dot above on i", in: "admi\u0307n@example.com", err: ErrCompatibility},
		{name: "look-alike dot above on j", in: "\u0307j@example.com", err: ErrInvalid},
		{name: "look-alike dot above on j inside", in: "aj\u0307@example.com", err: ErrCompatibility},
		{name: "look-alike dot above on cyrillic i", in: "\u0456\u0307@example.ru", err: ErrCompatibility},
		{name: "look-alike dot above on i in domain", in: "a@exami\u0307ple.com", err: ErrCompatibility},
		{name: "look-alike dot above on i in punycode", in: "a@" + punycode(t, "exami\u0307ple") + ".com", err: ErrCompatibility},
		{name: "look-alike same mark twice", in: "e\u0301\u0301@example.com", err: ErrCompatibility},
		{name: "look-alike same mark twice after a precomposed one", in: "\u00e4\u0308@example.com", err: ErrCompatibility},
		{name: "look-alike same mark twice in domain", in: "a@exa\u0323\u0323mple.com", err: ErrCompatibility},
		{name: "look-alike five marks on one letter", in: "a\u0300\u0301\u0302\u0303\u0304@example.com", err: ErrCompatibility},
		{name: "marks: four on one letter pass", in: "a\u0323\u0300\u0301\u0302@example.com", want: "\u1ea1\u0300\u0301\u0302@example.com"},
		{name: "marks: dot above on another letter passes", in: "\u017c\u00f3\u0142w@example.pl", want: "\u017c\u00f3\u0142w@example.pl"},
		{name: "case: final sigma is sigma", in: "\u03bf\u03b4\u03bf\u03c2@example.gr", want: "\u03bf\u03b4\u03bf\u03c3@example.gr"},
		{name: "case: capital sigma is sigma", in: "\u039f\u0394\u039f\u03a3@example.gr", want: "\u03bf\u03b4\u03bf\u03c3@example.gr"},
		{name: "case: cyrillic rounded ve is ve", in: "\u1c80\u0430@example.ru", want: "\u0432\u0430@example.ru"},
		{name: "case: dotless i stays", in: "\u0131l\u0131k@example.com.tr", want: "\u0131l\u0131k@example.com.tr"},

		{name: "symbol hyphen look-alike", in: "a\u2010b@example.com", err: ErrCharacter},
		{name: "symbol modifier apostrophe", in: "o\u02bcbrien@example.ie", err: ErrCharacter},
		{name: "symbol middle dot", in: "col\u00b7legi@example.cat", err: ErrCharacter},
		{name: "symbol emoji local part", in: "\U0001f4a9@example.com", err: ErrCharacter},
		{name: "symbol emoji domain", in: "a@\U0001f4a9.la", err: ErrCharacter},
		{name: "symbol emoji domain as punycode", in: "a@xn--ls8h.la", err: ErrCharacter},
		{name: "symbol ideographic full stop in local part", in: "用。户@example.com", err: ErrCharacter},
		{name: "symbol enclosing mark", in: "a\u20dd@example.com", err: ErrCharacter},

		{name: "mixed script cyrillic a in latin local part", in: "\u0430dmin@example.com", err: ErrMixedScript},
		{name: "mixed script cyrillic a in latin domain", in: "admin@p\u0430ypal.com", err: ErrMixedScript},
		{name: "mixed script smuggled by punycode", in: "admin@" + punycode(t, "p\u0430ypal") + ".com", err: ErrMixedScript},
		{name: "mixed script greek omicron", in: "g\u03bfogle@example.com", err: ErrMixedScript},
		{name: "mixed script latin and arabic", in: "ali.محمد@example.com", err: ErrMixedScript},
		{name: "direction digits before right-to-left", in: "123محمد@example.com", err: ErrDirection},
		{name: "direction hebrew after digit", in: "1\u05d0@example.com", err: ErrDirection},

		{name: "syntax no at", in: "a.example.com", err: ErrInvalid},
		{name: "syntax empty local part", in: "@example.com", err: ErrInvalid},
		{name: "syntax empty domain", in: "a@", err: ErrInvalid},
		{name: "syntax two ats", in: "a@b@example.com", err: ErrInvalid},
		{name: "syntax quoted local part", in: "\"ab\"@example.com", err: ErrInvalid},
		{name: "syntax quoted at", in: "\"a@b\"@example.com", err: ErrInvalid},
		{name: "syntax comment in local part", in: "a(comment)@example.com", err: ErrInvalid},
		{name: "syntax comment first", in: "(c)a@example.com", err: ErrInvalid},
		{name: "syntax comment in domain", in: "a@(c)example.com", err: ErrDomain},
		{name: "syntax angle brackets", in: "<a@example.com>", err: ErrInvalid},
		{name: "syntax leading dot", in: ".a@example.com", err: ErrInvalid},
		{name: "syntax trailing dot", in: "a.@example.com", err: ErrInvalid},
		{name: "syntax doubled dot", in: "a..b@example.com", err: ErrInvalid},
		{name: "syntax backslash", in: "a\\b@example.com", err: ErrInvalid},
		{name: "syntax comma", in: "a,b@example.com", err: ErrInvalid},
		{name: "syntax atom starts with a mark", in: "a.\u0301b@example.com", err: ErrInvalid},

		{name: "address literal ipv4", in: "user@[127.0.0.1]", err: ErrAddressLiteral},
		{name: "address literal private range", in: "user@[10.0.0.1]", err: ErrAddressLiteral},
		{name: "address literal ipv6", in: "user@[IPv6:::1]", err: ErrAddressLiteral},
		{name: "ip domain", in: "user@127.0.0.1", err: ErrAddressLiteral},
		{name: "ip domain ipv6", in: "user@::1", err: ErrAddressLiteral},
		{name: "ip domain short form", in: "user@127.1", err: ErrAddressLiteral},
		{name: "ip domain hexadecimal", in: "user@0x7f.1", err: ErrAddressLiteral},
		{name: "ip domain one number", in: "user@2130706433", err: ErrAddressLiteral},

		{name: "single label", in: "a@mailserver", err: ErrDomain},
		{name: "trailing dot", in: "a@example.com.", err: ErrDomain},
		{name: "trailing ideographic full stop", in: "用户@例子。", err: ErrDomain},
		{name: "leading dot", in: "a@.example.com", err: ErrDomain},
		{name: "empty label", in: "a@example..com", err: ErrDomain},
		{name: "numeric top-level label", in: "a@example.c0m", err: ErrDomain},
		{name: "one-letter top-level label", in: "a@example.c", err: ErrDomain},
		{name: "underscore in domain", in: "a@foo_bar.com", err: ErrDomain},
		{name: "hyphen first in label", in: "a@-foo.com", err: ErrDomain},
		{name: "hyphen last in label", in: "a@foo-.com", err: ErrDomain},
		{name: "hyphens in third and fourth position", in: "a@ab--cd.com", err: ErrDomain},
		{name: "malformed punycode", in: "a@xn--zz.com", err: ErrDomain},
		{name: "punycode of ascii", in: "a@xn--abc-.com", err: ErrDomain},
		{name: "punycode smuggling an invisible character", in: "a@" + punycode(t, "exa\u200bmple") + ".com", err: ErrDomain},
		{name: "punycode smuggling upper case", in: "a@" + punycode(t, "BÜCHER") + ".de", err: ErrDomain},
		{name: "domain bidi rule", in: "a@1\u05d0.com", err: ErrDomain},

		{name: "reserved localhost", in: "a@localhost", err: ErrReservedDomain},
		{name: "reserved localhost upper case", in: "a@LOCALHOST", err: ErrReservedDomain},
		{name: "reserved under localhost", in: "a@foo.localhost", err: ErrReservedDomain},
		{name: "reserved localdomain", in: "a@localhost.localdomain", err: ErrReservedDomain},
		{name: "reserved mdns", in: "a@printer.local", err: ErrReservedDomain},
		{name: "reserved internal", in: "a@mail.internal", err: ErrReservedDomain},
		{name: "reserved onion", in: "a@abc.onion", err: ErrReservedDomain},
		{name: "reserved invalid", in: "a@x.invalid", err: ErrReservedDomain},
		{name: "reserved test", in: "a@x.test", err: ErrReservedDomain},
		{name: "reserved example", in: "a@my-mail.example", err: ErrReservedDomain},
		{name: "reserved reverse dns", in: "a@1.0.0.127.in-addr.arpa", err: ErrReservedDomain},
		{name: "reserved home network", in: "a@router.home.arpa", err: ErrReservedDomain},
	}
}

func TestCanonical(t *testing.T) {
	for _, tc := range cases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Canonical(tc.in)
			if tc.err != nil {
				if err == nil {
					t.Fatalf("Canonical(%q) = %q, want refusal %q", tc.in, got, tc.err)
				}
				if !errors.Is(err, tc.err) {
					t.Errorf("Canonical(%q) refused with %q, want %q", tc.in, err, tc.err)
				}
				if got != "" {
					t.Errorf("Canonical(%q) returned %q with its error", tc.in, got)
				}
				var e *Error
				if !errors.As(err, &e) || err.Error() != e.Reason.Error() {
					t.Errorf("error %v is not an *Error showing only its reason", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Canonical(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("Canonical(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again, err := Canonical(got); err != nil || again != got {
				t.Errorf("Canonical(%q) = %q, %v; not idempotent", got, again, err)
			}
		})
	}
}

// oldNormalize is the check the handlers used before this package, kept to
// prove that no ASCII address it stored changes.
func oldNormalize(s string) (string, bool) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" {
		return "", false
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || len(e) > 254 || !strings.Contains(e[strings.LastIndexByte(e, '@'):], ".") {
		return "", false
	}
	return e, true
}

func TestASCIIUnchanged(t *testing.T) {
	for _, tc := range cases(t) {
		if tc.err != nil || !isASCII(tc.in) {
			continue
		}
		old, ok := oldNormalize(tc.in)
		if !ok || old != tc.want {
			t.Errorf("%s: the previous check gave %q, %v for %q, want %q", tc.name, old, ok, tc.in, tc.want)
		}
	}
}

func TestSameMailboxSameForm(t *testing.T) {
	groups := [][]string{
		{"jörg@bücher.de", "JÖRG@XN--BCHER-KVA.DE", "Jörg@Bücher.De", "jo\u0308rg@bu\u0308cher.de", " jörg@xn--bcher-kva.de "},
		{"用户@例子.广告", "用户@例子。广告", "用户@XN--FSQU00A.xn--4rr70v"},
		{"josé@example.com", "JOSÉ@EXAMPLE.COM", "jose\u0301@example.com", "JOSE\u0301@example.com"},
		{"почта@пример.рф", "ПОЧТА@ПРИМЕР.РФ", "почта@xn--e1afmkfd.xn--p1ai"},
		{"a@example.com", "A@EXAMPLE.COM", "\ta@Example.Com\n"},
	}
	for _, g := range groups {
		want, err := Canonical(g[0])
		if err != nil {
			t.Errorf("Canonical(%q): %v", g[0], err)
			continue
		}
		for _, s := range g[1:] {
			if got, err := Canonical(s); err != nil || got != want {
				t.Errorf("Canonical(%q) = %q, %v; want %q like %q", s, got, err, want, g[0])
			}
		}
	}
	distinct := [][2]string{
		{"a@faß.de", "a@fass.de"},
		{"ılgın@example.com", "ilgin@example.com"},
		{"a+tag@example.com", "a@example.com"},
	}
	for _, d := range distinct {
		x, err1 := Canonical(d[0])
		y, err2 := Canonical(d[1])
		if err1 != nil || err2 != nil || x == y {
			t.Errorf("Canonical(%q) = %q, %v and Canonical(%q) = %q, %v; want two accepted, different forms", d[0], x, err1, d[1], y, err2)
		}
	}
}

func TestErrorCause(t *testing.T) {
	_, err := Canonical("a@xn--zz.com")
	var e *Error
	if !errors.As(err, &e) || e.Cause == nil || !errors.Is(err, e.Cause) || !errors.Is(err, ErrDomain) {
		t.Fatalf("Canonical of malformed punycode: %#v, want an *Error with ErrDomain and the idna cause", err)
	}
	if err.Error() != ErrDomain.Error() {
		t.Errorf("message %q carries more than the public reason", err)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestNoNonASCIIFoldsOntoASCII checks every code point the character rules
// accept: neither the local-part folding (NFC and lower case) nor the
// domain mapping (lower case and UTS #46) may turn it into ASCII, so no
// non-ASCII spelling can share an account with an ASCII one.
func TestNoNonASCIIFoldsOntoASCII(t *testing.T) {
	hasASCII := func(s string) bool { return strings.IndexFunc(s, func(r rune) bool { return r < 0x80 }) >= 0 }
	n := 0
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		s := string(r)
		if checkRune(r, false) == nil {
			n++
			if l := foldLocal(s); hasASCII(l) {
				t.Errorf("local part: %U folds to %q", r, l)
			}
		}
		if r != '\u3002' && checkRune(r, true) == nil {
			if u, _ := profile.ToUnicode(premapDomain(s)); hasASCII(u) {
				t.Errorf("domain: %U maps to %q", r, u)
			}
		}
	}
	if n < 100000 {
		t.Errorf("only %d code points accepted; the rules refuse far more than letters", n)
	}
}
