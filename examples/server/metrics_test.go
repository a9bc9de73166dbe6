package main

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys/passkeystest"
)

var metricsLine = regexp.MustCompile(`metrics_addr=(\S+)`)

// scrape reads the metrics listener's /metrics.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, b)
	}
	return string(b)
}

// TestExampleServerMetrics scrapes /metrics after a sign-up and a login
// and finds the counters moved; the metrics are not on the public
// listener, and every security event has its audit line.
func TestExampleServerMetrics(t *testing.T) {
	base, stderr := startServer(t, nil, "-metrics-addr", "127.0.0.1:0")
	m := metricsLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no metrics address in the server output:\n%s", stderr)
	}
	addr := m[1]
	before := scrape(t, addr)
	if strings.Contains(before, `kind="login"`) {
		t.Fatalf("a login counted before any:\n%s", before)
	}
	c := client{t, base}
	const email = "metrics@example.com"
	for range 2 {
		if st, _ := c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": email}, ""); st != http.StatusOK {
			t.Fatalf("code request: %d", st)
		}
		if st, body := c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": email, "otp": lastCode(t, stderr, email)}, ""); st != http.StatusOK {
			t.Fatalf("code check: %d %v", st, body)
		}
	}
	text := scrape(t, addr)
	for _, want := range []string{
		`passkeys_events_total{ceremony="",kind="sign_up",method="otp",reason=""} 1`,
		`passkeys_events_total{ceremony="",kind="login",method="otp",reason=""} 2`,
		`passkeys_codes_sent_total{purpose="sign_in"} 2`,
		`passkeys_requests_total{code="",endpoint="/signUpOrLogin",method="POST",status="200"} 4`,
		`passkeys_request_duration_seconds_count{endpoint="/signUpOrLogin"} 4`,
		`passkeys_events_dropped_total 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, email) {
		t.Error("/metrics holds the email")
	}
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		t.Error("the public listener serves /metrics")
	}
	if n := strings.Count(stderr.String(), `msg="passkeys audit" kind=login`); n != 2 {
		t.Errorf("%d audit lines of logins, want 2:\n%s", n, stderr)
	}
}

func TestMetricsAddr(t *testing.T) {
	for in, want := range map[string]string{":9090": "127.0.0.1:9090", "0.0.0.0:9090": "0.0.0.0:9090", "[::1]:9": "[::1]:9"} {
		if got, err := metricsAddr(in); err != nil || got != want {
			t.Errorf("metricsAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := metricsAddr("9090"); err == nil {
		t.Error("metricsAddr(9090) is accepted")
	}
}

// TestExampleServerMailsSecurityNotices: with -smtp, adding a passkey
// mails a notice to the account's owner.
func TestExampleServerMailsSecurityNotices(t *testing.T) {
	mc := startMailCatcher(t)
	base, stderr := startServer(t, map[string]string{"PASSKEYS_MAIL_FROM": "Demo <demo@example.com>"},
		"-smtp", "smtp://"+mc.addr, "-smtp-insecure-plaintext-localhost", "-metrics-addr", "127.0.0.1:0")
	m := metricsLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no metrics address in the server output:\n%s", stderr)
	}
	c := passkeystest.NewClient(base+"/auth", passkeystest.ClientOptions{Authenticator: passkeystest.New("http://localhost:3000")})
	const email = "notice@example.org"
	if _, err := c.RequestCode(t.Context(), email); err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`).FindStringSubmatch(mc.messages()[0])
	if code == nil {
		t.Fatalf("no code in %q", mc.messages())
	}
	s, err := c.SubmitCode(t.Context(), email, code[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendPasskey(t.Context(), s.Token); err != nil {
		t.Fatal(err)
	}
	scrape(t, m[1]) // waits for the events
	msgs := mc.messages()
	if len(msgs) != 2 || !strings.Contains(msgs[1], "To: <"+email+">") || !strings.Contains(msgs[1], "A passkey was added to your account") {
		t.Fatalf("mail catcher got %d messages, want the code and a notice: %q", len(msgs), msgs)
	}
	if strings.Contains(stderr.String(), "DEVELOPMENT ONLY notice") {
		t.Error("the notice was printed as well as mailed")
	}
}

// TestExampleServerCountsEmails: with -smtp and -metrics-addr, /metrics
// counts the code and the notice the SMTP server took as sent, and a code
// it refused (550) as failed with the problem code of the 502 the request
// got; the refused address is not stored and appears nowhere in /metrics.
func TestExampleServerCountsEmails(t *testing.T) {
	mc := startMailCatcher(t)
	base, stderr := startServer(t, map[string]string{"PASSKEYS_MAIL_FROM": "Demo <demo@example.com>"},
		"-smtp", "smtp://"+mc.addr, "-smtp-insecure-plaintext-localhost", "-metrics-addr", "127.0.0.1:0")
	m := metricsLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no metrics address in the server output:\n%s", stderr)
	}
	if text := scrape(t, m[1]); strings.Contains(text, "passkeys_emails_total{") {
		t.Fatalf("emails counted before any was sent:\n%s", text)
	}
	c := passkeystest.NewClient(base+"/auth", passkeystest.ClientOptions{Authenticator: passkeystest.New("http://localhost:3000")})
	const email = "counted@example.org"
	if _, err := c.RequestCode(t.Context(), email); err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`).FindStringSubmatch(mc.messages()[0])
	if code == nil {
		t.Fatalf("no code in %q", mc.messages())
	}
	s, err := c.SubmitCode(t.Context(), email, code[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendPasskey(t.Context(), s.Token); err != nil {
		t.Fatal(err)
	}
	const bounced = "nobody@bounce.example.net"
	_, err = c.RequestCode(t.Context(), bounced)
	var pe *passkeystest.Error
	if !errors.As(err, &pe) || pe.Status != http.StatusBadGateway || !strings.Contains(string(pe.Body), `"upstream_error"`) {
		t.Fatalf("code to a refused address: %v, want 502 upstream_error", err)
	}
	text := scrape(t, m[1]) // waits for the events, and so for the notice
	for _, want := range []string{
		`passkeys_emails_total{code="",kind="code",outcome="sent"} 1`,
		`passkeys_emails_total{code="",kind="notice",outcome="sent"} 1`,
		`passkeys_emails_total{code="upstream_error",kind="code",outcome="failed"} 1`,
		`passkeys_codes_sent_total{purpose="sign_in"} 1`,
		`passkeys_requests_total{code="upstream_error",endpoint="/signUpOrLogin",method="POST",status="502"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, "bounce.example.net") || strings.Contains(text, email) {
		t.Error("/metrics holds an email address")
	}
	if n := len(mc.messages()); n != 2 {
		t.Errorf("the SMTP server took %d messages, want the code and the notice", n)
	}
}
