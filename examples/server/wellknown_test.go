package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/passkeystest"
)

const exampleFingerprint = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"

// TestExampleServerWellKnown: the server started with an Android app, an
// iOS app and a related origin serves the three documents with those
// values at the root, and the environment twins do the same.
func TestExampleServerWellKnown(t *testing.T) {
	want := map[string]string{
		"/.well-known/assetlinks.json":            `[{"relation":["delegate_permission/common.handle_all_urls","delegate_permission/common.get_login_creds"],"target":{"namespace":"android_app","package_name":"com.example.app","sha256_cert_fingerprints":["` + exampleFingerprint + `"]}}]`,
		"/.well-known/apple-app-site-association": `{"webcredentials":{"apps":["ABCDE12345.com.example.app"]}}`,
		"/.well-known/webauthn":                   `{"origins":["https://example.org"]}`,
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flags", nil, []string{"-android-app", "com.example.app:" + exampleFingerprint, "-apple-app-id", "ABCDE12345.com.example.app", "-related-origin", "https://example.org"}},
		{"environment", map[string]string{"PASSKEYS_ANDROID_APPS": "com.example.app:" + exampleFingerprint, "PASSKEYS_APPLE_APP_IDS": "ABCDE12345.com.example.app", "PASSKEYS_RELATED_ORIGINS": "https://example.org"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, _ := startServer(t, tc.env, tc.args...)
			for path, body := range want {
				res, err := http.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || strings.TrimSpace(string(got)) != body {
					t.Errorf("GET %s: %d %s, want %s", path, res.StatusCode, got, body)
				}
				if ct := res.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("GET %s: Content-Type %q", path, ct)
				}
				if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
					t.Errorf("GET %s: Cache-Control %q", path, cc)
				}
			}
		})
	}

	// Without them, each document is 404 problem+json.
	base, _ := startServer(t, nil)
	for path := range want {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ Code string }
		_ = json.NewDecoder(res.Body).Decode(&p)
		res.Body.Close()
		if res.StatusCode != 404 || p.Code != "not_found" || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s unconfigured: %d %q %q", path, res.StatusCode, p.Code, res.Header.Get("Content-Type"))
		}
	}
}

// TestExampleServerAndroidApp: the app given by -android-app appends a
// passkey and logs in with it through the running server; an app signed
// with another certificate is refused.
func TestExampleServerAndroidApp(t *testing.T) {
	cert := []byte("example signing certificate")
	base, stderr := startServer(t, nil, "-android-app", "com.example.app:"+passkeystest.AndroidFingerprint(cert))
	for _, tc := range []struct {
		name, email string
		cert        []byte
		ok          bool
	}{{"configured app", "app@example.com", cert, true}, {"unlisted certificate", "stranger@example.com", []byte("another certificate"), false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c := passkeystest.NewClient(base+"/auth", passkeystest.ClientOptions{Authenticator: passkeystest.NewAndroidApp("localhost", "com.example.app", tc.cert)})
			if _, err := c.RequestCode(ctx, tc.email); err != nil {
				t.Fatal(err)
			}
			sess, err := c.SubmitCode(ctx, tc.email, lastCode(t, stderr, tc.email))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.AppendPasskey(ctx, sess.Token)
			if !tc.ok {
				var pe *passkeystest.Error
				if !errors.As(err, &pe) || pe.Status != 400 || pe.Code != "passkey_verification_failed" {
					t.Fatalf("append: %v, want 400 passkey_verification_failed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, err := c.LoginWithPasskey(ctx, tc.email); err != nil || got.User.ID != sess.User.ID {
				t.Errorf("login: %+v, %v", got, err)
			}
		})
	}
}

// TestExampleServerNativeFlagErrors: malformed values are startup errors
// naming the flag.
func TestExampleServerNativeFlagErrors(t *testing.T) {
	none := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-android-app", "com.example.app"}, "-android-app"},
		{[]string{"-android-app", "com.example.app:AB:CD"}, "-android-app"},
		{[]string{"-android-app", "app:" + exampleFingerprint}, "-android-app"},
		{[]string{"-android-app", "https://example.com"}, "-android-app"},
		{[]string{"-apple-app-id", "com.example.app"}, "-apple-app-id"},
		{[]string{"-apple-app-id", "abcde12345.com.example.app"}, "-apple-app-id"},
		{[]string{"-related-origin", "example.org"}, "-related-origin"},
		{[]string{"-related-origin", "http://localhost:3000"}, "-related-origin"},
		{[]string{"-origin", "android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU"}, "-origin"},
	} {
		_, err := parseConfig(tc.args, none, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one starting %s", tc.args, err, tc.want)
		}
	}
}
