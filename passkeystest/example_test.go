package passkeystest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys/passkeystest"
)

// Example registers a passkey with a go-webauthn relying party and signs in
// with it through a discoverable login.
func Example() {
	rp, err := webauthn.New(&webauthn.Config{
		RPID:          "example.test",
		RPDisplayName: "Example",
		RPOrigins:     []string{"https://example.test"},
	})
	if err != nil {
		log.Fatal(err)
	}
	alice := &user{id: []byte("user-alice-0001"), name: "alice"}
	a := passkeystest.New("https://example.test")

	// Registration: the options the server sends in, the JSON the page posts back out.
	creation, session, err := rp.BeginRegistration(alice)
	if err != nil {
		log.Fatal(err)
	}
	options, _ := json.Marshal(creation)
	resp, err := a.Create(options)
	if err != nil {
		log.Fatal(err)
	}
	attestation, err := protocol.ParseCredentialCreationResponseBytes(resp)
	if err != nil {
		log.Fatal(err)
	}
	cred, err := rp.CreateCredential(alice, *session, attestation)
	if err != nil {
		log.Fatal(err)
	}
	alice.creds = append(alice.creds, *cred)
	fmt.Println("registered", alice.name)

	// Passkey login: no user named up front; the response carries the user handle.
	request, session, err := rp.BeginDiscoverableLogin()
	if err != nil {
		log.Fatal(err)
	}
	options, _ = json.Marshal(request)
	resp, err = a.Get(options)
	if err != nil {
		log.Fatal(err)
	}
	assertion, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		log.Fatal(err)
	}
	lookup := func(_, userHandle []byte) (webauthn.User, error) {
		if bytes.Equal(userHandle, alice.id) {
			return alice, nil
		}
		return nil, errors.New("unknown user")
	}
	found, cred, err := rp.ValidatePasskeyLogin(lookup, *session, assertion)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in", found.WebAuthnName(), "with counter", cred.Authenticator.SignCount)
	// Output:
	// registered alice
	// signed in alice with counter 1
}
