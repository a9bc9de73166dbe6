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
