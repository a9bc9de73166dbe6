package useragent

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, ua string
		want     Info
		passkey  string
	}{
		// Chrome
		{"chrome linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			Info{"Chrome", "124.0.0.0", "Linux", ""}, "Passkey on Chrome (Linux)"},
		{"chrome macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			Info{"Chrome", "124.0.0.0", "macOS", "10.15.7"}, "Passkey on Chrome (macOS)"},
		{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			Info{"Chrome", "124.0.0.0", "Windows", "10.0"}, "Passkey on Chrome (Windows)"},
		{"chrome android", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
			Info{"Chrome", "124.0.0.0", "Android", "14"}, "Passkey on Chrome (Android)"},
		{"chrome ios (CriOS)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
			Info{"Chrome", "124.0.6367.88", "iOS", "17.4"}, "Passkey on Chrome (iPhone)"},
		{"chrome ipad (CriOS)", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
			Info{"Chrome", "124.0.6367.88", "iPadOS", "17.4"}, "Passkey on Chrome (iPad)"},
		{"chrome chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			Info{"Chrome", "124.0.0.0", "ChromeOS", ""}, "Passkey on Chrome (ChromeOS)"},
		{"headless chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
			Info{"Chrome", "124.0.0.0", "Linux", ""}, "Passkey on Chrome (Linux)"},
		// Safari
		{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
			Info{"Safari", "17.4", "iOS", "17.4"}, "Passkey on Safari (iPhone)"},
		{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			Info{"Safari", "16.6", "iPadOS", "16.6"}, "Passkey on Safari (iPad)"},
		{"safari macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
			Info{"Safari", "17.4.1", "macOS", "10.15.7"}, "Passkey on Safari (macOS)"},
		// Firefox
		{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
			Info{"Firefox", "125.0", "Linux", ""}, "Passkey on Firefox (Linux)"},
		{"firefox ubuntu", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
			Info{"Firefox", "125.0", "Linux", ""}, "Passkey on Firefox (Linux)"},
		{"firefox windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
			Info{"Firefox", "125.0", "Windows", "10.0"}, "Passkey on Firefox (Windows)"},
		{"firefox macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
			Info{"Firefox", "125.0", "macOS", "14.4"}, "Passkey on Firefox (macOS)"},
		{"firefox android", "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
			Info{"Firefox", "125.0", "Android", "14"}, "Passkey on Firefox (Android)"},
		{"firefox ios (FxiOS)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15",
			Info{"Firefox", "125.0", "iOS", "17.4"}, "Passkey on Firefox (iPhone)"},
		// Edge
		{"edge windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
			Info{"Edge", "124.0.2478.51", "Windows", "10.0"}, "Passkey on Edge (Windows)"},
		{"edge macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
			Info{"Edge", "124.0.2478.51", "macOS", "10.15.7"}, "Passkey on Edge (macOS)"},
		{"edge linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
			Info{"Edge", "124.0.2478.51", "Linux", ""}, "Passkey on Edge (Linux)"},
		{"edge android", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64",
			Info{"Edge", "124.0.2478.64", "Android", "14"}, "Passkey on Edge (Android)"},
		{"edge ios (EdgiOS)", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/124.0.2478.50 Mobile/15E148 Safari/605.1.15",
			Info{"Edge", "124.0.2478.50", "iOS", "17.4"}, "Passkey on Edge (iPhone)"},
		// Others
		{"opera windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
			Info{"Opera", "109.0.0.0", "Windows", "10.0"}, "Passkey on Opera (Windows)"},
		{"chromium linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/124.0.6367.60 Chrome/124.0.6367.60 Safari/537.36",
			Info{"Chromium", "124.0.6367.60", "Linux", ""}, "Passkey on Chromium (Linux)"},
		{"yandex windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36",
			Info{"YaBrowser", "24.4.0.0", "Windows", "10.0"}, "Passkey on YaBrowser (Windows)"},
		{"samsung android", "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
			Info{"Samsung Internet", "24.0", "Android", "14"}, "Passkey on Samsung Internet (Android)"},
		{"unknown browser with a bidi override", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) \u202eevil\u202c/1.0",
			Info{"", "", "Windows", "10.0"}, "Passkey on Windows"},
		{"unknown browser with markup", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) <img/src=x>/1.0",
			Info{"", "", "Windows", "10.0"}, "Passkey on Windows"},
		{"browser only", "Firefox/125.0", Info{"Firefox", "125.0", "", ""}, "Passkey on Firefox"},
		{"system only", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", Info{"", "", "Windows", "10.0"}, "Passkey on Windows"},
		{"go client", "Go-http-client/1.1", Info{}, "Passkey"},
		{"curl", "curl/8.5.0", Info{}, "Passkey"},
		{"bot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Info{}, "Passkey"},
		{"garbage", "(((;;;///)))", Info{}, "Passkey"},
		{"empty", "", Info{}, "Passkey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse(tc.ua)
			if got != tc.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tc.ua, got, tc.want)
			}
			if n := got.PasskeyName(); n != tc.passkey {
				t.Errorf("PasskeyName() = %q, want %q", n, tc.passkey)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1")
	f.Add("Go-http-client/1.1")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		in := Parse(s)
		n := in.PasskeyName()
		if !strings.HasPrefix(n, "Passkey") || (utf8.ValidString(s) && !utf8.ValidString(n)) {
			t.Errorf("PasskeyName of %q = %q", s, n)
		}
		if in.Browser != "" && in.Browser == in.OS {
			t.Errorf("Parse(%q) = %+v: the browser is the system", s, in)
		}
	})
}
