package mailer

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"golang.org/x/text/language"

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

// DefaultNoticeTranslations returns a new map of the built-in notice
// translations, English ("en") and German ("de"), for
// [Config.NoticeTranslations]; add your own languages to it.
func DefaultNoticeTranslations() map[string]NoticeTranslation {
	return map[string]NoticeTranslation{"en": EnglishNotices, "de": GermanNotices}
}

// DefaultNoticeText is the plain-text template of the security notices
// used when [Config.NoticeText] is nil (templates/notice.txt of this
// package, a starting point for your own).
func DefaultNoticeText() *texttemplate.Template {
	return texttemplate.Must(texttemplate.New("notice.txt").ParseFS(templateFS, "templates/notice.txt"))
}

// DefaultNoticeHTML is the HTML template of the security notices used when
// [Config.NoticeHTML] is nil (templates/notice.html, the "content" of
// templates/layout.html, which the code emails share).
func DefaultNoticeHTML() *htmltemplate.Template {
	return htmlMail("notice.html")
}

// NoticeData is what the notice templates see.
type NoticeData struct {
	// Notice is the notice being sent.
	Notice passkeys.SecurityNotice
	// Lang is the notice's language, a key of [Config.NoticeTranslations],
	// for <html lang>.
	Lang string
	// T is the notice translation of Lang.
	T NoticeTranslation
	// Subject is the translated subject of the notice's kind, and Intro
	// its first sentence (with the passkey's name or the new address in
	// it).
	Subject string
	Intro   string
	// When is T.When filled with the notice's time (UTC, RFC 1123), empty
	// without a time.
	When string
	// Device names the client's browser and system in Lang ("Firefox on
	// Windows"), or is empty when the User-Agent names neither.
	Device string
}

var _ passkeys.Notifier = (*Sender)(nil)

// Notify implements [passkeys.Notifier]: it emails a security notice
// (passkey added or removed, email changed) to n.To, over the same server
// as the codes. Its language is the one a code to the same request would
// be written in: the best match of the request's Accept-Language among
// [Config.NoticeTranslations] (English and German by default), else
// DefaultLanguage's notice translation when there is one, else English.
// Errors are those of SendOTPMessage.
func (s *Sender) Notify(ctx context.Context, n passkeys.SecurityNotice) error {
	r, err := s.tpl.renderNotice(n)
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

// RenderNotice returns the message n would be sent as by Notify, without
// sending it: to preview notice templates and translations.
func (s *Sender) RenderNotice(n passkeys.SecurityNotice) (Message, error) {
	msg, err := s.tpl.renderNotice(n)
	if err != nil {
		return Message{}, fmt.Errorf("mailer: %w", err)
	}
	return msg, nil
}

// languages is a set of translations to choose from by Accept-Language.
type languages struct {
	tags    []language.Tag // tags[0] is the fallback
	keys    []string       // keys[i] is the map key of tags[i]
	matcher language.Matcher
}

// newLanguages orders keys with def first; field names the Config field
// for errors.
func newLanguages(field string, keys []string, def string) (languages, error) {
	var l languages
	keys = slices.DeleteFunc(slices.Sorted(slices.Values(keys)), func(k string) bool { return k == def })
	for _, k := range append([]string{def}, keys...) {
		tag, err := language.Parse(k)
		if err != nil {
			return l, fmt.Errorf("mailer: Config.%s key %q is not a BCP 47 language tag", field, k)
		}
		l.tags = append(l.tags, tag)
		l.keys = append(l.keys, k)
	}
	l.matcher = language.NewMatcher(l.tags)
	return l, nil
}

// pick is the key that best matches an Accept-Language value by q-value,
// the fallback when none does or the header cannot be read.
func (l languages) pick(acceptLanguage string) string {
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return l.keys[0]
	}
	_, i, conf := l.matcher.Match(prefs...)
	if conf == language.No {
		return l.keys[0]
	}
	return l.keys[i]
}

// renderNotice renders n in the notice language that best matches its
// request.
func (t *templates) renderNotice(n passkeys.SecurityNotice) (Message, error) {
	return t.renderNoticeIn(t.noticeLangs.pick(n.Client.AcceptLanguage), n)
}

// renderNoticeIn renders n in lang, a key of t.notices.
func (t *templates) renderNoticeIn(lang string, n passkeys.SecurityNotice) (Message, error) {
	tr := t.notices[lang]
	words, ok := t.translations[lang]
	if !ok {
		words = English
	}
	d := NoticeData{Notice: n, Lang: lang, T: tr, Device: device(words, n.Client.UserAgent)}
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
	d.Subject = strings.Join(strings.Fields(d.Subject), " ")
	switch {
	case d.Subject == "":
		return Message{}, fmt.Errorf("notice translation %q: the subject of %s is empty", lang, n.Kind)
	case len(d.Subject) > maxSubject:
		return Message{}, fmt.Errorf("notice translation %q: the subject of %s is longer than %d bytes", lang, n.Kind, maxSubject)
	}
	if !n.Time.IsZero() {
		d.When = fmt.Sprintf(tr.When, n.Time.UTC().Format(time.RFC1123))
	}
	var text, html bytes.Buffer
	if err := t.noticeText.Execute(&text, d); err != nil {
		return Message{}, fmt.Errorf("notice text template: %w", err)
	}
	if err := t.noticeHTML.Execute(&html, d); err != nil {
		return Message{}, fmt.Errorf("notice HTML template: %w", err)
	}
	return Message{Lang: lang, Subject: d.Subject, Text: text.String(), HTML: html.String()}, nil
}

// checkNotices renders a notice of every kind in every notice language
// once, so that a template or translation that cannot render fails New
// rather than a notice.
func (t *templates) checkNotices() error {
	for _, k := range slices.Sorted(maps.Keys(t.notices)) {
		for _, n := range []passkeys.SecurityNotice{
			{Kind: passkeys.EventPasskeyAdded, PasskeyName: "Passkey"},
			{Kind: passkeys.EventPasskeyRemoved},
			{Kind: passkeys.EventEmailChanged, OldEmail: "old@example.com", NewEmail: "new@example.com"},
		} {
			n.To, n.Time = "user@example.com", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			n.Client = passkeys.Client{RemoteAddr: "192.0.2.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", AcceptLanguage: k}
			if _, err := t.renderNoticeIn(k, n); err != nil {
				return fmt.Errorf("mailer: notice language %q, kind %s: %w", k, n.Kind, err)
			}
		}
	}
	return nil
}
