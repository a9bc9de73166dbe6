package mailer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"golang.org/x/text/language"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/useragent"
)

//go:embed templates
var templateFS embed.FS

// DefaultSubject is the subject template used when [Config.Subject] is
// nil: the translated subject of the code's purpose, with the code in it
// when [Config.CodeInSubject] is set. It is templates/subject.txt of this
// package, a starting point for your own.
func DefaultSubject() *texttemplate.Template {
	return texttemplate.Must(texttemplate.New("subject.txt").ParseFS(templateFS, "templates/subject.txt"))
}

// DefaultText is the plain-text body template used when [Config.Text] is
// nil (templates/body.txt).
func DefaultText() *texttemplate.Template {
	return texttemplate.Must(texttemplate.New("body.txt").ParseFS(templateFS, "templates/body.txt"))
}

// DefaultHTML is the HTML body template used when [Config.HTML] is nil
// (templates/body.html, the "content" of templates/layout.html, which the
// security notices share): one table with inline styles, as mail clients
// need, and no images or links.
func DefaultHTML() *htmltemplate.Template {
	return htmlMail("body.html")
}

// htmlMail parses templates/name, a mail's "content", with the layout
// every HTML mail of this package shares.
func htmlMail(name string) *htmltemplate.Template {
	return htmltemplate.Must(htmltemplate.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name))
}

// Translation holds the words of the message in one language. The fields
// marked "format" are fmt formats with one verb; the default templates
// fill them with printf.
type Translation struct {
	SignInSubject              string // "Your sign-in code"
	SignInSubjectWithCode      string // format, the code: "%s is your sign-in code"
	EmailChangeSubject         string // "Confirm your new email address"
	EmailChangeSubjectWithCode string // format, the code
	SignInIntro                string // the line above the code of a sign-in
	EmailChangeIntro           string // the line above the code of an email change
	ValidFor                   string // format, whole minutes (%d)
	RequestedFrom              string // format, the browser and system ("Firefox on Windows")
	RequestedIP                string // format, the client's IP address
	NotYou                     string // what to do when the reader did not ask for the code
	// On joins a browser and a system in RequestedFrom's argument:
	// "%s on %s" gives "Firefox on Windows".
	On string
}

// English is the built-in English translation, the fallback language.
var English = Translation{
	SignInSubject:              "Your sign-in code",
	SignInSubjectWithCode:      "%s is your sign-in code",
	EmailChangeSubject:         "Confirm your new email address",
	EmailChangeSubjectWithCode: "%s confirms your new email address",
	SignInIntro:                "Enter this code to sign in:",
	EmailChangeIntro:           "Enter this code to confirm this address as the new email address of your account:",
	ValidFor:                   "The code is valid for %d minutes and can be used once.",
	RequestedFrom:              "It was requested from %s.",
	RequestedIP:                "The request came from the IP address %s.",
	NotYou:                     "If you did not ask for this code, ignore this email: nobody can use it without access to your mailbox. Never share the code with anyone.",
	On:                         "%s on %s",
}

// German is the built-in German translation.
var German = Translation{
	SignInSubject:              "Ihr Anmeldecode",
	SignInSubjectWithCode:      "%s ist Ihr Anmeldecode",
	EmailChangeSubject:         "Bestätigen Sie Ihre neue E-Mail-Adresse",
	EmailChangeSubjectWithCode: "%s bestätigt Ihre neue E-Mail-Adresse",
	SignInIntro:                "Geben Sie diesen Code ein, um sich anzumelden:",
	EmailChangeIntro:           "Geben Sie diesen Code ein, um diese Adresse als neue E-Mail-Adresse Ihres Kontos zu bestätigen:",
	ValidFor:                   "Der Code ist %d Minuten lang gültig und kann einmal verwendet werden.",
	RequestedFrom:              "Er wurde von %s angefordert.",
	RequestedIP:                "Die Anfrage kam von der IP-Adresse %s.",
	NotYou:                     "Wenn Sie diesen Code nicht angefordert haben, ignorieren Sie diese E-Mail: Ohne Zugang zu Ihrem Postfach kann niemand ihn verwenden. Geben Sie den Code niemals weiter.",
	On:                         "%s unter %s",
}

// DefaultTranslations returns a new map of the built-in translations,
// English ("en") and German ("de"), for [Config.Translations]; add your
// own languages to it.
func DefaultTranslations() map[string]Translation {
	return map[string]Translation{"en": English, "de": German}
}

// Data is what the templates see.
type Data struct {
	passkeys.OTPMessage
	// Lang is the chosen language as a BCP 47 tag, a key of
	// [Config.Translations] ("en", "de"), for <html lang>.
	Lang string
	// T is the translation of Lang.
	T Translation
	// Minutes is ValidFor in whole minutes, rounded up.
	Minutes int
	// Device names the client's browser and system in Lang ("Firefox on
	// Windows"), or is empty when the User-Agent names neither.
	Device string
	// CodeInSubject is [Config.CodeInSubject].
	CodeInSubject bool
	// Subject is the rendered subject; empty while the subject itself is
	// being rendered.
	Subject string
}

// Message is a rendered message.
type Message struct {
	Lang    string // the chosen language
	Subject string
	Text    string
	HTML    string
}

// maxSubject caps a rendered subject; a header line longer than that is
// a template gone wrong.
const maxSubject = 250

