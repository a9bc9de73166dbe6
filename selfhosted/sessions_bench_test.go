package selfhosted_test

import (
	"context"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
)

// BenchmarkVerifySession measures the session check of a guarded request:
// DescribeSession of a live token on each store, with the clock standing
// still so that the last-seen write is throttled away and each check is
// one indexed read by token hash. "jwt" is the demo JWTSessions'
// VerifySession, without an account lookup, for comparison: an HMAC and
// no store at all.
//
//	go test -run XXX -bench VerifySession -benchmem -count 3 ./selfhosted/
func BenchmarkVerifySession(b *testing.B) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	ctx := context.Background()
	u := passkeys.User{ID: "bench-user", Email: "bench@example.com"}
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			store, ok := bs.open(b).(selfhosted.SessionStore)
			if !ok {
				b.Fatalf("%s has no SessionStore", bs.name)
			}
			s, err := selfhosted.NewSessions(store, selfhosted.SessionsConfig{Clock: clock})
			if err != nil {
				b.Fatal(err)
			}
			// Other sessions in the table, so the lookup is not of the only row.
			for range 1000 {
				if _, err := s.IssueSession(ctx, passkeys.User{ID: "other", Email: "other@example.com"}); err != nil {
					b.Fatal(err)
				}
			}
			token, err := s.IssueSession(ctx, u)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if sess, err := s.DescribeSession(ctx, token); err != nil || sess.User.ID != u.ID {
					b.Fatalf("DescribeSession = %+v, %v", sess, err)
				}
			}
		})
	}
	b.Run("jwt", func(b *testing.B) {
		j, err := passkeys.NewJWTSessions(passkeys.JWTOptions{Key: []byte("a benchmark key of at least 32 bytes"), Clock: clock})
		if err != nil {
			b.Fatal(err)
		}
		token, err := j.IssueSession(ctx, u)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if got, err := j.VerifySession(ctx, token); err != nil || got.ID != u.ID {
				b.Fatalf("VerifySession = %+v, %v", got, err)
			}
		}
	})
}

// BenchmarkVerifySessionTouch is BenchmarkVerifySession with a last-seen
// write on every check (the clock moves a minute per check): what the
// first request of each TouchInterval costs.
func BenchmarkVerifySessionTouch(b *testing.B) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	ctx := context.Background()
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			store, ok := bs.open(b).(selfhosted.SessionStore)
			if !ok {
				b.Fatalf("%s has no SessionStore", bs.name)
			}
			s, err := selfhosted.NewSessions(store, selfhosted.SessionsConfig{Clock: clock, AbsoluteLifetime: 1 << 62, IdleTimeout: 1 << 61})
			if err != nil {
				b.Fatal(err)
			}
			token, err := s.IssueSession(ctx, passkeys.User{ID: "bench-user", Email: "bench@example.com"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Minute)
				if _, err := s.DescribeSession(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
