package mailer

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"strings"
	texttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/passkeyready/passkeys"
)

// Config configures a [Sender]. URL and From are required; every other
// field's zero value is the safe default.
type Config struct {
	// URL names the SMTP server and how to reach it:
	//
	//	smtp://[user[:password]@]host[:port]   port 587 by default; STARTTLS is required
	//	smtps://[user[:password]@]host[:port]  port 465 by default; TLS from the first byte
	//
	// The user and password are percent-decoded ("%40" for "@"). Errors of
	// New and Send never contain the URL or the password.
	URL string
	// Username and Password, when Username is set, take the place of the
	// URL's. With neither, the sender does not authenticate.
	Username string
	Password string
	// From is the sender of every message, an address with an optional
	// display name: "Example <no-reply@example.com>". Required. Its domain
	// also ends each Message-ID.
	From string
	// InsecurePlaintextLocalhost lets an smtp:// URL whose host is
	// "localhost" or a loopback address talk without TLS when the server
	// offers no STARTTLS, as development mail catchers do. It is refused
	// for any other host, and a password is sent over such a connection
	// only to localhost, 127.0.0.1 or ::1. Off by default.
	InsecurePlaintextLocalhost bool
	// DialTimeout bounds connecting, and for smtps:// the TLS handshake.
	// Default 10 seconds.
	DialTimeout time.Duration
	// CommandTimeout bounds each read and write of the SMTP conversation:
	// a server that stops answering fails the send that long after its
	// last byte. Default 30 seconds. The request's context bounds the
	// whole send as well.
	CommandTimeout time.Duration
	// TLSConfig is used for STARTTLS and smtps://. Nil means the system's
	// roots, TLS 1.2 or newer, and the URL's host as the server name. A
	// given config is cloned; its ServerName defaults to the URL's host.
	TLSConfig *tls.Config
	// HELO is the name the sender gives in EHLO. Default: this machine's
	// host name.
	HELO string
	// CodeInSubject puts the code into the subject ("123456 is your
	// sign-in code"). Off by default: a subject shows in lock-screen
	// notifications, mail previews and mail server logs, so the code can
	// be read without opening the mailbox. On, users on phones can copy
	// the code from the notification.
	CodeInSubject bool
	// Subject, Text and HTML replace the default templates ([DefaultSubject],
	// [DefaultText], [DefaultHTML]). Each is executed with a [Data]. The
	// rendered subject has its white space collapsed and must not be empty.
	Subject *texttemplate.Template
	Text    *texttemplate.Template
	HTML    *htmltemplate.Template
	// Translations maps BCP 47 language tags to the words the templates
	// use. Default: [DefaultTranslations], English and German. Each
	// message is written in the translation that best matches the
	// request's Accept-Language (q-values honoured; "de-CH" finds "de"),
	// or in DefaultLanguage when none does.
	Translations map[string]Translation
	// DefaultLanguage is the key of Translations used when no language of
	// the request matches. Default "en".
	DefaultLanguage string
	// NoticeText and NoticeHTML replace the templates of the security
	// notices ([Sender.Notify]; defaults [DefaultNoticeText],
	// [DefaultNoticeHTML]). Each is executed with a [NoticeData]; the
	// subject is the translation's subject of the notice's kind.
	NoticeText *texttemplate.Template
	NoticeHTML *htmltemplate.Template
	// NoticeTranslations maps BCP 47 language tags to the words of the
	// security notices. Default: [DefaultNoticeTranslations], English and
	// German. A notice is written in the best match of the request's
	// Accept-Language, else in DefaultLanguage when it has an entry here,
	// else in "en", which must then have one. New renders every notice
	// kind in every language once, so a template or translation that
	// cannot render is an error there.
	NoticeTranslations map[string]NoticeTranslation
	// Clock gives the Date header. Default time.Now.
	Clock func() time.Time
}

// Sender delivers one-time codes over SMTP, one connection per message. It
// implements [passkeys.OTPSender] and [passkeys.OTPMessageSender], and is
// safe for concurrent use.
type Sender struct {
	srv       server
	user      string
	pass      string
	from      *mail.Address
	domain    string // From's domain, for Message-IDs
	plain     bool   // InsecurePlaintextLocalhost on a loopback host
	dial      time.Duration
	command   time.Duration
	tlsConfig *tls.Config
	helo      string
	clock     func() time.Time
	tpl       *templates
}

var (
	_ passkeys.OTPSender        = (*Sender)(nil)
	_ passkeys.OTPMessageSender = (*Sender)(nil)
)

