package passkeys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
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
// exactly or in two spellings that encoding/json takes for one field
// ([strictjson.CheckDuplicates]). go-webauthn decodes credential responses
// the same way.
func checkMembers(data []byte) error { return strictjson.CheckDuplicates(data) }

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
	var dup *strictjson.DuplicateError
	if !errors.As(err, &dup) {
		return ErrInvalidRequest.With(what+" is not valid JSON.", err)
	}
	name, path, as := dup.Name, dup.Path, ""
	if dup.Other != "" {
		as = fmt.Sprintf(" (also as %q: names are matched regardless of case)", dup.Other)
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
