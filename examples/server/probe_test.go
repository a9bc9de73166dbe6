package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/internal/rawauthn"
	"github.com/passkeyready/passkeys/passkeystest"
)

// The probe tests run the example server on SQLite and on the Corbado
// emulator and send it, over real HTTP, what a careless or hostile client
// sends: look-alike and malformed emails, foreign origins, duplicate JSON
// members, wrong content types and methods, forged tokens. Every answer is
// checked for its status, its problem code and what it changed.

const probeOrigin = "http://localhost:3000"

// probeTarget is one running example server.
type probeTarget struct {
	name  string
	base  string
	codes *e2e.Buffer // where the codes appear
	log   *e2e.Buffer // the server's stderr
}

// probeTargets starts the example on SQLite and on the Corbado emulator,
// each with extra args.
func probeTargets(t *testing.T, args ...string) []probeTarget {
	t.Helper()
	base, stderr := startServer(t, nil, append([]string{"-db", filepath.Join(t.TempDir(), "p.db")}, args...)...)
	sqlite := probeTarget{"sqlite", base, stderr, stderr}

	env, codes := corbadoEmulator(t, probeOrigin)
	base, stderr = startServer(t, env, append([]string{"-db", filepath.Join(t.TempDir(), "c.db")}, args...)...)
	return []probeTarget{sqlite, {"corbado", base, codes, stderr}}
}

// probeClient sends each request once: it reports a redirect instead of
// following it.
var probeClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
	doc    map[string]any
}

func (a answer) code() string { s, _ := a.doc["code"].(string); return s }

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, bytes.TrimSpace(a.body)) }

// raw sends body as it is, with the given headers (a Content-Type of
// application/json unless headers set one).
func (p probeTarget) raw(t *testing.T, method, path string, body []byte, token string, headers ...string) answer {
	t.Helper()
	res := e2e.Call(t, probeClient, method, p.base+path, body, token, headers...)
	a := answer{status: res.Status, header: res.Header, body: res.Body}
	_ = json.Unmarshal(res.Body, &a.doc)
	// Every answer, whatever the probe: nosniff, and no cache keeps JSON.
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s %s: %d without X-Content-Type-Options: nosniff", method, path, a.status)
	}
	if ct := res.Header.Get("Content-Type"); strings.Contains(ct, "json") && res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s %s: %d %s with Cache-Control %q", method, path, a.status, ct, res.Header.Get("Cache-Control"))
	}
	if a.status >= 500 && a.status != 503 {
		t.Errorf("%s %s: %v", method, path, a)
	}
	return a
}

func (p probeTarget) post(t *testing.T, path string, v any, token string) answer {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return p.raw(t, "POST", path, b, token)
}

// codeFor is the newest code sent to the canonical address email.
func (p probeTarget) codeFor(t *testing.T, email string) string {
	t.Helper()
	return lastCode(t, p.codes, email)
}

// codesSent counts the codes sent so far.
func (p probeTarget) codesSent() int { return len(codeLine.FindAllString(p.codes.String(), -1)) }

// signUp creates the account email by code and returns its session token
// and user id.
func (p probeTarget) signUp(t *testing.T, email string) (token, userID string) {
	t.Helper()
	if a := p.post(t, "/auth/signUpOrLogin", map[string]string{"email": email}, ""); a.status != 200 {
		t.Fatalf("%s: request code for %q: %v", p.name, email, a)
	}
	a := p.post(t, "/auth/signUpOrLogin", map[string]string{"email": email, "otp": p.codeFor(t, lastCanonical(t, p.codes))}, "")
	if a.status != 200 {
		t.Fatalf("%s: sign up %q: %v", p.name, email, a)
	}
	token, _ = a.doc["sessionToken"].(string)
	userID, _ = field(a.doc, "user", "id").(string)
	return token, userID
}

// addPasskey appends a passkey of auth to the account of token.
func (p probeTarget) addPasskey(t *testing.T, auth *passkeystest.Authenticator, token string) string {
	t.Helper()
	a := p.post(t, "/auth/passkey/append/start", map[string]any{}, token)
	if a.status != 200 {
		t.Fatalf("%s: append start: %v", p.name, a)
	}
	att, err := auth.Create(obj(a.doc["attestationOptions"]))
	if err != nil {
		t.Fatal(err)
	}
	a = p.post(t, "/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token)
	if a.status != 200 {
		t.Fatalf("%s: append finish: %v", p.name, a)
	}
	id, _ := field(a.doc, "passkey", "id").(string)
	return id
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// wantProblem reports unless a is status with problem code.
func wantProblem(t *testing.T, what string, a answer, status int, code string) bool {
	t.Helper()
	if a.status != status || a.code() != code {
		t.Errorf("%s: %v, want %d %s", what, a, status, code)
		return false
	}
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: nosniff %q, Cache-Control %q", what, a.header.Get("X-Content-Type-Options"), a.header.Get("Cache-Control"))
	}
	return true
}

var _ = strings.Repeat

// TestProbeEmailPolicy: every spelling of an address that no mail system
// should receive, or that displays like another, is 400 invalid_request at
// each endpoint that takes an email, and sends no code; the spellings of
// one mailbox reach one account; different mailboxes stay apart.
func TestProbeEmailPolicy(t *testing.T) {
	refused := []struct{ name, json string }{
		{"lone low surrogate escape", `"a\udc80b@example.com"`},
		{"lone high surrogate escape", `"a\ud800@example.com"`},
		{"reversed surrogate pair", `"a\udc00\ud800@example.com"`},
		{"raw invalid byte", "\"a\xffb@example.com\""},
		{"overlong slash", "\"a\xc0\xafb@example.com\""},
		{"overlong at", "\"a\xc1\x80example.com\""},
		{"encoded surrogate bytes", "\"a\xed\xb2\x80@example.com\""},
		{"truncated sequence", "\"a\xe2\x82@example.com\""},
		{"U+FFFD itself", `"a\ufffd@example.com"`},
		{"NUL escape", `"a\u0000@example.com"`},
		{"CRLF header injection", `"a@example.com\r\nBcc: b@example.com"`},
		{"tab inside", `"a\tb@example.com"`},
		{"DEL", `"a\u007f@example.com"`},
		{"C1 control NEL", `"a\u0085b@example.com"`},
		{"zero width space local", `"ad\u200bmin@example.com"`},
		{"zero width space domain", `"admin@exa\u200bmple.com"`},
		{"word joiner", `"ad\u2060min@example.com"`},
		{"soft hyphen domain", `"admin@exam\u00adple.com"`},
		{"soft hyphen local", `"ad\u00admin@example.com"`},
		{"ZWJ", `"a\u200db@example.com"`},
		{"ZWNJ in domain", `"a@ex\u200cample.com"`},
		{"BOM", `"\ufeffadmin@example.com"`},
		{"RLO", `"\u202eadmin@example.com"`},
		{"LRI", `"ad\u2066min@example.com"`},
		{"RLM", `"admin\u200f@example.com"`},
		{"ALM", `"admin@\u061cexample.com"`},
		{"variation selector", `"a\ufe0f@example.com"`},
		{"tag character", `"a\udb40\udc41@example.com"`},
		{"Mongolian vowel separator", `"a\u180eb@example.com"`},
		{"Hangul filler", `"a\u3164b@example.com"`},
		{"combining grapheme joiner", `"a\u034fb@example.com"`},
		{"fullwidth at", `"admin\uff20example.com"`},
		{"fullwidth letters", `"\uff41dmin@example.com"`},
		{"fullwidth domain", `"admin@\uff45xample.com"`},
		{"fullwidth dot", `"admin@example\uff0ecom"`},
		{"halfwidth ideographic full stop", `"admin@example\uff61com"`},
		{"small full stop", `"admin@example\ufe52com"`},
		{"one dot leader", `"admin@example\u2024com"`},
		{"Kelvin sign", `"\u212aelvin@example.com"`},
		{"Kelvin sign in domain", `"kelvin@\u212aexample.com"`},
		{"dotted capital I", `"\u0130stanbul@example.com"`},
		{"long s", `"\u017fam@example.com"`},
		{"ligature fi", `"\ufb01le@example.com"`},
		{"mathematical bold a", `"\ud835\udc1admin@example.com"`},
		{"circled a", `"\u24d0dmin@example.com"`},
		{"superscript two", `"a\u00b2@example.com"`},
		{"Cyrillic a among Latin", `"\u0430dmin@example.com"`},
		{"Cyrillic o in domain", `"admin@g\u043e\u043egle.com"`},
		{"Greek omicron among Latin", `"g\u03bfogle@example.com"`},
		{"modifier apostrophe", `"o\u02bcbrien@example.com"`},
		{"fraction slash", `"a\u2044b@example.com"`},
		{"division slash", `"a\u2215b@example.com"`},
		{"private use", `"a\ue000@example.com"`},
		{"unassigned", `"a\u0378@example.com"`},
		{"noncharacter", `"a\ufdd0@example.com"`},
		{"combining mark first", `"\u0301a@example.com"`},
		{"NBSP inside", `"a\u00a0b@example.com"`},
		{"ideographic space inside", `"a\u3000b@example.com"`},
		{"line separator", `"a\u2028b@example.com"`},
		{"IPv4 literal", `"a@[127.0.0.1]"`},
		{"IPv6 literal", `"a@[IPv6:::1]"`},
		{"bare IPv4", `"a@127.0.0.1"`},
		{"bare IPv4 hex", `"a@0x7f.0.0.1"`},
		{"bare IPv4 decimal", `"a@2130706433"`},
		{"private IPv4", `"a@10.0.0.1"`},
		{"metadata IPv4", `"a@169.254.169.254"`},
		{"IPv6 bare", `"a@::1"`},
		{"localhost", `"a@localhost"`},
		{"sub.localhost", `"a@x.localhost"`},
		{"LOCALHOST upper", `"a@X.LOCALHOST"`},
		{"local", `"a@printer.local"`},
		{"internal", `"a@svc.internal"`},
		{"onion", `"a@abc.onion"`},
		{"home.arpa", `"a@router.home.arpa"`},
		{"test", `"a@b.test"`},
		{"invalid", `"a@b.invalid"`},
		{"single label", `"a@com"`},
		{"trailing dot", `"a@example.com."`},
		{"leading dot domain", `"a@.example.com"`},
		{"empty label", `"a@example..com"`},
		{"numeric tld", `"a@example.123"`},
		{"hyphen start label", `"a@-example.com"`},
		{"hyphen end label", `"a@example-.com"`},
		{"underscore domain", `"a@ex_ample.com"`},
		{"double hyphen 3-4", `"a@ab--cd.com"`},
		{"bad punycode", `"a@xn--.com"`},
		{"punycode garbage", `"a@xn--zzzzzzzzzz-.com"`},
		{"punycode of uppercase", `"a@xn--BCHER-KVA.de-"`},
		{"punycode decoding to ASCII", `"a@xn--example-.com"`},
		{"punycode hiding ZWJ", `"a@xn--ab-m1t.com"`},
		{"punycode of Kelvin", `"a@xn--elvin-.com"`},
		{"punycode of Cyrillic-Latin mix", `"a@xn--pple-43d.com"`},
		{"label of 64", `"a@` + strings.Repeat("a", 64) + `.com"`},
		{"domain over 253", `"a@` + strings.Repeat("abcdefghi.", 26) + `com"`},
		{"local of 65", `"` + strings.Repeat("a", 65) + `@example.com"`},
		{"local of 65 after NFC", `"` + strings.Repeat("a", 62) + `e\u0301\u0301@example.com"`},
		{"local of 10000", `"` + strings.Repeat("a", 10000) + `@example.com"`},
		{"quoted local", `"\"a b\"@example.com"`},
		{"quoted at", `"\"a@b\"@example.com"`},
		{"quoted empty", `"\"\"@example.com"`},
		{"comment", `"a(comment)@example.com"`},
		{"display name", `"Admin <a@example.com>"`},
		{"angle brackets", `"<a@example.com>"`},
		{"two ats", `"a@b@example.com"`},
		{"no local", `"@example.com"`},
		{"no domain", `"a@"`},
		{"no at", `"example.com"`},
		{"leading dot local", `".a@example.com"`},
		{"trailing dot local", `"a.@example.com"`},
		{"double dot local", `"a..b@example.com"`},
		{"backslash", `"a\\b@example.com"`},
		{"comma list", `"a@example.com,b@example.com"`},
		{"semicolon list", `"a@example.com;b@example.com"`},
		{"space list", `"a@example.com b@example.com"`},
		{"percent hack", `"a%b@example.com@c.com"`},
		{"source route", `"@a.com:b@example.com"`},
		{"number", `5`},
		{"array", `["a@example.com"]`},
		{"object", `{"a":"b"}`},
		{"empty", `""`},
		{"only spaces", `"   "`},
		{"only NBSP", `"\u00a0"`},
		{"Greek question mark", `"a\u037e@example.com"`},
		{"Armenian full stop", `"a@example\u0589com"`},
		{"Arabic with Latin local", `"a\u0628@example.com"`},
		{"RTL domain label with LTR", `"a@\u05d0b.com"`},
		{"emoji", `"\ud83d\ude00@example.com"`},
		{"dot above on i", `"admi\u0307n@example.com"`},
		{"dot above on i in domain", `"admin@exampli\u0307e.com"`},
		{"dot above on i in punycode domain", `"admin@xn--examiple-s0e.com"`},
		{"acute twice", `"re\u0301\u0301sume@example.com"`},
		{"five marks", `"a\u0300\u0301\u0302\u0303\u0304@example.com"`},
	}
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			token, _ := p.signUp(t, "owner@example.com")
			sent := p.codesSent()
			for _, tc := range refused {
				for _, ep := range []struct{ path, body, token string }{
					{"/auth/signUpOrLogin", `{"email":` + tc.json + `}`, ""},
					{"/auth/signUpOrLogin", `{"email":` + tc.json + `,"otp":"123456"}`, ""},
					{"/auth/passkey/login/start", `{"email":` + tc.json + `}`, ""},
					{"/auth/account/email", `{"email":` + tc.json + `}`, token},
				} {
					a := p.raw(t, "POST", ep.path, []byte(ep.body), ep.token)
					wantProblem(t, tc.name+" at "+ep.path, a, 400, "invalid_request")
				}
			}
			if n := p.codesSent(); n != sent {
				t.Errorf("%d codes sent for refused addresses", n-sent)
			}
		})
	}
}

