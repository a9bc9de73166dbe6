package weborigin

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		origin string
		want   string // "" accepts
	}{
		{"https://example.com", ""},
		{"https://login.example.com:8443", ""},
		{"http://localhost:3000", ""},
		{"http://[::1]:8080", ""},
		{"https://xn--bcher-kva.example", ""},
		{"https://example.com:443", "default port"},
		{"http://localhost:80", "default port"},
		{"https://example.com:", "empty port"},
		{"https://example.com:0443", "leading zeros"},
		{"https://example.com:99999", "up to 65535"},
		{"HTTPS://example.com", "lower-case"},
		{"https://Example.com", "lower-case"},
		{"https://bücher.example", "ASCII"},
		{"https://example.com/", "nothing after it"},
		{"https://example.com/app", "nothing after it"},
		{"https://example.com?", "nothing after it"},
		{"https://example.com#", "nothing after it"},
		{"https://user@example.com", "nothing after it"},
		{"https://*.example.com", "wildcard"},
		{"*", "not an origin"},
		{"null", "not an origin"},
		{"", "not an origin"},
		{"https://example.com ", "not an origin"},
		{"https://exa\tmple.com", "not an origin"},
		{"example.com", "not an origin"},
		{"android:apk-key-hash:abc", "not an origin"},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			err := Check(tc.origin)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCheckWeb(t *testing.T) {
	if err := CheckWeb("chrome-extension://abcdef"); err == nil || !strings.Contains(err.Error(), "http:// or https://") {
		t.Errorf("chrome-extension origin: %v", err)
	}
	if err := CheckWeb("https://example.com"); err != nil {
		t.Errorf("https origin: %v", err)
	}
}

func TestIsLoopbackHTTP(t *testing.T) {
	for o, want := range map[string]bool{
		"http://localhost":        true,
		"http://localhost:5173":   true,
		"http://app.localhost:80": true,
		"http://127.0.0.1:8080":   true,
		"http://127.1.2.3":        true,
		"http://[::1]:8080":       true,
		"https://localhost":       false,
		"http://example.com":      false,
		"http://10.0.0.1":         false,
		"http://localhost.evil":   false,
	} {
		if got := IsLoopbackHTTP(o); got != want {
			t.Errorf("IsLoopbackHTTP(%q) = %v, want %v", o, got, want)
		}
	}
}