// templates is the validated template and translation set of a Sender.
type templates struct {
	subject       *texttemplate.Template
	text          *texttemplate.Template
	html          *htmltemplate.Template
	translations  map[string]Translation
	tags          []language.Tag // tags[0] is the fallback
	keys          []string       // keys[i] is the map key of tags[i]
	matcher       language.Matcher
	codeInSubject bool
	// The security notices' templates and translations.
	noticeText  *texttemplate.Template
	noticeHTML  *htmltemplate.Template
	notices     map[string]NoticeTranslation
	noticeLangs languages
}

func newTemplates(c Config) (*templates, error) {
	t := &templates{subject: c.Subject, text: c.Text, html: c.HTML, codeInSubject: c.CodeInSubject,
		noticeText: c.NoticeText, noticeHTML: c.NoticeHTML}
	if t.noticeText == nil {
		t.noticeText = DefaultNoticeText()
	}
	if t.noticeHTML == nil {
		t.noticeHTML = DefaultNoticeHTML()
	}
	t.notices = maps.Clone(c.NoticeTranslations)
	if t.notices == nil {
		t.notices = DefaultNoticeTranslations()
	} else if len(t.notices) == 0 {
		return nil, errors.New("mailer: Config.NoticeTranslations is empty; leave it nil for the built-in ones")
	}
	if t.subject == nil {
		t.subject = DefaultSubject()
	}
	if t.text == nil {
		t.text = DefaultText()
	}
	if t.html == nil {
		t.html = DefaultHTML()
	}
	t.translations = maps.Clone(c.Translations)
	if t.translations == nil {
		t.translations = DefaultTranslations()
	}
	def := c.DefaultLanguage
	if def == "" {
		def = "en"
	}
	if _, ok := t.translations[def]; !ok {
		return nil, fmt.Errorf("mailer: Config.Translations has no entry for Config.DefaultLanguage %q", def)
	}
	keys := slices.Sorted(maps.Keys(t.translations))
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == def })
	keys = append([]string{def}, keys...)
	for _, k := range keys {
		tag, err := language.Parse(k)
		if err != nil {
			return nil, fmt.Errorf("mailer: Config.Translations key %q is not a BCP 47 language tag", k)
		}
		t.tags = append(t.tags, tag)
		t.keys = append(t.keys, k)
	}
	t.matcher = language.NewMatcher(t.tags)
	noticeDef := def
	if _, ok := t.notices[noticeDef]; !ok {
		noticeDef = "en"
		if _, ok := t.notices[noticeDef]; !ok {
			return nil, fmt.Errorf("mailer: Config.NoticeTranslations has an entry for neither Config.DefaultLanguage %q nor \"en\"", def)
		}
	}
	var err error
	if t.noticeLangs, err = newLanguages("NoticeTranslations", slices.Collect(maps.Keys(t.notices)), noticeDef); err != nil {
		return nil, err
	}
	if err := t.checkNotices(); err != nil {
		return nil, err
	}
	// Render every language once, so a template or translation that cannot
	// render fails New rather than a request.
	for _, k := range keys {
		for _, p := range []passkeys.OTPPurpose{passkeys.OTPSignIn, passkeys.OTPEmailChange} {
			m := passkeys.OTPMessage{Email: "user@example.com", Code: "123456", ValidFor: 10 * time.Minute, Purpose: p,
				Client: passkeys.Client{RemoteAddr: "192.0.2.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", AcceptLanguage: k}}
			if _, err := t.render(m); err != nil {
				return nil, fmt.Errorf("mailer: language %q, purpose %s: %w", k, p, err)
			}
		}
	}
	return t, nil
}

// language picks the translation for an Accept-Language value: the best
// match by q-value among the translations, the default when none matches
// or the header cannot be read.
func (t *templates) language(acceptLanguage string) string {
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return t.keys[0]
	}
	_, i, conf := t.matcher.Match(prefs...)
	if conf == language.No {
		return t.keys[0]
	}
	return t.keys[i]
}

// render fills the templates for m.
func (t *templates) render(m passkeys.OTPMessage) (Message, error) {
	lang := t.language(m.Client.AcceptLanguage)
	tr := t.translations[lang]
	d := Data{
		OTPMessage:    m,
		Lang:          lang,
		T:             tr,
		Minutes:       int((m.ValidFor + time.Minute - 1) / time.Minute),
		Device:        device(tr, m.Client.UserAgent),
		CodeInSubject: t.codeInSubject,
	}
	var b bytes.Buffer
	if err := t.subject.Execute(&b, d); err != nil {
		return Message{}, fmt.Errorf("subject template: %w", err)
	}
	d.Subject = strings.Join(strings.Fields(b.String()), " ")
	switch {
	case d.Subject == "":
		return Message{}, errors.New("subject template: the subject is empty")
	case len(d.Subject) > maxSubject:
		return Message{}, fmt.Errorf("subject template: the subject is longer than %d bytes", maxSubject)
	}
	b.Reset()
	if err := t.text.Execute(&b, d); err != nil {
		return Message{}, fmt.Errorf("text template: %w", err)
	}
	text := b.String()
	b.Reset()
	if err := t.html.Execute(&b, d); err != nil {
		return Message{}, fmt.Errorf("HTML template: %w", err)
	}
	return Message{Lang: lang, Subject: d.Subject, Text: text, HTML: b.String()}, nil
}

// device names the browser and system of a User-Agent in tr's words.
func device(tr Translation, ua string) string {
	in := useragent.Parse(ua)
	switch {
	case in.Browser != "" && in.OS != "":
		return fmt.Sprintf(tr.On, in.Browser, in.OS)
	case in.Browser != "":
		return in.Browser
	default:
		return in.OS
	}
}
