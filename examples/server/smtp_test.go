package main

import (
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailCatcher is an SMTP server on 127.0.0.1 without TLS, like a
// development mail catcher; it keeps every message. It refuses every
// recipient at bounce.example.net with a permanent 550, as a server does an
// unknown mailbox.
type mailCatcher struct {
	addr string
	mu   sync.Mutex
	msgs []string
}

func startMailCatcher(t *testing.T) *mailCatcher {
	t.Helper()
	mc := &mailCatcher{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &catcherSession{mc: mc}, nil }))
	s.Domain = "catcher.test"
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mc.addr = l.Addr().String()
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return mc
}

func (mc *mailCatcher) messages() []string {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return append([]string(nil), mc.msgs...)
}

type catcherSession struct{ mc *mailCatcher }

func (catcherSession) Reset()                               {}
func (catcherSession) Logout() error                        { return nil }
func (catcherSession) Mail(string, *smtp.MailOptions) error { return nil }
func (catcherSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasSuffix(to, "@bounce.example.net") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox"}
	}
	return nil
}
func (s *catcherSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mc.mu.Lock()
	s.mc.msgs = append(s.mc.msgs, string(b))
	s.mc.mu.Unlock()
	return nil
}

// TestExampleServerSendsCodesBySMTP: with -smtp the demo mails the
// code (and prints none), and the mailed code signs in.
func TestExampleServerSendsCodesBySMTP(t *testing.T) {
	mc := startMailCatcher(t)
	base, stderr := startServer(t, map[string]string{"PASSKEYS_MAIL_FROM": "Demo <demo@example.com>"},
		"-smtp", "smtp://"+mc.addr, "-smtp-insecure-plaintext-localhost")
	c := client{t: t, base: base}
	if status, body := c.call("POST", "/auth/signUpOrLogin", map[string]any{"email": "grace@example.org"}, ""); status != 200 {
		t.Fatalf("signUpOrLogin: %d %v", status, body)
	}
	msgs := mc.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "From: \"Demo\" <demo@example.com>") || !strings.Contains(msgs[0], "To: <grace@example.org>") {
		t.Fatalf("mail catcher got %d messages: %q", len(msgs), msgs)
	}
	code := regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`).FindStringSubmatch(msgs[0])
	if code == nil {
		t.Fatalf("no code in the message:\n%s", msgs[0])
	}
	status, body := c.call("POST", "/auth/signUpOrLogin", map[string]any{"email": "grace@example.org", "otp": code[1]}, "")
	if status != 200 || body["sessionToken"] == nil {
		t.Fatalf("sign-in with the mailed code: %d %v", status, body)
	}
	if log := stderr.String(); strings.Contains(log, "DEVELOPMENT ONLY") || strings.Contains(log, code[1]) {
		t.Errorf("the code reached stderr:\n%s", log)
	}
}

func TestExampleServerSMTPFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"from without url", []string{"-mail-from", "a@example.com"}, "need -smtp"},
		{"url without from", []string{"-smtp", "smtp://user:s3cr3t@mail.example.com"}, "-smtp needs -mail-from"},
		{"plaintext to a remote host", []string{"-smtp", "smtp://user:s3cr3t@mail.example.com:25", "-mail-from", "a@example.com", "-smtp-insecure-plaintext-localhost"}, "localhost"},
		{"bad url", []string{"-smtp", "smtp://user:s3cr3t%zz@mail.example.com", "-mail-from", "a@example.com"}, "-smtp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			args := append([]string{"-addr", "127.0.0.1:0", "-db", t.TempDir() + "/x.db"}, tc.args...)
			err := run(ctx, args, func(string) string { return "" }, io.Discard, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v; want an error with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// TestExampleServerListenErrorsNameTheFlag: an address that is taken is
// a startup error naming the flag that gave it, so that a busy metrics or
// profile port is not mistaken for the public one.
func TestExampleServerListenErrorsNameTheFlag(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().String()
	for _, flag := range []string{"-addr", "-metrics-addr", "-pprof-addr"} {
		t.Run(flag, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			args := []string{"-addr", "127.0.0.1:0", "-db", t.TempDir() + "/x.db"}
			if flag == "-addr" {
				args[1] = busy
			} else {
				args = append(args, flag, busy)
			}
			err := run(ctx, args, func(string) string { return "" }, io.Discard, nil)
			if err == nil || !strings.HasPrefix(err.Error(), flag+": ") {
				t.Fatalf("run with %s %s taken: %v; want an error that starts with %q", flag, busy, err, flag+": ")
			}
		})
	}
}
