package passkeys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/passkeyready/passkeys/internal/strictjson"
)

// decodeJSON reads exactly one JSON object from the body into v. An empty
// body counts as {}. It enforces the content type, the size cap (the
// capped body is read whole, then checked and decoded), unknown fields,
// trailing data and members named twice in one object.
func (h *Handler) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" || r.ContentLength != 0 {
		mt, _, _ := strings.Cut(ct, ";")
		if !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
			return ErrUnsupportedMediaType
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		return decodeError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrInvalidRequest.With("The body must hold exactly one JSON object.", err)
	}
	if err := checkMembers(body); err != nil {
		return duplicateMember("The body", err)
	}
	return nil
}

// checkMembers refuses JSON that names a member twice in one object,
// exactly ([strictjson.CheckDuplicates]) or in two spellings that
// encoding/json takes for one field: it matches member names to struct
// fields regardless of case (strings.EqualFold, so "OTP", "oTp" and, with
// the long s, "clientCapabilitieſ" are the same field), keeping the last.
// go-webauthn decodes credential responses the same way.
func checkMembers(data []byte) error {
	if err := strictjson.CheckDuplicates(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	return checkFolded(dec, tok, "")
}

// foldedDuplicateError is two member names of one object that differ
// only in case.
type foldedDuplicateError struct {
	First, Second, Path string
}

func (e *foldedDuplicateError) Error() string {
	return fmt.Sprintf("members %q and %q of %q differ only in case", e.First, e.Second, e.Path)
}

// checkFolded reads the rest of the value that starts with tok, refusing
// an object with two names equal under case folding.
func checkFolded(dec *json.Decoder, tok json.Token, path string) error {
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	var seen map[string]string // folded name -> name as written
	if d == '{' {
		seen = map[string]string{}
	}
	for i := 0; dec.More(); i++ {
		elem := fmt.Sprintf("%s/%d", path, i)
		if d == '{' {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := t.(string)
			f := foldName(name)
			if first, dup := seen[f]; dup {
				return &foldedDuplicateError{First: first, Second: name, Path: path}
			}
			seen[f] = name
			elem = path + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
		}
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if err := checkFolded(dec, t, elem); err != nil {
			return err
		}
	}
	_, err := dec.Token() // the closing delimiter
	return err
}

// foldName maps each rune of name to the least rune of its simple case
// folding orbit, so that foldName(a) == foldName(b) exactly when
// strings.EqualFold(a, b).
func foldName(name string) string {
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

// payloadTooLarge is ErrPayloadTooLarge naming the limit that was hit,
// [Options.MaxBodyBytes].
func payloadTooLarge(err *http.MaxBytesError) error {
	return ErrPayloadTooLarge.With(fmt.Sprintf("The request body exceeds %s.", byteSize(err.Limit)), err)
}

// byteSize writes n as MiB or KiB when it is a whole number of them.
func byteSize(n int64) string {
	switch {
	case n > 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n > 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

func decodeError(err error) error {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return payloadTooLarge(tooBig)
	case errors.As(err, &syntax):
		return ErrInvalidRequest.With(fmt.Sprintf("The body is not valid JSON (at byte %d).", syntax.Offset), err)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return ErrInvalidRequest.With("The body must be a JSON object.", err)
		}
		return ErrInvalidRequest.With(fmt.Sprintf("%s must be a JSON %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String())), err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ErrInvalidRequest.With("The body is not valid JSON (it ends early).", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return ErrInvalidRequest.With("Unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field ")+".", err)
	}
	return ErrInvalidRequest.With("The body could not be read as JSON.", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	}
	return "number"
}

// credentialJSON accepts a browser credential response given either as a
// JSON object or as a string holding one. A string's JSON is held to the
// same rules as the body: one value and no member named twice.
func credentialJSON(field string, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, ErrInvalidRequest.Withf("%s is required.", field)
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, ErrInvalidRequest.Withf("%s must be a JSON object or a string holding one.", field)
		}
		raw = bytes.TrimSpace([]byte(s))
		if !json.Valid(raw) {
			return nil, ErrInvalidRequest.Withf("%s must be a JSON object or a string holding one.", field)
		}
		if err := checkMembers(raw); err != nil {
			return nil, duplicateMember(field, err)
		}
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, ErrInvalidRequest.Withf("%s must be a JSON object or a string holding one.", field)
	}
	return raw, nil
}

// duplicateMember is the answer to JSON that names a member twice in one
// object: encoding/json would keep the last, and another reader of the
// same document (an upstream service) might keep the first. what is "The
// body" or the field that held the JSON as a string. Names and paths too
// long to be a real member are not echoed.
func duplicateMember(what string, err error) error {
	var (
		dup    *strictjson.DuplicateError
		folded *foldedDuplicateError
		name   string
		path   string
		as     string
	)
	switch {
	case errors.As(err, &dup):
		name, path = dup.Name, dup.Path
	case errors.As(err, &folded):
		name, path = folded.First, folded.Path
		as = fmt.Sprintf(" (also as %q: names are matched regardless of case)", folded.Second)
	default:
		return ErrInvalidRequest.With(what+" is not valid JSON.", err)
	}
	if len(name)+len(as) > 128 || len(path) > 128 || !utf8.ValidString(name+path+as) {
		return ErrInvalidRequest.With(what+" names a member twice in one object.", err)
	}
	where := ""
	if path != "" {
		where = " in " + path
	}
	return ErrInvalidRequest.With(fmt.Sprintf("%s names the member %q twice%s%s.", what, name, where, as), err)
}
