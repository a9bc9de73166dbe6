package sqlitestore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
)

// BenchmarkLogin measures whole logins on the store as examples/server
// wires it: sessions kept in the store (selfhosted.Sessions) and the
// activity trail appended for every sign-in. One iteration is a start and
// a finish through the handler; the authenticator's signature is made with
// the timer stopped, and the queued activity records are written before
// the timer stops. Besides ns/op and allocations it reports what the
// store did per login: statements run (stmts/op), write transactions
// committed (commits/op) and pages appended to the write-ahead log
// (wal-pages/op, with automatic checkpoints off for the run).
//
//	go test -run XXX -bench Login -benchmem ./selfhosted/sqlitestore/
//
// The SingleProcess variants open the store with Options.SingleProcess.
func BenchmarkLogin(b *testing.B) {
	for _, o := range []struct {
		name string
		opts Options
	}{{"", Options{}}, {"SingleProcess/", Options{SingleProcess: true}}} {
		b.Run(o.name+"Autofill", func(b *testing.B) {
			benchLogin(b, o.opts, "/passkey/mediation/start", "/passkey/mediation/finish", nil)
		})
		b.Run(o.name+"Button", func(b *testing.B) {
			benchLogin(b, o.opts, "/passkey/login/start", "/passkey/login/finish", map[string]string{"email": benchEmail})
		})
		b.Run(o.name+"Autofill8", func(b *testing.B) { benchLogin8(b, o.opts) })
	}
}

// benchLogin8 runs autofill logins from 8 goroutines at once, each its
// own user with its own passkey, as the load tool's 8 users do; the
// signatures are made in the timed loop here.
func benchLogin8(b *testing.B, opts Options) {
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := OpenWith(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := newBenchHandler(b, s)
	auths := make([]*passkeystest.Authenticator, 8)
	for i := range auths {
		token := h.signUp(b, fmt.Sprintf("bench-%d@example.com", i))
		auths[i] = passkeystest.New(benchOrigin)
		res := h.call(b, "/passkey/append/start", token, map[string]any{})
		att, err := auths[i].Create(res["attestationOptions"])
		if err != nil {
			b.Fatal(err)
		}
		h.call(b, "/passkey/append/finish", token, map[string]json.RawMessage{"attestationResponse": att})
	}
	ctx := context.Background()
	var commits, next atomic.Int64
	withCommitHook(b, s, func() { commits.Add(1) })
	b.ReportAllocs()
	b.SetParallelism((8 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		a := auths[(next.Add(1)-1)%8]
		for pb.Next() {
			res := h.call(b, "/passkey/mediation/start", "", map[string]any{})
			resp, err := a.Get(res["assertionOptions"])
			if err != nil {
				b.Error(err)
				return
			}
			h.call(b, "/passkey/mediation/finish", "", map[string]json.RawMessage{"assertionResponse": resp})
		}
	})
	if err := h.h.FlushEvents(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(commits.Load())/float64(b.N), "commits/op")
}

const (
	benchRPID   = "localhost"
	benchOrigin = "http://localhost:3000"
	benchEmail  = "bench@example.com"
)

func benchLogin(b *testing.B, opts Options, startPath, finishPath string, startBody any) {
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := OpenWith(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := newBenchHandler(b, s)
	token := h.signUp(b, benchEmail)
	a := passkeystest.New(benchOrigin)
	res := h.call(b, "/passkey/append/start", token, map[string]any{})
	att, err := a.Create(res["attestationOptions"])
	if err != nil {
		b.Fatal(err)
	}
	h.call(b, "/passkey/append/finish", token, map[string]json.RawMessage{"attestationResponse": att})
	if startBody == nil {
		startBody = map[string]any{}
	}

	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		b.Fatal(err)
	}
	var commits, stmts atomic.Int64
	withCommitHook(b, s, func() { commits.Add(1) })
	traceStatement = func(string, []any) { stmts.Add(1) }
	defer func() { traceStatement = nil }()
	// A first login leaves every statement prepared and the WAL in use.
	h.login(b, a, startPath, finishPath, startBody)
	if err := h.h.FlushEvents(ctx); err != nil {
		b.Fatal(err)
	}
	wal0 := fileSize(b, path+"-wal")
	commits.Store(0)
	stmts.Store(0)

	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		h.login(b, a, startPath, finishPath, startBody)
	}
	if err := h.h.FlushEvents(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	var pageSize int64
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		b.Fatal(err)
	}
	n := float64(b.N)
	b.ReportMetric(float64(stmts.Load())/n, "stmts/op")
	b.ReportMetric(float64(commits.Load())/n, "commits/op")
	b.ReportMetric(float64(fileSize(b, path+"-wal")-wal0)/float64(pageSize+24)/n, "wal-pages/op")
}

