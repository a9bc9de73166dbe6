package storetest

import (
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
				setup(t, "PutCeremony", s.PutCeremony(ctx, c))
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
		setup(t, "PutCeremony", s.PutCeremony(ctx, c))
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
		setup(t, "PutCeremony", s.PutCeremony(ctx, orig))
		wantErr(t, "PutCeremony(duplicate)", s.PutCeremony(ctx, dup), selfhosted.ErrDuplicate)
		got, err := s.TakeCeremony(ctx, orig.Challenge, now)
		wantValue(t, "TakeCeremony(original)", showCeremony, orig, got, err)
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
				ctx, s := t.Context(), newStore(t)
				c := ceremony("expiring", selfhosted.CeremonyLogin, "user-1", anchor().Add(5*time.Minute))
				setup(t, "PutCeremony", s.PutCeremony(ctx, c))
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
		setup(t, "PutCeremony", s.PutCeremony(ctx, a))
		setup(t, "PutCeremony", s.PutCeremony(ctx, b))
		_, err := s.TakeCeremony(ctx, a.Challenge, a.ExpiresAt)
		wantErr(t, "TakeCeremony(a, expired)", err, selfhosted.ErrNotFound)
		got, err := s.TakeCeremony(ctx, b.Challenge, a.ExpiresAt.Add(time.Second))
		wantValue(t, "TakeCeremony(b)", showCeremony, b, got, err)
	})

	t.Run("SlicesNotShared", func(t *testing.T) {
		ctx, s, now := t.Context(), newStore(t), anchor()
		want := ceremony("c", selfhosted.CeremonyLogin, "user-1", now.Add(time.Minute))
		c := want
		c.Session = append([]byte(nil), want.Session...)
		setup(t, "PutCeremony", s.PutCeremony(ctx, c))
		c.Session[0] = 'X' // the caller reuses its slice
		got, err := s.TakeCeremony(ctx, want.Challenge, now)
		wantValue(t, "TakeCeremony after the caller changed its slice", showCeremony, want, got, err)
	})
}
