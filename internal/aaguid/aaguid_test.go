package aaguid

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestEmbeddedListIsValid(t *testing.T) {
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) < 40 || Len() != len(m) {
		t.Fatalf("embedded list has %d providers (Len %d), want at least 40", len(m), Len())
	}
}

func TestLookup(t *testing.T) {
	p, ok := Lookup("EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4")
	if !ok || p.Name != "Google Password Manager" {
		t.Fatalf("Lookup(Google Password Manager) = %+v, %v", p, ok)
	}
	if !strings.HasPrefix(p.IconLight, "data:image/svg+xml;base64,") || !strings.HasPrefix(p.IconDark, "data:image/svg+xml;base64,") {
		t.Errorf("icons = %.40q, %.40q", p.IconLight, p.IconDark)
	}
	for _, a := range []string{"00000000-0000-0000-0000-000000000000", "", "not-an-aaguid", "ea9b8d66"} {
		if p, ok := Lookup(a); ok {
			t.Errorf("Lookup(%q) = %+v, want unknown", a, p)
		}
	}
}

func TestValidIcon(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	ok := []string{
		"",
		"data:image/svg+xml;base64," + b64([]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)),
		"data:image/png;base64," + b64([]byte(png)),
	}
	for _, s := range ok {
		if err := ValidIcon(s); err != nil {
			t.Errorf("ValidIcon(%.50q) = %v, want nil", s, err)
		}
	}
	bad := map[string]string{
		"html":         "data:text/html;base64," + b64([]byte("<script>alert(1)</script>")),
		"javascript":   "javascript:alert(1)",
		"https":        "https://example.com/icon.svg",
		"jpeg":         "data:image/jpeg;base64," + b64([]byte("\xff\xd8\xff")),
		"not base64":   "data:image/svg+xml;base64,<svg/>",
		"plain svg":    "data:image/svg+xml,<svg/>",
		"png not png":  "data:image/png;base64," + b64([]byte("<svg/>")),
		"svg not svg":  "data:image/svg+xml;base64," + b64([]byte("<html><script>x</script>")),
		"too large":    "data:image/svg+xml;base64," + b64([]byte("<svg>"+strings.Repeat(" ", MaxIconBytes)+"</svg>")),
		"mixed prefix": "DATA:image/svg+xml;base64," + b64([]byte("<svg/>")),
	}
	for name, s := range bad {
		if err := ValidIcon(s); err == nil {
			t.Errorf("%s: ValidIcon accepted %.50q", name, s)
		}
	}
}

func TestParseRefusesBadEntries(t *testing.T) {
	svg := "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte("<svg/>"))
	cases := map[string]string{
		"not json":      `[`,
		"upper key":     `{"EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4":{"name":"x"}}`,
		"short key":     `{"ea9b8d66":{"name":"x"}}`,
		"no name":       `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4":{"icon_light":"` + svg + `"}}`,
		"control name":  `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4":{"name":"a\u0007b"}}`,
		"bidi name":     `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4":{"name":"a\u202eb"}}`,
		"long name":     `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4":{"name":"` + strings.Repeat("n", 65) + `"}}`,
		"bad dark icon": `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4":{"name":"x","icon_dark":"data:text/html;base64,PHNjcmlwdD4="}}`,
	}
	for name, in := range cases {
		if m, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: Parse accepted %s as %v", name, in, m)
		}
	}
	m, err := Parse([]byte(`{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4":{"name":"Google Password Manager","icon_light":"` + svg + `"}}`))
	if err != nil || m["ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"].IconLight != svg {
		t.Errorf("Parse(good) = %v, %v", m, err)
	}
}
