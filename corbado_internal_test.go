package passkeys

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
)

func TestClientInformation(t *testing.T) {
	no, yes := false, true
	for _, tc := range []struct {
		name      string
		caps      map[string]bool
		kept      map[string]bool
		uvpa, cm  bool
		bluetooth *bool
	}{
		{"nothing reported", nil, nil, true, true, nil},
		{"reported", map[string]bool{"userVerifyingPlatformAuthenticator": false, "conditionalGet": false, "hybridTransport": true}, nil, false, false, &yes},
		{"passkeyPlatformAuthenticator", map[string]bool{"passkeyPlatformAuthenticator": false, "hybridTransport": false}, nil, false, true, &no},
		{"kept from the start", map[string]bool{"conditionalGet": true}, map[string]bool{"conditionalGet": false}, true, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ci := clientInformation(Client{RemoteAddr: "192.0.2.1", UserAgent: "Firefox/125.0", Capabilities: tc.caps}, tc.kept)
			want := corbadoapi.ClientInformation{
				RemoteAddress: "192.0.2.1", UserAgent: "Firefox/125.0", BluetoothAvailable: tc.bluetooth,
				UserVerifyingPlatformAuthenticatorAvailable: tc.uvpa, ConditionalMediationAvailable: tc.cm,
				ParsedDeviceInfo: corbadoapi.ParsedDeviceInfo{BrowserName: "Firefox", BrowserVersion: "125.0"},
			}
			if diff := cmp.Diff(want, ci); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCredentialIDs(t *testing.T) {
	for in, want := range map[string]string{
		"AQID_-8":  "AQID_-8",
		"AQID/+8=": "AQID_-8",
		"AQID_-8=": "AQID_-8",
		"not b64!": "not b64!",
	} {
		if got := canonicalID(in); got != want {
			t.Errorf("canonicalID(%q) = %q, want %q", in, got, want)
		}
	}
}
