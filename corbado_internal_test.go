package passkeys

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
)

func TestParseUserAgent(t *testing.T) {
	for _, tc := range []struct {
		ua   string
		want corbadoapi.ParsedDeviceInfo
	}{
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			corbadoapi.ParsedDeviceInfo{BrowserName: "Chrome", BrowserVersion: "124.0.0.0", OSName: "macOS", OSVersion: "10.15.7"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
			corbadoapi.ParsedDeviceInfo{BrowserName: "Edge", BrowserVersion: "124.0.2478.51", OSName: "Windows", OSVersion: "10.0"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
			corbadoapi.ParsedDeviceInfo{BrowserName: "Safari", BrowserVersion: "17.4", OSName: "iOS", OSVersion: "17.4"}},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
			corbadoapi.ParsedDeviceInfo{BrowserName: "Chrome", BrowserVersion: "124.0.0.0", OSName: "Android", OSVersion: "14"}},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
			corbadoapi.ParsedDeviceInfo{BrowserName: "Firefox", BrowserVersion: "125.0", OSName: "Linux"}},
		{"Go-http-client/1.1", corbadoapi.ParsedDeviceInfo{}},
		{"", corbadoapi.ParsedDeviceInfo{}},
	} {
		if diff := cmp.Diff(tc.want, parseUserAgent(tc.ua)); diff != "" {
			t.Errorf("parseUserAgent(%q) (-want +got):\n%s", tc.ua, diff)
		}
	}
}

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
