package hints

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hints []string
		want  string // "" accepted; otherwise a part of the reason
	}{
		{"one", []string{SecurityKey}, ""},
		{"each", []string{ClientDevice}, ""},
		{"all three in any order", []string{Hybrid, SecurityKey, ClientDevice}, ""},
		{"none", nil, "names no hint"},
		{"empty list", []string{}, "names no hint"},
		{"unknown", []string{"platform"}, `holds "platform", which is not a hint`},
		{"case matters", []string{"Hybrid"}, `holds "Hybrid"`},
		{"empty string", []string{""}, `holds ""`},
		{"long value not echoed", []string{strings.Repeat("x", 33)}, "holds a value that is not a hint"},
		{"duplicate", []string{Hybrid, SecurityKey, Hybrid}, `names "hybrid" twice`},
		{"four", []string{Hybrid, SecurityKey, ClientDevice, Hybrid}, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.hints)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check(%q) = %v, want nil", tc.hints, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Check(%q) = %v, want it to say %q", tc.hints, err, tc.want)
			}
			if len(tc.hints) == 0 && !errors.Is(err, ErrEmpty) {
				t.Errorf("Check(%q) = %v, want ErrEmpty", tc.hints, err)
			}
		})
	}
}
