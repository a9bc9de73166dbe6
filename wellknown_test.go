package passkeys_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
)

const (
	testFP  = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
	testFP2 = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
)

func TestWellKnownDocuments(t *testing.T) {
	wk, err := passkeys.WellKnown(passkeys.WellKnownOptions{
		AndroidApps: []passkeys.AndroidApp{
			{PackageName: "com.example.app", Fingerprints: []string{testFP, testFP2}},
			{PackageName: "com.example.other", Fingerprints: []string{testFP}},
		},
		AppleAppIDs:    []string{"ABCDE12345.com.example.app"},
		RelatedOrigins: []string{"https://example.org", "https://shop.example.de"},
		MaxAge:         10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{"/.well-known/assetlinks.json", `[` +
			`{"relation":["delegate_permission/common.handle_all_urls","delegate_permission/common.get_login_creds"],"target":{"namespace":"android_app","package_name":"com.example.app","sha256_cert_fingerprints":["` + testFP + `","` + strings.ToUpper(testFP2) + `"]}},` +
			`{"relation":["delegate_permission/common.handle_all_urls","delegate_permission/common.get_login_creds"],"target":{"namespace":"android_app","package_name":"com.example.other","sha256_cert_fingerprints":["` + testFP + `"]}}]`},
		{"/.well-known/apple-app-site-association", `{"webcredentials":{"apps":["ABCDE12345.com.example.app"]}}`},
		{"/.well-known/webauthn", `{"origins":["https://example.org","https://shop.example.de"]}`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			wk.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
			if rec.Code != 200 {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tc.want {
				t.Errorf("body\n got %s\nwant %s", got, tc.want)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=600" {
				t.Errorf("Cache-Control %q", cc)
			}
			etag := rec.Header().Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			body := rec.Body.Len()

			rec = httptest.NewRecorder()
			wk.ServeHTTP(rec, httptest.NewRequest("HEAD", tc.path, nil))
			if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != itoa(body) {
				t.Errorf("HEAD: status %d, %d body bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
			}

			rec = httptest.NewRecorder()
			req := httptest.NewRequest("GET", tc.path, nil)
			req.Header.Set("If-None-Match", `"other", `+etag)
			wk.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Errorf("If-None-Match: status %d, body %q", rec.Code, rec.Body)
			}

			for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
				rec = httptest.NewRecorder()
				wk.ServeHTTP(rec, httptest.NewRequest(m, tc.path, strings.NewReader("{}")))
				wantProblemRec(t, m, rec, 405, "method_not_allowed")
				if a := rec.Header().Get("Allow"); a != "GET, HEAD" {
					t.Errorf("%s: Allow %q", m, a)
				}
			}
		})
	}
	for _, p := range []string{"/.well-known/", "/.well-known/assetlinks", "/.well-known/webauthn/", "/.well-known/security.txt", "/"} {
		rec := httptest.NewRecorder()
		wk.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		wantProblemRec(t, p, rec, 404, "not_found")
		// A typo is not told that nothing is configured: it is told the paths.
		if b := rec.Body.String(); !strings.Contains(b, passkeys.WellKnownAssetLinks) || strings.Contains(b, "Nothing is configured") {
			t.Errorf("%s: detail %s, want one naming the served paths", p, b)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func wantProblemRec(t *testing.T, what string, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("%s: status %d, want %d", what, rec.Code, status)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	var p struct{ Code string }
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != code {
		t.Errorf("%s: body %q, want code %s", what, rec.Body, code)
	}
}

// TestWellKnownUnconfigured: a document whose list is empty is 404.
func TestWellKnownUnconfigured(t *testing.T) {
	wk, err := passkeys.WellKnown(passkeys.WellKnownOptions{AppleAppIDs: []string{"ABCDE12345.com.example.app"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{passkeys.WellKnownAssetLinks, passkeys.WellKnownWebAuthn} {
		rec := httptest.NewRecorder()
		wk.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		wantProblemRec(t, p, rec, 404, "not_found")
		if b := rec.Body.String(); !strings.Contains(b, "Nothing is configured for this well-known document.") {
			t.Errorf("%s: detail %s, want that nothing is configured", p, b)
		}
	}
	rec := httptest.NewRecorder()
	wk.ServeHTTP(rec, httptest.NewRequest("GET", passkeys.WellKnownAppleAppSA, nil))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("AASA: status %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
}

func TestWellKnownBadOptions(t *testing.T) {
	app := func(pkg string, fps ...string) []passkeys.AndroidApp {
		return []passkeys.AndroidApp{{PackageName: pkg, Fingerprints: fps}}
	}
	for _, tc := range []struct {
		name string
		opts passkeys.WellKnownOptions
		want []string
	}{
		{"one-segment package", passkeys.WellKnownOptions{AndroidApps: app("app", testFP)}, []string{"WellKnownOptions.AndroidApps[0].PackageName", "com.example.app"}},
		{"package with a hyphen", passkeys.WellKnownOptions{AndroidApps: app("com.exa-mple.app", testFP)}, []string{"AndroidApps[0].PackageName", "letters, digits and underscores"}},
		{"segment starting with a digit", passkeys.WellKnownOptions{AndroidApps: app("com.1example", testFP)}, []string{"AndroidApps[0].PackageName", "start with a letter"}},
		{"no fingerprint", passkeys.WellKnownOptions{AndroidApps: app("com.example.app")}, []string{"AndroidApps[0].Fingerprints is empty"}},
		{"short fingerprint", passkeys.WellKnownOptions{AndroidApps: app("com.example.app", testFP[:len(testFP)-3])}, []string{"AndroidApps[0].Fingerprints[0]", "32 colon-separated hex bytes"}},
		{"fingerprint without colons", passkeys.WellKnownOptions{AndroidApps: app("com.example.app", strings.ReplaceAll(testFP, ":", ""))}, []string{"Fingerprints[0]", "AB:CD:"}},
		{"fingerprint not hex", passkeys.WellKnownOptions{AndroidApps: app("com.example.app", testFP, "ZZ"+testFP[2:])}, []string{"Fingerprints[1]", "SHA-256 fingerprint"}},
		{"web origin as package", passkeys.WellKnownOptions{AndroidApps: app("https://example.com", testFP)}, []string{"PackageName", "is an origin"}},
		{"app origin as fingerprint", passkeys.WellKnownOptions{AndroidApps: app("com.example.app", "android:apk-key-hash:q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k")}, []string{"Fingerprints[0]", "is an origin"}},
		{"package twice", passkeys.WellKnownOptions{AndroidApps: append(app("com.example.app", testFP), app("com.example.app", testFP2)...)}, []string{"AndroidApps[1].PackageName", "twice"}},
		{"short team ID", passkeys.WellKnownOptions{AppleAppIDs: []string{"ABCDE1234.com.example.app"}}, []string{"WellKnownOptions.AppleAppIDs[0]", "TEAMID.bundle.id"}},
		{"lower-case team ID", passkeys.WellKnownOptions{AppleAppIDs: []string{"abcde12345.com.example.app"}}, []string{"AppleAppIDs[0]", "upper-case"}},
		{"no bundle ID", passkeys.WellKnownOptions{AppleAppIDs: []string{"ABCDE12345"}}, []string{"AppleAppIDs[0]"}},
		{"bundle ID with a slash", passkeys.WellKnownOptions{AppleAppIDs: []string{"ABCDE12345.com/example"}}, []string{"AppleAppIDs[0]"}},
		{"web origin as app ID", passkeys.WellKnownOptions{AppleAppIDs: []string{"https://example.com"}}, []string{"AppleAppIDs[0]", "is an origin"}},
		{"related origin with a path", passkeys.WellKnownOptions{RelatedOrigins: []string{"https://example.org/"}}, []string{"WellKnownOptions.RelatedOrigins[0]", "nothing after it"}},
		{"related origin over http", passkeys.WellKnownOptions{RelatedOrigins: []string{"http://example.org"}}, []string{"RelatedOrigins[0]", "https"}},
		{"related app origin", passkeys.WellKnownOptions{RelatedOrigins: []string{"android:apk-key-hash:q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k"}}, []string{"RelatedOrigins[0]", "Android apps"}},
		{"related origin twice", passkeys.WellKnownOptions{RelatedOrigins: []string{"https://example.org", "https://example.org"}}, []string{"RelatedOrigins[1]", "twice"}},
		{"negative max age", passkeys.WellKnownOptions{MaxAge: -time.Second}, []string{"MaxAge"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := passkeys.WellKnown(tc.opts)
			if err == nil {
				t.Fatalf("no error, handler %v", h)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
