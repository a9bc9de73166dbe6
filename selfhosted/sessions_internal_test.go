package selfhosted

import (
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"Mozilla/5.0", -1, "Mozilla/5.0"},
		{"a\x00b", -1, "ab"},
		{"a\xffb\xc3", -1, "ab"},
		{"\uFFFD kept", -1, "\uFFFD kept"},
		{"abcdef", 4, "abcd"},
		{"ab✓", 4, "ab"}, // ✓ is three bytes: not cut in half
		{"ab✓", 5, "ab✓"},
		{"ab\uFFFD", 5, "ab\uFFFD"},
		{strings.Repeat("é", 300), maxUserAgent, strings.Repeat("é", maxUserAgent/2)},
	} {
		if got := clean(tc.in, tc.limit); got != tc.want {
			t.Errorf("clean(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}

// A User-Agent is shown in the sessions list: control, bidi and invisible
// characters, which would let it display as something else, are dropped.
func TestDisplayText(t *testing.T) {
	for in, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64)": "Mozilla/5.0 (X11; Linux x86_64)",
		"\u202eevil":                      "evil",
		"iPh\u200bone \u2066x\u2069":      "iPhone x",
		"a\x01b\x7fc\u0085d":              "abcd",
		"\ufeffSafari\u00ad":              "Safari",
		"Ünïcödé ✓":                       "Ünïcödé ✓",
	} {
		if got := displayText(in); got != want {
			t.Errorf("displayText(%q) = %q, want %q", in, got, want)
		}
	}
}
