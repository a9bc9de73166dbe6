package passkeys_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

const (
	appOrigin = "https://app.example.com"
	spaOrigin = "https://spa.example.net"
)

// cookieRig is the self-hosted engine on memstore with store sessions,
// mounted under /auth beside a guarded /api/me, on a real HTTP server.
type cookieRig struct {
	t       *testing.T
	srv     *httptest.Server
	h       *passkeys.Handler
	mail    *passkeystest.Mailbox
	auth    *passkeystest.Authenticator
	store   *memstore.Store
	session *selfhosted.Sessions

	mu    sync.Mutex
	now   time.Time
	notes int // POST /api/note calls that ran
}

func (r *cookieRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func newCookieRig(t *testing.T, edit func(*passkeys.Options)) *cookieRig {
	t.Helper()
	r := &cookieRig{t: t, mail: passkeystest.NewMailbox(), auth: passkeystest.New(appOrigin), store: memstore.New(),
		now: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)}
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: "app.example.com", Origins: []string{appOrigin}, Store: r.store, OTPSender: r.mail, Clock: r.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.session, err = selfhosted.NewSessions(r.store, selfhosted.SessionsConfig{Clock: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	o := passkeys.Options{
		Backend: engine, SessionIssuer: r.session, SessionVerifier: r.session, Clock: r.clock,
		Cookie: &passkeys.CookieOptions{Origins: []string{appOrigin}},
	}
	if edit != nil {
		edit(&o)
	}
	r.h, err = passkeys.New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", r.h))
	mux.Handle("/api/me", r.h.CORS(r.h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, _ := passkeys.UserFromContext(req.Context())
		_, _ = io.WriteString(w, u.Email)
	}))))
	mux.Handle("POST /api/note", r.h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		r.notes++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})))
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (a answer) code() string {
	var p struct{ Code string }
	_ = json.Unmarshal(a.body, &p)
	return p.Code
}

// sameOrigin is what a browser sends with a fetch from a page of appOrigin.
var sameOrigin = map[string]string{"Origin": appOrigin, "Sec-Fetch-Site": "same-origin"}

// do sends a request with the given headers; a "Cookie" header is sent
// as it is.
func (r *cookieRig) do(method, path, body string, hdr map[string]string) answer {
	r.t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := r.srv.Client().Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, b}
}