// TestProbeEmailOneMailbox: the spellings of one mailbox (case, Unicode and
// punycode domains, decomposed and composed letters, the ideographic full
// stop, surrounding white space) sign in to one account and share its
// per-email limits; different mailboxes (subaddresses, ß and ss, dotted
// local parts) stay different accounts.
func TestProbeEmailOneMailbox(t *testing.T) {
	same := [][]string{
		{"jörg@bücher.de", "JÖRG@BÜCHER.DE", "jörg@xn--bcher-kva.de", "JöRG@XN--BCHER-KVA.DE", "jo\u0308rg@bu\u0308cher.de", "jörg@bücher。de", " jörg@bücher.de\u00a0", "\u3000jörg@bücher.de\t"},
		{"Mixed.Case@Example.COM", "mixed.case@example.com", "MIXED.CASE@EXAMPLE.COM"},
		{"\u2126\u03bc\u03ad\u03b3\u03b1@example.gr", "\u03a9\u039c\u0388\u0393\u0391@example.gr", "\u03c9\u03bc\u03b5\u0301\u03b3\u03b1@example.gr"},
		{"用户@例子.中国", "用户@xn--fsqu00a.xn--fiqs8s"},
		{"\u03bf\u03b4\u03bf\u03c2@example.gr", "\u039f\u0394\u039f\u03a3@example.gr", "\u03bf\u03b4\u03bf\u03c3@example.gr"},
		{"ünï@ß.de", "ÜNÏ@ẞ.de", "ünï@xn--zca.de"},
	}
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			for _, group := range same {
				first := jsonString(t, group[0])
				if a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":`+first+`}`), ""); a.status != 200 {
					t.Errorf("%s: %v", group[0], a)
					continue
				}
				canon := lastCanonical(t, p.codes)
				a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":`+first+`,"otp":"`+p.codeFor(t, canon)+`"}`), "")
				id, _ := field(a.doc, "user", "id").(string)
				if a.status != 200 || id == "" {
					t.Errorf("sign up %s: %v", group[0], a)
					continue
				}
				for _, other := range group[1:] {
					o := jsonString(t, other)
					if a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":`+o+`}`), ""); a.status != 200 {
						t.Errorf("%s: %v", other, a)
						continue
					}
					if got := lastCanonical(t, p.codes); got != canon {
						t.Errorf("%s: code sent to %q, want %q", other, got, canon)
					}
					a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":`+o+`,"otp":"`+p.codeFor(t, canon)+`"}`), "")
					if got, _ := field(a.doc, "user", "id").(string); a.status != 200 || got != id || a.doc["newUser"] != false {
						t.Errorf("%s after %s: %v, want the same account %s", other, group[0], a, id)
					}
				}
			}
			distinct := []string{"pat@example.com", "pat+tag@example.com", "p.at@example.com", "pat@ss.de", "pat@ß.de", "pat@xn--zca.de"}
			ids := map[string]string{}
			for _, e := range distinct {
				_, id := p.signUp(t, e)
				ids[id] += e + " "
			}
			// ß.de and xn--zca.de are one domain; the rest are apart.
			if len(ids) != len(distinct)-1 {
				t.Errorf("accounts: %v, want %d", ids, len(distinct)-1)
			}
		})
	}
}

// jsonString is s as a JSON string.
func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lastCanonical is the address the newest code went to.
func lastCanonical(t *testing.T, codes *e2e.Buffer) string {
	t.Helper()
	m := codeLine.FindAllStringSubmatch(codes.String(), -1)
	if len(m) == 0 {
		t.Fatal("no code sent")
	}
	return m[len(m)-1][1]
}

// probeOrigins are clientDataJSON origins that are not, byte for byte, the
// configured http://localhost:3000.
var probeOrigins = []string{
	"http://localhost:3000/", "http://localhost:3000/.", "http://localhost:3000/x", "http://localhost:3000?", "http://localhost:3000?x=1",
	"http://localhost:3000#", "http://localhost:3000#x", "http://u@localhost:3000", "http://u:p@localhost:3000", "http://:@localhost:3000",
	"HTTP://localhost:3000", "http://LOCALHOST:3000", "http://Localhost:3000", "http://localhost:03000", "http://localhost:3000.",
	"http://localhost.:3000", "http://localhost:+3000", "http://localhost:3000:3000", "https://localhost:3000", "http://localhost",
	"http://localhost:80", "http://localhost:3001", "http://127.0.0.1:3000", "http://[::1]:3000", "http://localhost%3a3000",
	" http://localhost:3000", "http://localhost:3000 ", "http://localhost:3000\t", "http://localhost:3000\n", "http://localhost:3000\x00",
	"http://localhost:3000\u200b", "\ufeffhttp://localhost:3000", "http://ｌocalhost:3000", "http://localhost:３０００", "//localhost:3000",
	"http:/localhost:3000", "http:localhost:3000", "localhost:3000", "http://localhost:3000\\", "http://localhost:3000@evil.example",
	"http://evil.example#@localhost:3000", "http://evil.example?http://localhost:3000", "http://localhost:3000.evil.example", "http://xn--localhost-:3000", "ws://localhost:3000",
	"android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", "ios:bundle-id:com.example", "null", "", "*",
	"http://localhost:3000/\u0000", "http://localhost:3000\xff", "http://localhost\u30023000", "http://localhost:3000%00", "http://localhost:3000/%2e",
}

