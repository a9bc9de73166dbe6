package selfhosted

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/nativeapp"
	"github.com/passkeyready/passkeys/internal/strictjson"
	"github.com/passkeyready/passkeys/internal/weborigin"
)

// originSet is the set of origins a ceremony's clientDataJSON may carry,
// each kept as the exact serialised origin a browser writes (WebAuthn L3
// §13.4.9: the RP validates the origin against the exact serialisations it
// expects). Opaque origins, such as an Android app's
// "android:apk-key-hash:…", and related origins belong in the same set.
// An app origin maps to the package names of the apps signed with that
// certificate; a web origin to nil.
type originSet map[string][]string

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
		set[o] = nil
	}
	return set, nil
}

// addApps adds the origin of every fingerprint of every app and returns
// them, for go-webauthn's opaque origins.
func (s originSet) addApps(apps []passkeys.AndroidApp) ([]string, error) {
	fps, err := nativeapp.CheckAndroidApps("selfhosted: Config.AndroidApps", apps)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, app := range fps {
		for _, f := range app {
			o := f.Origin()
			if _, dup := s[o]; !dup {
				out = append(out, o)
			}
			// One certificate may sign several apps.
			s[o] = append(s[o], apps[i].PackageName)
		}
	}
	return out, nil
}

// addRelated adds the related origins after checking them: web origins
// as browsers serialise them, not on rpID (those are Origins), at most
// the five registrable domains a browser reads from /.well-known/webauthn.
func (s originSet) addRelated(rpID string, origins, related []string) error {
	const field = "selfhosted: Config.RelatedOrigins"
	if err := nativeapp.CheckRelatedOrigins(field, related); err != nil {
		return err
	}
	for i, o := range related {
		if slices.Contains(origins, o) {
			return fmt.Errorf("%s[%d] %q is also in Config.Origins: a related origin is on another site than RPID; list it once, in Config.Origins", field, i, o)
		}
		u, _ := url.Parse(o) // weborigin checked it
		if host := u.Hostname(); host == rpID || strings.HasSuffix(host, "."+rpID) {
			return fmt.Errorf("%s[%d] %q is on RPID %q: list it in Config.Origins, related origins are on other sites", field, i, o, rpID)
		}
	}
	if len(related) > 0 {
		if _, err := protocol.NewRelatedOrigins(related...); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
	}
	for _, o := range related {
		s[o] = nil
	}
	return nil
}

// errOrigin is what a client sees when its clientDataJSON names an origin
// the engine does not serve.
var errOrigin = passkeys.ErrVerificationFailed.With("The passkey response was made for another web site.", nil).WithReason(passkeys.ReasonOrigin)

// checkOrigin checks a ceremony's clientDataJSON before go-webauthn reads
// it: one JSON object, no member name twice in it or in any object nested
// in it (compared as encoding/json
// matches field names, case-insensitively, so that go-webauthn's reading
// and this one agree), an "origin" member that is a string and that is, byte
// for byte, one of the set. go-webauthn's own comparison, which ignores the
// case of scheme and host, a default port and anything after the host,
// runs afterwards and can only refuse more. The error, for the log, says
// what is wrong; the client sees errOrigin.
//
// An app origin holds the certificate's hash only; when its clientDataJSON
// also names the app ("androidPackageName", as Credential Manager writes
// it), that must be a package configured with this certificate, so an app
// of another package signed with the same key is refused.
func (s originSet) checkOrigin(clientDataJSON []byte) error {
	origin, pkg, err := clientDataOrigin(clientDataJSON)
	if err != nil {
		return errOrigin.With("", err)
	}
	pkgs, ok := s[origin]
	if !ok {
		return errOrigin.With("", fmt.Errorf("clientDataJSON origin %q is not configured", origin))
	}
	if pkg != nil && (pkgs == nil || !slices.Contains(pkgs, *pkg)) {
		return errOrigin.With("", fmt.Errorf("clientDataJSON androidPackageName %q is not configured for origin %q", *pkg, origin))
	}
	return nil
}

// clientDataOrigin returns the "origin" member of clientDataJSON and the
// "androidPackageName" member, nil when there is none.
func clientDataOrigin(clientDataJSON []byte) (string, *string, error) {
	// Nested objects (tokenBinding, whatever a client adds) are held to the
	// rule too: go-webauthn decodes them with encoding/json, keeping the
	// last of two members.
	err := strictjson.CheckDuplicates(clientDataJSON)
	if dup := (*strictjson.DuplicateError)(nil); errors.As(err, &dup) {
		return "", nil, fmt.Errorf("clientDataJSON has member %q twice", dup.Name)
	}
	if err == nil && json.Valid(clientDataJSON) {
		return clientDataMembers(clientDataJSON)
	}
	return clientDataDecoded(clientDataJSON)
}

// clientDataMembers is clientDataOrigin on one valid JSON value without
// duplicate members: it reads the object's members in place.
func clientDataMembers(clientDataJSON []byte) (string, *string, error) {
	var origin, pkg *string
	isObject, err := strictjson.Members(clientDataJSON, func(name string, value []byte) error {
		switch name {
		case "androidPackageName":
			var p string
			if json.Unmarshal(value, &p) != nil {
				return errors.New("clientDataJSON androidPackageName is not a string")
			}
			pkg = &p
		case "origin":
			var o string
			if value[0] != '"' || json.Unmarshal(value, &o) != nil {
				return errors.New("clientDataJSON origin is not a string")
			}
			origin = &o
		}
		return nil
	})
	switch {
	case !isObject:
		return "", nil, errors.New("clientDataJSON is not a JSON object")
	case err != nil:
		return "", nil, err
	case origin == nil:
		return "", nil, errors.New("clientDataJSON has no origin")
	}
	return *origin, pkg, nil
}

// clientDataDecoded is clientDataOrigin through encoding/json's tokenizer,
// for input that is not one valid value, whose faults it names.
func clientDataDecoded(clientDataJSON []byte) (string, *string, error) {
	dec := json.NewDecoder(bytes.NewReader(clientDataJSON))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", nil, errors.New("clientDataJSON is not a JSON object")
	}
	var (
		names  = map[string]bool{}
		origin *string
		pkg    *string
	)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", nil, fmt.Errorf("clientDataJSON: %w", err)
		}
		name := t.(string) // object keys are always strings
		if names[strictjson.FoldName(name)] {
			return "", nil, fmt.Errorf("clientDataJSON has member %q twice", name)
		}
		names[strictjson.FoldName(name)] = true
		if name == "androidPackageName" {
			var p string
			if err := dec.Decode(&p); err != nil {
				return "", nil, errors.New("clientDataJSON androidPackageName is not a string")
			}
			pkg = &p
			continue
		}
		if name != "origin" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", nil, fmt.Errorf("clientDataJSON: %w", err)
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", nil, fmt.Errorf("clientDataJSON: %w", err)
		}
		var o string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &o) != nil {
			return "", nil, errors.New("clientDataJSON origin is not a string")
		}
		origin = &o
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return "", nil, fmt.Errorf("clientDataJSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", nil, errors.New("clientDataJSON has data after the object")
	}
	if origin == nil {
		return "", nil, errors.New("clientDataJSON has no origin")
	}
	return *origin, pkg, nil
}
