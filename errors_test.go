package passkeys_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys"
)

// problemOf decodes a problem+json answer.
func problemOf(t *testing.T, rec *httptest.ResponseRecorder) (status int, code, detail string) {
	t.Helper()
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("not a problem document: %d %s", rec.Code, rec.Body)
	}
	if p.Status != rec.Code {
		t.Errorf("problem status %d, HTTP status %d", p.Status, rec.Code)
	}
	return rec.Code, p.Code, p.Detail
}

// The handler sends an Error's own status, except for a verification
// failure on passkey/append/finish, a route that holds a session: 400
// there, 401 on login, whichever of the two sentinels the backend used.
func TestStatusTable(t *testing.T) {
	b := &stubBackend{}
	h, err := passkeys.New(passkeys.Options{Backend: b, JWTKey: key})
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ SessionToken string }
	_ = json.Unmarshal(post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "").Body.Bytes(), &sess)
	const response = `{"id":"AQID","response":{}}`
	for _, tc := range []struct {
		name, path, body string
		err              error
		status           int
		code, detail     string
	}{
		{"append, verification failed", "/passkey/append/finish", `{"attestationResponse":` + response + `}`,
			passkeys.ErrVerificationFailed.With("That passkey is not for this site.", errors.New("origin mismatch")), 400, "passkey_verification_failed", "That passkey is not for this site."},
		{"append, append sentinel", "/passkey/append/finish", `{"attestationResponse":` + response + `}`,
			passkeys.ErrAppendVerificationFailed, 400, "passkey_verification_failed", "The passkey response could not be verified."},
		{"append, account gone", "/passkey/append/finish", `{"attestationResponse":` + response + `}`,
			passkeys.ErrUnauthorized.With("The account no longer exists.", nil), 401, "unauthorized", "The account no longer exists."},
		{"append, upstream", "/passkey/append/finish", `{"attestationResponse":` + response + `}`,
			passkeys.ErrUpstream, 502, "upstream_error", "The passkey service failed to answer correctly."},
		{"login, verification failed", "/passkey/login/finish", `{"assertionResponse":` + response + `}`,
			passkeys.ErrVerificationFailed, 401, "passkey_verification_failed", "The passkey response could not be verified."},
		{"login, store unavailable", "/passkey/login/finish", `{"assertionResponse":` + response + `}`,
			fmt.Errorf("pgstore: %w: %w", passkeys.ErrUnavailable, errors.New("connection refused")), 503, "unavailable", "The service is briefly unavailable; try again shortly."},
		{"login, custom status", "/passkey/login/finish", `{"assertionResponse":` + response + `}`,
			&passkeys.Error{Status: 403, Code: "blocked", Title: "Blocked", Detail: "Blocked by policy."}, 403, "blocked", "Blocked by policy."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.finishErr = tc.err
			rec := post(t, h, tc.path, tc.body, sess.SessionToken)
			status, code, detail := problemOf(t, rec)
			if status != tc.status || code != tc.code || detail != tc.detail {
				t.Errorf("%d %s %q, want %d %s %q", status, code, detail, tc.status, tc.code, tc.detail)
			}
			if got, want := rec.Header().Get("Retry-After"), map[bool]string{true: "2"}[status == 503]; got != want {
				t.Errorf("Retry-After %q, want %q", got, want)
			}
		})
	}
	if !errors.Is(passkeys.ErrAppendVerificationFailed, passkeys.ErrVerificationFailed) {
		t.Error("ErrAppendVerificationFailed does not match ErrVerificationFailed")
	}
}

// A path that ends in a route behind a prefix the handler was mounted
// under without http.StripPrefix gets a 404 that says how to mount it.
func TestNotFoundSaysHowToMount(t *testing.T) {
	h, err := passkeys.New(passkeys.Options{Backend: &stubBackend{}, JWTKey: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, hint string
	}{
		{"POST", "/auth/signUpOrLogin", `http.StripPrefix("/auth", handler)`},
		{"POST", "/api/v1/auth/passkey/login/start", `http.StripPrefix("/api/v1/auth", handler)`},
		{"GET", "/auth/passkeys", `http.StripPrefix("/auth", handler)`},
		{"DELETE", "/auth/passkeys/AQID", `http.StripPrefix("/auth", handler)`},
		{"GET", "/nothing-here", ""},
		{"GET", "/auth/passkeys/AQID/more", ""},
		{"POST", "/auth//signUpOrLogin", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		status, code, detail := problemOf(t, rec)
		if status != 404 || code != "not_found" || !strings.HasPrefix(detail, "No endpoint at "+tc.path+".") {
			t.Errorf("%s %s: %d %s %q", tc.method, tc.path, status, code, detail)
		}
		if tc.hint == "" && strings.Contains(detail, "StripPrefix") || !strings.Contains(detail, tc.hint) {
			t.Errorf("%s %s: detail %q, want hint %q", tc.method, tc.path, detail, tc.hint)
		}
	}
}

// The 413 names the configured limit, not a fixed one.
func TestPayloadTooLargeNamesTheLimit(t *testing.T) {
	for _, tc := range []struct {
		limit int64
		want  string
	}{
		{0, "The request body exceeds 64 KiB."},
		{1 << 20, "The request body exceeds 1 MiB."},
		{2048, "The request body exceeds 2 KiB."},
		{100, "The request body exceeds 100 bytes."},
	} {
		h, err := passkeys.New(passkeys.Options{Backend: &stubBackend{}, JWTKey: key, MaxBodyBytes: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		body := `{"email":"` + strings.Repeat("a", 2<<20) + `@example.com"}`
		status, code, detail := problemOf(t, post(t, h, "/signUpOrLogin", body, ""))
		if status != 413 || code != "payload_too_large" || detail != tc.want {
			t.Errorf("MaxBodyBytes %d: %d %s %q, want 413 %q", tc.limit, status, code, detail, tc.want)
		}
		// One object within the limit, followed by more than the limit.
		status, _, detail = problemOf(t, post(t, h, "/signUpOrLogin", `{"email":"a@example.com"}`+strings.Repeat(" ", 2<<20)+`{}`, ""))
		if status != 413 || detail != tc.want {
			t.Errorf("MaxBodyBytes %d, trailing data: %d %q, want 413 %q", tc.limit, status, detail, tc.want)
		}
	}
}
