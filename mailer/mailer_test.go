package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/mailer"
)

const (
	testUser = "mailer-user"
	testPass = "s3cr3t-P4ss/word" // must never show in an error
	testCode = "482915"
	firefox  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)

var testDate = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newSender builds a Sender for ts's address with c's other fields.
func newSender(t *testing.T, scheme, addr string, c mailer.Config) *mailer.Sender {
	t.Helper()
	if c.URL == "" {
		c.URL = scheme + "://" + addr
	}
	if c.From == "" {
		c.From = "Example Login <no-reply@example.com>"
	}
	if c.TLSConfig == nil {
		c.TLSConfig = clientTLS()
	}
	if c.Clock == nil {
		c.Clock = func() time.Time { return testDate }
	}
	if c.HELO == "" {
		c.HELO = "client.test"
	}
	s, err := mailer.New(c)
	if err != nil {
		t.Fatalf("mailer.New: %v", err)
	}
	return s
}

func otpMessage(lang string) passkeys.OTPMessage {
	return passkeys.OTPMessage{
		Email: "alice@example.org", Code: testCode, ValidFor: 10 * time.Minute, Purpose: passkeys.OTPSignIn,
		Client: passkeys.Client{RemoteAddr: "203.0.113.7", UserAgent: firefox, AcceptLanguage: lang},
	}
}

// parsed is a received message taken apart.
type parsed struct {
	header  mail.Header
	subject string
	text    string
	html    string
	parts   []string // each part's Content-Type
}

// parse reads a multipart/alternative message with one text/plain and one
// text/html part, failing the test on anything else.
func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, data)
	}
	p := parsed{header: m.Header}
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("Subject: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" || params["boundary"] == "" {
		t.Fatalf("Content-Type %q, want multipart/alternative with a boundary (%v)", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		ct := part.Header.Get("Content-Type")
		p.parts = append(p.parts, ct)
		var body io.Reader = part
		switch cte := part.Header.Get("Content-Transfer-Encoding"); strings.ToLower(cte) {
		case "quoted-printable":
			body = quotedprintable.NewReader(part)
		case "", "7bit", "8bit":
		default:
			t.Fatalf("part %s: unexpected Content-Transfer-Encoding %q", ct, cte)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("part %s: %v", ct, err)
		}
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || !strings.EqualFold(params["charset"], "utf-8") {
			t.Errorf("part Content-Type %q: want charset UTF-8 (%v)", ct, err)
		}
		switch mt {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		default:
			t.Errorf("unexpected part %q", ct)
		}
	}
	if len(p.parts) != 2 || p.text == "" || p.html == "" {
		t.Fatalf("parts %q: want one text/plain and one text/html", p.parts)
	}
	return p
}

var messageIDRE = regexp.MustCompile(`^<[A-Za-z0-9_-]{22}@example\.com>$`)

func TestSendOverSTARTTLS(t *testing.T) {
	for _, tc := range []struct {
		name, acceptLanguage, lang, subject, intro, valid, device string
	}{
		{"english", "en-US,en;q=0.9", "en", "Your sign-in code", "Enter this code to sign in:", "The code is valid for 10 minutes", "It was requested from Firefox on Windows."},
		{"german by q-value", "fr;q=0.9, de-CH, en;q=0.5", "de", "Ihr Anmeldecode", "Geben Sie diesen Code ein, um sich anzumelden:", "Der Code ist 10 Minuten lang gültig", "Er wurde von Firefox unter Windows angefordert."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverOpts{startTLS: true, user: testUser, pass: testPass})
			s := newSender(t, "smtp", ts.addr, mailer.Config{Username: testUser, Password: testPass})
			if err := s.SendOTPMessage(t.Context(), otpMessage(tc.acceptLanguage)); err != nil {
				t.Fatalf("SendOTPMessage: %v", err)
			}
			msgs := ts.messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if !got.tls || got.user != testUser || got.from != "no-reply@example.com" || len(got.to) != 1 || got.to[0] != "alice@example.org" {
				t.Errorf("envelope: tls=%v user=%q from=%q to=%q", got.tls, got.user, got.from, got.to)
			}
			p := parse(t, got.data)
			h := p.header
			if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != "Example Login" || from[0].Address != "no-reply@example.com" {
				t.Errorf("From %q (%v)", h.Get("From"), err)
			}
			if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "alice@example.org" {
				t.Errorf("To %q (%v)", h.Get("To"), err)
			}
			if d, err := h.Date(); err != nil || !d.Equal(testDate) {
				t.Errorf("Date %q = %v (%v), want %v", h.Get("Date"), d, err, testDate)
			}
			if id := h.Get("Message-Id"); !messageIDRE.MatchString(id) {
				t.Errorf("Message-ID %q", id)
			}
			for k, want := range map[string]string{"Mime-Version": "1.0", "Auto-Submitted": "auto-generated", "Content-Language": tc.lang} {
				if v := h.Get(k); v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
			if p.subject != tc.subject {
				t.Errorf("Subject %q, want %q", p.subject, tc.subject)
			}
			for _, body := range []struct{ kind, s string }{{"text", p.text}, {"html", p.html}} {
				for _, want := range []string{testCode, tc.intro, tc.valid, tc.device, "203.0.113.7"} {
					if !strings.Contains(body.s, want) {
						t.Errorf("%s body lacks %q:\n%s", body.kind, want, body.s)
					}
				}
			}
			if !strings.Contains(p.html, `<html lang="`+tc.lang+`">`) {
				t.Errorf("html body does not say lang %q", tc.lang)
			}
		})
	}
}

