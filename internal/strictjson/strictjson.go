// Package strictjson finds the JSON inputs that encoding/json accepts but a
// strict reader must refuse: an object that names the same member twice,
// exactly or in two spellings that encoding/json takes for one field.
//
// encoding/json keeps the last of duplicate members, so {"otp":"123456",
// "otp":null} decodes as if no code were sent, and two parsers of one
// document (this server and an upstream service) can disagree about what it
// says. RFC 8259 §4 leaves such documents' meaning undefined; I-JSON
// (RFC 7493 §2.3) forbids them. encoding/json (and go-webauthn, which reads
// credential responses with it) also matches member names to struct fields
// regardless of case, strings.EqualFold, so "OTP", "oTp" and, with the long
// s or the Kelvin sign, non-ASCII spellings name one field as well.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DuplicateError reports a member name that occurs twice in one object.
type DuplicateError struct {
	// Name is the member name, as decoded, where it first occurs.
	Name string
	// Other is the second spelling when it differs from Name only in case,
	// "" when the same name occurs twice.
	Other string
	// Path is the JSON Pointer (RFC 6901) of the object holding it, "" for
	// the top-level value.
	Path string
}

func (e *DuplicateError) Error() string {
	msg := fmt.Sprintf("duplicate member %q", e.Name)
	if e.Other != "" {
		msg += fmt.Sprintf(" (also as %q)", e.Other)
	}
	if e.Path != "" {
		msg += " in " + e.Path
	}
	return msg
}

// CheckDuplicates returns a *DuplicateError for the first object in data
// that names a member twice. Names are compared after unescaping (so "a"
// and "\u0061" are the same name) and under case folding ([FoldName]). It returns nil for data without
// duplicates, and the decoder's error for data that is not a sequence of
// JSON values; it does not validate anything else.
func CheckDuplicates(data []byte) error {
	if json.Valid(data) {
		// One valid value, every request body that is accepted: walk its
		// bytes, allocating only for the member names.
		w := walker{data: data}
		return w.value()
	}
	return checkStream(data)
}

// checkStream is CheckDuplicates through encoding/json's tokenizer, for a
// sequence of values or invalid JSON, whose error it returns.
func checkStream(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil // between top-level values
		}
		if err == nil {
			err = checkValue(dec, tok, nil)
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
// checking every object in it. path holds the reference tokens of the
// objects and arrays it is in; the JSON Pointer is made only for the
// error, so that the cost stays linear in the depth of the input.
func checkValue(dec *json.Decoder, tok json.Token, path []segment) error {
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]string{} // folded name -> name as written
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := tok.(string)
			f := FoldName(name)
			if first, dup := seen[f]; dup {
				e := &DuplicateError{Name: first, Path: pointer(path)}
				if first != name {
					e.Other = name
				}
				return e
			}
			seen[f] = name
			if tok, err = dec.Token(); err != nil {
				return err
			}
			if err := checkValue(dec, tok, append(path, segment{name: name, index: -1})); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if err := checkValue(dec, tok, append(path, segment{index: i})); err != nil {
				return err
			}
		}
	}
	_, err := dec.Token() // the closing delimiter
	return err
}

