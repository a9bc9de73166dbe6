package corbadoapi

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDeviceInfo(t *testing.T) {
	for _, tc := range []struct {
		ua   string
		want ParsedDeviceInfo
	}{
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			ParsedDeviceInfo{BrowserName: "Chrome", BrowserVersion: "124.0.0.0", OSName: "macOS", OSVersion: "10.15.7"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
			ParsedDeviceInfo{BrowserName: "Edge", BrowserVersion: "124.0.2478.51", OSName: "Windows", OSVersion: "10.0"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
			ParsedDeviceInfo{BrowserName: "Safari", BrowserVersion: "17.4", OSName: "iOS", OSVersion: "17.4"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
			ParsedDeviceInfo{BrowserName: "Chrome", BrowserVersion: "124.0.6367.88", OSName: "iOS", OSVersion: "17.4"}},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
			ParsedDeviceInfo{BrowserName: "Chrome", BrowserVersion: "124.0.0.0", OSName: "Android", OSVersion: "14"}},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
			ParsedDeviceInfo{BrowserName: "Firefox", BrowserVersion: "125.0", OSName: "Linux"}},
		{"Go-http-client/1.1", ParsedDeviceInfo{}},
		{"", ParsedDeviceInfo{}},
	} {
		if diff := cmp.Diff(tc.want, ParseDeviceInfo(tc.ua)); diff != "" {
			t.Errorf("ParseDeviceInfo(%q) (-want +got):\n%s", tc.ua, diff)
		}
	}
}

func TestNewClientInformation(t *testing.T) {
	no, yes := false, true
	for _, tc := range []struct {
		name      string
		caps      map[string]bool
		uvpa, cm  bool
		bluetooth *bool
	}{
		{"nothing reported", nil, true, true, nil},
		{"reported", map[string]bool{"userVerifyingPlatformAuthenticator": false, "conditionalGet": false, "hybridTransport": true}, false, false, &yes},
		{"passkeyPlatformAuthenticator", map[string]bool{"passkeyPlatformAuthenticator": false, "hybridTransport": false}, false, true, &no},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ua := "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
			want := ClientInformation{
				RemoteAddress: "192.0.2.1", UserAgent: ua, BluetoothAvailable: tc.bluetooth,
				UserVerifyingPlatformAuthenticatorAvailable: tc.uvpa, ConditionalMediationAvailable: tc.cm,
				ParsedDeviceInfo: ParsedDeviceInfo{BrowserName: "Firefox", BrowserVersion: "125.0", OSName: "Linux"},
			}
			if diff := cmp.Diff(want, NewClientInformation("192.0.2.1", ua, tc.caps)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
