package passkeys_test

import (
	"strings"
	"testing"
	"unicode"
)

// A passkey's first name comes from the User-Agent of the browser that
// made it. A product token the parser does not know is the browser's name
// only when it is plain text: a header with bidi overrides, invisible or
// control characters or markup in that token gives the name without the
// token, as a rename would have refused it.
func TestPasskeyNameFromHostileUserAgent(t *testing.T) {
	for _, c := range []struct{ name, ua, want string }{
		{"bidi override", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) \u202eevil\u202c/1.0", "Passkey on Windows"},
		{"zero width", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Safe\u200bName/1.0", "Passkey on Windows"},
		{"markup", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) <img/src=x>/1.0", "Passkey on Windows"},
		{"long token", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) " + strings.Repeat("A", 4000) + "/1.0", "Passkey on Windows"},
		{"plain unknown browser", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36", "Passkey on YaBrowser (Windows)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newHTTPRig(t, rigOptions{})
			s := r.signIn("ann@example.com", "")
			pk, err := r.client(c.ua).AppendPasskey(t.Context(), s.Token)
			if err != nil {
				t.Fatal(err)
			}
			list, err := r.client("").Passkeys(t.Context(), s.Token)
			if err != nil || len(list) != 1 {
				t.Fatalf("passkeys %v: %v", list, err)
			}
			for _, got := range []string{pk.Name, list[0].Name} {
				if got != c.want {
					t.Errorf("passkey name %q, want %q", got, c.want)
				}
				if strings.ContainsFunc(got, func(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf) }) {
					t.Errorf("passkey name %q holds control or format characters", got)
				}
			}
		})
	}
}
