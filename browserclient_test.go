package passkeys

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClientAssetsServed(t *testing.T) {
	h, err := New(Options{Backend: struct{ Backend }{}, JWTKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	// Mounted under a sub-path, as the README shows.
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))
	get := func(target string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	for _, tc := range []struct {
		path, contentType string
		body              []byte
	}{
		{"/auth/client.js", "text/javascript; charset=utf-8", ClientScript()},
		{"/auth/client.d.ts", "application/typescript; charset=utf-8", ClientTypes()},
	} {
		t.Run(tc.path, func(t *testing.T) {
			w := get(tc.path)
			etag := w.Header().Get("ETag")
			if w.Code != 200 || w.Header().Get("Content-Type") != tc.contentType || !bytes.Equal(w.Body.Bytes(), tc.body) {
				t.Fatalf("GET %s: %d %q, %d bytes; want 200 %s with the file", tc.path, w.Code, w.Header().Get("Content-Type"), w.Body.Len(), tc.contentType)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", w.Header().Get("X-Content-Type-Options"))
			}
			if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") || len(etag) != 34 {
				t.Errorf("ETag %q, want a strong ETag of 32 hex digits", etag)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control %q without the version query, want no-cache", cc)
			}
			version := strings.Trim(etag, `"`)
			if w := get(tc.path + "?v=" + version); w.Code != 200 || w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
				t.Errorf("GET %s?v=<hash>: %d, Cache-Control %q; want 200 immutable", tc.path, w.Code, w.Header().Get("Cache-Control"))
			}
			if w := get(tc.path + "?v=0123"); w.Header().Get("Cache-Control") != "no-cache" {
				t.Errorf("GET %s?v=<another hash>: Cache-Control %q, want no-cache", tc.path, w.Header().Get("Cache-Control"))
			}
			for _, inm := range []string{etag, "W/" + etag, `"x", ` + etag, "*"} {
				w := get(tc.path, "If-None-Match", inm)
				if w.Code != http.StatusNotModified || w.Body.Len() != 0 || w.Header().Get("ETag") != etag {
					t.Errorf("If-None-Match %s: %d, %d bytes, ETag %q; want 304, empty, the same ETag", inm, w.Code, w.Body.Len(), w.Header().Get("ETag"))
				}
			}
			if w := get(tc.path, "If-None-Match", `"stale"`); w.Code != 200 {
				t.Errorf("If-None-Match of another version: %d, want 200", w.Code)
			}
			r := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader("{}"))
			r.Header.Set("Content-Type", "application/json")
			pw := httptest.NewRecorder()
			mux.ServeHTTP(pw, r)
			if pw.Code != http.StatusMethodNotAllowed || pw.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("POST %s: %d, Allow %q; want 405, GET, HEAD", tc.path, pw.Code, pw.Header().Get("Allow"))
			}
			hr := httptest.NewRequest(http.MethodHead, tc.path, nil)
			hw := httptest.NewRecorder()
			mux.ServeHTTP(hw, hr)
			// The server drops the body of a HEAD answer; the headers are GET's.
			if hw.Code != 200 || hw.Header().Get("ETag") != etag || hw.Header().Get("Content-Type") != tc.contentType {
				t.Errorf("HEAD %s: %d, ETag %q, %q; want 200 and the GET headers", tc.path, hw.Code, hw.Header().Get("ETag"), hw.Header().Get("Content-Type"))
			}
		})
	}
	if ClientVersion() != strings.Trim(get("/auth/client.js").Header().Get("ETag"), `"`) {
		t.Errorf("ClientVersion() %q is not the ETag of client.js", ClientVersion())
	}
}

// TestClientScriptStrictCSP fails when client.js uses what the demo's
// Content-Security-Policy (script-src 'self') forbids.
func TestClientScriptStrictCSP(t *testing.T) {
	for _, banned := range []string{"eval(", "new Function", "document.write", "innerHTML", "setTimeout('", `setTimeout("`} {
		if bytes.Contains(clientJS, []byte(banned)) {
			t.Errorf("client.js uses %s", banned)
		}
	}
	for _, name := range []string{"createClient", "PasskeysError", "webauthnAvailable", "autofillAvailable", "conditionalCreateAvailable", "toBase64url", "fromBase64url", "creationOptions", "requestOptions", "credentialJSON"} {
		exported := bytes.Contains(clientJS, []byte("export function "+name+"(")) || bytes.Contains(clientJS, []byte("export async function "+name+"(")) || bytes.Contains(clientJS, []byte("export class "+name+" "))
		declared := bytes.Contains(clientDTS, []byte("export declare function "+name+"(")) || bytes.Contains(clientDTS, []byte("export declare class "+name+" "))
		if !exported || !declared {
			t.Errorf("%s: exported by client.js %v, declared in client.d.ts %v; want both", name, exported, declared)
		}
	}
}