// New checks c and returns its Sender. It renders every translation once,
// so a template that cannot be executed is an error here and not at the
// first request. It does not connect to the server.
func New(c Config) (*Sender, error) {
	srv, err := parseURL(c.URL)
	if err != nil {
		return nil, err
	}
	s := &Sender{srv: srv, user: srv.user, pass: srv.pass, dial: c.DialTimeout, command: c.CommandTimeout, helo: c.HELO, clock: c.Clock}
	if c.Username != "" {
		s.user, s.pass = c.Username, c.Password
	} else if c.Password != "" {
		return nil, errors.New("mailer: Config.Password is set without Config.Username")
	}
	if c.From == "" {
		return nil, errors.New("mailer: Config.From is required")
	}
	if s.from, err = mail.ParseAddress(c.From); err != nil {
		return nil, fmt.Errorf("mailer: Config.From is not an email address: %v", err)
	}
	s.domain = s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	if c.InsecurePlaintextLocalhost {
		if srv.implicit {
			return nil, errors.New("mailer: Config.InsecurePlaintextLocalhost is for smtp:// URLs; smtps:// always uses TLS")
		}
		if !isLoopback(srv.host) {
			return nil, errors.New("mailer: Config.InsecurePlaintextLocalhost allows only localhost or a loopback address as the URL's host")
		}
		s.plain = true
	}
	switch {
	case s.dial < 0:
		return nil, errors.New("mailer: Config.DialTimeout must not be negative")
	case s.dial == 0:
		s.dial = 10 * time.Second
	}
	switch {
	case s.command < 0:
		return nil, errors.New("mailer: Config.CommandTimeout must not be negative")
	case s.command == 0:
		s.command = 30 * time.Second
	}
	if c.TLSConfig != nil {
		s.tlsConfig = c.TLSConfig.Clone()
	} else {
		s.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = srv.host
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.tpl, err = newTemplates(c); err != nil {
		return nil, err
	}
	return s, nil
}

// Render returns the message m would be sent as, without sending it: to
// preview templates and translations.
func (s *Sender) Render(m passkeys.OTPMessage) (Message, error) {
	msg, err := s.tpl.render(m)
	if err != nil {
		return Message{}, fmt.Errorf("mailer: %w", err)
	}
	return msg, nil
}

// SendOTP implements [passkeys.OTPSender]: a sign-in code, in the default
// language.
func (s *Sender) SendOTP(ctx context.Context, email, code string, validFor time.Duration) error {
	return s.SendOTPMessage(ctx, passkeys.OTPMessage{Email: email, Code: code, ValidFor: validFor, Purpose: passkeys.OTPSignIn})
}

// SendOTPMessage implements [passkeys.OTPMessageSender]. It renders the
// message in the client's language and delivers it over one new
// connection. A failure is a [*passkeys.Error], so the handler answers:
//
//   - 503 unavailable (with Retry-After) for what a retry may cure: the
//     server cannot be reached, stops answering within CommandTimeout, or
//     answers with a temporary (4xx) reply;
//   - 502 upstream_error for the rest: TLS refused or not offered, the
//     login refused, a permanent (5xx) reply, a template that fails.
//
// Either way the detail says that the code could not be sent; the cause
// names the server and the step, never the password, the code or the
// message.
func (s *Sender) SendOTPMessage(ctx context.Context, m passkeys.OTPMessage) error {
	rendered, err := s.tpl.render(m)
	if err != nil {
		return passkeys.ErrUpstream.With(detailNotSent, fmt.Errorf("mailer: %w", err))
	}
	msg, err := s.message(m.Email, rendered)
	if err != nil {
		return passkeys.ErrUpstream.With(detailNotSent, fmt.Errorf("mailer: %w", err))
	}
	return s.send(ctx, msg)
}

// detailNotSent is the public detail of every failed send.
const detailNotSent = "The code could not be sent; try again shortly."

// message builds the multipart/alternative message.
func (s *Sender) message(to string, r Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	if err := msg.To(to); err != nil {
		return nil, errors.New("the recipient is not an email address")
	}
	msg.Subject(r.Subject)
	msg.SetDateWithValue(s.clock())
	msg.SetMessageIDWithValue(messageID() + "@" + s.domain)
	// RFC 3834: an automatic message, so that vacation responders stay quiet.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderContentLang, r.Lang)
	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return msg, nil
}

// messageID is 128 random bits in base64url.
func messageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
