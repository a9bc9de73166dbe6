package passkeystest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys/passkeystest"
)

// keysOf returns the member names of the JSON object at path in doc,
// sorted.
func keysOf(t *testing.T, doc []byte, path ...string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	var keys []string
	for k := range v.(map[string]any) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func clientDataOf(t *testing.T, resp []byte) map[string]any {
	t.Helper()
	var r struct {
		Response struct{ ClientDataJSON string } `json:"response"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(r.Response.ClientDataJSON)
	if err != nil {
		t.Fatalf("clientDataJSON is not unpadded base64url: %v", err)
	}
	var cd map[string]any
	if err := json.Unmarshal(raw, &cd); err != nil {
		t.Fatal(err)
	}
	return cd
}

// TestAndroidAppFlutterJSON: an Android app with the Flutter package's
// JSON takes only bare options and answers with exactly its members, its
// client data naming the certificate's origin and the package.
func TestAndroidAppFlutterJSON(t *testing.T) {
	cert := []byte("certificate")
	sum := sha256.Sum256(cert)
	if got, want := passkeystest.AndroidOrigin(cert), "android:apk-key-hash:"+base64.RawURLEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("AndroidOrigin %q, want %q", got, want)
	}
	if fp := passkeystest.AndroidFingerprint(cert); len(fp) != 95 || strings.ToUpper(fp) != fp {
		t.Errorf("AndroidFingerprint %q", fp)
	}
	app := passkeystest.NewAndroidApp("example.com", "com.example.app", cert)
	app.FlutterJSON = true
	create := []byte(`{"rp":{"id":"example.com","name":"x"},"user":{"id":"dXNlcg","name":"a","displayName":"a"},"challenge":"Y2hhbGxlbmdl","pubKeyCredParams":[{"type":"public-key","alg":-7}]}`)
	if _, err := app.Create([]byte(`{"publicKey":` + string(create) + `}`)); err == nil || !strings.Contains(err.Error(), "attestationOptions.publicKey") {
		t.Errorf("wrapped options: %v, want an error naming attestationOptions.publicKey", err)
	}
	att, err := app.Create(create)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(t, att), []string{"clientExtensionResults", "id", "rawId", "response", "type"}; !slices.Equal(got, want) {
		t.Errorf("attestation members %v, want %v", got, want)
	}
	if got, want := keysOf(t, att, "response"), []string{"attestationObject", "clientDataJSON", "transports"}; !slices.Equal(got, want) {
		t.Errorf("attestation response members %v, want %v", got, want)
	}
	cd := clientDataOf(t, att)
	if cd["origin"] != passkeystest.AndroidOrigin(cert) || cd["androidPackageName"] != "com.example.app" || cd["type"] != "webauthn.create" {
		t.Errorf("client data %v", cd)
	}
	if _, err := app.Get([]byte(`{"challenge":"Y2hhbGxlbmdl","rpId":"example.org"}`)); err == nil {
		t.Error("options for another rp id answered")
	}
	asr, err := app.Get([]byte(`{"challenge":"Y2hhbGxlbmdl","rpId":"example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(t, asr, "response"), []string{"authenticatorData", "clientDataJSON", "signature", "userHandle"}; !slices.Equal(got, want) {
		t.Errorf("assertion response members %v, want %v", got, want)
	}
	if strings.Contains(string(asr), "=") {
		t.Errorf("padded base64 in %s", asr)
	}
}

// TestIOSApp: an iOS app's client data carries the RP's web origin and
// no package.
func TestIOSApp(t *testing.T) {
	app := passkeystest.NewIOSApp("example.com")
	att, err := app.Create([]byte(`{"rp":{"id":"example.com"},"user":{"id":"dXNlcg"},"challenge":"Y2hhbGxlbmdl"}`))
	if err != nil {
		t.Fatal(err)
	}
	cd := clientDataOf(t, att)
	if cd["origin"] != "https://example.com" || cd["androidPackageName"] != nil {
		t.Errorf("client data %v", cd)
	}
}