// TestProbeOrigins: at login, autofill and append, on both backends, a
// response made for any origin but the exact configured one is refused
// with passkey_verification_failed and changes nothing; the honest one
// still works afterwards.
func TestProbeOrigins(t *testing.T) {
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			auth := passkeystest.New(probeOrigin)
			token, userID := p.signUp(t, "origins@example.com")
			p.addPasskey(t, auth, token)
			for _, o := range probeOrigins {
				tamper := passkeystest.Tamper{Origin: o}
				if o == "" {
					continue // the authenticator's default: the honest origin
				}
				a := p.post(t, "/auth/passkey/login/start", map[string]string{"email": "origins@example.com"}, "")
				asr, err := auth.Get(obj(a.doc["assertionOptions"]), tamper)
				if err != nil {
					t.Fatal(err)
				}
				wantProblem(t, "login with origin "+strconvQuote(o), p.post(t, "/auth/passkey/login/finish", map[string]json.RawMessage{"assertionResponse": asr}, ""), 401, "passkey_verification_failed")

				a = p.post(t, "/auth/passkey/mediation/start", map[string]any{}, "")
				asr, err = auth.Get(obj(a.doc["assertionOptions"]), tamper)
				if err != nil {
					t.Fatal(err)
				}
				wantProblem(t, "autofill with origin "+strconvQuote(o), p.post(t, "/auth/passkey/mediation/finish", map[string]json.RawMessage{"assertionResponse": asr}, ""), 401, "passkey_verification_failed")

				other := passkeystest.New(probeOrigin)
				a = p.post(t, "/auth/passkey/append/start", map[string]any{}, token)
				att, err := other.Create(obj(a.doc["attestationOptions"]), tamper)
				if err != nil {
					t.Fatal(err)
				}
				wantProblem(t, "append with origin "+strconvQuote(o), p.post(t, "/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token), 400, "passkey_verification_failed")
			}
			// Nothing was added, and the honest passkey still signs in.
			if a := p.raw(t, "GET", "/auth/passkeys", nil, token); a.status != 200 || len(a.doc["passkeys"].([]any)) != 1 {
				t.Errorf("passkeys after the probes: %v", a)
			}
			a := p.post(t, "/auth/passkey/login/start", map[string]string{"email": "origins@example.com"}, "")
			asr, _ := auth.Get(obj(a.doc["assertionOptions"]))
			if a := p.post(t, "/auth/passkey/login/finish", map[string]json.RawMessage{"assertionResponse": asr}, ""); a.status != 200 || field(a.doc, "user", "id") != userID {
				t.Errorf("honest login after the probes: %v", a)
			}
		})
	}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// withClientData returns the credential response resp with its
// clientDataJSON replaced by edit(the original). A registration with
// attestation "none" signs nothing over clientDataJSON, so the relying
// party's own checks are all that stand in the way.
func withClientData(t *testing.T, resp []byte, edit func(cd map[string]any) string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatal(err)
	}
	r := m["response"].(map[string]any)
	raw, err := base64.RawURLEncoding.DecodeString(r["clientDataJSON"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var cd map[string]any
	if err := json.Unmarshal(raw, &cd); err != nil {
		t.Fatal(err)
	}
	r["clientDataJSON"] = b64([]byte(edit(cd)))
	return obj(m)
}

// TestProbeClientDataJSON: a registration whose clientDataJSON names a
// member twice (in any spelling encoding/json takes for one), carries the
// origin in another form, claims a cross-origin call or is not one plain
// JSON object is refused and stores nothing, on both backends.
func TestProbeClientDataJSON(t *testing.T) {
	const evil = "http://evil.example"
	q := strconvQuote
	rest := func(cd map[string]any) string {
		return `"type":` + q(cd["type"].(string)) + `,"challenge":` + q(cd["challenge"].(string))
	}
	edits := []struct {
		name string
		cd   func(cd map[string]any) string
	}{
		{"origin twice, evil last", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":` + q(probeOrigin) + `,"origin":` + q(evil) + `}`
		}},
		{"origin twice, evil first", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":` + q(evil) + `,"origin":` + q(probeOrigin) + `}`
		}},
		{"origin escaped twice", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":` + q(probeOrigin) + `,"\u006frigin":` + q(evil) + `}`
		}},
		{"origin and Origin", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":` + q(probeOrigin) + `,"Origin":` + q(evil) + `}`
		}},
		{"ORIGIN only", func(cd map[string]any) string { return `{` + rest(cd) + `,"ORIGIN":` + q(probeOrigin) + `}` }},
		{"no origin", func(cd map[string]any) string { return `{` + rest(cd) + `}` }},
		{"origin null", func(cd map[string]any) string { return `{` + rest(cd) + `,"origin":null}` }},
		{"origin array", func(cd map[string]any) string { return `{` + rest(cd) + `,"origin":[` + q(probeOrigin) + `]}` }},
		{"origin object", func(cd map[string]any) string { return `{` + rest(cd) + `,"origin":{"origin":` + q(probeOrigin) + `}}` }},
		{"origin with escaped slash", func(cd map[string]any) string { return `{` + rest(cd) + `,"origin":"http:\/\/localhost:3000\/"}` }},
		{"type twice", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"type":"webauthn.get","origin":` + q(probeOrigin) + `}`
		}},
		{"type in upper case", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":` + q(probeOrigin) + `,"TYPE":"webauthn.get"}`
		}},
		{"challenge twice", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":` + q(probeOrigin) + `,"CHALLENGE":"AAAA"}`
		}},
		{"crossOrigin twice", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":` + q(probeOrigin) + `,"crossOrigin":false,"cro\u017fsOrigin":true}`
		}},
		{"tokenBinding member twice", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":` + q(probeOrigin) + `,"tokenBinding":{"status":"supported","status":"present"}}`
		}},
		{"crossOrigin from evil top", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":` + q(probeOrigin) + `,"crossOrigin":true,"topOrigin":` + q(evil) + `}`
		}},
		{"trailing data", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":` + q(probeOrigin) + `}{"origin":` + q(evil) + `}`
		}},
		{"byte order mark", func(cd map[string]any) string {
			return "\ufeff{" + rest(cd) + `,"origin":` + q(probeOrigin) + `}`
		}},
		{"array", func(cd map[string]any) string { return `[{` + rest(cd) + `,"origin":` + q(probeOrigin) + `}]` }},
		{"not JSON", func(cd map[string]any) string { return `origin=` + probeOrigin }},
		{"invalid UTF-8 in origin", func(cd map[string]any) string {
			return `{` + rest(cd) + `,"origin":"` + probeOrigin + "\xff" + `"}`
		}},
	}
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			token, _ := p.signUp(t, "clientdata@example.com")
			for _, e := range edits {
				auth := passkeystest.New(probeOrigin)
				a := p.post(t, "/auth/passkey/append/start", map[string]any{}, token)
				att, err := auth.Create(obj(a.doc["attestationOptions"]))
				if err != nil {
					t.Fatal(err)
				}
				a = p.post(t, "/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": withClientData(t, att, e.cd)}, token)
				if a.status != 400 || (a.code() != "passkey_verification_failed" && a.code() != "invalid_request") {
					t.Errorf("%s: %v, want 400 passkey_verification_failed or invalid_request", e.name, a)
				}
			}
			if a := p.raw(t, "GET", "/auth/passkeys", nil, token); a.status != 200 || len(a.doc["passkeys"].([]any)) != 0 {
				t.Errorf("passkeys after the probes: %v", a)
			}
			// The same edit with nothing wrong is accepted: the probes fail
			// for what they change, not for the re-encoding.
			auth := passkeystest.New(probeOrigin)
			a := p.post(t, "/auth/passkey/append/start", map[string]any{}, token)
			att, _ := auth.Create(obj(a.doc["attestationOptions"]))
			honest := withClientData(t, att, func(cd map[string]any) string {
				return `{` + rest(cd) + `,"origin":` + q(probeOrigin) + `,"crossOrigin":false}`
			})
			if a := p.post(t, "/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": honest}, token); a.status != 200 {
				t.Errorf("re-encoded honest clientDataJSON: %v", a)
			}
		})
	}
}

