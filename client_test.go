package passkeys

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name, remote, xff string
		trusted           []netip.Prefix
		want              string
	}{
		{"direct", "203.0.113.7:1234", "", trusted, "203.0.113.7"},
		{"untrusted proxy header ignored", "203.0.113.7:1234", "198.51.100.1", trusted, "203.0.113.7"},
		{"no trusted proxies", "10.0.0.1:1234", "198.51.100.1", nil, "10.0.0.1"},
		{"one trusted hop", "10.0.0.1:1234", "198.51.100.1", trusted, "198.51.100.1"},
		{"spoofed left entries ignored", "10.0.0.1:1234", "1.2.3.4, 198.51.100.1, 10.0.0.2", trusted, "198.51.100.1"},
		{"garbage entry stops the walk", "10.0.0.1:1234", "198.51.100.1, junk", trusted, "10.0.0.1"},
		{"ipv6", "[::1]:80", "2001:db8::5", trusted, "2001:db8::5"},
		{"mapped ipv4", "[::ffff:203.0.113.9]:80", "", trusted, "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := clientIP(r, tc.trusted); got != tc.want {
				t.Errorf("clientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIPKeyGroupsIPv6Networks(t *testing.T) {
	if a, b := ipKey("2001:db8:1:2::1"), ipKey("2001:db8:1:2:ffff::9"); a != b {
		t.Errorf("same /64 gives keys %q and %q", a, b)
	}
	if a, b := ipKey("2001:db8:1:2::1"), ipKey("2001:db8:1:3::1"); a == b {
		t.Errorf("different /64s share key %q", a)
	}
	if got := ipKey("192.0.2.1"); got != "192.0.2.1" {
		t.Errorf("ipv4 key %q", got)
	}
}

func TestClientAcceptLanguage(t *testing.T) {
	long := strings.Repeat("de-DE;q=0.9,", 60) // 720 bytes
	for _, tc := range []struct {
		name   string
		values []string
		want   string
	}{
		{"none", nil, ""},
		{"one", []string{"de-CH, de;q=0.9, en;q=0.8"}, "de-CH, de;q=0.9, en;q=0.8"},
		{"two headers", []string{"de", "en;q=0.5"}, "de,en;q=0.5"},
		{"cut at a comma", []string{long}, long[:strings.LastIndexByte(long[:maxAcceptLanguage+1], ',')]},
		{"one range too long", []string{strings.Repeat("x", 600)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/signUpOrLogin", nil)
			for _, v := range tc.values {
				r.Header.Add("Accept-Language", v)
			}
			got := (&Handler{}).client(r).AcceptLanguage
			if got != tc.want {
				t.Errorf("AcceptLanguage = %q, want %q", got, tc.want)
			}
			if len(got) > maxAcceptLanguage || strings.HasSuffix(got, ",") {
				t.Errorf("AcceptLanguage %q: %d bytes or a trailing comma", got, len(got))
			}
		})
	}
}