func with(h map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range h {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// signIn signs email in by code from a page of appOrigin and returns the
// answer, which sets the cookie.
func (r *cookieRig) signIn(email string) answer {
	r.t.Helper()
	if a := r.do("POST", "/auth/signUpOrLogin", `{"email":"`+email+`"}`, sameOrigin); a.status != 200 {
		r.t.Fatalf("request code: %d %s", a.status, a.body)
	}
	code, _ := r.mail.Last(email)
	a := r.do("POST", "/auth/signUpOrLogin", `{"email":"`+email+`","otp":"`+code+`"}`, sameOrigin)
	if a.status != 200 {
		r.t.Fatalf("submit code: %d %s", a.status, a.body)
	}
	return a
}

func cookieHeader(c *http.Cookie) string { return c.Name + "=" + c.Value }

// addPasskey appends a passkey through the cookie session and returns its ID.
func (r *cookieRig) addPasskey(cookie string) string {
	r.t.Helper()
	h := with(sameOrigin, "Cookie", cookie)
	a := r.do("POST", "/auth/passkey/append/start", `{}`, h)
	var start struct{ AttestationOptions json.RawMessage }
	if a.status != 200 || json.Unmarshal(a.body, &start) != nil {
		r.t.Fatalf("append start: %d %s", a.status, a.body)
	}
	att, err := r.auth.Create(start.AttestationOptions)
	if err != nil {
		r.t.Fatal(err)
	}
	a = r.do("POST", "/auth/passkey/append/finish", `{"attestationResponse":`+string(att)+`}`, h)
	var fin struct{ Passkey passkeys.Passkey }
	if a.status != 200 || json.Unmarshal(a.body, &fin) != nil {
		r.t.Fatalf("append finish: %d %s", a.status, a.body)
	}
	return fin.Passkey.ID
}

func (r *cookieRig) passkeyCount(cookie string) int {
	r.t.Helper()
	a := r.do("GET", "/auth/passkeys", "", map[string]string{"Cookie": cookie})
	var list struct{ Passkeys []passkeys.Passkey }
	if a.status != 200 || json.Unmarshal(a.body, &list) != nil {
		r.t.Fatalf("GET passkeys: %d %s", a.status, a.body)
	}
	return len(list.Passkeys)
}

// checkCleared asserts that a answers with the Set-Cookie that removes the
// session cookie.
func checkCleared(t *testing.T, what string, a answer, name, path, domain string) {
	t.Helper()
	c := a.cookie(name)
	if c == nil || c.Value != "" || c.MaxAge != -1 || c.Path != path || c.Domain != domain || !c.HttpOnly {
		t.Errorf("%s: Set-Cookie %q, want %s cleared (Max-Age=0) on path %s domain %q", what, a.header.Values("Set-Cookie"), name, path, domain)
	}
}

func TestCookieSessionAttributes(t *testing.T) {
	r := newCookieRig(t, func(o *passkeys.Options) {
		o.Cookie.Domain = "app.example.com"
		o.Cookie.Path = "/"
	})
	a := r.signIn("ada@example.com")
	c := a.cookie(passkeys.DefaultCookieName)
	if c == nil {
		t.Fatalf("login set no %s cookie: %q", passkeys.DefaultCookieName, a.header.Values("Set-Cookie"))
	}
	if c.Value == "" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" ||
		c.Domain != "app.example.com" || c.MaxAge != int(selfhosted.DefaultSessionLifetime/time.Second) {
		t.Errorf("cookie %q: want a value, HttpOnly, Secure, SameSite=Lax, Path=/, Domain=app.example.com, Max-Age=%d",
			a.header.Get("Set-Cookie"), int(selfhosted.DefaultSessionLifetime/time.Second))
	}
	var body map[string]any
	if err := json.Unmarshal(a.body, &body); err != nil || body["sessionToken"] != nil || body["user"] == nil {
		t.Errorf("cookie-mode login answer %s: want the user and no sessionToken", a.body)
	}
	if _, err := r.session.VerifySession(t.Context(), c.Value); err != nil {
		t.Errorf("the cookie's value is not a live session: %v", err)
	}

	// The guard accepts the cookie, on the handler's routes and the host's.
	if n := r.passkeyCount(cookieHeader(c)); n != 0 {
		t.Errorf("a new account lists %d passkeys", n)
	}
	if me := r.do("GET", "/api/me", "", map[string]string{"Cookie": cookieHeader(c)}); me.status != 200 || string(me.body) != "ada@example.com" {
		t.Errorf("/api/me with the cookie: %d %s", me.status, me.body)
	}
	// Without a cookie or a token: 401 naming both.
	if me := r.do("GET", "/api/me", "", nil); me.status != 401 || !strings.Contains(string(me.body), "session cookie") {
		t.Errorf("/api/me without a session: %d %s", me.status, me.body)
	}
}

func TestCookieSessionPasskeyLogin(t *testing.T) {
	r := newCookieRig(t, nil)
	c := r.signIn("bob@example.com").cookie(passkeys.DefaultCookieName)
	r.addPasskey(cookieHeader(c))

	a := r.do("POST", "/auth/passkey/login/start", `{"email":"bob@example.com"}`, sameOrigin)
	var start struct{ AssertionOptions json.RawMessage }
	if a.status != 200 || json.Unmarshal(a.body, &start) != nil {
		t.Fatalf("login start: %d %s", a.status, a.body)
	}
	asr, err := r.auth.Get(start.AssertionOptions)
	if err != nil {
		t.Fatal(err)
	}
	a = r.do("POST", "/auth/passkey/login/finish", `{"assertionResponse":`+string(asr)+`}`, sameOrigin)
	nc := a.cookie(passkeys.DefaultCookieName)
	if a.status != 200 || nc == nil || nc.Value == "" || nc.Value == c.Value || !nc.HttpOnly {
		t.Fatalf("passkey login: %d %s, Set-Cookie %q", a.status, a.body, a.header.Values("Set-Cookie"))
	}
	if s, err := r.session.DescribeSession(t.Context(), nc.Value); err != nil || s.Authentication.Method != passkeys.MethodPasskey {
		t.Errorf("the passkey login's cookie: %+v %v", s, err)
	}
}

// A forged cross-site request that would use the cookie is refused with
// 403 cross_origin_request and changes nothing; the same request from the
// configured origin goes through.
func TestCookieCrossOriginRefused(t *testing.T) {
	r := newCookieRig(t, func(o *passkeys.Options) { o.CORS.Origins = []string{spaOrigin} })
	c := cookieHeader(r.signIn("eve@example.com").cookie(passkeys.DefaultCookieName))
	id := r.addPasskey(c)
	del := "/auth/passkeys/" + id
	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		{"Sec-Fetch-Site same-site from a sibling", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://blog.example.com"}},
		{"foreign Origin without Sec-Fetch-Site", map[string]string{"Origin": "https://evil.example"}},
		{"Origin null without Sec-Fetch-Site", map[string]string{"Origin": "null"}},
		{"plain-http page of the same host", map[string]string{"Origin": "http://app.example.com"}},
		{"same-origin to a host name not configured", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://other.example.com"}},
		{"Origin that matches the Host header", map[string]string{"Origin": "http://" + strings.TrimPrefix(r.srv.URL, "http://")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := r.do("DELETE", del, "", with(tc.hdr, "Cookie", c))
			if a.status != 403 || a.code() != "cross_origin_request" || a.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("DELETE passkey: %d %s", a.status, a.body)
			}
			if a.cookie(passkeys.DefaultCookieName) != nil {
				t.Errorf("a refused request touched the cookie: %q", a.header.Values("Set-Cookie"))
			}
			if n := r.passkeyCount(c); n != 1 {
				t.Errorf("after a refused DELETE the account has %d passkeys, want 1", n)
			}
			if a := r.do("POST", "/auth/logout", "", with(tc.hdr, "Cookie", c)); a.status != 403 {
				t.Errorf("logout: %d %s", a.status, a.body)
			}
		})
	}
	if n := r.passkeyCount(c); n != 1 {
		t.Fatalf("the session did not survive the refused requests: %d passkeys", n)
	}

	// The host's own unsafe routes behind Handler.RequireSession get the
	// same check.
	if a := r.do("POST", "/api/note", "", map[string]string{"Cookie": c, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); a.status != 403 || a.code() != "cross_origin_request" {
		t.Errorf("cross-site POST to a host route: %d %s", a.status, a.body)
	}
	if a := r.do("POST", "/api/note", "", with(sameOrigin, "Cookie", c)); a.status != 204 {
		t.Errorf("same-origin POST to a host route: %d %s", a.status, a.body)
	}
	r.mu.Lock()
	if r.notes != 1 {
		t.Errorf("the host route ran %d times, want once (the same-origin call)", r.notes)
	}
	r.mu.Unlock()

	// A CORS origin is trusted too: it may already make credentialed calls.
	if a := r.do("POST", "/auth/passkey/append/start", `{}`, map[string]string{"Cookie": c, "Origin": spaOrigin, "Sec-Fetch-Site": "cross-site"}); a.status != 200 {
		t.Errorf("POST from the CORS origin: %d %s", a.status, a.body)
	}
	// No browser headers at all: not a browser, or a same-origin request
	// of an old one.
	if a := r.do("POST", "/auth/passkey/append/start", `{}`, map[string]string{"Cookie": c}); a.status != 200 {
		t.Errorf("append start without Origin or Sec-Fetch-Site: %d %s", a.status, a.body)
	}
	if a := r.do("DELETE", del, "", with(sameOrigin, "Cookie", c)); a.status != 200 {
		t.Fatalf("same-origin DELETE: %d %s", a.status, a.body)
	}
	if n := r.passkeyCount(c); n != 0 {
		t.Errorf("after the same-origin DELETE: %d passkeys", n)
	}
}

// The login endpoints set the cookie, so a forged sign-in (into the
// attacker's account) is refused too, and the code stays unused.
func TestCookieLoginCSRFRefused(t *testing.T) {
	r := newCookieRig(t, nil)
	if a := r.do("POST", "/auth/signUpOrLogin", `{"email":"mallory@example.com"}`, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}); a.status != 403 || a.code() != "cross_origin_request" {
		t.Errorf("cross-site code request: %d %s", a.status, a.body)
	}
	if n := len(r.mail.Codes("mallory@example.com")); n != 0 {
		t.Errorf("a refused request sent %d codes", n)
	}
	if a := r.do("POST", "/auth/signUpOrLogin", `{"email":"mallory@example.com"}`, sameOrigin); a.status != 200 {
		t.Fatalf("code request: %d %s", a.status, a.body)
	}
	code, _ := r.mail.Last("mallory@example.com")
	body := `{"email":"mallory@example.com","otp":"` + code + `"}`
	a := r.do("POST", "/auth/signUpOrLogin", body, map[string]string{"Origin": "https://evil.example"})
	if a.status != 403 || a.code() != "cross_origin_request" || a.cookie(passkeys.DefaultCookieName) != nil {
		t.Errorf("cross-site code check: %d %s %q", a.status, a.body, a.header.Values("Set-Cookie"))
	}
	if a := r.do("POST", "/auth/signUpOrLogin", body, sameOrigin); a.status != 200 || a.cookie(passkeys.DefaultCookieName) == nil {
		t.Errorf("the code after the refused attempt: %d %s", a.status, a.body)
	}
}

// A browser adds the HTTP authentication of a site behind Basic (or
// Digest, Negotiate) authentication to cross-site form posts by itself:
// such an Authorization header is an ambient credential like the cookie,
// so a login from another origin that carries one is still a login CSRF
// and refused; only a Bearer token, which a page can send only after a
// CORS preflight, skips the cross-origin check.
func TestCookieLoginCSRFWithBrowserAuthRefused(t *testing.T) {
	r := newCookieRig(t, nil)
	if a := r.do("POST", "/auth/signUpOrLogin", `{"email":"mallory@example.com"}`, sameOrigin); a.status != 200 {
		t.Fatalf("code request: %d %s", a.status, a.body)
	}
	code, _ := r.mail.Last("mallory@example.com")
	body := `{"email":"mallory@example.com","otp":"` + code + `"}`
	for _, auth := range []string{"Basic c3RhZ2luZzpzZWNyZXQ=", "Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1", "Digest username=\"staging\""} {
		a := r.do("POST", "/auth/signUpOrLogin", body, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Authorization": auth})
		if a.status != 403 || a.code() != "cross_origin_request" || a.cookie(passkeys.DefaultCookieName) != nil {
			t.Errorf("cross-site code check with Authorization %q: %d %s %q", auth, a.status, a.body, a.header.Values("Set-Cookie"))
		}
	}
	if a := r.do("POST", "/auth/signUpOrLogin", body, with(sameOrigin, "Authorization", "Basic c3RhZ2luZzpzZWNyZXQ=")); a.status != 200 || a.cookie(passkeys.DefaultCookieName) == nil {
		t.Errorf("the code from the page itself behind Basic authentication: %d %s", a.status, a.body)
	}
}

// Bearer-authenticated requests carry no ambient credential and are not
// subject to the cross-origin check; with a token and a cookie, the token
// wins.
func TestCookieModeBearerUnaffected(t *testing.T) {
	r := newCookieRig(t, func(o *passkeys.Options) { o.Cookie.TokenInBody = true })
	a := r.signIn("bea@example.com")
	var s struct{ SessionToken string }
	_ = json.Unmarshal(a.body, &s)
	c := a.cookie(passkeys.DefaultCookieName)
	if s.SessionToken == "" || c == nil || c.Value != s.SessionToken {
		t.Fatalf("TokenInBody: body token %q, cookie %v", s.SessionToken, c)
	}
	id := r.addPasskey(cookieHeader(c))
	cross := map[string]string{"Authorization": "Bearer " + s.SessionToken, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	if a := r.do("DELETE", "/auth/passkeys/"+id, "", cross); a.status != 200 {
		t.Errorf("Bearer DELETE with cross-site headers: %d %s", a.status, a.body)
	}
	// A bad token is not rescued by a good cookie.
	if a := r.do("GET", "/auth/passkeys", "", map[string]string{"Authorization": "Bearer nope", "Cookie": cookieHeader(c)}); a.status != 401 {
		t.Errorf("bad Bearer with a good cookie: %d %s", a.status, a.body)
	}
}

func TestCookieClearedOnLogout(t *testing.T) {
	r := newCookieRig(t, func(o *passkeys.Options) {
		o.Cookie.Name = "__Host-sid"
		o.ReauthenticationAge = -1
	})
	const name = "__Host-sid"
	login := func(email string) string { return cookieHeader(r.signIn(email).cookie(name)) }

	c := login("lou@example.com")
	a := r.do("POST", "/auth/logout", "", with(sameOrigin, "Cookie", c))
	if a.status != 204 {
		t.Fatalf("logout: %d %s", a.status, a.body)
	}
	checkCleared(t, "logout", a, name, "/", "")
	// The revoked cookie is refused, and cleared again.
	a = r.do("GET", "/auth/passkeys", "", map[string]string{"Cookie": c})
	if a.status != 401 {
		t.Errorf("GET passkeys after logout: %d %s", a.status, a.body)
	}
	checkCleared(t, "401 on a revoked cookie", a, name, "/", "")
	a = r.do("GET", "/api/me", "", map[string]string{"Cookie": c})
	if a.status != 401 {
		t.Errorf("/api/me after logout: %d %s", a.status, a.body)
	}
	checkCleared(t, "401 on the host route", a, name, "/", "")

	// Revoking one's own session clears it; revoking another does not.
	c = login("lou@example.com")
	other := login("lou@example.com")
	var list struct {
		Sessions []passkeys.SessionInfo
	}
	_ = json.Unmarshal(r.do("GET", "/auth/sessions", "", map[string]string{"Cookie": c}).body, &list)
	var own, theirs string
	for _, s := range list.Sessions {
		if s.Current {
			own = s.ID
		} else {
			theirs = s.ID
		}
	}
	if own == "" || theirs == "" {
		t.Fatalf("sessions %+v", list.Sessions)
	}
	a = r.do("DELETE", "/auth/sessions/"+theirs, "", with(sameOrigin, "Cookie", c))
	if a.status != 204 || a.cookie(name) != nil {
		t.Errorf("revoking another session: %d %s %q", a.status, a.body, a.header.Values("Set-Cookie"))
	}
	a = r.do("DELETE", "/auth/sessions/"+own, "", with(sameOrigin, "Cookie", c))
	if a.status != 204 {
		t.Fatalf("revoking the own session: %d %s", a.status, a.body)
	}
	checkCleared(t, "revoking the own session", a, name, "/", "")
	_ = other

	// Deleting the account clears it.
	c = login("del@example.com")
	a = r.do("DELETE", "/auth/account", "", with(sameOrigin, "Cookie", c))
	if a.status != 204 {
		t.Fatalf("delete account: %d %s", a.status, a.body)
	}
	checkCleared(t, "delete account", a, name, "/", "")
}

// With the demo JWTs the cookie lives as long as the token, and with a
// session system that does not say, it is a browser-session cookie. Plain
// http on localhost gets a cookie without Secure.
func TestCookieLifetimeAndSecure(t *testing.T) {
	for _, tc := range []struct {
		name       string
		origin     string
		own        bool
		wantMaxAge int
		wantSecure bool
	}{
		{"demo JWT", appOrigin, false, 3600, true},
		{"own sessions", appOrigin, true, 0, true},
		{"localhost", "http://localhost:8080", false, 3600, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := passkeys.Options{Backend: &stubBackend{}, JWTKey: key, Cookie: &passkeys.CookieOptions{Origins: []string{tc.origin}}}
			if tc.own {
				s := newOpaqueSessions()
				o.SessionIssuer, o.SessionVerifier = s, s
			}
			h, err := passkeys.New(o)
			if err != nil {
				t.Fatal(err)
			}
			rec := post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "")
			var c *http.Cookie
			for _, x := range rec.Result().Cookies() {
				c = x
			}
			if rec.Code != 200 || c == nil || c.MaxAge != tc.wantMaxAge || c.Secure != tc.wantSecure || !c.HttpOnly {
				t.Errorf("%d %s: Set-Cookie %q, want Max-Age %d, Secure %v", rec.Code, rec.Body, rec.Header().Values("Set-Cookie"), tc.wantMaxAge, tc.wantSecure)
			}
		})
	}
}

func TestCookieAndCORSOptionsValidated(t *testing.T) {
	b := &stubBackend{}
	for _, tc := range []struct {
		name string
		c    *passkeys.CookieOptions
		cors passkeys.CORSOptions
		want string
	}{
		{"no origins", &passkeys.CookieOptions{}, passkeys.CORSOptions{}, "Options.Cookie.Origins is required"},
		{"upper case", &passkeys.CookieOptions{Origins: []string{"https://App.example.com"}}, passkeys.CORSOptions{}, `Options.Cookie.Origins entry "https://App.example.com" must be lower-case`},
		{"path", &passkeys.CookieOptions{Origins: []string{"https://app.example.com/"}}, passkeys.CORSOptions{}, "Options.Cookie.Origins entry"},
		{"plain http", &passkeys.CookieOptions{Origins: []string{"http://app.example.com"}}, passkeys.CORSOptions{}, "Options.Cookie.Origins entry \"http://app.example.com\" is plain http"},
		{"not web", &passkeys.CookieOptions{Origins: []string{"ftp://app.example.com"}}, passkeys.CORSOptions{}, "http:// or https://"},
		{"SameSite None on localhost", &passkeys.CookieOptions{Origins: []string{"http://localhost:3000"}, SameSite: http.SameSiteNoneMode}, passkeys.CORSOptions{}, "Options.Cookie.SameSite"},
		{"bad SameSite", &passkeys.CookieOptions{Origins: []string{appOrigin}, SameSite: 9}, passkeys.CORSOptions{}, "Options.Cookie.SameSite"},
		{"bad name", &passkeys.CookieOptions{Origins: []string{appOrigin}, Name: "a b"}, passkeys.CORSOptions{}, "Options.Cookie.Name"},
		{"bad domain", &passkeys.CookieOptions{Origins: []string{appOrigin}, Domain: "exa mple.com"}, passkeys.CORSOptions{}, "Options.Cookie.Name, Path or Domain"},
		{"__Host- with Domain", &passkeys.CookieOptions{Origins: []string{appOrigin}, Name: "__Host-s", Domain: "example.com"}, passkeys.CORSOptions{}, "Options.Cookie.Name \"__Host-s\""},
		{"__Secure- on localhost", &passkeys.CookieOptions{Origins: []string{"http://localhost:3000"}, Name: "__Secure-s"}, passkeys.CORSOptions{}, "Options.Cookie.Name \"__Secure-s\""},
		{"CORS star", nil, passkeys.CORSOptions{Origins: []string{"*"}}, `Options.CORS.Origins entry "*"`},
		{"CORS wildcard", nil, passkeys.CORSOptions{Origins: []string{"https://*.example.com"}}, "Options.CORS.Origins entry \"https://*.example.com\" has a wildcard"},
		{"CORS null", nil, passkeys.CORSOptions{Origins: []string{"null"}}, `Options.CORS.Origins entry "null"`},
		{"CORS MaxAge alone", nil, passkeys.CORSOptions{MaxAge: time.Minute}, "Options.CORS.MaxAge"},
		{"CORS MaxAge tiny", nil, passkeys.CORSOptions{Origins: []string{spaOrigin}, MaxAge: time.Millisecond}, "Options.CORS.MaxAge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := passkeys.New(passkeys.Options{Backend: b, JWTKey: key, Cookie: tc.c, CORS: tc.cors})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