// TestProbeStrictJSON: a body that names a member twice, in any spelling
// encoding/json takes for one (escapes, case, the Kelvin sign and long s),
// at any depth and inside a credential response sent as a string, is 400
// invalid_request on every endpoint and changes nothing.
func TestProbeStrictJSON(t *testing.T) {
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			auth := passkeystest.New(probeOrigin)
			token, _ := p.signUp(t, "strict@example.com")
			p.addPasskey(t, auth, token)
			p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "strict@example.com"}, "")
			code := p.codeFor(t, "strict@example.com")
			sent := p.codesSent()

			a := p.post(t, "/auth/passkey/login/start", map[string]string{"email": "strict@example.com"}, "")
			asr, _ := auth.Get(obj(a.doc["assertionOptions"]))
			cred := string(asr)
			inner := strings.TrimSuffix(cred, "}")
			credWith := func(extra string) string { return inner + "," + extra + "}" }
			respWith := func(extra string) string {
				if !strings.Contains(cred, `"response":{`) {
					t.Fatalf("no response object in %s", cred)
				}
				return strings.Replace(cred, `"response":{`, `"response":{`+extra+",", 1)
			}
			bodies := []struct{ path, body string }{
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","email":"other@example.com"}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","EMAIL":"other@example.com"}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","\u0065mail":"other@example.com"}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + `","otp":null}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":null,"otp":"` + code + `"}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + `","\u006ftp":null}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + `","OTP":""}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + `","Otp":"000000"}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + `","extra":1}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + `"} {}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + `"}]`},
				{"/auth/signUpOrLogin", `[{"email":"strict@example.com","otp":"` + code + `"}]`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":` + code + `}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + `",}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + "\"}\x00"},
				{"/auth/signUpOrLogin", "\ufeff" + `{"email":"strict@example.com","otp":"` + code + `"}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + `"/*x*/}`},
				{"/auth/signUpOrLogin", `{'email':'strict@example.com'}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code[:5] + "\uff10" + `"}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":" ` + code + `"}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"` + code + `0"}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"+` + code[1:] + `"}`},
				{"/auth/signUpOrLogin", `{"email":"strict@example.com","otp":"\u0661\u0662\u0663\u0664\u0665\u0666"}`},
				{"/auth/passkey/login/start", `{"email":"strict@example.com","clientCapabilities":{"conditionalGet":true,"conditionalGet":false}}`},
				{"/auth/passkey/login/start", `{"email":"strict@example.com","clientCapabilities":{"hybridTransport":true,"HYBRIDTRANSPORT":false}}`},
				{"/auth/passkey/login/start", `{"email":"strict@example.com","clientCapabilitie\u017f":{},"clientCapabilities":{}}`},
				{"/auth/passkey/login/start", `{"email":"strict@example.com","clientCapabilities":{"a":"b"}}`},
				{"/auth/passkey/login/start", `{"email":"strict@example.com","clientCapabilities":[true]}`},
				{"/auth/passkey/mediation/start", `{"clientCapabilities":{"x":true,"X":true}}`},
				{"/auth/passkey/mediation/start", `{"a":1}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + cred + `,"assertionResponse":` + cred + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + cred + `,"a\u017f\u017fertionResponse":null}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + credWith(`"id":"AAAA"`) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + credWith(`"ID":"AAAA"`) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + credWith(`"type":"public-key"`) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + credWith(`"clientExtensionResults":{}`) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + respWith(`"userHandle":null`) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + respWith(`"signature":"AAAA"`) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + respWith(`"clientDataJSON":"e30"`) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + respWith(`"\u0063lientDataJSON":"e30"`) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + respWith(`"authenticatordata":"AAAA"`) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + strconvQuote(credWith(`"id":"AAAA"`)) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + strconvQuote(respWith(`"signature":"AAAA"`)) + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + strconvQuote(cred+"{}") + `}`},
				{"/auth/passkey/login/finish", `{"assertionResponse":` + strconvQuote(cred) + `,"assertionResponse":` + cred + `}`},
				{"/auth/passkey/mediation/finish", `{"assertionResponse":` + credWith(`"rawId":"AAAA"`) + `}`},
				{"/auth/passkey/append/finish", `{"attestationResponse":{"id":"a","id":"b"}}`},
				{"/auth/passkey/append/start", `{"a":1,"a":1}`},
				{"/auth/account/email", `{"email":"new@example.com","email":"strict@example.com"}`},
				{"/auth/logout", `{"a":1,"A":1}`},
				{"/auth/logout", `{"a":1}`},
				{"/auth/logout", `[]`},
				{"/auth/logout", `{}{}`},
			}
			for _, b := range bodies {
				a := p.raw(t, "POST", b.path, []byte(b.body), token)
				wantProblem(t, b.path+" "+trim(b.body), a, 400, "invalid_request")
			}
			// Nothing happened: no code sent, the code still works once,
			// the assertion is still unused.
			if n := p.codesSent(); n != sent {
				t.Errorf("%d codes sent by refused bodies", n-sent)
			}
			if a := p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "strict@example.com", "otp": code}, ""); a.status != 200 {
				t.Errorf("the code after the probes: %v", a)
			}
			if a := p.raw(t, "POST", "/auth/passkey/login/finish", []byte(`{"assertionResponse":`+cred+`}`), ""); a.status != 200 {
				t.Errorf("the assertion after the probes: %v", a)
			}
		})
	}
}

func trim(s string) string {
	if len(s) > 120 {
		return s[:60] + "…" + s[len(s)-60:]
	}
	return s
}

// TestProbeContentTypesMethodsPaths: a body of any other media type is
// 415, any other method 405 with an Allow header listing, in a stable
// order, the methods that work, and paths that differ from a route (case,
// trailing slashes, escapes, suffixes) reach no handler, while doubled
// slashes and dot segments are redirected (307, net/http's ServeMux) to
// the clean path; every problem is problem+json with nosniff and
// no-store.
func TestProbeContentTypesMethodsPaths(t *testing.T) {
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			body := []byte(`{"email":"ct@example.com"}`)
			for _, ct := range []string{
				"text/plain", "text/plain;charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
				"application/jsonx", "application/json-seq", "application/problem+json", "application/json+x", "json", "application/",
				"text/json", "application/javascript", "*/*", "application/json,text/plain",
			} {
				wantProblem(t, "Content-Type "+strconvQuote(ct), p.raw(t, "POST", "/auth/signUpOrLogin", body, "", "Content-Type", ct), 415, "unsupported_media_type")
			}
			wantProblem(t, "no Content-Type with a body", p.raw(t, "POST", "/auth/signUpOrLogin", body, "", "Content-Type", ""), 415, "unsupported_media_type")
			for _, ct := range []string{"application/json", "Application/JSON", "application/json; charset=utf-8", "application/json ;charset=UTF-8"} {
				if a := p.raw(t, "POST", "/auth/signUpOrLogin", body, "", "Content-Type", ct); a.status != 200 {
					t.Errorf("Content-Type %q: %v", ct, a)
				}
			}

			routes := map[string][]string{
				"/auth/signUpOrLogin": {"POST"}, "/auth/passkey/append/start": {"POST"}, "/auth/passkey/append/finish": {"POST"},
				"/auth/passkey/login/start": {"POST"}, "/auth/passkey/login/finish": {"POST"}, "/auth/passkey/mediation/start": {"POST"},
				"/auth/passkey/mediation/finish": {"POST"}, "/auth/passkeys": {"GET"}, "/auth/passkeys/AAAA": {"DELETE", "PATCH"},
				"/auth/logout": {"POST"}, "/auth/sessions": {"GET"}, "/auth/account": {"DELETE", "GET"}, "/auth/account/email": {"POST"},
			}
			for path, allowed := range routes {
				if slices.Contains(allowed, "GET") {
					// A GET route answers HEAD as GET: without a session, 401.
					if a := p.raw(t, "HEAD", path, nil, ""); a.status != 401 || len(a.body) != 0 {
						t.Errorf("HEAD %s: %d with %d bytes, want 401 without a body", path, a.status, len(a.body))
					}
					allowed = append(slices.Clone(allowed), "HEAD")
					slices.Sort(allowed)
				}
				for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE", "FOO", "post", "CONNECT"} {
					if slices.Contains(allowed, m) {
						continue
					}
					a := p.raw(t, m, path, nil, "")
					if m == "HEAD" {
						if a.status != 405 || a.header.Get("Allow") == "" {
							t.Errorf("HEAD %s: %d Allow %q", path, a.status, a.header.Get("Allow"))
						}
						continue
					}

					if m == "CONNECT" {
						continue // net/http answers CONNECT with a path itself
					}
					if wantProblem(t, m+" "+path, a, 405, "method_not_allowed") {
						if got, want := a.header.Get("Allow"), strings.Join(allowed, ", "); got != want {
							t.Errorf("%s %s: Allow %q, want %q", m, path, got, want)
						}
					}
				}
			}

			for _, path := range []string{
				"/auth/SIGNUPORLOGIN", "/auth/signuporlogin", "/auth//signUpOrLogin", "/auth/signUpOrLogin/", "/auth/signUpOrLogin//",
				"/auth/signUpOrLogin%00", "/auth/signUpOrLogin;x", "/auth/signUpOrLogin.json", "/auth/passkey//login/start",
				"/auth/passkey/login/start/", "/auth/passkey/./login/start", "/auth/passkey/x/../login/start", "/auth/passkeys/", "/auth/passkeys//",
				"/auth/passkeys/a/b", "/auth/passkeys/%2F", "/auth/sessions/a/b", "/auth/account/", "/auth/account/email/",
				"/auth", "/auth/", "/auth/%2e%2e/api/me", "/AUTH/signUpOrLogin",
			} {
				a := p.raw(t, "POST", path, body, "")
				if a.status == 200 || a.status == 201 || a.status == 204 {
					t.Errorf("POST %s reached a handler: %v", path, a)
				}
				if a.status >= 500 {
					t.Errorf("POST %s: %v", path, a)
				}
				if a.header.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("POST %s: %d without nosniff", path, a.status)
				}
			}
		})
	}
}

const probeJWTKey = "a probe key of at least thirty-two bytes"

// forge signs claims with header fields over the example's JWT key
// (alg is HS256 unless header says otherwise; "none" leaves the
// signature empty).
func forge(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": "HS256", "typ": "JWT"}
	for k, v := range header {
		if v == nil {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	signing := b64(obj(h)) + "." + b64(obj(claims))
	var mac []byte
	switch h["alg"] {
	case "HS256":
		m := hmac.New(sha256.New, []byte(probeJWTKey))
		m.Write([]byte(signing))
		mac = m.Sum(nil)
	case "HS512":
		m := hmac.New(sha512.New, []byte(probeJWTKey))
		m.Write([]byte(signing))
		mac = m.Sum(nil)
	}
	return signing + "." + b64(mac)
}

// TestProbeSessionTokens: with the demo JWT, tokens signed with the right
// key but with another algorithm, time claims out of bounds, another
// audience or issuer, no subject, or the subject of a deleted account are
// 401 at the guard and at the handler's session routes, and the email
// comes from the account, not from the token; with the store sessions, an
// altered, truncated or revoked token is 401. Tokens are only taken from
// "Authorization: Bearer".
func TestProbeSessionTokens(t *testing.T) {
	for _, p := range probeTargets(t, "-sessions", "jwt", "-jwt-secret", probeJWTKey) {
		t.Run(p.name, func(t *testing.T) {
			token, id := p.signUp(t, "jwt@example.com")
			gone, goneID := p.signUp(t, "gone@example.com")
			if a := p.raw(t, "DELETE", "/auth/account", nil, gone); a.status != 204 {
				t.Fatalf("delete account: %v", a)
			}
			now := time.Now().Unix()
			good := func(edit map[string]any) map[string]any {
				c := map[string]any{"sub": id, "email": "jwt@example.com", "iss": "passkeys", "aud": []string{"passkeys"}, "iat": now, "exp": now + 600, "jti": "x"}
				for k, v := range edit {
					if v == nil {
						delete(c, k)
						continue
					}
					c[k] = v
				}
				return c
			}
			// The forging is right: an honest forged token works, and the
			// email is the account's.
			if a := p.raw(t, "GET", "/api/me", nil, forge(t, nil, good(map[string]any{"email": "ceo@example.com"}))); a.status != 200 || field(a.doc, "user", "email") != "jwt@example.com" {
				t.Fatalf("forged honest token: %v", a)
			}
			bad := map[string]string{
				"alg none":              forge(t, map[string]any{"alg": "none"}, good(nil)),
				"alg None":              forge(t, map[string]any{"alg": "None"}, good(nil)),
				"alg HS512":             forge(t, map[string]any{"alg": "HS512"}, good(nil)),
				"no alg":                forge(t, map[string]any{"alg": nil}, good(nil)),
				"alg RS256 (HMAC)":      strings.Replace(forge(t, nil, good(nil)), b64(obj(map[string]any{"alg": "HS256", "typ": "JWT"})), b64(obj(map[string]any{"alg": "RS256", "typ": "JWT"})), 1),
				"iat an hour ahead":     forge(t, nil, good(map[string]any{"iat": now + 3600, "exp": now + 3700})),
				"iat a day ahead":       forge(t, nil, good(map[string]any{"iat": now + 86400, "exp": now + 86400 + 60})),
				"no iat":                forge(t, nil, good(map[string]any{"iat": nil})),
				"iat string":            forge(t, nil, good(map[string]any{"iat": fmt.Sprint(now)})),
				"no exp":                forge(t, nil, good(map[string]any{"exp": nil})),
				"exp passed":            forge(t, nil, good(map[string]any{"iat": now - 7200, "exp": now - 3600})),
				"exp before iat":        forge(t, nil, good(map[string]any{"exp": now - 1})),
				"lifetime of a year":    forge(t, nil, good(map[string]any{"exp": now + 365*86400})),
				"lifetime of 2h":        forge(t, nil, good(map[string]any{"exp": now + 7200})),
				"exp huge":              forge(t, nil, good(map[string]any{"exp": 1e300})),
				"exp string":            forge(t, nil, good(map[string]any{"exp": fmt.Sprint(now + 600)})),
				"nbf ahead":             forge(t, nil, good(map[string]any{"nbf": now + 3600})),
				"wrong aud":             forge(t, nil, good(map[string]any{"aud": "other"})),
				"no aud":                forge(t, nil, good(map[string]any{"aud": nil})),
				"wrong iss":             forge(t, nil, good(map[string]any{"iss": "other"})),
				"no iss":                forge(t, nil, good(map[string]any{"iss": nil})),
				"no sub":                forge(t, nil, good(map[string]any{"sub": nil})),
				"empty sub":             forge(t, nil, good(map[string]any{"sub": ""})),
				"sub number":            forge(t, nil, good(map[string]any{"sub": 1})),
				"sub unknown":           forge(t, nil, good(map[string]any{"sub": "usr_nobody"})),
				"sub of deleted":        forge(t, nil, good(map[string]any{"sub": goneID, "email": "gone@example.com"})),
				"issued to the deleted": gone,
				"other key":             strings.TrimSuffix(token, token[strings.LastIndexByte(token, '.')+1:]) + b64(make([]byte, 32)),
				"truncated":             token[:len(token)-2],
				"padded":                token + "=",
				"trailing dot":          token + ".",
				"four parts":            token + ".x",
				"empty":                 "",
			}
			for name, tok := range bad {
				for _, path := range []string{"/api/me", "/auth/passkeys", "/auth/account"} {
					if name == "empty" {
						continue
					}
					wantProblem(t, name+" at "+path, p.raw(t, "GET", path, nil, tok), 401, "unauthorized")
				}
			}
			for name, h := range map[string][]string{
				"lower-case bearer": {"Authorization", "bearer " + token},
				"two spaces":        {"Authorization", "Bearer  " + token},
				"no scheme":         {"Authorization", token},
				"Basic":             {"Authorization", "Basic " + token},
				"token and junk":    {"Authorization", "Bearer " + token + " x"},
				"X-Session-Token":   {"X-Session-Token", token},
				"Cookie":            {"Cookie", "session=" + token},
			} {
				a := p.raw(t, "GET", "/api/me", nil, "", h...)
				if (name == "lower-case bearer" || name == "two spaces") && a.status == 200 {
					continue // RFC 9110 §11.1, RFC 6750 §2.1: the scheme is case-insensitive, 1*SP
				}
				wantProblem(t, name, a, 401, "unauthorized")
			}
			wantProblem(t, "token in the query", p.raw(t, "GET", "/api/me?access_token="+token, nil, ""), 401, "unauthorized")
		})
	}
}

// TestProbeStoreSessionTokens: the default revocable sessions refuse an
// altered, truncated, extended or re-cased token, a token after logout and
// the token of a deleted account, at the guard and the handler.
func TestProbeStoreSessionTokens(t *testing.T) {
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			token, _ := p.signUp(t, "store@example.com")
			out, _ := p.signUp(t, "store@example.com")
			if a := p.raw(t, "POST", "/auth/logout", nil, out); a.status != 204 {
				t.Fatalf("logout: %v", a)
			}
			gone, _ := p.signUp(t, "gone@example.com")
			if a := p.raw(t, "DELETE", "/auth/account", nil, gone); a.status != 204 {
				t.Fatalf("delete account: %v", a)
			}
			flip := []byte(token)
			flip[len(flip)-1] ^= 1
			bad := map[string]string{
				"last byte changed": string(flip),
				"truncated":         token[:len(token)-1],
				"extended":          token + "A",
				"upper case":        strings.ToUpper(token),
				"prefix only":       token[:4],
				"padded":            token + "=",
				"logged out":        out,
				"deleted account":   gone,
				"NUL":               token + "%00",
			}
			for name, tok := range bad {
				for _, path := range []string{"/api/me", "/auth/passkeys", "/auth/sessions"} {
					wantProblem(t, name+" at "+path, p.raw(t, "GET", path, nil, tok), 401, "unauthorized")
				}
			}
			if a := p.raw(t, "GET", "/api/me", nil, token); a.status != 200 {
				t.Errorf("the good token after the probes: %v", a)
			}
		})
	}
}

// spoof are headers a client may send to look like another address; the
// example trusts no proxy, so none of them may change the client IP.
func spoof(i int) []string {
	ip := fmt.Sprintf("198.51.100.%d", i%250+1)
	return []string{
		"X-Forwarded-For", ip + ", 10.0.0.1", "X-Real-IP", ip, "Forwarded", "for=" + ip,
		"True-Client-IP", ip, "CF-Connecting-IP", ip, "X-Client-IP", ip,
	}
}

// TestProbeLimits: the per-email limits hold across every spelling of a
// mailbox, and the per-IP limits cannot be escaped with forwarding
// headers; each refusal is 429 with Retry-After, and a refused check does
// not consume the code.
func TestProbeLimits(t *testing.T) {
	for _, p := range probeTargets(t, "-start-limit", "5") {
		t.Run(p.name, func(t *testing.T) {
			began := time.Now()
			spellings := []string{"jörg@bücher.de", "JÖRG@BÜCHER.DE", "jörg@xn--bcher-kva.de", "jo\u0308rg@bu\u0308cher.de", " Jörg@Bücher。de "}
			// EmailLimit: 10 codes a minute per mailbox, whatever the spelling.
			for i := range 10 {
				if a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":`+jsonString(t, spellings[i%len(spellings)])+`}`), "", spoof(i)...); a.status != 200 {
					t.Fatalf("code %d: %v", i, a)
				}
			}
			code := p.codeFor(t, "jörg@xn--bcher-kva.de")
			for i, s := range spellings {
				a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":`+jsonString(t, s)+`}`), "", spoof(100+i)...)
				if wantProblem(t, "11th code as "+s, a, 429, "too_many_attempts") && a.header.Get("Retry-After") == "" {
					t.Errorf("11th code as %s: no Retry-After", s)
				}
			}
			// OTPCheckLimit: 10 checks per mailbox, whatever the spelling.
			for i := range 10 {
				wrong := fmt.Sprintf("%06d", (atoi(code)+1+i)%1000000)
				a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":`+jsonString(t, spellings[i%len(spellings)])+`,"otp":"`+wrong+`"}`), "", spoof(200+i)...)
				if a.status != 401 {
					t.Fatalf("wrong check %d: %v", i, a)
				}
			}
			for i, s := range spellings {
				a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":`+jsonString(t, s)+`,"otp":"`+code+`"}`), "", spoof(300+i)...)
				if wantProblem(t, "11th check as "+s, a, 429, "too_many_attempts") && a.header.Get("Retry-After") == "" {
					t.Errorf("11th check as %s: no Retry-After", s)
				}
			}
			// StartLimit (5 here): forwarding headers are not believed.
			for i := range 5 {
				if a := p.raw(t, "POST", "/auth/passkey/mediation/start", []byte(`{}`), "", spoof(400+i)...); a.status != 200 {
					t.Fatalf("start %d: %v", i, a)
				}
			}
			for i := range 3 {
				a := p.raw(t, "POST", "/auth/passkey/login/start", []byte(`{"email":"x@example.com"}`), "", spoof(500+i)...)
				wantProblem(t, fmt.Sprintf("start beyond the limit with spoofed headers %d", i), a, 429, "too_many_attempts")
			}
			// IPLimit: 60 OTP requests and checks a minute per client IP;
			// 20 requests and 10 checks were made above, so at most 30 more
			// can pass (and one more for each second since), whatever the
			// headers and emails say.
			passed := 0
			for i := range 40 {
				a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(fmt.Sprintf(`{"email":"ip%d@example.com"}`, i)), "", spoof(600+i)...)
				switch {
				case a.status == 200:
					passed++
				case a.status == 429 && a.header.Get("Retry-After") != "":
				default:
					t.Errorf("IP limit request %d: %v", i, a)
				}
			}
			// The bucket refills one request a second.
			if most := 30 + int(time.Since(began)/time.Second) + 1; passed > most {
				t.Errorf("%d of 40 code requests passed, want at most %d (IPLimit 60/min)", passed, most)
			}
		})
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestProbeBodies: bodies over the example's 64 KiB cap, sent with a
// length or chunked, are 413 at every endpoint; bodies under it that are
// deeply nested, wide or encoded are 400 (many distinct capability flags
// are a valid body), never a 5xx; the server serves on.
func TestProbeBodies(t *testing.T) {
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			token, _ := p.signUp(t, "bodies@example.com")
			big := []byte(`{"email":"` + strings.Repeat("a", 70<<10) + `@example.com"}`)
			for _, path := range []string{"/auth/signUpOrLogin", "/auth/passkey/login/start", "/auth/passkey/login/finish", "/auth/passkey/mediation/start",
				"/auth/passkey/mediation/finish", "/auth/passkey/append/start", "/auth/passkey/append/finish", "/auth/account/email", "/auth/logout"} {
				wantProblem(t, "70 KiB at "+path, p.raw(t, "POST", path, big, token), 413, "payload_too_large")
				// Chunked, with no Content-Length: the reader is an io.Reader
				// that is not a bytes.Reader, so net/http cannot know the length.
				req, _ := http.NewRequest("POST", p.base+path, io.MultiReader(bytes.NewReader(big)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := probeClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != 413 || res.ContentLength == 0 {
					t.Errorf("chunked 70 KiB at %s: %d", path, res.StatusCode)
				}
			}
			under := 60 << 10
			for name, body := range map[string]string{
				"nested arrays":  `{"email":` + strings.Repeat("[", under) + strings.Repeat("]", under) + `}`,
				"nested objects": `{"clientCapabilities":` + strings.Repeat(`{"a":`, under/6) + `1` + strings.Repeat("}", under/6) + `}`,
				"open arrays":    strings.Repeat("[", under),
				"wide object":    `{"clientCapabilities":{` + strings.TrimSuffix(strings.Repeat(`"a":true,`, under/9), ",") + `}}`,
				"many members":   `{"clientCapabilities":{` + wideMembers(under/12) + `}}`,
				"long string":    `{"email":"` + strings.Repeat(`\u0041`, under/6) + `"}`,
				"long number":    `{"email":` + strings.Repeat("9", under) + `}`,
			} {
				a := p.raw(t, "POST", "/auth/passkey/mediation/start", []byte(body), "")
				if name == "many members" && a.status == 200 {
					continue // distinct capability flags: a valid body
				}
				if a.status >= 500 || a.status == 200 {
					t.Errorf("%s (%d bytes): %v", name, len(body), a)
				}
			}
			a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":"bodies@example.com"}`), "", "Content-Encoding", "gzip")
			if a.status != 200 && a.status != 400 && a.status != 415 {
				t.Errorf("Content-Encoding gzip: %v", a)
			}
			if a := p.raw(t, "GET", "/api/me", nil, token); a.status != 200 {
				t.Errorf("after the probes: %v", a)
			}
		})
	}
}

