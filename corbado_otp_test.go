package passkeys_test

import (
	"fmt"
	"net/http"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

// keepers are the CeremonyKeepers the OTP tests run on: the default and
// one shared through a database.
var keepers = []struct {
	name string
	new  func(t *testing.T) passkeys.CeremonyKeeper
}{
	{"MemoryKeeper", func(*testing.T) passkeys.CeremonyKeeper { return passkeys.NewMemoryKeeper(0) }},
	{"selfhosted.Keeper(sqlitestore)", func(t *testing.T) passkeys.CeremonyKeeper {
		s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "keeper.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return selfhosted.Keeper(s)
	}},
}

// checkCode checks code for email and expects status.
func (r *corbadoRig) checkCode(email, code string, status int) rigResponse {
	r.t.Helper()
	res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email, "otp": code}, "")
	if res.status != status {
		r.t.Errorf("check of code %s: %d %s, want %d", code, res.status, res.raw, status)
	}
	return res
}

// Concurrent requests for a code within one cooldown send one code, and
// that code works, also when the cooldown before has just ended.
func TestCorbadoConcurrentCodeRequests(t *testing.T) {
	for _, k := range keepers {
		t.Run(k.name, func(t *testing.T) {
			r := newCorbadoRig(t, func(o *passkeys.CorbadoOptions) { o.Ceremonies = k.new(t) })
			for i := range 10 {
				email := fmt.Sprintf("burst%d@example.com", i)
				known := i%2 == 1
				if known {
					r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, "")
					r.env.Clock.Advance(31 * time.Second)
				}
				var wg sync.WaitGroup
				for range 8 {
					wg.Go(func() {
						if res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, ""); res.status != 200 {
							t.Errorf("%s: request code: %d %s", email, res.status, res.raw)
						}
					})
				}
				wg.Wait()
				codes := r.env.Mailbox.Codes(email)
				want := 1
				if known {
					want = 2
				}
				if len(codes) != want {
					t.Fatalf("%s: 8 concurrent requests mailed %d codes, want 1", email, len(codes)-want+1)
				}
				if known && codes[0] != codes[1] {
					r.checkCode(email, codes[0], 401)
				}
				r.checkCode(email, codes[len(codes)-1], 200)
			}
		})
	}
}

// A wrong code checked while a new code is sent does not bring the old
// code back over the new one.
func TestCorbadoWrongCheckRacingResend(t *testing.T) {
	for _, k := range keepers {
		t.Run(k.name, func(t *testing.T) {
			r := newCorbadoRig(t, func(o *passkeys.CorbadoOptions) { o.Ceremonies = k.new(t) })
			const email = "racing@example.com"
			r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, "")
			old := r.env.Mailbox.Codes(email)[0]
			r.env.Clock.Advance(31 * time.Second)

			inCheck, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			free := func() { once.Do(func() { close(release) }) }
			t.Cleanup(free)
			var held atomic.Bool
			r.emu.SetIntercept(func(_ http.ResponseWriter, req *http.Request) bool {
				if ok, _ := path.Match("/v2/users/*/challenges/*", req.URL.Path); ok && req.Method == "PATCH" && held.CompareAndSwap(false, true) {
					close(inCheck)
					<-release
				}
				return false
			})
			done := make(chan rigResponse)
			go func() {
				done <- r.do("POST", "/signUpOrLogin", map[string]string{"email": email, "otp": wrongCode(old)}, "")
			}()
			<-inCheck
			if res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, ""); res.status != 200 {
				t.Fatalf("resend: %d %s", res.status, res.raw)
			}
			free()
			if res := <-done; res.status != 401 {
				t.Errorf("wrong code: %d %s", res.status, res.raw)
			}
			codes := r.env.Mailbox.Codes(email)
			if len(codes) != 2 {
				t.Fatalf("%d codes mailed, want 2", len(codes))
			}
			r.checkCode(email, codes[1], 200)
		})
	}
}

// wrongCode returns a six-digit code other than code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// A flood of passkey ceremonies does not push the code in flight out of a
// full keeper.
func TestCorbadoCeremonyFloodKeepsCode(t *testing.T) {
	r := newCorbadoRig(t, func(o *passkeys.CorbadoOptions) { o.Ceremonies = passkeys.NewMemoryKeeper(4) })
	const email = "flooded@example.com"
	r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, "")
	for range 20 {
		if res := r.do("POST", "/passkey/mediation/start", map[string]any{}, ""); res.status != 200 {
			t.Fatalf("mediation start: %d %s", res.status, res.raw)
		}
	}
	r.checkCode(email, r.env.Mailbox.Codes(email)[0], 200)
}
