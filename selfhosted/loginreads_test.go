package selfhosted_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// readCountingStore counts the account reads (UserWithCredentials) of the
// store under it, which it hides behind selfhosted.Store, optional
// capabilities included, so that the engine reads the user by itself.
type readCountingStore struct {
	selfhosted.Store
	reads atomic.Int64
}

func (s *readCountingStore) UserWithCredentials(ctx context.Context, k selfhosted.UserKey) (selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	s.reads.Add(1)
	return s.Store.UserWithCredentials(ctx, k)
}

// handleReadCountingStore is a readCountingStore that also takes a
// ceremony with the user of a handle, counting that as a read.
type handleReadCountingStore struct {
	*readCountingStore
	m *memstore.Store
}

func (s handleReadCountingStore) TakeCeremonyWithHandleUser(ctx context.Context, challenge string, handle []byte, now time.Time) (selfhosted.Ceremony, selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	s.reads.Add(1)
	return s.m.TakeCeremonyWithHandleUser(ctx, challenge, handle, now)
}

// TestLoginReadsTheAccountOnce: a passkey login's finish, button or
// autofill, reads the account once; the signals of its answer (the
// account's passkey IDs) come from that read, not from a second one.
func TestLoginReadsTheAccountOnce(t *testing.T) {
	for _, capable := range []bool{false, true} {
		name := "plain store"
		if capable {
			name = "store taking ceremony and handle user together"
		}
		t.Run(name, func(t *testing.T) {
			m := memstore.New()
			counted := &readCountingStore{Store: m}
			var store selfhosted.Store = counted
			if capable {
				store = handleReadCountingStore{counted, m}
			}
			r := newRig(t, store)
			h, err := passkeys.New(passkeys.Options{Backend: r.engine, JWTKey: e2e.JWTKey, Clock: r.clock.Now, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(h)
			t.Cleanup(ts.Close)
			u := r.signUp("once@example.com")
			auth := r.addPasskey(u)
			c := passkeystest.NewClient(ts.URL, passkeystest.ClientOptions{Authenticator: auth})
			ctx := t.Context()
			for _, tc := range []struct {
				kind, path string
				start      func() (passkeystest.Ceremony, error)
				wantReads  int64
			}{
				{"button", "/passkey/login/finish", func() (passkeystest.Ceremony, error) { return c.StartLogin(ctx, u.Email) }, 1},
				{"autofill", "/passkey/mediation/finish", func() (passkeystest.Ceremony, error) { return c.StartMediation(ctx) }, 1},
			} {
				cer, err := tc.start()
				if err != nil {
					t.Fatal(err)
				}
				assertion, err := auth.Get(cer.Options)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := json.Marshal(map[string]json.RawMessage{"assertionResponse": assertion})
				before := counted.reads.Load()
				res, err := http.Post(ts.URL+tc.path, "application/json", strings.NewReader(string(body)))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Fatalf("%s finish: %d %s", tc.kind, res.StatusCode, b)
				}
				if n := counted.reads.Load() - before; n != tc.wantReads {
					t.Errorf("%s login finish read the account %d times, want %d", tc.kind, n, tc.wantReads)
				}
				var out struct {
					Signals struct {
						AllAcceptedCredentials struct {
							AllAcceptedCredentialIDs []string `json:"allAcceptedCredentialIds"`
						} `json:"allAcceptedCredentials"`
					} `json:"signals"`
				}
				if err := json.Unmarshal(b, &out); err != nil {
					t.Fatal(err)
				}
				if ids := out.Signals.AllAcceptedCredentials.AllAcceptedCredentialIDs; len(ids) != 1 {
					t.Errorf("%s login finish signals %d accepted credentials, want 1: %s", tc.kind, len(ids), b)
				}
			}
		})
	}
}
