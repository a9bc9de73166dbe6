package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys"
)

// TestWebHandler checks what the page is served with, without a browser:
// the embedded files, their types, and the headers that lock the page to
// its own origin.
func TestWebHandler(t *testing.T) {
	h := webHandler()
	for _, tc := range []struct {
		name, path       string
		status           int
		contentType, has string
	}{
		{"page", "/", http.StatusOK, "text/html", `autocomplete="username webauthn"`},
		{"script", "/app.js", http.StatusOK, "text/javascript", "from '/auth/client.js?v=" + passkeys.ClientVersion() + "';"},
		{"style", "/style.css", http.StatusOK, "text/css", ":focus-visible"},
		{"icon", "/favicon.svg", http.StatusOK, "image/svg+xml", "<svg"},
		{"missing", "/missing.js", http.StatusNotFound, "text/plain", "404 page not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			res := rec.Result()
			if res.StatusCode != tc.status {
				t.Errorf("GET %s: status %d, want %d", tc.path, res.StatusCode, tc.status)
			}
			if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", got, tc.contentType)
			}
			if !strings.Contains(rec.Body.String(), tc.has) {
				t.Errorf("body lacks %q", tc.has)
			}
			csp := res.Header.Get("Content-Security-Policy")
			for _, directive := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, directive) {
					t.Errorf("Content-Security-Policy %q lacks %s", csp, directive)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("Content-Security-Policy %q allows inline or eval'd script", csp)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := res.Header.Get("Cross-Origin-Opener-Policy"); got != "same-origin" {
				t.Errorf("Cross-Origin-Opener-Policy %q, want same-origin", got)
			}
		})
	}

	// app.js is revalidated (no-cache) against its strong ETag.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/app.js", nil))
	etag := rec.Result().Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || rec.Result().Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("app.js: ETag %q, Cache-Control %q; want a strong ETag and no-cache", etag, rec.Result().Header.Get("Cache-Control"))
	}
	req := httptest.NewRequest(http.MethodGet, "/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("app.js with If-None-Match of its ETag: status %d, want 304", rec.Code)
	}
}