// wideMembers is n distinct members "m0":true, "m1":true, ...
func wideMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"m%d":true`, i)
	}
	return b.String()
}

// TestProbeStoreOutage holds the write lock of the example's SQLite file
// from another connection, as a stuck process would. A client that gives
// up meanwhile is no server error (no ERROR line); a client that waits
// gets, after the busy timeout, 503 unavailable with Retry-After and one
// ERROR line; once the lock is gone the same request succeeds.
func TestProbeStoreOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for SQLite's 10 s busy timeout")
	}
	db := filepath.Join(t.TempDir(), "outage.db")
	base, stderr := startServer(t, nil, "-db", db)
	p := probeTarget{"sqlite", base, stderr, stderr}
	token, _ := p.signUp(t, "outage@example.com")
	// The audit trail is written after the answer; wait until the sign-up
	// and login records are in, so that no write of them meets the lock.
	for tries := 0; ; tries++ {
		a := p.raw(t, "GET", "/auth/account/activity", nil, token)
		if a.status != 200 {
			t.Fatalf("activity: %v", a)
		}
		if list, _ := a.doc["activity"].([]any); len(list) >= 2 {
			break
		}
		if tries == 10000 {
			t.Fatalf("the sign-up's activity records never arrived: %v", a)
		}
	}

	other, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	before := strings.Count(stderr.String(), "level=ERROR")

	// A client that gives up after 300 ms.
	impatient := &http.Client{Timeout: 300 * time.Millisecond}
	req, _ := http.NewRequest("POST", base+"/auth/signUpOrLogin", strings.NewReader(`{"email":"outage@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	if res, err := impatient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("a write while the database is locked answered in 300 ms: %d", res.StatusCode)
	}

	start := time.Now()
	a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":"outage@example.com"}`), "")
	if wantProblem(t, "code request while locked", a, 503, "unavailable") && a.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	t.Logf("503 after %v", time.Since(start).Round(time.Millisecond))
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// The impatient client's request ended at DEBUG (not logged at the
	// default level); the 503 is the one ERROR line.
	if n := strings.Count(stderr.String(), "level=ERROR") - before; n != 1 {
		t.Errorf("%d ERROR lines for one 503 and one client that went away, want 1:\n%s", n, stderr)
	}
	if a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":"outage@example.com"}`), ""); a.status != 200 {
		t.Errorf("after the lock: %v", a)
	}
	if a := p.raw(t, "GET", "/api/me", nil, token); a.status != 200 {
		t.Errorf("session after the lock: %v", a)
	}
}

