package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// With -cookie the example keeps the session in an HttpOnly cookie for
// the -origin pages; with -cors-origin another site's page may call the
// API, /api/me included.
func TestExampleServerCookieAndCORS(t *testing.T) {
	const page, spa = "http://localhost:3000", "https://spa.example.net"
	base, stderr := startServer(t, nil, "-db", filepath.Join(t.TempDir(), "c.db"), "-cookie", "-cors-origin", spa)
	do := func(method, path, body string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	fromPage := map[string]string{"Origin": page, "Sec-Fetch-Site": "same-origin"}
	do("POST", "/auth/signUpOrLogin", `{"email":"c@example.com"}`, fromPage)
	res, body := do("POST", "/auth/signUpOrLogin", `{"email":"c@example.com","otp":"`+lastCode(t, stderr, "c@example.com")+`"}`, fromPage)
	var c *http.Cookie
	for _, x := range res.Cookies() {
		if x.Name == "passkeys_session" {
			c = x
		}
	}
	var answer map[string]any
	_ = json.Unmarshal([]byte(body), &answer)
	if res.StatusCode != 200 || c == nil || !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || answer["sessionToken"] != nil {
		t.Fatalf("sign-in: %d %s %q", res.StatusCode, body, res.Header.Values("Set-Cookie"))
	}
	cookie := map[string]string{"Cookie": c.Name + "=" + c.Value}
	if res, body := do("GET", "/api/me", "", cookie); res.StatusCode != 200 || !strings.Contains(body, "c@example.com") {
		t.Errorf("/api/me with the cookie: %d %s", res.StatusCode, body)
	}
	pre := map[string]string{"Origin": spa, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
	if res, _ := do("OPTIONS", "/api/me", "", pre); res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != spa || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight of /api/me from the CORS origin: %d %v", res.StatusCode, res.Header)
	}
	pre["Origin"] = "https://evil.example"
	if res, body := do("OPTIONS", "/auth/logout", "", pre); res.StatusCode != 403 || !strings.Contains(body, "cors_origin_not_allowed") || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %s %v", res.StatusCode, body, res.Header)
	}
	if res, body := do("POST", "/auth/logout", "", map[string]string{"Cookie": cookie["Cookie"], "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); res.StatusCode != 403 || !strings.Contains(body, "cross_origin_request") {
		t.Errorf("cross-site logout: %d %s", res.StatusCode, body)
	}
	res, _ = do("POST", "/auth/logout", "", map[string]string{"Cookie": cookie["Cookie"], "Origin": page, "Sec-Fetch-Site": "same-origin"})
	if res.StatusCode != 204 || !strings.Contains(res.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout: %d %q", res.StatusCode, res.Header.Values("Set-Cookie"))
	}
	if res, _ := do("GET", "/api/me", "", cookie); res.StatusCode != 401 {
		t.Errorf("/api/me after logout: %d", res.StatusCode)
	}
}

func TestExampleServerCookieFlags(t *testing.T) {
	env := map[string]string{"PASSKEYS_COOKIE": "true", "PASSKEYS_CORS_ORIGINS": "https://a.example,https://b.example"}
	c, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || !c.cookie || len(c.cors) != 2 || c.cors[1] != "https://b.example" {
		t.Errorf("from the environment: %+v %v", c, err)
	}
	c, err = parseConfig([]string{"-cookie=false", "-cors-origin", "https://c.example"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.cookie || len(c.cors) != 1 || c.cors[0] != "https://c.example" {
		t.Errorf("flags over the environment: %+v %v", c, err)
	}
	c, _ = parseConfig(nil, func(string) string { return "" }, io.Discard)
	if c.cookie || len(c.cors) != 0 {
		t.Errorf("defaults: cookie %v, cors %v", c.cookie, c.cors)
	}
}
