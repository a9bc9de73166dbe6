// Package useragent reads the browser and operating system from a
// User-Agent header, for both backends: the self-hosted engine names new
// passkeys with it and the Corbado backend reports it as the client's
// parsed device information. Parsing is done by
// github.com/mileusna/useragent; this package maps its answer onto the
// names the library has always shown.
package useragent

import (
	"strings"

	ua "github.com/mileusna/useragent"
)

// Info is what a User-Agent header says about the browser and system.
// Unknown parts are empty.
type Info struct {
	Browser        string // "Chrome", "Safari", "Firefox", "Edge", "Opera", ...
	BrowserVersion string // as sent, e.g. "124.0.0.0"
	OS             string // "iOS", "iPadOS", "Android", "macOS", "Windows", "ChromeOS", "Linux", ...
	OSVersion      string // dotted, e.g. "17.4"; empty when the header carries none
}

// browsers maps the parser's names onto the ones shown to users.
var browsers = map[string]string{
	ua.Chrome: "Chrome", ua.HeadlessChrome: "Chrome", "Chromium": "Chromium",
	ua.Edge: "Edge", ua.Firefox: "Firefox", ua.Safari: "Safari",
	ua.Opera: "Opera", ua.OperaMini: "Opera", ua.OperaTouch: "Opera",
	ua.Vivaldi: "Vivaldi", ua.SamsungBrowser: "Samsung Internet",
}

// Parse reads s. A header that names no known browser or system, such as
// "Go-http-client/1.1" or "", gives the zero Info. A browser the parser
// names but this package does not know is kept when it comes with a
// version and the header also names a system (so "YaBrowser" on Windows
// stays "YaBrowser"); bots and unrecognised clients are left out. Such a
// name is the client's own text, shown in passkey names and security
// notices, so it is kept only when it is a short plain token (see
// plainToken); so is a version.
func Parse(s string) Info {
	if strings.TrimSpace(s) == "" {
		return Info{}
	}
	p := ua.Parse(s)
	var in Info
	switch name, ok := browsers[p.Name]; {
	case ok:
		in.Browser, in.BrowserVersion = name, p.Version
	case p.Name != "" && p.Version != "" && !p.Bot && p.OS != "" && p.Name != p.Device && p.Name != p.OS && plainToken(p.Name):
		in.Browser, in.BrowserVersion = p.Name, p.Version
	}
	if !plainToken(in.BrowserVersion) {
		in.BrowserVersion = ""
	}
	in.OS = p.OS
	if p.OS == ua.IOS && p.Device == "iPad" {
		in.OS = "iPadOS"
	}
	// The parser takes the architecture ("x86_64") for Linux's version.
	if v := strings.ReplaceAll(p.OSVersion, "_", "."); v != "" && v[0] >= '0' && v[0] <= '9' && plainToken(v) {
		in.OSVersion = v
	}
	return in
}

// maxToken bounds a browser name or version taken from the header.
const maxToken = 32

// plainToken reports whether s is at most maxToken bytes of ASCII letters,
// digits, spaces and ". _ -": no markup, no control, bidi or invisible
// characters, nothing that could pass for another name when shown.
func plainToken(s string) bool {
	if len(s) > maxToken {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" ._-", c) >= 0) {
			return false
		}
	}
	return true
}

// PasskeyName names a passkey created by this browser, so users can tell
// their passkeys apart: "Passkey on Chrome (Linux)", "Passkey on Safari
// (iPhone)", "Passkey on Firefox" when the system is unknown, and
// "Passkey" when nothing is.
func (in Info) PasskeyName() string {
	system := in.OS
	switch system {
	case ua.IOS:
		system = "iPhone"
	case "iPadOS":
		system = "iPad"
	}
	switch b := in.Browser; {
	case b != "" && system != "":
		return "Passkey on " + b + " (" + system + ")"
	case b != "" || system != "":
		return "Passkey on " + b + system
	}
	return "Passkey"
}
