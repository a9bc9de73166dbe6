package passkeystest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// A host app's test mounts the handler the way the app does, lets a
// Mailbox catch the codes, and drives sign-up, a new passkey and a passkey
// login through a Client.
func ExampleClient() {
	mail := passkeystest.NewMailbox()
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: "localhost", Origins: []string{"http://localhost:3000"},
		Store: memstore.New(), OTPSender: mail,
	})
	if err != nil {
		log.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{Backend: engine, JWTKey: []byte("an example key of at least 32 bytes")})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))
	ts := httptest.NewServer(mux)
	defer ts.Close()

	// The page is served from the relying party's origin, not from the
	// test server's address, so the authenticator is given that origin.
	c := passkeystest.NewClient(ts.URL+"/auth", passkeystest.ClientOptions{
		Authenticator: passkeystest.New("http://localhost:3000"),
		Mailbox:       mail,
	})
	ctx := context.Background()

	signUp, err := c.SignUpOrLogin(ctx, "alice@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed up", signUp.User.Email, "new:", *signUp.NewUser)

	if _, err := c.AppendPasskey(ctx, signUp.Token); err != nil {
		log.Fatal(err)
	}
	list, err := c.Passkeys(ctx, signUp.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("passkeys:", len(list))

	login, err := c.LoginWithPasskey(ctx, "alice@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged in", login.User.Email, "same user:", login.User.ID == signUp.User.ID)
	// Output:
	// signed up alice@example.com new: true
	// passkeys: 1
	// logged in alice@example.com same user: true
}
