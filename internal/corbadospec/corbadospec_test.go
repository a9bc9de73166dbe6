package corbadospec_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys/internal/corbadospec"
)

// spec loads the description from CORBADO_SPEC_DIR or skips the test.
func spec(t *testing.T) *corbadospec.Spec {
	t.Helper()
	return corbadospec.ForTest(t)
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

// fakeTB records what ForTest does to a test.
type fakeTB struct{ skipped, failed string }

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Skip(args ...any)  { f.skipped = fmt.Sprint(args...) }
func (f *fakeTB) Fatal(args ...any) { f.failed = fmt.Sprint(args...) }

// A missing description turns the checks off with one line that says how
// to turn them on, and is a failure only under PASSKEYS_SPEC_TESTS=required.
func TestFromEnvWithoutDescription(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		name, dir string
		want      []string // in the reason
	}{
		{"unset", "", []string{"CORBADO_SPEC_DIR is not set", "set CORBADO_SPEC_DIR to a folder holding backend_api_public_v2.yml"}},
		{"missing folder", filepath.Join(empty, "no", "such", "folder"), []string{filepath.Join(empty, "no", "such", "folder", corbadospec.File) + " does not exist", "set CORBADO_SPEC_DIR"}},
		{"folder without the description", empty, []string{filepath.Join(empty, corbadospec.File) + " does not exist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(corbadospec.EnvVar, tc.dir)
			t.Setenv(corbadospec.RequiredEnvVar, "")
			why := corbadospec.Off()
			for _, w := range tc.want {
				if !strings.Contains(why, w) {
					t.Errorf("Off() = %q, want it to contain %q", why, w)
				}
			}
			if strings.Contains(why, "\n") {
				t.Errorf("Off() spans lines: %q", why)
			}
			if s, err := corbadospec.FromEnv(); s != nil || err != nil {
				t.Errorf("FromEnv() = %v, %v; want nil, nil", s, err)
			}
			f := &fakeTB{}
			if s := corbadospec.ForTest(f); s != nil || f.failed != "" || !strings.Contains(f.skipped, why) || !strings.Contains(f.skipped, "PASSKEYS_SPEC_TESTS=required") {
				t.Errorf("ForTest: spec %v, skipped %q, failed %q", s, f.skipped, f.failed)
			}

			t.Setenv(corbadospec.RequiredEnvVar, "required")
			s, err := corbadospec.FromEnv()
			if s != nil || err == nil || !strings.Contains(err.Error(), "PASSKEYS_SPEC_TESTS=required") || !strings.Contains(err.Error(), why) {
				t.Errorf("required: FromEnv() = %v, %v", s, err)
			}
			f = &fakeTB{}
			if corbadospec.ForTest(f); f.skipped != "" || f.failed == "" {
				t.Errorf("required: ForTest skipped %q, failed %q", f.skipped, f.failed)
			}
		})
	}
}

// A description that is there but broken fails whether or not the checks
// are required.
func TestFromEnvBrokenDescription(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, corbadospec.File), []byte("openapi: [not, a, description"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(corbadospec.EnvVar, dir)
	t.Setenv(corbadospec.RequiredEnvVar, "")
	if why := corbadospec.Off(); why != "" {
		t.Errorf("Off() = %q with a file present", why)
	}
	if s, err := corbadospec.FromEnv(); s != nil || err == nil {
		t.Errorf("FromEnv() = %v, %v; want an error", s, err)
	}
	f := &fakeTB{}
	if corbadospec.ForTest(f); f.failed == "" || f.skipped != "" {
		t.Errorf("ForTest skipped %q, failed %q", f.skipped, f.failed)
	}
}