func TestCodeInSubjectIsAnOption(t *testing.T) {
	ts := startServer(t, serverOpts{startTLS: true})
	s := newSender(t, "smtp", ts.addr, mailer.Config{CodeInSubject: true})
	m := otpMessage("de")
	m.Purpose = passkeys.OTPEmailChange
	if err := s.SendOTPMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	msgs := ts.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	p := parse(t, msgs[0].data)
	if want := testCode + " bestätigt Ihre neue E-Mail-Adresse"; p.subject != want {
		t.Errorf("Subject %q, want %q", p.subject, want)
	}
	if !strings.Contains(p.text, "neue E-Mail-Adresse Ihres Kontos") {
		t.Errorf("text body is not the email-change one:\n%s", p.text)
	}
	// Off by default: the code stays out of the subject.
	def := newSender(t, "smtp", ts.addr, mailer.Config{})
	r, err := def.Render(otpMessage(""))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.Subject, testCode) {
		t.Errorf("default subject %q shows the code", r.Subject)
	}
}

func TestSendOverImplicitTLS(t *testing.T) {
	ts := startServer(t, serverOpts{implicit: true, user: testUser, pass: testPass})
	s := newSender(t, "smtps", "", mailer.Config{URL: "smtps://" + testUser + ":" + strings.ReplaceAll(testPass, "/", "%2F") + "@" + ts.addr})
	if err := s.SendOTP(t.Context(), "bob@example.org", testCode, 5*time.Minute); err != nil {
		t.Fatalf("SendOTP: %v", err)
	}
	msgs := ts.messages()
	if len(msgs) != 1 || !msgs[0].tls || msgs[0].user != testUser {
		t.Fatalf("messages %+v", msgs)
	}
	p := parse(t, msgs[0].data)
	if p.subject != "Your sign-in code" || !strings.Contains(p.text, "valid for 5 minutes") || strings.Contains(p.text, "requested from") {
		t.Errorf("SendOTP message: subject %q, text:\n%s", p.subject, p.text)
	}
}

// checkErr asserts that err is a *passkeys.Error like want, with the
// not-sent detail, and that neither the password nor the code shows in it.
func checkErr(t *testing.T, err, want error) *passkeys.Error {
	t.Helper()
	var pe *passkeys.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *passkeys.Error", err, err)
	}
	if !errors.Is(err, want) {
		t.Errorf("error %v: want %v", err, want)
	}
	if pe.Detail != "The code could not be sent; try again shortly." {
		t.Errorf("detail %q", pe.Detail)
	}
	for _, secret := range []string{testPass, testCode, "s3cr3t"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows %q: %v", secret, err)
		}
	}
	return pe
}

func TestSTARTTLSRequired(t *testing.T) {
	ts := startServer(t, serverOpts{insecure: true, user: testUser, pass: testPass}) // no STARTTLS
	s := newSender(t, "smtp", ts.addr, mailer.Config{Username: testUser, Password: testPass})
	err := s.SendOTPMessage(t.Context(), otpMessage(""))
	checkErr(t, err, passkeys.ErrUpstream)
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error does not name STARTTLS: %v", err)
	}
	if n := ts.authAttempts(); n != 0 {
		t.Errorf("the password went over plain text: %d AUTH attempts", n)
	}
	if n := len(ts.messages()); n != 0 {
		t.Errorf("server got %d messages over plain text", n)
	}
}

func TestUntrustedCertificateRefused(t *testing.T) {
	ts := startServer(t, serverOpts{startTLS: true})
	s := newSender(t, "smtp", ts.addr, mailer.Config{TLSConfig: clientTLSWithoutRoots()})
	err := s.SendOTPMessage(t.Context(), otpMessage(""))
	checkErr(t, err, passkeys.ErrUpstream)
	if n := len(ts.messages()); n != 0 {
		t.Errorf("server got %d messages", n)
	}
}

