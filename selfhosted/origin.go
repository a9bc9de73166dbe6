package selfhosted

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/strictjson"
	"github.com/passkeyready/passkeys/internal/weborigin"
)

// originSet is the set of origins a ceremony's clientDataJSON may carry,
// each kept as the exact serialised origin a browser writes (WebAuthn L3
// §13.4.9: the RP validates the origin against the exact serialisations it
// expects). Opaque origins, such as an Android app's
// "android:apk-key-hash:…", and related origins belong in the same set.
type originSet map[string]struct{}

// newOriginSet builds the set from Config.Origins, after validateRP. Each
// entry must already be the serialisation a browser produces: lower-case
// scheme and host, the host in ASCII (punycode for an internationalised
// name), no default port, no empty or zero-padded port, no wildcard and
// nothing after the authority ([weborigin.Check], shared with the root
// package's cookie and CORS origins). Anything else would never match and
// is refused here, so a typo fails at start-up instead of at every
// ceremony.
func newOriginSet(origins []string) (originSet, error) {
	set := make(originSet, len(origins))
	for _, o := range origins {
		if err := weborigin.Check(o); err != nil {
			return nil, fmt.Errorf("selfhosted: Config.Origins entry %q %s", o, err)
		}
		set[o] = struct{}{}
	}
	return set, nil
}

// errOrigin is what a client sees when its clientDataJSON names an origin
// the engine does not serve.
var errOrigin = passkeys.ErrVerificationFailed.With("The passkey response was made for another web site.", nil)

// checkOrigin checks a ceremony's clientDataJSON before go-webauthn reads
// it: one JSON object, no member name twice in it or in any object nested
// in it (compared as encoding/json
// matches field names, case-insensitively, so that go-webauthn's reading
// and this one agree), an "origin" member that is a string and that is, byte
// for byte, one of the set. go-webauthn's own comparison, which ignores the
// case of scheme and host, a default port and anything after the host,
// runs afterwards and can only refuse more. The error, for the log, says
// what is wrong; the client sees errOrigin.
func (s originSet) checkOrigin(clientDataJSON []byte) error {
	origin, err := clientDataOrigin(clientDataJSON)
	if err != nil {
		return errOrigin.With("", err)
	}
	if _, ok := s[origin]; !ok {
		return errOrigin.With("", fmt.Errorf("clientDataJSON origin %q is not configured", origin))
	}
	return nil
}

// clientDataOrigin returns the "origin" member of clientDataJSON.
func clientDataOrigin(clientDataJSON []byte) (string, error) {
	// Nested objects (tokenBinding, whatever a client adds) are held to the
	// rule too: go-webauthn decodes them with encoding/json, keeping the
	// last of two members.
	if err := strictjson.CheckDuplicates(clientDataJSON); err != nil {
		var dup *strictjson.DuplicateError
		if errors.As(err, &dup) {
			return "", fmt.Errorf("clientDataJSON has member %q twice", dup.Name)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(clientDataJSON))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", errors.New("clientDataJSON is not a JSON object")
	}
	var (
		names  = map[string]bool{}
		origin *string
	)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("clientDataJSON: %w", err)
		}
		name := t.(string) // object keys are always strings
		if names[strictjson.FoldName(name)] {
			return "", fmt.Errorf("clientDataJSON has member %q twice", name)
		}
		names[strictjson.FoldName(name)] = true
		if name != "origin" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", fmt.Errorf("clientDataJSON: %w", err)
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", fmt.Errorf("clientDataJSON: %w", err)
		}
		var o string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &o) != nil {
			return "", errors.New("clientDataJSON origin is not a string")
		}
		origin = &o
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return "", fmt.Errorf("clientDataJSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("clientDataJSON has data after the object")
	}
	if origin == nil {
		return "", errors.New("clientDataJSON has no origin")
	}
	return *origin, nil
}
