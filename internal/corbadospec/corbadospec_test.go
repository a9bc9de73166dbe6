package corbadospec_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys/internal/corbadospec"
)

// spec loads the description from CORBADO_SPEC_DIR or skips the test.
func spec(t *testing.T) *corbadospec.Spec {
	t.Helper()
	dir := os.Getenv(corbadospec.EnvVar)
	if dir == "" {
		t.Skipf("%s is not set: the OpenAPI checks are off", corbadospec.EnvVar)
	}
	s, err := corbadospec.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func request(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.SetBasicAuth("pro-1", "corbado1_x")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func TestValidateRequest(t *testing.T) {
	s := spec(t)
	for _, tc := range []struct {
		name, method, target, body string
		ok                         bool
	}{
		{"user create", "POST", "http://x/v2/users", `{"status":"pending"}`, true},
		{"mounted under a prefix", "POST", "http://x/corbado/v2/users", `{"status":"active"}`, true},
		{"user create bad status", "POST", "http://x/v2/users", `{"status":"sleeping"}`, false},
		{"user create missing status", "POST", "http://x/v2/users", `{}`, false},
		{"identifier list", "GET", "http://x/v2/identifiers?filter%5B%5D=identifierValue:eq:a@example.com&filter%5B%5D=identifierType:eq:email&pageSize=1", "", true},
		{"page not a number", "GET", "http://x/v2/identifiers?page=one", "", false},
		{"challenge update", "PATCH", "http://x/v2/users/usr-1/challenges/cha-1", `{"value":"123456"}`, true},
		{"challenge update without value", "PATCH", "http://x/v2/users/usr-1/challenges/cha-1", `{}`, false},
		{"unknown path", "GET", "http://x/v2/nothing", "", false},
		{"no base path", "GET", "http://x/users/usr-1", "", false},
		{"mediation start without clientInformation", "POST", "http://x/v2/passkey/mediation/start", `{}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := request(tc.method, tc.target, tc.body)
			err := s.ValidateRequest(r, []byte(tc.body))
			if (err == nil) != tc.ok {
				t.Errorf("ValidateRequest: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	r := request("POST", "http://x/v2/users", `{"status":"active"}`)
	r.Header.Del("Authorization")
	if err := s.ValidateRequest(r, []byte(`{"status":"active"}`)); err == nil {
		t.Error("request without Basic credentials passed")
	}
}

func TestValidateResponse(t *testing.T) {
	s := spec(t)
	r := request("GET", "http://x/v2/users/usr-1", "")
	json := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"user", 200, `{"userID":"usr-1","status":"active","updated":"2030-01-02T03:04:05","updatedMs":1}`, true},
		{"user without status", 200, `{"userID":"usr-1","updated":"x","updatedMs":1}`, false},
		{"error", 404, `{"httpStatusCode":404,"message":"not found","requestData":{"requestID":"req-1"},"runtime":0.1,"error":{"type":"not_found"}}`, true},
		{"error without type", 404, `{"httpStatusCode":404,"message":"not found","requestData":{"requestID":"req-1"},"runtime":0.1,"error":{}}`, false},
		{"garbage", 200, `{"userID":`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.ValidateResponse(r, nil, tc.status, json, []byte(tc.body))
			if (err == nil) != tc.ok {
				t.Errorf("ValidateResponse: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