// rawAttestation answers creation options with a registration made by
// hand: attestation "none", flags UP, UV and AT (or flags when not 0), a
// 32-byte credential ID (or id), the COSE key cose followed by tail.
func rawAttestation(t *testing.T, opts any, cose, tail []byte, flags byte, id []byte) json.RawMessage {
	t.Helper()
	resp, _, _, err := rawauthn.Registration{RPID: "localhost", Origin: probeOrigin, COSE: cose, Tail: tail, Flags: flags, ID: id}.Create(obj(opts))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestProbeCredentialKeys registers passkeys whose attested key, or the
// CBOR around it, is malformed in ways a parser may be lenient about:
// indefinite encodings and tags (non-minimal heads are accepted: they
// change nothing about the key, see parseCOSEKey), duplicate and extra labels, text
// where numbers belong, bytes after the key, points at infinity or not
// reduced, keys for another curve, odd RSA moduli and exponents, and
// oversized credential IDs. Each is 400 passkey_verification_failed, and
// nothing is stored; an honest ES256 key built the same way is accepted.
func TestProbeCredentialKeys(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := k.PublicKey.Bytes()
	x, y := raw[1:33], raw[33:]
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	raw384, _ := k384.PublicKey.Bytes()
	p256 := elliptic.P256().Params().P.FillBytes(make([]byte, 32))
	xPlusP := new(big.Int).Add(new(big.Int).SetBytes(x), elliptic.P256().Params().P)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	n := rsaKey.N.Bytes()
	even := new(big.Int).SetBit(rsaKey.N, 0, 0).Bytes()
	edKey, _, _ := ed25519.GenerateKey(rand.Reader)
	bad := []struct {
		name string
		cose []byte
		tail []byte
		flag byte
		id   []byte
	}{
		{name: "indefinite map", cose: append(append([]byte{0xbf}, rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y)[1:]...), 0xff)},
		{name: "indefinite x", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, rawauthn.Raw(append(append([]byte{0x5f, 0x50}, x[:16]...), append(append([]byte{0x50}, x[16:]...), 0xff)...)), -3, y)},
		{name: "tagged x", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, rawauthn.Raw(append([]byte{0xc2, 0x58, 32}, x...)), -3, y)},
		{name: "kty twice", cose: rawauthn.Map(1, 2, 1, 2, 3, -7, -1, 1, -2, x, -3, y)},
		{name: "alg twice, other last", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y, 3, -257)},
		{name: "x twice", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y, -2, y)},
		{name: "kid label", cose: rawauthn.Map(1, 2, 2, []byte("kid"), 3, -7, -1, 1, -2, x, -3, y)},
		{name: "key_ops label", cose: rawauthn.Map(1, 2, 3, -7, 4, 1, -1, 1, -2, x, -3, y)},
		{name: "unknown negative label", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y, -70000, 1)},
		{name: "alg as text", cose: rawauthn.Map(1, 2, 3, "ES256", -1, 1, -2, x, -3, y)},
		{name: "kty as text", cose: rawauthn.Map(1, "EC2", 3, -7, -1, 1, -2, x, -3, y)},
		{name: "crv as text", cose: rawauthn.Map(1, 2, 3, -7, -1, "P-256", -2, x, -3, y)},
		{name: "x as text", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, string(x), -3, y)},
		{name: "y as bool", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, rawauthn.Raw{0xf5})},
		{name: "no y", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x)},
		{name: "no crv", cose: rawauthn.Map(1, 2, 3, -7, -2, x, -3, y)},
		{name: "no alg", cose: rawauthn.Map(1, 2, -1, 1, -2, x, -3, y)},
		{name: "point at infinity", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, make([]byte, 32), -3, make([]byte, 32))},
		{name: "x equal to p", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, p256, -3, y)},
		{name: "x not reduced", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, xPlusP.Bytes(), -3, y)},
		{name: "y negated mod p, wrong sign bit kept", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, new(big.Int).Sub(elliptic.P256().Params().P, new(big.Int).SetBytes(y)).FillBytes(make([]byte, 32)), -3, y)},
		{name: "P-384 point as P-256", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, raw384[1:33], -3, raw384[49:81])},
		{name: "P-384 key for ES256", cose: rawauthn.Map(1, 2, 3, -7, -1, 2, -2, raw384[1:49], -3, raw384[49:])},
		{name: "ES384 not offered", cose: rawauthn.Map(1, 2, 3, -35, -1, 2, -2, raw384[1:49], -3, raw384[49:])},
		{name: "x padded to 33", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, append([]byte{0}, x...), -3, append([]byte{0}, y...))},
		{name: "RSA even modulus", cose: rawauthn.Map(1, 3, 3, -257, -1, even, -2, []byte{1, 0, 1})},
		{name: "RSA exponent 2^32+1", cose: rawauthn.Map(1, 3, 3, -257, -1, n, -2, []byte{1, 0, 0, 0, 1})},
		{name: "RSA exponent even", cose: rawauthn.Map(1, 3, 3, -257, -1, n, -2, []byte{1, 0, 0})},
		{name: "RSA exponent empty", cose: rawauthn.Map(1, 3, 3, -257, -1, n, -2, []byte{})},
		{name: "RSA exponent as int", cose: rawauthn.Map(1, 3, 3, -257, -1, n, -2, 65537)},
		{name: "RSA modulus 2047 bits", cose: rawauthn.Map(1, 3, 3, -257, -1, new(big.Int).Rsh(rsaKey.N, 1).Bytes(), -2, []byte{1, 0, 1})},
		{name: "RSA modulus of 8200 bits", cose: rawauthn.Map(1, 3, 3, -257, -1, append(bytes.Repeat([]byte{0xff}, 1024), 0x01), -2, []byte{1, 0, 1})},
		{name: "RSA with crv", cose: rawauthn.Map(1, 3, 3, -257, -1, n, -2, []byte{1, 0, 1}, -3, []byte{1})},
		{name: "RSA private exponent", cose: rawauthn.Map(1, 3, 3, -257, -1, n, -2, []byte{1, 0, 1}, -3, rsaKey.D.Bytes())},
		{name: "PS256 not offered", cose: rawauthn.Map(1, 3, 3, -37, -1, n, -2, []byte{1, 0, 1})},
		{name: "Ed25519 with crv X25519", cose: rawauthn.Map(1, 1, 3, -8, -1, 4, -2, []byte(edKey))},
		{name: "Ed25519 of 33 bytes", cose: rawauthn.Map(1, 1, 3, -8, -1, 6, -2, append([]byte(edKey), 0))},
		{name: "Ed25519 with y", cose: rawauthn.Map(1, 1, 3, -8, -1, 6, -2, []byte(edKey), -3, y)},
		{name: "Ed25519 non-canonical", cose: rawauthn.Map(1, 1, 3, -8, -1, 6, -2, append(bytes.Repeat([]byte{0xff}, 31), 0x7f))},
		{name: "Ed448 crv", cose: rawauthn.Map(1, 1, 3, -8, -1, 7, -2, make([]byte, 57))},
		{name: "huge key", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, make([]byte, 16<<10), -3, y)},
		{name: "empty key", cose: []byte{0xa0}},
		{name: "not a map", cose: rawauthn.Map(1, 2)[1:]},
		{name: "bytes after the key", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y), tail: []byte{0}},
		{name: "extensions flag without extensions", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y), flag: 0xc5},
		{name: "extensions not a map", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y), tail: []byte{0x01}, flag: 0xc5},
		{name: "no attested data flag", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y), flag: 0x05},
		{name: "no user verification", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y), flag: 0x41},
		{name: "no user presence", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y), flag: 0x44},
		{name: "backed up but not eligible", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y), flag: 0x55},
		{name: "credential ID of 1024 bytes", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y), id: make([]byte, 1024)},
		{name: "empty credential ID", cose: rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y), id: []byte{}},
	}
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			token, _ := p.signUp(t, "keys@example.com")
			for _, b := range bad {
				a := p.post(t, "/auth/passkey/append/start", map[string]any{}, token)
				att := rawAttestation(t, a.doc["attestationOptions"], b.cose, b.tail, b.flag, b.id)
				a = p.post(t, "/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token)
				if a.status != 400 || (a.code() != "passkey_verification_failed" && a.code() != "invalid_request") {
					t.Errorf("%s: %v", b.name, a)
				}
			}
			if a := p.raw(t, "GET", "/auth/passkeys", nil, token); a.status != 200 || len(a.doc["passkeys"].([]any)) != 0 {
				t.Errorf("passkeys after the probes: %v", a)
			}
			a := p.post(t, "/auth/passkey/append/start", map[string]any{}, token)
			att := rawAttestation(t, a.doc["attestationOptions"], rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y), nil, 0, nil)
			if a := p.post(t, "/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token); a.status != 200 {
				t.Errorf("honest ES256 key: %v", a)
			}
			a = p.post(t, "/auth/passkey/append/start", map[string]any{}, token)
			att = rawAttestation(t, a.doc["attestationOptions"], rawauthn.Map(1, 3, 3, -257, -1, n, -2, []byte{1, 0, 1}), nil, 0, nil)
			if a := p.post(t, "/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token); a.status != 200 {
				t.Errorf("honest RS256 key: %v", a)
			}
		})
	}
}