// withCommitHook has fn called on every commit of s's connection (Open
// keeps one).
func withCommitHook(b testing.TB, s *Store, fn func()) {
	conn, err := s.db.Conn(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		hr, ok := dc.(sqlite.HookRegisterer)
		if !ok {
			return fmt.Errorf("driver connection %T has no hooks", dc)
		}
		hr.RegisterCommitHook(func() int32 { fn(); return 0 })
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// benchHandler is a handler on the self-hosted engine over the store,
// with store sessions and the activity trail, driven through ServeHTTP.
type benchHandler struct {
	h    *passkeys.Handler
	mail *passkeystest.Mailbox
}

func newBenchHandler(b *testing.B, s *Store) *benchHandler {
	mail := passkeystest.NewMailbox()
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: benchRPID, Origins: []string{benchOrigin}, Store: s, OTPSender: mail,
	})
	if err != nil {
		b.Fatal(err)
	}
	sessions, err := selfhosted.NewSessions(s, selfhosted.SessionsConfig{})
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	trail := selfhosted.NewActivitySink(s, logger)
	off := passkeys.Rate{Events: -1}
	h, err := passkeys.New(passkeys.Options{
		Backend: engine, SessionIssuer: sessions, SessionVerifier: sessions,
		Events: trail, Activity: trail,
		IPLimit: off, EmailLimit: off, OTPCheckLimit: off, StartLimit: off,
		Logger: logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	return &benchHandler{h: h, mail: mail}
}

// call posts body to path, with a bearer token unless it is empty, and
// returns the decoded answer, failing unless it is 200.
func (bh *benchHandler) call(b *testing.B, path, token string, body any) map[string]json.RawMessage {
	j, err := json.Marshal(body)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(j))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	bh.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("%s: status %d: %s", path, w.Code, w.Body)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		b.Fatal(err)
	}
	return out
}

// signUp runs the OTP flow for email and returns the session token.
func (bh *benchHandler) signUp(b *testing.B, email string) string {
	bh.call(b, "/signUpOrLogin", "", map[string]string{"email": email})
	code, ok := bh.mail.Last(email)
	if !ok {
		b.Fatalf("no code sent to %s", email)
	}
	res := bh.call(b, "/signUpOrLogin", "", map[string]string{"email": email, "otp": code})
	var token string
	if err := json.Unmarshal(res["sessionToken"], &token); err != nil || token == "" {
		b.Fatalf("sign-up gave no session: %s", res["sessionToken"])
	}
	return token
}

// login runs one login, start and finish, signing with the timer stopped,
// and fails unless it issues a session.
func (bh *benchHandler) login(b *testing.B, a *passkeystest.Authenticator, startPath, finishPath string, startBody any) {
	res := bh.call(b, startPath, "", startBody)
	b.StopTimer()
	resp, err := a.Get(res["assertionOptions"])
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	res = bh.call(b, finishPath, "", map[string]json.RawMessage{"assertionResponse": resp})
	if len(res["sessionToken"]) < 3 {
		b.Fatalf("login gave no session: %s", res["sessionToken"])
	}
}
