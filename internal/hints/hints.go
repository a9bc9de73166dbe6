// Package hints checks WebAuthn user-agent hints (WebAuthn L3 §5.8.7): the
// values a relying party may put in the hints member of its options to
// tell the browser how it believes the user will answer. The handler
// checks the hints a start request asks for, the self-hosted engine those
// of its Config, with the same rule.
package hints

import (
	"errors"
	"fmt"
)

// The three standard hints.
const (
	SecurityKey  = "security-key"
	ClientDevice = "client-device"
	Hybrid       = "hybrid"
)

// ErrEmpty is the reason of a hint list that names no hint.
var ErrEmpty = errors.New("names no hint")

// Check returns nil when hints names one to three standard hints, none
// twice; otherwise its reason, safe to show a client (it quotes a refused
// value only when it is short). The browser reads the list in order of
// preference.
func Check(hints []string) error {
	if len(hints) == 0 {
		return ErrEmpty
	}
	for i, h := range hints {
		switch h {
		case SecurityKey, ClientDevice, Hybrid:
		default:
			if len(h) > 32 {
				return fmt.Errorf("holds a value that is not a hint; use %q, %q or %q", SecurityKey, ClientDevice, Hybrid)
			}
			return fmt.Errorf("holds %q, which is not a hint; use %q, %q or %q", h, SecurityKey, ClientDevice, Hybrid)
		}
		for _, prev := range hints[:i] {
			if prev == h {
				return fmt.Errorf("names %q twice", h)
			}
		}
	}
	return nil
}
