package storetest_test

import (
	"testing"

	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
	"github.com/passkeyready/passkeys/selfhosted/storetest"
)

// bare is a Store with only the methods of selfhosted.Store: embedding
// the interface hides memstore's optional UserByID and Credential.
type bare struct{ selfhosted.Store }

// A store without the optional interfaces passes the suite too: the
// suite reads it through UserWithCredentials and CredentialsByUser.
func TestRunWithoutOptionalInterfaces(t *testing.T) {
	var s selfhosted.Store = bare{memstore.New()}
	if _, ok := s.(selfhosted.UserByIDStore); ok {
		t.Fatal("bare has UserByID")
	}
	if _, ok := s.(selfhosted.CredentialByIDStore); ok {
		t.Fatal("bare has Credential")
	}
	storetest.Run(t, func(t *testing.T) selfhosted.Store { return bare{memstore.New()} })
}
