package passkeys_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys"
)

// largestAttestation is a registration response as large as a real one
// gets, with random bytes where the values go (the handler decodes the
// JSON; the backend would parse the rest): a credential ID of 1,023
// bytes (the WebAuthn maximum), an RSA-8192 key (the largest the engine
// accepts) in the attested credential data, the authenticatorData and
// the publicKey (SPKI) fields, a TPM-style attestation statement with
// an 8192-bit signature, the key's pubArea, certInfo and a chain of four
// 2 KiB certificates (android-key and TPM chains are smaller), every
// transport, and extension results (credProps, prf, largeBlob).
func largestAttestation(t *testing.T) []byte {
	b64 := func(n int) string {
		b := make([]byte, n)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	const (
		credID   = 1023
		cose     = 1024 + 3 + 20 // n, e, labels
		authData = 37 + 16 + 2 + credID + cose
		attStmt  = 1024 + 1024 + 120 + 200 + 4*2048 + 64 // sig, pubArea, certInfo, x5c, framing
		spki     = 1024 + 40
	)
	id := b64(credID)
	resp := map[string]any{
		"id": id, "rawId": id, "type": "public-key", "authenticatorAttachment": "cross-platform",
		"response": map[string]any{
			"clientDataJSON":     b64(512),
			"attestationObject":  b64(authData + attStmt + 32),
			"authenticatorData":  b64(authData),
			"publicKey":          b64(spki),
			"publicKeyAlgorithm": -257,
			"transports":         []string{"ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"},
		},
		"clientExtensionResults": map[string]any{
			"credProps": map[string]bool{"rk": true},
			"prf":       map[string]any{"enabled": true, "results": map[string]string{"first": b64(32), "second": b64(32)}},
			"largeBlob": map[string]bool{"supported": true},
		},
	}
	body, err := json.Marshal(map[string]any{"assertionResponse": resp})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// The default body cap, 64 KiB, holds the largest real credential
// response (about 25 KiB) twice over, and the handler gets it whole with the
// default options; the same response as a JSON string (the other form the
// handler accepts, every quote escaped) fits too. One byte over the cap is
// 413.
func TestDefaultBodyCapFitsLargestAttestation(t *testing.T) {
	body := largestAttestation(t)
	t.Logf("largest credential response: %d bytes", len(body))
	if len(body) > passkeys.DefaultMaxBodyBytes/2 {
		t.Errorf("largest response %d bytes, more than half the default cap %d", len(body), passkeys.DefaultMaxBodyBytes)
	}
	b := &stubBackend{finishErr: passkeys.ErrVerificationFailed}
	h, err := passkeys.New(passkeys.Options{Backend: b, JWTKey: key})
	if err != nil {
		t.Fatal(err)
	}
	inner := bytes.TrimSuffix(bytes.TrimPrefix(body, []byte(`{"assertionResponse":`)), []byte("}"))
	asString, _ := json.Marshal(map[string]string{"assertionResponse": string(inner)})
	for name, b := range map[string][]byte{"object": body, "string": asString} {
		if status, code, _ := problemOf(t, post(t, h, "/passkey/login/finish", string(b), "")); status != 401 || code != "passkey_verification_failed" {
			t.Errorf("%s form (%d bytes): %d %s, want the backend's 401", name, len(b), status, code)
		}
	}
	over := `{"assertionResponse":"` + strings.Repeat("a", passkeys.DefaultMaxBodyBytes-len(`{"assertionResponse":""}`)+1) + `"}`
	if status, code, detail := problemOf(t, post(t, h, "/passkey/login/finish", over, "")); status != 413 || detail != "The request body exceeds 64 KiB." {
		t.Errorf("one byte over the default cap: %d %s %q", status, code, detail)
	}
}
