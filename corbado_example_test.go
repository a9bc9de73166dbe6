package passkeys_test

import (
	"log"
	"net/http"
	"os"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

// NewCorbado runs the same endpoints on Corbado's Backend API. Instances
// that share a database share pending ceremonies through selfhosted.Keeper;
// a single instance can leave Ceremonies unset.
func ExampleNewCorbado() {
	store, err := sqlitestore.Open("passkeys.db")
	if err != nil {
		log.Fatal(err)
	}
	backend, err := passkeys.NewCorbado(passkeys.CorbadoOptions{
		ProjectID:  os.Getenv("CORBADO_PROJECT_ID"), // pro-...
		APISecret:  os.Getenv("CORBADO_API_SECRET"), // corbado1_...
		Ceremonies: selfhosted.Keeper(store),
	})
	if err != nil {
		log.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{
		Backend: backend,
		JWTKey:  []byte(os.Getenv("SESSION_KEY")),
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/auth/", http.StripPrefix("/auth", h))
	log.Fatal(http.ListenAndServe(":3000", nil))
}