// FoldName maps each rune of name to the least rune of its Unicode simple
// case folding orbit, so that FoldName(a) == FoldName(b) exactly when
// strings.EqualFold(a, b): the way encoding/json matches member names to
// struct fields.
func FoldName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		if r < utf8.RuneSelf {
			// An ASCII letter's orbit is its two cases (and, for k and s,
			// the Kelvin sign and the long s, which sort after them): the
			// least is the upper case.
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
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

// walker finds duplicate members in one value that json.Valid accepted, so
// it checks no syntax. path holds the reference tokens of the objects and
// arrays it is in, for the error.
type walker struct {
	data    []byte
	i       int
	path    []segment
	noCheck bool // only skip values: Members
}

// Members calls fn with the name (decoded as encoding/json decodes it) and
// the raw value of each member of the object data holds, in order, and
// returns fn's first error. data must be one value json.Valid accepts;
// isObject is false, and fn never called, when that value is not an
// object. It reads no duplicate: run CheckDuplicates first.
func Members(data []byte, fn func(name string, value []byte) error) (isObject bool, err error) {
	w := walker{data: data, noCheck: true}
	w.space()
	if w.data[w.i] != '{' {
		return false, nil
	}
	w.i++
	w.space()
	if w.data[w.i] == '}' {
		return true, nil
	}
	for {
		w.space()
		name := w.name()
		w.space()
		w.i++ // :
		w.space()
		start := w.i
		_ = w.value() // no error: noCheck
		if err := fn(name, w.data[start:w.i]); err != nil {
			return true, err
		}
		w.space()
		c := w.data[w.i]
		w.i++ // the comma, or the end
		if c == '}' {
			return true, nil
		}
	}
}

// segment is a JSON Pointer reference token: a member name, or the index
// of an array element when index >= 0.
type segment struct {
	name  string
	index int
}

// smallObject is how many members of an object are compared pairwise
// with strings.EqualFold before the walker switches to a map of folded
// names, so that an object of many members costs no more than linear time.
const smallObject = 16

func (w *walker) space() {
	for w.i < len(w.data) {
		switch w.data[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// value walks the value at w.i (after white space) and what it holds.
func (w *walker) value() error {
	w.space()
	switch w.data[w.i] {
	case '{':
		return w.object()
	case '[':
		return w.array()
	case '"':
		w.str()
	default: // a number, true, false or null
		for w.i < len(w.data) {
			switch w.data[w.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return nil
			}
			w.i++
		}
	}
	return nil
}

// str skips the string at w.i and returns its content's bounds, and
// whether it is plain: printable ASCII without escapes, the same once
// decoded.
func (w *walker) str() (start, end int, plain bool) {
	w.i++ // the opening quote
	start, plain = w.i, true
	for {
		switch c := w.data[w.i]; {
		case c == '"':
			end = w.i
			w.i++
			return start, end, plain
		case c == '\\':
			plain = false
			w.i += 2 // a \uXXXX's digits follow as plain bytes
		case c >= utf8.RuneSelf:
			plain = false
			w.i++
		default:
			w.i++
		}
	}
}

// name decodes the member name at w.i as encoding/json does.
func (w *walker) name() string {
	start, end, plain := w.str()
	if plain {
		return string(w.data[start:end])
	}
	var name string
	_ = json.Unmarshal(w.data[start-1:end+1], &name) // valid, as json.Valid said
	return name
}

func (w *walker) object() error {
	w.i++ // {
	w.space()
	if w.data[w.i] == '}' {
		w.i++
		return nil
	}
	var (
		names  []string          // the first smallObject names, as written
		folded map[string]string // folded name -> name as written, past smallObject
	)
	for {
		w.space()
		if w.noCheck {
			w.str()
			w.space()
			w.i++ // :
			if err := w.value(); err != nil {
				return err
			}
			w.space()
			c := w.data[w.i]
			w.i++ // the comma, or the end
			if c == '}' {
				return nil
			}
			continue
		}
		name := w.name()
		first, dup := "", false
		if folded == nil {
			for _, n := range names {
				if strings.EqualFold(n, name) { // FoldName(n) == FoldName(name)
					first, dup = n, true
					break
				}
			}
			if names = append(names, name); len(names) > smallObject {
				folded = make(map[string]string, 2*smallObject)
				for _, n := range names {
					if _, ok := folded[FoldName(n)]; !ok {
						folded[FoldName(n)] = n
					}
				}
			}
		} else {
			f := FoldName(name)
			if first, dup = folded[f]; !dup {
				folded[f] = name
			}
		}
		if dup {
			e := &DuplicateError{Name: first, Path: w.pointer()}
			if first != name {
				e.Other = name
			}
			return e
		}
		w.space()
		w.i++ // :
		w.path = append(w.path, segment{name: name, index: -1})
		if err := w.value(); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
		w.space()
		c := w.data[w.i]
		w.i++ // the comma, or the end
		if c == '}' {
			return nil
		}
	}
}

func (w *walker) array() error {
	w.i++ // [
	w.space()
	if w.data[w.i] == ']' {
		w.i++
		return nil
	}
	for n := 0; ; n++ {
		w.path = append(w.path, segment{index: n})
		if err := w.value(); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
		w.space()
		c := w.data[w.i]
		w.i++ // the comma, or the end
		if c == ']' {
			return nil
		}
	}
}

// pointer is the JSON Pointer of the value the walker is in.
func (w *walker) pointer() string { return pointer(w.path) }

// pointer is the JSON Pointer of the reference tokens in path.
func pointer(path []segment) string {
	var b strings.Builder
	for _, s := range path {
		b.WriteByte('/')
		if s.index >= 0 {
			b.WriteString(strconv.Itoa(s.index))
		} else {
			b.WriteString(escape(s.name))
		}
	}
	return b.String()
}
