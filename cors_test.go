package passkeys_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys"
)

// checkNoStar fails if any header value is a "*" wildcard.
func checkNoStar(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, vs := range h {
		for _, v := range vs {
			if strings.TrimSpace(v) == "*" {
				t.Errorf("%s: %s: *", what, k)
			}
		}
	}
}

func varyHasOrigin(h http.Header) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.TrimSpace(f) == "Origin" {
				return true
			}
		}
	}
	return false
}

func preflight(origin, method, headers string) map[string]string {
	h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
	if headers != "" {
		h["Access-Control-Request-Headers"] = headers
	}
	return h
}

func TestCORS(t *testing.T) {
	for _, cookies := range []bool{true, false} {
		name := "bearer"
		if cookies {
			name = "cookie"
		}
		t.Run(name, func(t *testing.T) {
			r := newCookieRig(t, func(o *passkeys.Options) {
				o.CORS.Origins = []string{spaOrigin}
				if !cookies {
					o.Cookie = nil
				}
			})
			wantCred := ""
			if cookies {
				wantCred = "true"
			}

			// A preflight from the listed origin, on the handler and on a
			// host route wrapped with Handler.CORS.
			for _, tc := range []struct{ method, path string }{
				{"POST", "/auth/signUpOrLogin"}, {"DELETE", "/auth/passkeys/AAAA"}, {"GET", "/api/me"},
			} {
				a := r.do("OPTIONS", tc.path, "", preflight(spaOrigin, tc.method, "authorization,content-type"))
				h := a.header
				if a.status != 204 || h.Get("Access-Control-Allow-Origin") != spaOrigin ||
					h.Get("Access-Control-Allow-Credentials") != wantCred ||
					h.Get("Access-Control-Allow-Methods") != tc.method ||
					h.Get("Access-Control-Allow-Headers") != "authorization,content-type" ||
					h.Get("Access-Control-Max-Age") != "600" || !varyHasOrigin(h) {
					t.Errorf("preflight %s %s from the listed origin: %d %v", tc.method, tc.path, a.status, h)
				}
				checkNoStar(t, "listed preflight", h)
			}

			// A request header the flows do not use is not allowed.
			a := r.do("OPTIONS", "/auth/signUpOrLogin", "", preflight(spaOrigin, "POST", "x-custom"))
			if a.header.Get("Access-Control-Allow-Origin") != "" || a.header.Get("Access-Control-Allow-Headers") != "" {
				t.Errorf("preflight asking for X-Custom: %d %v", a.status, a.header)
			}

			// Unlisted origins, near misses included: 403 problem+json,
			// nothing reflected, Vary: Origin.
			for _, origin := range []string{"https://evil.example", "https://SPA.example.net", "http://spa.example.net", "https://spa.example.net:443", "null", ""} {
				a := r.do("OPTIONS", "/auth/signUpOrLogin", "", preflight(origin, "POST", "content-type"))
				h := a.header
				if a.status != 403 || a.code() != "cors_origin_not_allowed" || h.Get("Content-Type") != "application/problem+json" ||
					h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Credentials") != "" ||
					h.Get("Access-Control-Allow-Methods") != "" || h.Get("Access-Control-Allow-Headers") != "" || !varyHasOrigin(h) {
					t.Errorf("preflight from %q: %d %s %v", origin, a.status, a.body, h)
				}
				checkNoStar(t, "unlisted preflight", h)
			}

			// Actual requests: the listed origin can read the answer (and
			// Retry-After); another gets no CORS headers, but Vary: Origin.
			a = r.do("POST", "/auth/passkey/login/start", `{"email":"x@example.com"}`, map[string]string{"Origin": spaOrigin, "Sec-Fetch-Site": "cross-site"})
			if a.status != 200 || a.header.Get("Access-Control-Allow-Origin") != spaOrigin || a.header.Get("Access-Control-Allow-Credentials") != wantCred ||
				a.header.Get("Access-Control-Expose-Headers") != "Retry-After" || !varyHasOrigin(a.header) {
				t.Errorf("POST from the listed origin: %d %s %v", a.status, a.body, a.header)
			}
			checkNoStar(t, "listed request", a.header)
			a = r.do("GET", "/auth/passkeys", "", map[string]string{"Origin": "https://evil.example"})
			if a.status != 401 || a.header.Get("Access-Control-Allow-Origin") != "" || a.header.Get("Access-Control-Allow-Credentials") != "" || !varyHasOrigin(a.header) {
				t.Errorf("GET from an unlisted origin: %d %v", a.status, a.header)
			}
			a = r.do("GET", "/auth/passkeys", "", nil)
			if !varyHasOrigin(a.header) || a.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("GET without Origin: %v", a.header)
			}
		})
	}
}

// Without CORS origins there is no CORS at all: a preflight is an
// OPTIONS request like any other, 405.
func TestCORSOff(t *testing.T) {
	h, err := passkeys.New(passkeys.Options{Backend: &stubBackend{}, JWTKey: key})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("OPTIONS", "/signUpOrLogin", nil)
	req.Header.Set("Origin", spaOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 405 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight without CORS: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	h.CORS(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != 404 || len(rec.Header().Values("Vary")) != 0 {
		t.Errorf("Handler.CORS without origins changed the handler: %d %v", rec.Code, rec.Header())
	}
}
