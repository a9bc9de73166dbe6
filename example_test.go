package passkeys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// New builds the handler on the self-hosted engine. In production the
// store is sqlitestore or pgstore and the OTP sender emails the code.
func ExampleNew() {
	engine, err := selfhosted.New(selfhosted.Config{
		RPID:      "example.com",
		Origins:   []string{"https://example.com"},
		Store:     memstore.New(),
		OTPSender: &passkeys.DevelopmentOTPSender{W: os.Stderr},
	})
	if err != nil {
		log.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{
		Backend: engine,
		JWTKey:  []byte("load at least 32 random bytes from your secret store"),
	})
	fmt.Println(h != nil, err)
	// Output: true <nil>
}

// Mount the handler under a sub-path of an existing mux with
// http.StripPrefix; the routes are relative to the mount point.
func ExampleHandler_mount() {
	engine, _ := selfhosted.New(selfhosted.Config{
		RPID: "localhost", Origins: []string{"http://localhost:3000"},
		Store: memstore.New(), OTPSender: &passkeys.DevelopmentOTPSender{W: os.Stderr},
	})
	h, _ := passkeys.New(passkeys.Options{Backend: engine, JWTKey: []byte("an example key of at least 32 bytes")})

	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))

	req := httptest.NewRequest("POST", "/auth/passkey/login/start", strings.NewReader(`{"email":"nobody@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	// Output: 200 {"loginAllow":false}
}

// RequireSession protects the application's own routes; the handler
// behind it reads the user from the request context.
func ExampleHandler_RequireSession() {
	engine, _ := selfhosted.New(selfhosted.Config{
		RPID: "localhost", Origins: []string{"http://localhost:3000"},
		Store: memstore.New(), OTPSender: &passkeys.DevelopmentOTPSender{W: os.Stderr},
	})
	h, _ := passkeys.New(passkeys.Options{Backend: engine, JWTKey: []byte("an example key of at least 32 bytes")})

	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))
	mux.Handle("GET /api/me", h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := passkeys.UserFromContext(r.Context())
		json.NewEncoder(w).Encode(map[string]any{"user": u})
	})))
	log.Fatal(http.ListenAndServe(":3000", mux))
}

// A real application replaces the demo JWT with its own sessions by
// implementing two one-method interfaces.
func ExampleSessionIssuer() {
	var sessions appSessions // your session store
	engine, _ := selfhosted.New(selfhosted.Config{
		RPID: "localhost", Origins: []string{"http://localhost:3000"},
		Store: memstore.New(), OTPSender: &passkeys.DevelopmentOTPSender{W: os.Stderr},
	})
	_, err := passkeys.New(passkeys.Options{Backend: engine, SessionIssuer: sessions, SessionVerifier: sessions})
	fmt.Println(err)
	// Output: <nil>
}

type appSessions struct{}

func (appSessions) IssueSession(ctx context.Context, u passkeys.User) (string, error) {
	return "opaque-session-id", nil // store the session, return its ID
}

func (appSessions) VerifySession(ctx context.Context, token string) (passkeys.User, error) {
	return passkeys.User{}, passkeys.ErrUnauthorized // look the session up
}
