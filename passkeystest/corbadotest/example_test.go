package corbadotest_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/passkeyready/passkeys/passkeystest/corbadotest"

	"github.com/passkeyready/passkeys"
)

// A Emulator stands in for Corbado's Backend API in an application's
// tests: point the Corbado backend at it and read the codes it would have
// emailed from OnOTP.
func ExampleNew() {
	codes := map[string]string{}
	emu, err := corbadotest.New(corbadotest.Options{
		RPID: "localhost", Origins: []string{"http://localhost:3000"},
		OnOTP: func(email, code string) { codes[email] = code },
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()

	backend, err := passkeys.NewCorbado(passkeys.CorbadoOptions{
		ProjectID: emu.ProjectID(), APISecret: emu.APISecret(), BaseURL: srv.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := backend.StartOTP(ctx, "jane@example.com", passkeys.Client{}); err != nil {
		log.Fatal(err)
	}
	user, created, err := backend.FinishOTP(ctx, "jane@example.com", codes["jane@example.com"], passkeys.Client{})
	fmt.Println(user.Email, created, err)
	// Output: jane@example.com true <nil>
}
