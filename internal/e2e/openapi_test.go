package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestContractCatchesDrift sends calls through the contract's transport
// to a server that answers as told, and checks that each departure from
// the description is reported and that a faithful answer is not.
func TestContractCatchesDrift(t *testing.T) {
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	const (
		sent    = `{"otpSent":true,"expiresInSeconds":600}`
		invalid = `{"type":"urn:passkeys:error:invalid_request","title":"Invalid request","status":400,"detail":"Unknown field \"name\".","code":"invalid_request"}`
	)
	tests := []struct {
		name, method, path, reqBody string
		auth                        bool
		status                      int
		contentType, body           string
		header                      map[string]string
		want                        string // "" for no report
	}{
		{name: "faithful", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com"}`,
			status: 200, contentType: "application/json", body: sent},
		{name: "faithful refusal", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com","name":"x"}`,
			status: 400, contentType: "application/problem+json", body: invalid},
		{name: "field not in the schema", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com"}`,
			status: 200, contentType: "application/json", body: `{"otpSent":true,"expiresInSeconds":600,"debug":"x"}`, want: "does not match signUpOrLogin"},
		{name: "required member missing", method: "GET", path: "/auth/passkeys", auth: true,
			status: 200, contentType: "application/json", body: `{"passkeys":[{"id":"AAAA","name":"x","createdAt":"2030-01-02T03:04:05Z"}]}`, want: "does not match listPasskeys"},
		{name: "undocumented status", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com"}`,
			status: 201, contentType: "application/json", body: sent, want: "does not match signUpOrLogin"},
		{name: "undocumented error code", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com"}`,
			status: 429, contentType: "application/problem+json", header: map[string]string{"Retry-After": "3"},
			body: `{"type":"urn:passkeys:error:rate_limited","title":"Too many attempts","status":429,"detail":"Wait.","code":"rate_limited"}`, want: "does not match signUpOrLogin"},
		{name: "type that is not the code's", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com","name":"x"}`,
			status: 400, contentType: "application/problem+json", body: strings.Replace(invalid, "error:invalid_request", "error:invalid", 1), want: "does not match signUpOrLogin"},
		{name: "Retry-After missing", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com"}`,
			status: 429, contentType: "application/problem+json",
			body: `{"type":"urn:passkeys:error:too_many_attempts","title":"Too many attempts","status":429,"detail":"Wait.","code":"too_many_attempts"}`, want: "Retry-After"},
		{name: "X-Request-ID missing", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com"}`,
			status: 200, contentType: "application/json", header: map[string]string{"X-Request-ID": ""}, body: sent, want: "X-Request-ID"},
		{name: "faithful error with its request ID", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com","name":"x"}`,
			status: 400, contentType: "application/problem+json", body: strings.Replace(invalid, `}`, `,"requestId":"0123456789abcdef0123456789abcdef"}`, 1)},
		{name: "error code of another route", method: "POST", path: "/auth/passkey/append/start", reqBody: `{}`, auth: true,
			status: 403, contentType: "application/problem+json", body: `{"type":"urn:passkeys:error:reauthentication_required","title":"Reauthentication required","status":403,"detail":"Sign in again.","code":"reauthentication_required"}`,
			want: "does not match appendStart"},
		{name: "preflight refused with another code", method: "OPTIONS", path: "/auth/passkeys",
			status: 403, contentType: "application/problem+json", body: `{"type":"urn:passkeys:error:cross_origin_request","title":"Cross-origin request refused","status":403,"detail":"No.","code":"cross_origin_request"}`,
			want: "PreflightRefused"},
		{name: "HEAD as GET", method: "HEAD", path: "/auth/openapi.json", status: 200, contentType: "application/json"},
		{name: "HEAD with an undocumented status", method: "HEAD", path: "/auth/openapi.json", status: 401, contentType: "application/problem+json",
			want: "documents no status 401"},
		{name: "error as plain JSON", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com","name":"x"}`,
			status: 400, contentType: "application/json", body: invalid, want: "does not match signUpOrLogin"},
		{name: "refused request accepted", method: "POST", path: "/auth/signUpOrLogin", reqBody: `{"email":"a@example.com","name":"x"}`,
			status: 200, contentType: "application/json", body: sent, want: "the description refuses the request"},
		{name: "session route without a session accepted", method: "GET", path: "/auth/passkeys",
			status: 200, contentType: "application/json", body: `{"passkeys":[]}`, want: "the description refuses the request"},
		{name: "undocumented path served", method: "GET", path: "/auth/debug",
			status: 200, contentType: "application/json", body: `{}`, want: "an undocumented path"},
		{name: "undocumented method served", method: "PUT", path: "/auth/passkeys", auth: true,
			status: 200, contentType: "application/json", body: `{"passkeys":[]}`, want: "an undocumented method"},
		{name: "405 without Allow", method: "PUT", path: "/auth/passkeys", auth: true, status: 405, contentType: "application/problem+json",
			body: `{"type":"urn:passkeys:error:method_not_allowed","title":"Method not allowed","status":405,"detail":"Use GET.","code":"method_not_allowed"}`, want: "Allow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("X-Content-Type-Options", "nosniff")
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set("X-Request-ID", "0123456789abcdef0123456789abcdef")
				w.Header().Set("Content-Type", tc.contentType)
				for k, v := range tc.header {
					if v == "" {
						w.Header().Del(k)
					} else {
						w.Header().Set(k, v)
					}
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer ts.Close()
			var mu sync.Mutex
			var reports []string
			client := &http.Client{Transport: c.Transport(nil, func(msg string) {
				mu.Lock()
				defer mu.Unlock()
				reports = append(reports, msg)
			})}
			var body io.Reader
			if tc.reqBody != "" {
				body = strings.NewReader(tc.reqBody)
			}
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			if tc.auth {
				req.Header.Set("Authorization", "Bearer token")
			}
			if tc.method == http.MethodOptions {
				req.Header.Set("Origin", "https://evil.example")
				req.Header.Set("Access-Control-Request-Method", "GET")
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(got) != tc.body {
				t.Errorf("the caller got %q, want the response as it came, %q", got, tc.body)
			}
			switch {
			case tc.want == "" && len(reports) > 0:
				t.Errorf("a faithful call was reported: %v", reports)
			case tc.want != "" && (len(reports) != 1 || !strings.Contains(reports[0], tc.want)):
				t.Errorf("reports %q, want one that says %q", reports, tc.want)
			}
		})
	}
}

// TestContractSkipsHostRoutes: calls outside the mount point are the
// host's and are not checked.
func TestContractSkipsHostRoutes(t *testing.T) {
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer ts.Close()
	reported := false
	client := &http.Client{Transport: c.Transport(nil, func(string) { reported = true })}
	res, err := client.Get(ts.URL + "/api/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTeapot || reported {
		t.Errorf("GET /api/me: %d, reported %v; want 418 unreported", res.StatusCode, reported)
	}
}
