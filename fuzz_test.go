package passkeys

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/internal/hints"
)

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@example.com"}`, `{"email":"a@example.com","otp":"123456"}`, `{}`, ``, `{"email":`,
		`{"assertionResponse":{"id":"x","response":{}}}`, `{"assertionResponse":"{\"id\":1}"}`, `[1]`, `{} {}`, `null`,
		`{"email":"a@example.com","hints":["hybrid","security-key"]}`, `{"hints":["client-device","client-device"]}`,
		`{"hints":[]}`, `{"hints":null}`, `{"hints":"hybrid"}`, `{"hints":[1]}`, `{"hints":["platform"]}`,
	} {
		f.Add(s)
	}
	h := &Handler{opts: Options{MaxBodyBytes: 4096}}
	f.Fuzz(func(t *testing.T, body string) {
		var su signUpOrLoginRequest
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if err := h.decodeJSON(httptest.NewRecorder(), r, &su); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status >= 500 {
				t.Fatalf("decode error is not a client error: %v", err)
			}
			return
		}
		if e, err := normalizeEmail(su.Email); err == nil {
			if e != strings.ToLower(strings.TrimSpace(e)) {
				t.Fatalf("normalised email %q is not normalised", e)
			}
			if again, err := normalizeEmail(e); err != nil || again != e {
				t.Fatalf("normalizeEmail not idempotent: %q -> %q, %v", e, again, err)
			}
		}
		var ls loginStartRequest
		r = httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if h.decodeJSON(httptest.NewRecorder(), r, &ls) == nil {
			got, err := parseHints(ls.Hints)
			var e *Error
			switch {
			case err != nil && (!errors.As(err, &e) || e.Status != 400 || e.Code != "invalid_request"):
				t.Fatalf("parseHints(%s) = %v, want a 400 invalid_request", ls.Hints, err)
			case err == nil && ls.Hints == nil && got != nil:
				t.Fatalf("no hints member gave hints %q", got)
			case err == nil && ls.Hints != nil && hints.Check(got) != nil:
				t.Fatalf("parseHints(%s) accepted %q", ls.Hints, got)
			}
		}
		var lf loginFinishRequest
		r = httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if h.decodeJSON(httptest.NewRecorder(), r, &lf) == nil {
			if raw, err := credentialJSON("assertionResponse", lf.AssertionResponse); err == nil {
				var m map[string]any
				if json.Unmarshal(raw, &m) != nil {
					t.Fatalf("credentialJSON accepted a non-object: %s", raw)
				}
			}
		}
	})
}

func FuzzVerifySession(f *testing.F) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := NewJWTSessions(JWTOptions{Key: []byte("0123456789abcdef0123456789abcdef"), Clock: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	valid, _ := s.IssueSession(context.Background(), User{ID: "usr_1", Email: "a@example.com"})
	f.Add(valid)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c3JfMSJ9.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		u, err := s.VerifySession(context.Background(), tok)
		if err == nil && tok != valid {
			// Only a token signed with the key verifies; the fuzzer cannot
			// forge HMAC, but base64 has several spellings of one value.
			if u.ID != "usr_1" {
				t.Fatalf("forged token accepted: %q -> %+v", tok, u)
			}
		}
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("verifier error is not ErrUnauthorized: %v", err)
		}
	})
}
