package corbadoapi

import "github.com/passkeyready/passkeys/internal/useragent"

// NewClientInformation describes the browser behind a call: its address,
// its User-Agent header and the device read from it, and the capability
// flags the page reported (for example from
// PublicKeyCredential.getClientCapabilities()). A capability the page did
// not report is taken to be available: the page asks for passkey options
// only where it means to use them, and the browser has the last word.
// Bluetooth is reported only when the page reported hybridTransport.
func NewClientInformation(remoteAddr, userAgent string, caps map[string]bool) ClientInformation {
	flag := func(names ...string) bool {
		for _, n := range names {
			if v, ok := caps[n]; ok {
				return v
			}
		}
		return true
	}
	ci := ClientInformation{
		RemoteAddress: remoteAddr, UserAgent: userAgent,
		UserVerifyingPlatformAuthenticatorAvailable: flag("userVerifyingPlatformAuthenticator", "passkeyPlatformAuthenticator"),
		ConditionalMediationAvailable:               flag("conditionalGet"),
		ParsedDeviceInfo:                            ParseDeviceInfo(userAgent),
	}
	if v, ok := caps["hybridTransport"]; ok {
		ci.BluetoothAvailable = &v
	}
	return ci
}

// ParseDeviceInfo reads the browser and system from a User-Agent header
// as parsedDeviceInfo. Unknown parts stay empty.
func ParseDeviceInfo(ua string) ParsedDeviceInfo {
	in := useragent.Parse(ua)
	return ParsedDeviceInfo{
		BrowserName: in.Browser, BrowserVersion: in.BrowserVersion,
		OSName: in.OS, OSVersion: in.OSVersion,
	}
}