func TestAuthFailureIsCleanError(t *testing.T) {
	ts := startServer(t, serverOpts{startTLS: true, user: testUser, pass: "the-right-one"})
	s := newSender(t, "smtp", ts.addr, mailer.Config{URL: "smtp://" + testUser + ":" + strings.ReplaceAll(testPass, "/", "%2F") + "@" + ts.addr})
	err := s.SendOTPMessage(t.Context(), otpMessage(""))
	pe := checkErr(t, err, passkeys.ErrUpstream)
	if pe.Status != 502 || !strings.Contains(err.Error(), "535") {
		t.Errorf("status %d, error %v: want 502 naming the 535 reply", pe.Status, err)
	}
	if ts.authAttempts() != 1 || len(ts.messages()) != 0 {
		t.Errorf("auth attempts %d, messages %d", ts.authAttempts(), len(ts.messages()))
	}
}

func TestServerReplies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply *smtp.SMTPError
		want  error
	}{
		{"temporary", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}, passkeys.ErrUnavailable},
		{"permanent", &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected"}, passkeys.ErrUpstream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverOpts{startTLS: true, reject: func() *smtp.SMTPError { return tc.reply }})
			s := newSender(t, "smtp", ts.addr, mailer.Config{})
			checkErr(t, s.SendOTPMessage(t.Context(), otpMessage("")), tc.want)
		})
	}
}

func TestServerThatHangs(t *testing.T) {
	t.Run("before the greeting", func(t *testing.T) {
		addr, accepted := hangingListener(t)
		s := newSender(t, "smtp", addr, mailer.Config{CommandTimeout: 100 * time.Millisecond})
		start := time.Now()
		err := s.SendOTPMessage(t.Context(), otpMessage(""))
		elapsed := time.Since(start)
		checkErr(t, err, passkeys.ErrUnavailable)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("error %v is not a timeout", err)
		}
		if elapsed > 10*time.Second {
			t.Errorf("send took %v with a 100ms command timeout", elapsed)
		}
		if len(accepted) != 1 {
			t.Errorf("%d connections, want 1", len(accepted))
		}
	})
	t.Run("in the TLS handshake", func(t *testing.T) {
		addr, _ := hangingListener(t)
		s := newSender(t, "smtps", addr, mailer.Config{DialTimeout: 100 * time.Millisecond, CommandTimeout: time.Hour})
		err := s.SendOTPMessage(t.Context(), otpMessage(""))
		checkErr(t, err, passkeys.ErrUnavailable)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("error %v is not a timeout", err)
		}
	})
	t.Run("after the message", func(t *testing.T) {
		ts := startServer(t, serverOpts{startTLS: true, hangData: true})
		s := newSender(t, "smtp", ts.addr, mailer.Config{CommandTimeout: 200 * time.Millisecond})
		err := s.SendOTPMessage(t.Context(), otpMessage(""))
		checkErr(t, err, passkeys.ErrUnavailable)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("error %v is not a timeout", err)
		}
	})
	t.Run("until the request ends", func(t *testing.T) {
		addr, accepted := hangingListener(t)
		s := newSender(t, "smtp", addr, mailer.Config{CommandTimeout: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-accepted
			cancel()
		}()
		err := s.SendOTPMessage(ctx, otpMessage(""))
		checkErr(t, err, passkeys.ErrUnavailable)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v does not say the context was cancelled", err)
		}
	})
}

func TestPlaintextOnlyOnLocalhostWhenAsked(t *testing.T) {
	ts := startServer(t, serverOpts{insecure: true, user: testUser, pass: testPass})
	s := newSender(t, "smtp", ts.addr, mailer.Config{InsecurePlaintextLocalhost: true, Username: testUser, Password: testPass})
	if err := s.SendOTPMessage(t.Context(), otpMessage("")); err != nil {
		t.Fatalf("plain send to 127.0.0.1: %v", err)
	}
	if msgs := ts.messages(); len(msgs) != 1 || msgs[0].tls || msgs[0].user != testUser {
		t.Errorf("messages %+v", msgs)
	}
	// STARTTLS is still used when offered.
	tls := startServer(t, serverOpts{startTLS: true})
	s = newSender(t, "smtp", tls.addr, mailer.Config{InsecurePlaintextLocalhost: true})
	if err := s.SendOTPMessage(t.Context(), otpMessage("")); err != nil {
		t.Fatal(err)
	}
	if msgs := tls.messages(); len(msgs) != 1 || !msgs[0].tls {
		t.Errorf("STARTTLS offered but not used: %+v", msgs)
	}
}
