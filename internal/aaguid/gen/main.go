// Command gen refreshes the embedded provider list from a downloaded copy
// of aaguid.json (github.com/passkeydeveloper/passkey-authenticator-aaguids).
// It refuses a list with a bad entry (see aaguid.Parse), an empty list (the
// upstream's sign of retirement) and writes the checked entries sorted and
// indented, so that a refresh shows as a readable diff.
//
//	go run ./internal/aaguid/gen -in aaguid.json -out internal/aaguid/aaguid.json
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/passkeyready/passkeys/internal/aaguid"
)

func main() {
	in := flag.String("in", "", "downloaded aaguid.json (required)")
	out := flag.String("out", "aaguid.json", "file to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "aaguid gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	if in == "" {
		return errors.New("-in is required: download aaguid.json from github.com/passkeydeveloper/passkey-authenticator-aaguids first (AAGUID_JSON=path go generate ./internal/aaguid)")
	}
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	m, err := aaguid.Parse(b)
	if err != nil {
		return err
	}
	if len(m) == 0 {
		return errors.New("the list is empty: upstream has retired it, keep the embedded copy")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil { // map keys are written sorted
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("aaguid gen: %d providers written to %s\n", len(m), out)
	return nil
}
