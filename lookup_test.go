package passkeys_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/passkeyready/passkeys"
)

// lookupBackend is recordingBackend with accounts that can be deleted, and
// the optional UserLookup.
type lookupBackend struct {
	recordingBackend
	mu      sync.Mutex
	deleted map[string]bool
	lookups int
}

func (b *lookupBackend) LookupUser(_ context.Context, id string) (passkeys.User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lookups++
	if b.deleted[id] {
		return passkeys.User{}, passkeys.ErrUnauthorized.With("The account no longer exists.", nil)
	}
	return passkeys.User{ID: id, Email: "current@example.com"}, nil
}

// New wires a Backend's UserLookup into the demo JWT sessions it creates:
// a correctly signed token of an account deleted since sign-in gets 401
// on the routes that hold a session and on the host's own guarded routes,
// and the user in the context carries the account's email. A session
// verifier of the host's own is not second-guessed.
func TestDeletedAccountTokenRefused(t *testing.T) {
	b := &lookupBackend{deleted: map[string]bool{}}
	h, err := passkeys.New(passkeys.Options{Backend: b, JWTKey: key})
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ SessionToken string }
	_ = json.Unmarshal(post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "").Body.Bytes(), &sess)
	me := h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := passkeys.UserFromContext(r.Context())
		w.Write([]byte(u.Email))
	}))
	get := func(handler http.Handler, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+sess.SessionToken)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec
	}
	if rec := get(h, "/passkeys"); rec.Code != 200 {
		t.Fatalf("GET passkeys: %d %s", rec.Code, rec.Body)
	}
	if rec := get(me, "/me"); rec.Code != 200 || rec.Body.String() != "current@example.com" {
		t.Fatalf("me: %d %s, want the account's email", rec.Code, rec.Body)
	}

	b.mu.Lock()
	b.deleted["usr_a@example.com"] = true
	b.mu.Unlock()
	for _, tc := range []struct {
		name    string
		handler http.Handler
		path    string
	}{{"GET passkeys", h, "/passkeys"}, {"host route", me, "/me"}} {
		status, code, detail := problemOf(t, get(tc.handler, tc.path))
		if status != 401 || code != "unauthorized" || detail != "The account no longer exists." {
			t.Errorf("%s after the account was deleted: %d %s %q", tc.name, status, code, detail)
		}
	}
	if rec := post(t, h, "/passkey/append/start", `{}`, sess.SessionToken); rec.Code != 401 {
		t.Errorf("append start after the account was deleted: %d %s", rec.Code, rec.Body)
	}

	// The host's own sessions: the engine is not asked.
	own := newOpaqueSessions()
	b2 := &lookupBackend{deleted: map[string]bool{"usr_b@example.com": true}}
	h2, err := passkeys.New(passkeys.Options{Backend: b2, SessionIssuer: own, SessionVerifier: own})
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(post(t, h2, "/signUpOrLogin", `{"email":"b@example.com","otp":"123456"}`, "").Body.Bytes(), &sess)
	if rec := get(h2, "/passkeys"); rec.Code != 200 || b2.lookups != 0 {
		t.Errorf("own sessions: %d %s, %d lookups", rec.Code, rec.Body, b2.lookups)
	}
}
