package mailer

import (
	"bytes"
	"context"
	"fmt"
	texttemplate "text/template"
	"time"

	"github.com/passkeyready/passkeys"
)

// NoticeTranslation holds the words of a security notice in one
// language. The fields marked "format" are fmt formats with one verb.
type NoticeTranslation struct {
	PasskeyAddedSubject   string // "A passkey was added to your account"
	PasskeyAdded          string // format, the passkey's name
	PasskeyRemovedSubject string
	PasskeyRemoved        string
	EmailChangedSubject   string
	EmailChanged          string // format, the new address
	When                  string // format, the time (UTC, RFC 1123)
	From                  string // format, the browser and system
	FromIP                string // format, the client's IP address
	NotYou                string // what to do if the reader did not do it
}

// EnglishNotices and GermanNotices are the built-in notice translations.
var (
	EnglishNotices = NoticeTranslation{
		PasskeyAddedSubject:   "A passkey was added to your account",
		PasskeyAdded:          "A new passkey, %q, was added to your account. It can now be used to sign in.",
		PasskeyRemovedSubject: "A passkey was removed from your account",
		PasskeyRemoved:        "A passkey was removed from your account. It can no longer be used to sign in.",
		EmailChangedSubject:   "The email address of your account was changed",
		EmailChanged:          "The email address of your account was changed to %s. This address no longer signs in to it.",
		When:                  "When: %s.",
		From:                  "From: %s.",
		FromIP:                "IP address: %s.",
		NotYou:                "If this was you, there is nothing to do. If it was not, sign in with one of your passkeys, remove what you do not recognise and contact support.",
	}
	GermanNotices = NoticeTranslation{
		PasskeyAddedSubject:   "Ihrem Konto wurde ein Passkey hinzugefügt",
		PasskeyAdded:          "Ihrem Konto wurde ein neuer Passkey, %q, hinzugefügt. Mit ihm kann man sich jetzt anmelden.",
		PasskeyRemovedSubject: "Aus Ihrem Konto wurde ein Passkey entfernt",
		PasskeyRemoved:        "Aus Ihrem Konto wurde ein Passkey entfernt. Mit ihm kann man sich nicht mehr anmelden.",
		EmailChangedSubject:   "Die E-Mail-Adresse Ihres Kontos wurde geändert",
		EmailChanged:          "Die E-Mail-Adresse Ihres Kontos wurde in %s geändert. Mit dieser Adresse meldet man sich nicht mehr an.",
		When:                  "Wann: %s.",
		From:                  "Von: %s.",
		FromIP:                "IP-Adresse: %s.",
		NotYou:                "Wenn Sie das waren, ist nichts zu tun. Wenn nicht, melden Sie sich mit einem Ihrer Passkeys an, entfernen Sie, was Sie nicht kennen, und wenden Sie sich an den Support.",
	}
)

// noticeData is what the notice templates see.
type noticeData struct {
	Notice  passkeys.SecurityNotice
	Lang    string
	T       NoticeTranslation
	Subject string
	Intro   string
	When    string
	Device  string
}

var (
	noticeText = texttemplate.Must(texttemplate.New("notice.txt").ParseFS(templateFS, "templates/notice.txt"))
	noticeHTML = htmlMail("notice.html")
)

var _ passkeys.Notifier = (*Sender)(nil)

// Notify implements [passkeys.Notifier]: it emails a security notice
// (passkey added or removed, email changed) to n.To, in the language of
// the request's Accept-Language among English and German (English when
// the Sender's languages hold one that the notices do not), over the same
// server as the codes. Errors are those of SendOTPMessage.
func (s *Sender) Notify(ctx context.Context, n passkeys.SecurityNotice) error {
	r, err := renderNotice(s.tpl.language(n.Client.AcceptLanguage), n)
	if err != nil {
		return passkeys.ErrUpstream.With(detailNoticeNotSent, fmt.Errorf("mailer: %w", err))
	}
	msg, err := s.message(n.To, r)
	if err != nil {
		return passkeys.ErrUpstream.With(detailNoticeNotSent, fmt.Errorf("mailer: %w", err))
	}
	return s.send(ctx, msg)
}

const detailNoticeNotSent = "The security notice could not be sent."

// renderNotice renders n in lang ("en" when there is no notice
// translation for it).
func renderNotice(lang string, n passkeys.SecurityNotice) (Message, error) {
	tr, ok := map[string]NoticeTranslation{"en": EnglishNotices, "de": GermanNotices}[lang]
	if !ok {
		lang, tr = "en", EnglishNotices
	}
	d := noticeData{Notice: n, Lang: lang, T: tr, Device: device(map[string]Translation{"en": English, "de": German}[lang], n.Client.UserAgent)}
	switch n.Kind {
	case passkeys.EventPasskeyAdded:
		d.Subject, d.Intro = tr.PasskeyAddedSubject, fmt.Sprintf(tr.PasskeyAdded, n.PasskeyName)
	case passkeys.EventPasskeyRemoved:
		d.Subject, d.Intro = tr.PasskeyRemovedSubject, tr.PasskeyRemoved
	case passkeys.EventEmailChanged:
		d.Subject, d.Intro = tr.EmailChangedSubject, fmt.Sprintf(tr.EmailChanged, n.NewEmail)
	default:
		return Message{}, fmt.Errorf("no notice for events of kind %q", n.Kind)
	}
	if !n.Time.IsZero() {
		d.When = fmt.Sprintf(tr.When, n.Time.UTC().Format(time.RFC1123))
	}
	var text, html bytes.Buffer
	if err := noticeText.Execute(&text, d); err != nil {
		return Message{}, fmt.Errorf("notice text template: %w", err)
	}
	if err := noticeHTML.Execute(&html, d); err != nil {
		return Message{}, fmt.Errorf("notice HTML template: %w", err)
	}
	return Message{Lang: lang, Subject: d.Subject, Text: text.String(), HTML: html.String()}, nil
}