// TestProbeCrossAccount: one account cannot reach another's passkeys,
// sessions or email: a victim's credential ID registered again (raw, by
// another account or the same), deleted in another encoding or revoked
// through another session list is refused, and the victim still signs in.
func TestProbeCrossAccount(t *testing.T) {
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			victim := passkeystest.New(probeOrigin)
			vToken, vID := p.signUp(t, "victim@example.com")
			credID := p.addPasskey(t, victim, vToken)
			aToken, _ := p.signUp(t, "attacker@example.com")
			raw, _ := base64.RawURLEncoding.DecodeString(credID)

			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			pub, _ := k.PublicKey.Bytes()
			cose := rawauthn.Map(1, 2, 3, -7, -1, 1, -2, pub[1:33], -3, pub[33:])
			for who, tok := range map[string]string{"attacker": aToken, "victim": vToken} {
				a := p.post(t, "/auth/passkey/append/start", map[string]any{}, tok)
				att := rawAttestation(t, a.doc["attestationOptions"], cose, nil, 0, raw)
				a = p.post(t, "/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, tok)
				if a.status != 400 {
					t.Errorf("%s registers the victim's credential ID: %v", who, a)
				}
			}
			std := base64.StdEncoding.EncodeToString(raw)
			for _, id := range []string{credID, credID + "=", base64.URLEncoding.EncodeToString(raw), std, strings.ToUpper(credID), url.PathEscape(std), credID + "%00"} {
				a := p.raw(t, "DELETE", "/auth/passkeys/"+id, nil, aToken)
				// A random ID's standard base64 may hold "//", or start
				// with "/" and so make one with the path before it, which
				// http.ServeMux answers with a redirect to the cleaned
				// path before any handler runs: that deletes nothing too.
				redirected := a.status == http.StatusTemporaryRedirect && strings.Contains("/auth/passkeys/"+id, "//")
				if a.status != 404 && a.status != 400 && !redirected {
					t.Errorf("attacker deletes %s: %v", id, a)
				}
			}
			var vSession string
			if a := p.raw(t, "GET", "/auth/sessions", nil, vToken); a.status == 200 {
				list, _ := a.doc["sessions"].([]any)
				if len(list) > 0 {
					vSession, _ = list[0].(map[string]any)["id"].(string)
				}
			}
			if vSession != "" {
				a := p.raw(t, "DELETE", "/auth/sessions/"+vSession, nil, aToken)
				if a.status != 404 {
					t.Errorf("attacker revokes the victim's session: %v", a)
				}
			}
			// The attacker takes the victim's address as their email.
			a := p.post(t, "/auth/account/email", map[string]string{"email": "victim@example.com"}, aToken)
			if a.status == 200 {
				a = p.post(t, "/auth/account/email", map[string]string{"email": "victim@example.com", "otp": p.codeFor(t, "victim@example.com")}, aToken)
				if a.status == 200 {
					t.Errorf("attacker moved to the victim's address: %v", a)
				}
			}
			// The victim is untouched.
			if a := p.raw(t, "GET", "/api/me", nil, vToken); a.status != 200 || field(a.doc, "user", "email") != "victim@example.com" {
				t.Errorf("victim's session: %v", a)
			}
			s := p.post(t, "/auth/passkey/login/start", map[string]string{"email": "victim@example.com"}, "")
			asr, err := victim.Get(obj(s.doc["assertionOptions"]))
			if err != nil {
				t.Fatal(err)
			}
			if a := p.post(t, "/auth/passkey/login/finish", map[string]json.RawMessage{"assertionResponse": asr}, ""); a.status != 200 || field(a.doc, "user", "id") != vID {
				t.Errorf("victim's passkey login: %v", a)
			}
		})
	}
}

// TestProbeOTPAndDeletion: a code works once and only for its mailbox;
// a login started before the account was deleted cannot finish (401:
// the engine no longer knows the passkey, Corbado reports the account
// gone); a code
// requested before the deletion does not bring the account back as it was.
func TestProbeOTPAndDeletion(t *testing.T) {
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "one@example.com"}, "")
			code := p.codeFor(t, "one@example.com")
			p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "two@example.com"}, "")
			wantProblem(t, "one's code for two", p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "two@example.com", "otp": code}, ""), 401, "otp_invalid")
			if a := p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "ONE@example.com", "otp": code}, ""); a.status != 200 {
				t.Fatalf("one's code: %v", a)
			}
			wantProblem(t, "the code again", p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "one@example.com", "otp": code}, ""), 401, "otp_invalid")

			auth := passkeystest.New(probeOrigin)
			token, oldID := p.signUp(t, "deleted@example.com")
			p.addPasskey(t, auth, token)
			s := p.post(t, "/auth/passkey/login/start", map[string]string{"email": "deleted@example.com"}, "")
			m := p.post(t, "/auth/passkey/mediation/start", map[string]any{}, "")
			p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "deleted@example.com"}, "")
			pending := p.codeFor(t, "deleted@example.com")
			if a := p.raw(t, "DELETE", "/auth/account", nil, token); a.status != 204 {
				t.Fatalf("delete: %v", a)
			}
			asr, _ := auth.Get(obj(s.doc["assertionOptions"]))
			if a := p.post(t, "/auth/passkey/login/finish", map[string]json.RawMessage{"assertionResponse": asr}, ""); a.status != 401 || (a.code() != "passkey_verification_failed" && a.code() != "unknown_credential" && a.code() != "unauthorized") {
				t.Errorf("button login started before the deletion: %v", a)
			}
			asr, _ = auth.Get(obj(m.doc["assertionOptions"]))
			if a := p.post(t, "/auth/passkey/mediation/finish", map[string]json.RawMessage{"assertionResponse": asr}, ""); a.status != 401 || (a.code() != "passkey_verification_failed" && a.code() != "unknown_credential" && a.code() != "unauthorized") {
				t.Errorf("autofill login started before the deletion: %v", a)
			}
			a := p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "deleted@example.com", "otp": pending}, "")
			if a.status == 200 && (field(a.doc, "user", "id") == oldID || a.doc["newUser"] != true) {
				t.Errorf("code sent before the deletion brought back the old account: %v", a)
			}
			if a.status == 200 {
				if l := p.raw(t, "GET", "/auth/passkeys", nil, a.doc["sessionToken"].(string)); len(l.doc["passkeys"].([]any)) != 0 {
					t.Errorf("new account has the deleted account's passkeys: %v", l)
				}
			}
		})
	}
}

