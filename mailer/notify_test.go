package mailer_test

import (
	"context"
	htmltemplate "html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/mailer"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

func TestNotifyOverSMTP(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	client := passkeys.Client{RemoteAddr: "203.0.113.7", UserAgent: firefox}
	for _, tc := range []struct {
		name, lang, wantLang, subject string
		notice                        passkeys.SecurityNotice
		want                          []string
	}{
		{"added, english", "en-US", "en", "A passkey was added to your account",
			passkeys.SecurityNotice{Kind: passkeys.EventPasskeyAdded, To: "alice@example.org", PasskeyName: "Firefox on Windows"},
			[]string{"A new passkey", "Firefox on Windows", "From: Firefox on Windows.", "IP address: 203.0.113.7.", "Wed, 04 Mar 2026 05:06:07 UTC"}},
		{"removed, german", "de-DE,de;q=0.9", "de", "Aus Ihrem Konto wurde ein Passkey entfernt",
			passkeys.SecurityNotice{Kind: passkeys.EventPasskeyRemoved, To: "alice@example.org"},
			[]string{"wurde ein Passkey entfernt", "Von: Firefox unter Windows.", "IP-Adresse: 203.0.113.7."}},
		{"email changed, to the old address", "fr", "en", "The email address of your account was changed",
			passkeys.SecurityNotice{Kind: passkeys.EventEmailChanged, To: "alice@example.org", OldEmail: "alice@example.org", NewEmail: "mallory@example.net"},
			[]string{"changed to mallory@example.net"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverOpts{startTLS: true, user: testUser, pass: testPass})
			s := newSender(t, "smtp", ts.addr, mailer.Config{Username: testUser, Password: testPass})
			n := tc.notice
			n.Time, n.Client = at, client
			n.Client.AcceptLanguage = tc.lang
			if err := s.Notify(t.Context(), n); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			msgs := ts.messages()
			if len(msgs) != 1 || len(msgs[0].to) != 1 || msgs[0].to[0] != "alice@example.org" || !msgs[0].tls {
				t.Fatalf("server got %+v, want one message to alice@example.org over TLS", msgs)
			}
			p := parse(t, msgs[0].data)
			if p.subject != tc.subject || p.header.Get("Content-Language") != tc.wantLang {
				t.Errorf("Subject %q, Content-Language %q; want %q, %q", p.subject, p.header.Get("Content-Language"), tc.subject, tc.wantLang)
			}
			for _, body := range []struct{ kind, s string }{{"text", p.text}, {"html", p.html}} {
				for _, want := range tc.want {
					if !strings.Contains(body.s, want) && !strings.Contains(body.s, strings.ReplaceAll(want, `"`, "&#34;")) {
						t.Errorf("%s body lacks %q:\n%s", body.kind, want, body.s)
					}
				}
			}
		})
	}
}

// A passkey name is the client's text: the HTML part escapes it.
func TestNotifyEscapesThePasskeyName(t *testing.T) {
	ts := startServer(t, serverOpts{startTLS: true, user: testUser, pass: testPass})
	s := newSender(t, "smtp", ts.addr, mailer.Config{Username: testUser, Password: testPass})
	err := s.Notify(t.Context(), passkeys.SecurityNotice{Kind: passkeys.EventPasskeyAdded, To: "alice@example.org", PasskeyName: `<img src=x onerror=alert(1)>`})
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, ts.messages()[0].data)
	if strings.Contains(p.html, "<img") {
		t.Errorf("html body holds the name unescaped:\n%s", p.html)
	}
}

// Through the handler: adding a passkey emails its owner, once the
// handler's events are delivered.
func TestSecurityNoticeThroughTheHandler(t *testing.T) {
	ctx := context.Background()
	smtpd := startServer(t, serverOpts{startTLS: true, user: testUser, pass: testPass})
	sender := newSender(t, "smtp", smtpd.addr, mailer.Config{Username: testUser, Password: testPass})
	mail := passkeystest.NewMailbox()
	const origin = "http://localhost:3000"
	engine, err := selfhosted.New(selfhosted.Config{RPID: "localhost", Origins: []string{origin}, Store: memstore.New(), OTPSender: mail})
	if err != nil {
		t.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{Backend: engine, JWTKey: []byte("0123456789abcdef0123456789abcdef"),
		Events: passkeys.NewSecurityNotifications(sender, nil)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/auth", h))
	defer srv.Close()
	c := passkeystest.NewClient(srv.URL+"/auth", passkeystest.ClientOptions{Authenticator: passkeystest.New(origin), Mailbox: mail,
		Header: http.Header{"User-Agent": {firefox}, "Accept-Language": {"de"}}})
	s, err := c.SignUpOrLogin(ctx, "owner@example.org")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := c.AppendPasskey(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	flush, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.FlushEvents(flush); err != nil {
		t.Fatal(err)
	}
	msgs := smtpd.messages()
	if len(msgs) != 1 || msgs[0].to[0] != "owner@example.org" {
		t.Fatalf("server got %d messages (%+v), want one notice to the owner", len(msgs), msgs)
	}
	p := parse(t, msgs[0].data)
	if p.subject != "Ihrem Konto wurde ein Passkey hinzugefügt" || !strings.Contains(p.text, pk.Name) || !strings.Contains(p.text, "127.0.0.1") {
		t.Errorf("notice %q:\n%s", p.subject, p.text)
	}
}

// The host's notice templates are what goes over SMTP.
func TestNotifyWithHostTemplatesOverSMTP(t *testing.T) {
	ts := startServer(t, serverOpts{startTLS: true, user: testUser, pass: testPass})
	s := newSender(t, "smtp", ts.addr, mailer.Config{Username: testUser, Password: testPass,
		NoticeText: texttemplate.Must(texttemplate.New("t").Parse("Acme security: {{.Intro}}")),
		NoticeHTML: htmltemplate.Must(htmltemplate.New("h").Parse("<p>Acme security: {{.Intro}}</p>")),
	})
	err := s.Notify(t.Context(), passkeys.SecurityNotice{Kind: passkeys.EventPasskeyRemoved, To: "alice@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := ts.messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want one", len(msgs))
	}
	p := parse(t, msgs[0].data)
	want := "Acme security: " + mailer.EnglishNotices.PasskeyRemoved
	if p.subject != mailer.EnglishNotices.PasskeyRemovedSubject || strings.TrimSpace(p.text) != want ||
		strings.TrimSpace(p.html) != "<p>"+want+"</p>" {
		t.Errorf("subject %q\ntext %q\nhtml %q\nwant the host's templates with %q", p.subject, p.text, p.html, want)
	}
}
