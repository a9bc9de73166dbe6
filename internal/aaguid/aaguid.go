// Package aaguid names passkey providers by the AAGUID their authenticator
// reports, from an embedded copy of the community list at
// github.com/passkeydeveloper/passkey-authenticator-aaguids (aaguid.json;
// source commit and terms in NOTICE). The list is meant for naming passkeys
// in account settings and for nothing else: it says nothing about how
// trustworthy an authenticator is.
//
// Refresh the copy with go generate after downloading aaguid.json:
//
//	AAGUID_JSON=/path/to/aaguid.json go generate ./internal/aaguid
package aaguid

//go:generate go run ./gen -in=$AAGUID_JSON -out=aaguid.json

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed aaguid.json
var data []byte

// Provider is one entry of the list. The icons are data URIs of an SVG or
// PNG image (checked by [ValidIcon]); either may be empty.
type Provider struct {
	Name      string `json:"name"`
	IconLight string `json:"icon_light,omitempty"`
	IconDark  string `json:"icon_dark,omitempty"`
}

var table = sync.OnceValues(func() (map[string]Provider, error) { return Parse(data) })

// Lookup returns the provider of an AAGUID in its canonical form
// (lowercase, with hyphens). Unknown AAGUIDs, the zero AAGUID and an
// unreadable embedded list (a build that skipped the generator's checks)
// give false.
func Lookup(aaguid string) (Provider, bool) {
	t, err := table()
	if err != nil {
		return Provider{}, false
	}
	p, ok := t[strings.ToLower(aaguid)]
	return p, ok
}

// Len is the number of providers in the embedded list.
func Len() int {
	t, _ := table()
	return len(t)
}

// Parse reads a list in the form of aaguid.json and checks every entry:
// a canonical AAGUID key, a name of 1 to 64 printable characters and icons
// that pass [ValidIcon]. The first bad entry is named in the error.
func Parse(b []byte) (map[string]Provider, error) {
	var m map[string]Provider
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("aaguid list: %w", err)
	}
	for k, p := range m {
		if err := validAAGUID(k); err != nil {
			return nil, fmt.Errorf("aaguid list: key %q: %w", k, err)
		}
		if err := ValidName(p.Name); err != nil {
			return nil, fmt.Errorf("aaguid list: %s: name: %w", k, err)
		}
		if err := ValidIcon(p.IconLight); err != nil {
			return nil, fmt.Errorf("aaguid list: %s: icon_light: %w", k, err)
		}
		if err := ValidIcon(p.IconDark); err != nil {
			return nil, fmt.Errorf("aaguid list: %s: icon_dark: %w", k, err)
		}
	}
	return m, nil
}

func validAAGUID(s string) error {
	if len(s) != 36 {
		return errors.New("not 36 characters")
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return errors.New("hyphens misplaced")
			}
		case !('0' <= r && r <= '9' || 'a' <= r && r <= 'f'):
			return errors.New("not lowercase hexadecimal")
		}
	}
	return nil
}

// ValidName reports whether s can be shown as a provider name: 1 to 64
// characters of valid UTF-8, no control, format (bidi override) or
// leading or trailing space characters.
func ValidName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case !utf8.ValidString(s):
		return errors.New("not UTF-8")
	case utf8.RuneCountInString(s) > 64:
		return errors.New("longer than 64 characters")
	case strings.TrimSpace(s) != s:
		return errors.New("leading or trailing space")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("control or format character %U", r)
		}
	}
	return nil
}

// MaxIconBytes bounds one icon data URI.
const MaxIconBytes = 64 << 10

// ValidIcon reports whether s is empty or a base64 data URI of an SVG
// (image/svg+xml) or PNG (image/png) image whose content starts like one.
// Anything else (other media types, text, scripts, URLs) is refused. The
// content is untrusted still: show it with <img src>, never as markup.
func ValidIcon(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxIconBytes {
		return fmt.Errorf("longer than %d bytes", MaxIconBytes)
	}
	var kind string
	for _, k := range []string{"image/svg+xml", "image/png"} {
		if strings.HasPrefix(s, "data:"+k+";base64,") {
			kind = k
		}
	}
	if kind == "" {
		return errors.New("not a data:image/svg+xml;base64 or data:image/png;base64 URI")
	}
	raw, err := base64.StdEncoding.DecodeString(s[len("data:"+kind+";base64,"):])
	if err != nil {
		return fmt.Errorf("base64: %w", err)
	}
	switch kind {
	case "image/png":
		if !strings.HasPrefix(string(raw), "\x89PNG\r\n\x1a\n") {
			return errors.New("not a PNG image")
		}
	default:
		if !strings.Contains(string(raw[:min(len(raw), 1024)]), "<svg") {
			return errors.New("not an SVG image")
		}
	}
	return nil
}
