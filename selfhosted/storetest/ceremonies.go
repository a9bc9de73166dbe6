package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

func testCeremonies(t *testing.T, newStore newStoreFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		now := anchor()
		cases := []selfhosted.Ceremony{
			ceremony("append-Challenge_1", selfhosted.CeremonyAppend, "user-1", now.Add(5*time.Minute)),
			ceremony("login-Challenge_2", selfhosted.CeremonyLogin, "user-2", now.Add(time.Minute)),
			ceremony("mediation-Challenge_3", selfhosted.CeremonyMediation, "", now.Add(time.Hour)),
		}
		for _, c := range cases {
			t.Run(string(c.Kind), func(t *testing.T) {
				ctx, s := t.Context(), newStore(t)
				setup(t, "PutCeremony", s.PutCeremony(ctx, c, now))
				got, err := s.TakeCeremony(ctx, c.Challenge, now)
				wantValue(t, "TakeCeremony", showCeremony, c, got, err)
				_, err = s.TakeCeremony(ctx, c.Challenge, now)
				wantErr(t, "TakeCeremony(again)", err, selfhosted.ErrNotFound)
			})
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		c := ceremony("Challenge-A", selfhosted.CeremonyLogin, "user-1", now.Add(time.Minute))
		setup(t, "PutCeremony", s.PutCeremony(ctx, c, now))
		// base64url is case-sensitive, and a prefix is another challenge.
		for _, challenge := range []string{"challenge-a", "CHALLENGE-A", "Challenge-", "Challenge-AA", ""} {
			_, err := s.TakeCeremony(ctx, challenge, now)
			wantErr(t, "TakeCeremony("+challenge+")", err, selfhosted.ErrNotFound)
		}
		got, err := s.TakeCeremony(ctx, c.Challenge, now)
		wantValue(t, "TakeCeremony after misses", showCeremony, c, got, err)
	})

	t.Run("Duplicate", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		orig := ceremony("same", selfhosted.CeremonyAppend, "user-1", now.Add(time.Minute))
		dup := ceremony("same", selfhosted.CeremonyMediation, "", now.Add(time.Hour))
		dup.Session = []byte("other")
		setup(t, "PutCeremony", s.PutCeremony(ctx, orig, now))
		wantErr(t, "PutCeremony(duplicate)", s.PutCeremony(ctx, dup, now), selfhosted.ErrDuplicate)
		got, err := s.TakeCeremony(ctx, orig.Challenge, now)
		wantValue(t, "TakeCeremony(original)", showCeremony, orig, got, err)
	})

	t.Run("ReplacesExpired", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		old := ceremony("reused", selfhosted.CeremonyLogin, "user-1", now.Add(time.Minute))
		setup(t, "PutCeremony", s.PutCeremony(ctx, old, now))
		later := old.ExpiresAt // expired at its expiry instant
		repl := ceremony("reused", selfhosted.CeremonyMediation, "", later.Add(time.Minute))
		repl.Session = []byte("replacement")
		wantErr(t, "PutCeremony(over an expired ceremony)", s.PutCeremony(ctx, repl, later), nil)
		got, err := s.TakeCeremony(ctx, repl.Challenge, later)
		wantValue(t, "TakeCeremony(replacement)", showCeremony, repl, got, err)
	})

	t.Run("Expiry", func(t *testing.T) {
		cases := []struct {
			name  string
			after time.Duration // time from ExpiresAt to the take
			want  error
		}{
			{"JustBefore", -time.Microsecond, nil},
			{"AtExpiry", 0, selfhosted.ErrNotFound},
			{"JustAfter", time.Microsecond, selfhosted.ErrNotFound},
			{"LongAfter", 24 * time.Hour, selfhosted.ErrNotFound},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx, s, now := t.Context(), newStore(t), anchor()
				c := ceremony("expiring", selfhosted.CeremonyLogin, "user-1", now.Add(5*time.Minute))
				setup(t, "PutCeremony", s.PutCeremony(ctx, c, now))
				got, err := s.TakeCeremony(ctx, c.Challenge, c.ExpiresAt.Add(tc.after))
				if tc.want == nil {
					wantValue(t, "TakeCeremony", showCeremony, c, got, err)
				} else {
					wantErr(t, "TakeCeremony", err, tc.want)
				}
			})
		}
	})

	t.Run("Independent", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		a := ceremony("a", selfhosted.CeremonyLogin, "user-1", now.Add(time.Minute))
		b := ceremony("b", selfhosted.CeremonyMediation, "", now.Add(time.Hour))
		setup(t, "PutCeremony", s.PutCeremony(ctx, a, now))
		setup(t, "PutCeremony", s.PutCeremony(ctx, b, now))
		_, err := s.TakeCeremony(ctx, a.Challenge, a.ExpiresAt)
		wantErr(t, "TakeCeremony(a, expired)", err, selfhosted.ErrNotFound)
		got, err := s.TakeCeremony(ctx, b.Challenge, a.ExpiresAt.Add(time.Second))
		wantValue(t, "TakeCeremony(b)", showCeremony, b, got, err)
	})

	t.Run("ExpiredAtPut", func(t *testing.T) {
		// Puts purge expired ceremonies, but never one still live at their
		// now, nor the one they store. Forty puts are enough for a store
		// that purges every few puts to have purged.
		ctx, s, now := t.Context(), newStore(t), anchor()
		old := ceremony("old", selfhosted.CeremonyLogin, "user-1", now.Add(time.Minute))
		live := ceremony("live", selfhosted.CeremonyLogin, "user-1", now.Add(time.Hour))
		setup(t, "PutCeremony", s.PutCeremony(ctx, old, now))
		setup(t, "PutCeremony", s.PutCeremony(ctx, live, now))
		later := now.Add(2 * time.Minute)
		for i := range 40 {
			c := ceremony(fmt.Sprint("new-", i), selfhosted.CeremonyLogin, "user-1", later.Add(time.Minute))
			setup(t, "PutCeremony", s.PutCeremony(ctx, c, later))
		}
		_, err := s.TakeCeremony(ctx, old.Challenge, later)
		wantErr(t, "TakeCeremony(expired)", err, selfhosted.ErrNotFound)
		got, err := s.TakeCeremony(ctx, live.Challenge, later)
		wantValue(t, "TakeCeremony(live)", showCeremony, live, got, err)
		for i := range 40 {
			_, err := s.TakeCeremony(ctx, fmt.Sprint("new-", i), later)
			wantErr(t, fmt.Sprint("TakeCeremony(new-", i, ")"), err, nil)
		}
	})

	t.Run("Abandoned", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		live := ceremony("live", selfhosted.CeremonyMediation, "", now.Add(2*time.Hour))
		setup(t, "PutCeremony", s.PutCeremony(ctx, live, now))
		const n = 1000
		last := AbandonCeremonies(t, s, n)
		got, err := s.TakeCeremony(ctx, live.Challenge, last)
		wantValue(t, "TakeCeremony(live)", showCeremony, live, got, err)
		for _, i := range []int{0, n / 2, n - 2} {
			_, err := s.TakeCeremony(ctx, abandoned(i), last)
			wantErr(t, "TakeCeremony("+abandoned(i)+")", err, selfhosted.ErrNotFound)
		}
		got, err = s.TakeCeremony(ctx, abandoned(n-1), last)
		if err != nil || got.Challenge != abandoned(n-1) {
			t.Errorf("TakeCeremony(%s) = %q, %v; want the last ceremony, still live", abandoned(n-1), got.Challenge, err)
		}
	})

	t.Run("SlicesNotShared", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		want := ceremony("c", selfhosted.CeremonyLogin, "user-1", now.Add(time.Minute))
		c := want
		c.Session = append([]byte(nil), want.Session...)
		setup(t, "PutCeremony", s.PutCeremony(ctx, c, now))
		c.Session[0] = 'X' // the caller reuses its slice
		got, err := s.TakeCeremony(ctx, want.Challenge, now)
		wantValue(t, "TakeCeremony after the caller changed its slice", showCeremony, want, got, err)
	})
}

// abandoned returns the challenge of the i-th ceremony AbandonCeremonies
// puts.
func abandoned(i int) string { return fmt.Sprintf("abandoned-%d", i) }

// AbandonCeremonies puts n ceremonies into s the way a page that starts a
// conditional-UI login on every load, and never finishes one, does: each
// put's now is one second after the previous one, when every ceremony put
// before has expired. It returns the now of the last put, when only the
// last ceremony is live. The suite calls it and then counts, through
// [Harness] Count, what the store still holds: a store that purges as
// PutCeremony requires holds a small fraction of n, however large n is.
func AbandonCeremonies(t *testing.T, s selfhosted.CeremonyStore, n int) time.Time {
	t.Helper()
	now := anchor()
	for i := range n {
		if i > 0 {
			now = now.Add(time.Second)
		}
		c := ceremony(abandoned(i), selfhosted.CeremonyMediation, "", now.Add(time.Second))
		setup(t, "PutCeremony", s.PutCeremony(t.Context(), c, now))
	}
	return now
}