// cutProxy forwards TCP connections to target until cut.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close(); c.Close() }()
			go func() { io.Copy(c, up); up.Close(); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

// cut refuses new connections and breaks the open ones.
func (p *cutProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestProbePostgresOutage runs the example on PostgreSQL (store and rate
// limits) through a TCP proxy and cuts it: every endpoint that needs the
// database, the rate limiter included, answers 503 unavailable with
// Retry-After, never 500, and the log gets no more than one ERROR line
// per code and burst.
func TestProbePostgresOutage(t *testing.T) {
	dsn := os.Getenv("PASSKEYS_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set PASSKEYS_TEST_POSTGRES_DSN to run the example server on PostgreSQL")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	base, stderr := startServer(t, nil, "-postgres", u.String(), "-jwt-secret", probeJWTKey)
	p := probeTarget{"postgres", base, stderr, stderr}
	email := "pg-outage-" + strings.ToLower(rand.Text()) + "@example.com"
	token, _ := p.signUp(t, email)
	before := strings.Count(stderr.String(), "level=ERROR")

	proxy.cut()
	requests := []struct{ method, path, body string }{
		{"POST", "/auth/signUpOrLogin", `{"email":"` + email + `"}`},
		{"POST", "/auth/signUpOrLogin", `{"email":"` + email + `","otp":"123456"}`},
		{"POST", "/auth/passkey/login/start", `{"email":"` + email + `"}`},
		{"POST", "/auth/passkey/mediation/start", `{}`},
		{"GET", "/auth/passkeys", ""},
		{"GET", "/api/me", ""},
		{"GET", "/auth/sessions", ""},
		{"POST", "/auth/passkey/append/start", `{}`},
	}
	for round := range 3 {
		for _, r := range requests {
			var body []byte
			if r.body != "" {
				body = []byte(r.body)
			}
			a := p.raw(t, r.method, r.path, body, token)
			if wantProblem(t, fmt.Sprintf("round %d %s %s", round, r.method, r.path), a, 503, "unavailable") && a.header.Get("Retry-After") == "" {
				t.Errorf("%s %s: 503 without Retry-After", r.method, r.path)
			}
		}
	}
	if n := strings.Count(stderr.String(), "level=ERROR") - before; n > 2 {
		t.Errorf("%d ERROR lines for %d failed requests, want at most one per burst and code:\n%s", n, 3*len(requests), stderr)
	}
}

// TestProbeCookieCrossOrigin: with -cookie, an unsafe request that relies
// on the session cookie and comes from anywhere but the exact configured
// origin is 403 and changes nothing.
func TestProbeCookieCrossOrigin(t *testing.T) {
	for _, p := range probeTargets(t, "-cookie") {
		t.Run(p.name, func(t *testing.T) {
			p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "cookie@example.com"}, "")
			code := p.codeFor(t, "cookie@example.com")
			a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":"cookie@example.com","otp":"`+code+`"}`), "", "Origin", probeOrigin, "Sec-Fetch-Site", "same-origin")
			var cookie string
			for _, c := range (&http.Response{Header: a.header}).Cookies() {
				cookie = c.Name + "=" + c.Value
			}
			if a.status != 200 || cookie == "" {
				t.Fatalf("cookie sign-in: %v", a)
			}
			for _, h := range [][]string{
				{"Origin", "http://evil.example"},
				{"Origin", "null"},
				{"Origin", "http://localhost:3000/"},
				{"Origin", "HTTP://LOCALHOST:3000"},
				{"Origin", "http://localhost:3000.evil.example"},
				{"Origin", "http://127.0.0.1:3000"},
				{"Origin", "https://localhost:3000"},
				{"Sec-Fetch-Site", "cross-site"},
				{"Sec-Fetch-Site", "same-site"},
				{"Sec-Fetch-Site", "cross-site", "Origin", probeOrigin + "x"},
				{"Sec-Fetch-Site", "same-origin", "Origin", "http://evil.example"},
				{"Referer", "http://evil.example/", "Origin", "http://evil.example"},
			} {
				for _, r := range []struct{ method, path, body, ct string }{
					{"POST", "/auth/logout", "", ""},
					{"POST", "/auth/logout", "a=b", "application/x-www-form-urlencoded"},
					{"POST", "/auth/logout", "{}", "text/plain"},
					{"DELETE", "/auth/account", "", ""},
					{"POST", "/auth/passkey/append/start", "{}", "text/plain"},
				} {
					hdr := append([]string{"Cookie", cookie, "Content-Type", r.ct}, h...)
					var body []byte
					if r.body != "" {
						body = []byte(r.body)
					}
					a := p.raw(t, r.method, r.path, body, "", hdr...)
					if a.status != 403 && a.status != 415 {
						t.Errorf("%s %s with %v: %v, want 403", r.method, r.path, h, a)
					}
				}
			}
			if a := p.raw(t, "GET", "/api/me", nil, "", "Cookie", cookie); a.status != 200 {
				t.Errorf("the cookie after the probes: %v", a)
			}
		})
	}
}

// TestProbeUserAgent: a User-Agent with bidi overrides, invisible
// characters or 20 KiB of text names the passkey by what it parses to and
// reaches the sessions list without those characters, capped.
func TestProbeUserAgent(t *testing.T) {
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "ua@example.com"}, "")
			ua := "Mozilla/5.0 (Windows NT 10.0) \u202eevil\u2066 \u200bx\ufeff" + strings.Repeat("B", 20<<10)
			a := p.raw(t, "POST", "/auth/signUpOrLogin", []byte(`{"email":"ua@example.com","otp":"`+p.codeFor(t, "ua@example.com")+`"}`), "", "User-Agent", ua)
			token, _ := a.doc["sessionToken"].(string)
			if a.status != 200 {
				t.Fatalf("sign in: %v", a)
			}
			auth := passkeystest.New(probeOrigin)
			a = p.post(t, "/auth/passkey/append/start", map[string]any{}, token)
			att, _ := auth.Create(obj(a.doc["attestationOptions"]))
			a = p.raw(t, "POST", "/auth/passkey/append/finish", obj(map[string]json.RawMessage{"attestationResponse": att}), token, "User-Agent", ua)
			if name, _ := field(a.doc, "passkey", "name").(string); a.status != 200 || name != "Passkey on Windows" {
				t.Errorf("passkey name: %v", a)
			}
			a = p.raw(t, "GET", "/auth/sessions", nil, token)
			list, _ := a.doc["sessions"].([]any)
			if a.status != 200 || len(list) != 1 {
				t.Fatalf("sessions: %v", a)
			}
			got, _ := list[0].(map[string]any)["userAgent"].(string)
			if len(got) > 512 || strings.ContainsAny(got, "\u202e\u2066\u200b\ufeff") || !strings.HasPrefix(got, "Mozilla/5.0 (Windows NT 10.0) evil x") {
				t.Errorf("session user agent %q (%d bytes)", trim(got), len(got))
			}
		})
	}
}

// TestProbeRaces: one code, one assertion and one registration sent ten
// times at once succeed once each.
func TestProbeRaces(t *testing.T) {
	for _, p := range probeTargets(t) {
		t.Run(p.name, func(t *testing.T) {
			race := func(what, path string, body []byte, token string) {
				t.Helper()
				var wg sync.WaitGroup
				statuses := make([]int, 10)
				for i := range statuses {
					wg.Add(1)
					go func() {
						defer wg.Done()
						req, _ := http.NewRequest("POST", p.base+path, bytes.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
						if token != "" {
							req.Header.Set("Authorization", "Bearer "+token)
						}
						res, err := probeClient.Do(req)
						if err != nil {
							t.Error(err)
							return
						}
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						statuses[i] = res.StatusCode
					}()
				}
				wg.Wait()
				ok := 0
				for _, s := range statuses {
					if s == 200 {
						ok++
					} else if s >= 500 {
						t.Errorf("%s: a %d among %v", what, s, statuses)
					}
				}
				if ok != 1 {
					t.Errorf("%s: %d of 10 succeeded (%v), want 1", what, ok, statuses)
				}
			}
			p.post(t, "/auth/signUpOrLogin", map[string]string{"email": "race@example.com"}, "")
			race("one code", "/auth/signUpOrLogin", []byte(`{"email":"race@example.com","otp":"`+p.codeFor(t, "race@example.com")+`"}`), "")

			token, _ := p.signUp(t, "race2@example.com")
			auth := passkeystest.New(probeOrigin)
			a := p.post(t, "/auth/passkey/append/start", map[string]any{}, token)
			att, _ := auth.Create(obj(a.doc["attestationOptions"]))
			race("one registration", "/auth/passkey/append/finish", obj(map[string]json.RawMessage{"attestationResponse": att}), token)
			if l := p.raw(t, "GET", "/auth/passkeys", nil, token); len(l.doc["passkeys"].([]any)) != 1 {
				t.Errorf("passkeys after the race: %v", l)
			}
			a = p.post(t, "/auth/passkey/login/start", map[string]string{"email": "race2@example.com"}, "")
			asr, _ := auth.Get(obj(a.doc["assertionOptions"]))
			race("one assertion", "/auth/passkey/login/finish", obj(map[string]json.RawMessage{"assertionResponse": asr}), "")
			a = p.post(t, "/auth/passkey/mediation/start", map[string]any{}, "")
			asr, _ = auth.Get(obj(a.doc["assertionOptions"]))
			race("one autofill assertion", "/auth/passkey/mediation/finish", obj(map[string]json.RawMessage{"assertionResponse": asr}), "")
		})
	}
}
