// Package strictjson finds the JSON inputs that encoding/json accepts but a
// strict reader must refuse: an object that names the same member twice.
//
// encoding/json keeps the last of duplicate members, so {"otp":"123456",
// "otp":null} decodes as if no code were sent, and two parsers of one
// document (this server and an upstream service) can disagree about what it
// says. RFC 8259 §4 leaves such documents' meaning undefined; I-JSON
// (RFC 7493 §2.3) forbids them.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DuplicateError reports a member name that occurs twice in one object.
type DuplicateError struct {
	// Name is the member name, as decoded.
	Name string
	// Path is the JSON Pointer (RFC 6901) of the object holding it, "" for
	// the top-level value.
	Path string
}

func (e *DuplicateError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("duplicate member %q", e.Name)
	}
	return fmt.Sprintf("duplicate member %q in %s", e.Name, e.Path)
}

// CheckDuplicates returns a *DuplicateError for the first object in data
// that names a member twice (names are compared after unescaping, so "a"
// and "\u0061" are the same name). It returns nil for data without
// duplicates, and the decoder's error for data that is not a sequence of
// JSON values; it does not validate anything else.
func CheckDuplicates(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil // between top-level values
		}
		if err == nil {
			err = checkValue(dec, tok, "")
		}
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	}
}

// checkValue reads the rest of the value that starts with tok from dec,
// checking every object in it.
func checkValue(dec *json.Decoder, tok json.Token, path string) error {
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]struct{}{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := tok.(string)
			if _, dup := seen[name]; dup {
				return &DuplicateError{Name: name, Path: path}
			}
			seen[name] = struct{}{}
			if tok, err = dec.Token(); err != nil {
				return err
			}
			if err := checkValue(dec, tok, path+"/"+escape(name)); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if err := checkValue(dec, tok, fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	}
	_, err := dec.Token() // the closing delimiter
	return err
}

// escape encodes a member name as a JSON Pointer reference token.
func escape(name string) string {
	var b bytes.Buffer
	for _, r := range name {
		switch r {
		case '~':
			b.WriteString("~0")
		case '/':
			b.WriteString("~1")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
