package mailer_test

import (
	htmltemplate "html/template"
	"strings"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/mailer"
)

func TestNewRefusesBadConfig(t *testing.T) {
	bad := texttemplate.Must(texttemplate.New("s").Parse("{{.NoSuchField}}"))
	empty := texttemplate.Must(texttemplate.New("s").Parse("  "))
	for _, tc := range []struct {
		name string
		c    mailer.Config
		want string
	}{
		{"no URL", mailer.Config{From: "a@example.com"}, "Config.URL is required"},
		{"scheme", mailer.Config{URL: "http://mail.example.com", From: "a@example.com"}, "smtp://"},
		{"path", mailer.Config{URL: "smtp://mail.example.com/x", From: "a@example.com"}, "no path"},
		{"query", mailer.Config{URL: "smtp://mail.example.com?tls=off", From: "a@example.com"}, "no path, query"},
		{"no host", mailer.Config{URL: "smtp://u:p@:25", From: "a@example.com"}, "no host"},
		{"port", mailer.Config{URL: "smtp://mail.example.com:70000", From: "a@example.com"}, "port"},
		{"broken escape in password", mailer.Config{URL: "smtp://u:s3cr3t%zz@mail.example.com", From: "a@example.com"}, "percent-encoded"},
		{"control character in password", mailer.Config{URL: "smtp://u:s3cr3t\x7f@mail.example.com", From: "a@example.com"}, "not a URL"},
		{"no From", mailer.Config{URL: "smtp://mail.example.com"}, "Config.From is required"},
		{"bad From", mailer.Config{URL: "smtp://mail.example.com", From: "not an address"}, "Config.From"},
		{"password without user", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", Password: "s3cr3t"}, "without Config.Username"},
		{"plaintext to a remote host", mailer.Config{URL: "smtp://mail.example.com:25", From: "a@example.com", InsecurePlaintextLocalhost: true}, "localhost"},
		{"plaintext with smtps", mailer.Config{URL: "smtps://localhost", From: "a@example.com", InsecurePlaintextLocalhost: true}, "smtp:// URLs"},
		{"negative timeout", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", CommandTimeout: -1}, "CommandTimeout"},
		{"default language missing", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", Translations: map[string]mailer.Translation{"de": mailer.German}}, `"en"`},
		{"bad language tag", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", Translations: map[string]mailer.Translation{"en": mailer.English, "not a tag!": mailer.German}}, "BCP 47"},
		{"template that fails", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", Subject: bad}, "subject template"},
		{"empty subject", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", Subject: empty}, "subject is empty"},
		{"notice template that fails", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", NoticeText: bad}, "notice text template"},
		{"notice HTML template that fails", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com",
			NoticeHTML: htmltemplate.Must(htmltemplate.New("h").Parse("{{.Notice.NoSuchField}}"))}, "notice HTML template"},
		{"no notice translations", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", NoticeTranslations: map[string]mailer.NoticeTranslation{}}, "NoticeTranslations is empty"},
		{"notice fallback missing", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", NoticeTranslations: map[string]mailer.NoticeTranslation{"de": mailer.GermanNotices}}, "NoticeTranslations has an entry for neither"},
		{"bad notice language tag", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", NoticeTranslations: map[string]mailer.NoticeTranslation{"en": mailer.EnglishNotices, "not a tag!": mailer.GermanNotices}}, "Config.NoticeTranslations key"},
		{"empty notice subject", mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com", NoticeTranslations: map[string]mailer.NoticeTranslation{"en": func() mailer.NoticeTranslation {
			n := mailer.EnglishNotices
			n.PasskeyRemovedSubject = " "
			return n
		}()}}, "subject of passkey_removed is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := mailer.New(tc.c)
			if err == nil || s != nil {
				t.Fatalf("New = %v, %v; want an error", s, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the password: %q", err)
			}
		})
	}
}

func TestLanguageFromAcceptLanguage(t *testing.T) {
	s, err := mailer.New(mailer.Config{URL: "smtp://mail.example.com", From: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ accept, want string }{
		{"", "en"},
		{"de", "de"},
		{"de-AT", "de"},
		{"de-CH, en;q=0.5", "de"},
		{"en-US,en;q=0.9,de;q=0.8", "en"},
		{"fr-FR, fr;q=0.9, de;q=0.7, en;q=0.5", "de"},
		{"fr, en;q=0.1, de;q=0.2", "de"},
		{"de;q=0, en", "en"},
		{"fr", "en"},
		{"ja, zh;q=0.8", "en"},
		{"*", "en"},
		{"gsw", "de"}, // Swiss German is close enough to German
		{";;;garbage", "en"},
		{strings.Repeat("x-", 300), "en"},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			m := otpMessage(tc.accept)
			r, err := s.Render(m)
			if err != nil {
				t.Fatal(err)
			}
			if r.Lang != tc.want {
				t.Errorf("Accept-Language %q gives %q, want %q", tc.accept, r.Lang, tc.want)
			}
		})
	}
}

func TestHostTemplatesAndTranslations(t *testing.T) {
	tr := mailer.DefaultTranslations()
	fr := mailer.English
	fr.SignInSubject = "Votre code de connexion"
	tr["fr"] = fr
	s, err := mailer.New(mailer.Config{
		URL: "smtp://mail.example.com", From: "a@example.com", Translations: tr,
		Subject: texttemplate.Must(texttemplate.New("s").Parse("[Acme] {{.T.SignInSubject}}")),
		Text:    texttemplate.Must(texttemplate.New("t").Parse("Code: {{.Code}} ({{.Lang}}, {{.Minutes}} min, {{.Purpose}})")),
		HTML:    htmltemplate.Must(htmltemplate.New("h").Parse("<p>{{.Code}} for {{.Email}}</p><p>{{.Client.UserAgent}}</p>")),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := otpMessage("fr-CA, de;q=0.5")
	m.Client.UserAgent = "<script>alert(1)</script>"
	m.ValidFor = 90 * time.Second // rounds up to 2 minutes
	r, err := s.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if r.Lang != "fr" || r.Subject != "[Acme] Votre code de connexion" {
		t.Errorf("lang %q subject %q", r.Lang, r.Subject)
	}
	if r.Text != "Code: "+testCode+" (fr, 2 min, sign_in)" {
		t.Errorf("text %q", r.Text)
	}
	if want := "<p>" + testCode + " for alice@example.org</p><p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"; r.HTML != want {
		t.Errorf("html %q, want %q", r.HTML, want)
	}
	var _ passkeys.OTPMessageSender = s
}

// A host replaces the notice templates and adds a notice language: the
// notice is written in the request's language among the notice
// translations (even one the code emails lack), with the host's
// templates, the passkey's name escaped in the HTML part; a language
// without a notice translation falls back to DefaultLanguage's.
func TestHostNoticeTemplatesAndTranslations(t *testing.T) {
	notices := mailer.DefaultNoticeTranslations()
	fr := mailer.EnglishNotices
	fr.PasskeyAddedSubject = "Une clé d'accès a été ajoutée à votre compte"
	fr.PasskeyAdded = "Une nouvelle clé d'accès, %q, a été ajoutée."
	notices["fr"] = fr
	s, err := mailer.New(mailer.Config{
		URL: "smtp://mail.example.com", From: "a@example.com", NoticeTranslations: notices, DefaultLanguage: "de",
		Translations: map[string]mailer.Translation{"de": mailer.German, "en": mailer.English, "es": mailer.English},
		NoticeText:   texttemplate.Must(texttemplate.New("t").Parse("[Acme {{.Lang}}] {{.Intro}} / {{.Notice.Kind}} / {{.Device}}")),
		NoticeHTML:   htmltemplate.Must(htmltemplate.New("h").Parse(`<html lang="{{.Lang}}"><p>{{.Subject}}</p><p>{{.Notice.PasskeyName}}</p></html>`)),
	})
	if err != nil {
		t.Fatal(err)
	}
	n := passkeys.SecurityNotice{Kind: passkeys.EventPasskeyAdded, To: "alice@example.org", PasskeyName: "<b>Key</b>",
		Client: passkeys.Client{AcceptLanguage: "fr-CH, en;q=0.5", UserAgent: firefox}}
	r, err := s.RenderNotice(n)
	if err != nil {
		t.Fatal(err)
	}
	if r.Lang != "fr" || r.Subject != fr.PasskeyAddedSubject {
		t.Errorf("lang %q subject %q, want fr and %q", r.Lang, r.Subject, fr.PasskeyAddedSubject)
	}
	if want := `[Acme fr] Une nouvelle clé d'accès, "<b>Key</b>", a été ajoutée. / passkey_added / Firefox on Windows`; r.Text != want {
		t.Errorf("text %q, want %q", r.Text, want)
	}
	if want := `<html lang="fr"><p>` + htmltemplate.HTMLEscapeString(fr.PasskeyAddedSubject) + `</p><p>&lt;b&gt;Key&lt;/b&gt;</p></html>`; r.HTML != want {
		t.Errorf("html %q, want %q", r.HTML, want)
	}
	// Spanish has code emails here but no notice words: DefaultLanguage.
	n.Client.AcceptLanguage = "es"
	if r, err := s.RenderNotice(n); err != nil || r.Lang != "de" || r.Subject != mailer.GermanNotices.PasskeyAddedSubject {
		t.Errorf("es: %q %q, %v; want the German notice", r.Lang, r.Subject, err)
	}
	if _, err := s.RenderNotice(passkeys.SecurityNotice{Kind: passkeys.EventLogin, To: "alice@example.org"}); err == nil {
		t.Error("RenderNotice of a login: no error")
	}
}
