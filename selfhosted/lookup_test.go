package selfhosted_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// hidingStore is a Store whose users can be made to vanish, as after a
// deletion; with byID false it also lacks the optional UserByIDStore.
type hidingStore struct {
	selfhosted.Store
	mu   sync.Mutex
	gone map[string]bool
}

func (s *hidingStore) hide(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gone[id] = true
}

func (s *hidingStore) hidden(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone[id]
}

func (s *hidingStore) UserWithCredentials(ctx context.Context, k selfhosted.UserKey) (selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	if s.hidden(k.ID) {
		return selfhosted.UserRecord{}, nil, selfhosted.ErrNotFound
	}
	return s.Store.UserWithCredentials(ctx, k)
}

type hidingStoreByID struct{ *hidingStore }

func (s hidingStoreByID) UserByID(ctx context.Context, id string) (selfhosted.UserRecord, error) {
	if s.hidden(id) {
		return selfhosted.UserRecord{}, selfhosted.ErrNotFound
	}
	return s.Store.(selfhosted.UserByIDStore).UserByID(ctx, id)
}

// newGuarded returns a handler on the engine over store (lookup wired by
// passkeys.New, or not when noLookup is set), a guarded host route that writes
// the user's email, and a session token for a user created in store.
func newGuarded(tb testing.TB, store selfhosted.Store, noLookup bool) (*passkeys.Handler, http.Handler, string) {
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: store, OTPSender: e2e.NewMailbox(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	jwts, err := passkeys.NewJWTSessions(passkeys.JWTOptions{Key: e2e.JWTKey})
	if err != nil {
		tb.Fatal(err)
	}
	o := passkeys.Options{Backend: engine, JWTKey: e2e.JWTKey, Logger: slog.New(slog.DiscardHandler)}
	if noLookup {
		o.SessionIssuer, o.SessionVerifier = jwts, jwts
	}
	h, err := passkeys.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	u := selfhosted.UserRecord{ID: "usr_lookup", Email: "now@example.com", Handle: make([]byte, 32), CreatedAt: time.Now()}
	if err := store.CreateUser(ctx, u); err != nil {
		tb.Fatal(err)
	}
	tok, err := jwts.IssueSession(ctx, passkeys.User{ID: u.ID, Email: "then@example.com"})
	if err != nil {
		tb.Fatal(err)
	}
	me := h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := passkeys.UserFromContext(r.Context())
		w.Write([]byte(u.Email))
	}))
	return h, me, tok
}

func guardedGet(h http.Handler, path, tok string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// A correctly signed demo token of an account that was deleted gets 401 on
// GET passkeys and on the host's guarded routes, whether the store reads
// users by ID alone or only with their credentials; the email the guard
// reports is the account's, not the token's.
func TestLookupRefusesDeletedAccount(t *testing.T) {
	for _, byID := range []bool{true, false} {
		hs := &hidingStore{Store: memstore.New(), gone: map[string]bool{}}
		var store selfhosted.Store = hs
		if byID {
			store = hidingStoreByID{hs}
		}
		h, me, tok := newGuarded(t, store, false)
		if rec := guardedGet(me, "/me", tok); rec.Code != 200 || rec.Body.String() != "now@example.com" {
			t.Errorf("byID %v: me: %d %s, want the account's email", byID, rec.Code, rec.Body)
		}
		if rec := guardedGet(h, "/passkeys", tok); rec.Code != 200 {
			t.Errorf("byID %v: GET passkeys: %d %s", byID, rec.Code, rec.Body)
		}
		hs.hide("usr_lookup")
		for _, tc := range []struct {
			h    http.Handler
			path string
		}{{h, "/passkeys"}, {me, "/me"}} {
			if rec := guardedGet(tc.h, tc.path, tok); rec.Code != 401 {
				t.Errorf("byID %v: %s after deletion: %d %s", byID, tc.path, rec.Code, rec.Body)
			}
		}
	}

	// A store that fails is not a deleted account.
	e, err := selfhosted.New(selfhosted.Config{RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: failingStore{memstore.New()}, OTPSender: e2e.NewMailbox()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.LookupUser(context.Background(), "usr_1"); !errors.Is(err, passkeys.ErrUnavailable) {
		t.Errorf("LookupUser on a failing store: %v, want the store's ErrUnavailable", err)
	}
	if _, err := e.LookupUser(context.Background(), ""); !errors.Is(err, passkeys.ErrUnauthorized) {
		t.Errorf("LookupUser of no ID: %v", err)
	}
}

type failingStore struct{ *memstore.Store }

func (failingStore) UserByID(context.Context, string) (selfhosted.UserRecord, error) {
	return selfhosted.UserRecord{}, passkeys.ErrUnavailable.With("", errors.New("connection refused"))
}

// BenchmarkGuard measures one request through the session guard (a host
// route that does nothing) with the demo JWT, with and without the
// account lookup that passkeys.New wires in; the difference is the cost of
// refusing a deleted account's token. It runs on benchStores (PostgreSQL
// when PASSKEYS_TEST_POSTGRES_DSN names a server).
//
//	go test -run XXX -bench Guard -benchmem ./selfhosted/
func BenchmarkGuard(b *testing.B) {
	for _, st := range benchStores {
		for _, mode := range []struct {
			name     string
			noLookup bool
		}{{"lookup", false}, {"token-only", true}} {
			b.Run(st.name+"/"+mode.name, func(b *testing.B) {
				_, me, tok := newGuarded(b, st.open(b), mode.noLookup)
				b.ReportAllocs()
				for b.Loop() {
					if rec := guardedGet(me, "/me", tok); rec.Code != 200 {
						b.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
			})
		}
	}
}
