package mailer_test

import (
	"fmt"
	"log"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/mailer"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// A sender for the self-hosted engine. New does not connect; the first
// code does.
func ExampleNew() {
	sender, err := mailer.New(mailer.Config{
		URL:  "smtp://user:password@smtp.example.com:587",
		From: "Example <no-reply@example.com>",
	})
	if err != nil {
		log.Fatal(err)
	}
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: "example.com", Origins: []string{"https://example.com"},
		Store: memstore.New(), OTPSender: sender,
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = engine
}

// Render shows the message a request would get, here for a browser that
// prefers German.
func ExampleSender_Render() {
	sender, err := mailer.New(mailer.Config{URL: "smtps://smtp.example.com", From: "no-reply@example.com", CodeInSubject: true})
	if err != nil {
		log.Fatal(err)
	}
	m, err := sender.Render(passkeys.OTPMessage{
		Email: "anna@example.org", Code: "123456", ValidFor: 10 * time.Minute, Purpose: passkeys.OTPSignIn,
		Client: passkeys.Client{AcceptLanguage: "de-AT, en;q=0.5"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Lang)
	fmt.Println(m.Subject)
	// Output:
	// de
	// 123456 ist Ihr Anmeldecode
}
