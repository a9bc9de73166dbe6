package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys/internal/aaguid"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
	write := func(s string) {
		if err := os.WriteFile(in, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4":{"name":"Google Password Manager","icon_light":"data:image/svg+xml;base64,PHN2Zy8+"},"00000000-0000-0000-0000-00000000000a":{"name":"A"}}`)
	if err := run(in, out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	m, err := aaguid.Parse(b)
	if err != nil || len(m) != 2 || m["ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"].Name != "Google Password Manager" {
		t.Fatalf("output %s parses to %v, %v", b, m, err)
	}
	if i, j := strings.Index(string(b), "0000000a"), strings.Index(string(b), "ea9b8d66"); i < 0 || i > j {
		t.Errorf("output not sorted by AAGUID:\n%s", b)
	}

	for name, s := range map[string]string{
		"empty list": `{}`,
		"html icon":  `{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4":{"name":"x","icon_light":"data:text/html;base64,PHNjcmlwdD4="}}`,
	} {
		write(s)
		if err := os.WriteFile(out, []byte("kept"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := run(in, out); err == nil {
			t.Errorf("%s: run accepted %s", name, s)
		}
		if b, _ := os.ReadFile(out); string(b) != "kept" {
			t.Errorf("%s: output overwritten with %s", name, b)
		}
	}
	if err := run("", out); err == nil || !strings.Contains(err.Error(), "download") {
		t.Errorf("run without -in = %v", err)
	}
}
