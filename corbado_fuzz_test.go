package passkeys_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/passkeystest/corbadotest"
)

// corbadoSeed is a browser response made for a ceremony the emulator
// started, and the ceremony it belongs to.
type corbadoSeed struct {
	kind     string
	response []byte
	kept     passkeys.CorbadoCeremonyForTest
}

var (
	corbadoSeedsOnce sync.Once
	corbadoSeedsVal  []corbadoSeed
	corbadoSeedsErr  error
)

// corbadoSeeds runs an append, a button login and an autofill login
// against the emulator through the Corbado backend and returns the
// responses the software authenticator made, unfinished.
func corbadoSeeds(tb testing.TB) []corbadoSeed {
	tb.Helper()
	corbadoSeedsOnce.Do(func() { corbadoSeedsVal, corbadoSeedsErr = makeCorbadoSeeds() })
	if corbadoSeedsErr != nil {
		tb.Fatal(corbadoSeedsErr)
	}
	return corbadoSeedsVal
}

func makeCorbadoSeeds() ([]corbadoSeed, error) {
	ctx := context.Background()
	env := &e2e.Env{Clock: e2e.NewClock(), Mailbox: e2e.NewMailbox()}
	var emuErr error
	emu, err := corbadotest.New(corbadotest.Options{
		RPID: e2e.RPID, Origins: []string{e2e.Origin}, Clock: env.Clock.Now, OnOTP: env.Mailbox.Deliver,
		Errorf: func(format string, args ...any) { emuErr = errors.New(format) },
	})
	if err != nil {
		return nil, err
	}
	ts := httptest.NewServer(emu)
	defer ts.Close()
	b, err := passkeys.NewCorbado(passkeys.CorbadoOptions{ProjectID: emu.ProjectID(), APISecret: emu.APISecret(), BaseURL: ts.URL, Clock: env.Clock.Now})
	if err != nil {
		return nil, err
	}
	const email = "seed@example.com"
	if _, err := b.StartOTP(ctx, email, passkeys.Client{}); err != nil {
		return nil, err
	}
	codes := env.Mailbox.Codes(email)
	u, _, err := b.FinishOTP(ctx, email, codes[len(codes)-1], passkeys.Client{})
	if err != nil {
		return nil, err
	}
	auth := passkeystest.New(e2e.Origin)
	var seeds []corbadoSeed
	add := func(kind string, options json.RawMessage, resp []byte) error {
		var o struct {
			PublicKey struct{ Challenge string } `json:"publicKey"`
		}
		if err := json.Unmarshal(options, &o); err != nil {
			return err
		}
		ch, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(o.PublicKey.Challenge, "="))
		if err != nil {
			return err
		}
		seeds = append(seeds, corbadoSeed{kind, resp, passkeys.CorbadoCeremonyForTest{Kind: kind, Challenge: ch}})
		return nil
	}
	as, err := b.StartAppend(ctx, u, passkeys.Client{})
	if err != nil {
		return nil, err
	}
	att, err := auth.Create(as.Options)
	if err != nil {
		return nil, err
	}
	if err := add("append", as.Options, att); err != nil {
		return nil, err
	}
	if _, err := b.FinishAppend(ctx, u, att, passkeys.Client{}); err != nil {
		return nil, err
	}
	ls, err := b.StartLogin(ctx, email, passkeys.Client{})
	if err != nil {
		return nil, err
	}
	ms, err := b.StartMediation(ctx, passkeys.Client{})
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		kind    string
		options json.RawMessage
	}{{"login", ls.Options}, {"mediation", ms.Options}} {
		resp, err := auth.Get(s.options)
		if err != nil {
			return nil, err
		}
		if err := add(s.kind, s.options, resp); err != nil {
			return nil, err
		}
	}
	return seeds, emuErr
}

func keptOf(seeds []corbadoSeed) []passkeys.CorbadoCeremonyForTest {
	var kept []passkeys.CorbadoCeremonyForTest
	for _, s := range seeds {
		kept = append(kept, s.kept)
	}
	return kept
}

// rewriteClientData returns resp with its clientDataJSON replaced by
// what edit makes of it.
func rewriteClientData(t *testing.T, resp []byte, edit func(string) string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatal(err)
	}
	r := m["response"].(map[string]any)
	cd, err := base64.RawURLEncoding.DecodeString(r["clientDataJSON"].(string))
	if err != nil {
		t.Fatal(err)
	}
	r["clientDataJSON"] = base64.RawURLEncoding.EncodeToString([]byte(edit(string(cd))))
	out, _ := json.Marshal(m)
	return out
}

// The Corbado backend finds each ceremony by the challenge in the
// response's clientDataJSON, for its own kind only, and refuses a
// clientDataJSON that names the challenge twice, since Corbado might read
// the other one.
func TestCorbadoCeremonyLookup(t *testing.T) {
	seeds := corbadoSeeds(t)
	kept := keptOf(seeds)
	for i, s := range seeds {
		if got, err := passkeys.CorbadoTakeCeremony(s.response, s.kind, kept); err != nil || got != i {
			t.Errorf("%s: took %d, %v; want %d", s.kind, got, err, i)
		}
		for _, other := range []string{"append", "login", "mediation"} {
			if other == s.kind {
				continue
			}
			if _, err := passkeys.CorbadoTakeCeremony(s.response, other, kept); !errors.Is(err, passkeys.ErrVerificationFailed) {
				t.Errorf("%s finished as %s: %v", s.kind, other, err)
			}
		}
		other := base64.RawURLEncoding.EncodeToString(kept[(i+1)%len(kept)].Challenge)
		for name, edit := range map[string]func(string) string{
			"challenge twice": func(cd string) string {
				return strings.Replace(cd, `{`, `{"challenge":"`+other+`",`, 1)
			},
			"challenge in another case": func(cd string) string {
				return strings.Replace(cd, `{`, `{"Challenge":"`+other+`",`, 1)
			},
			"origin twice": func(cd string) string {
				return strings.Replace(cd, `{`, `{"origin":"https://evil.example",`, 1)
			},
		} {
			resp := rewriteClientData(t, s.response, edit)
			if _, err := passkeys.CorbadoTakeCeremony(resp, s.kind, kept); !errors.Is(err, passkeys.ErrVerificationFailed) {
				t.Errorf("%s, %s: %v, want passkey_verification_failed", s.kind, name, err)
			}
		}
	}
}

// FuzzCorbadoCeremonyLookup feeds the Corbado backend's ceremony lookup
// responses derived from real ones: it never panics, fails only as a
// client error, and takes a ceremony only of the finish's kind and only
// for the challenge that clientDataJSON, read once, names.
//
//	go test -run XXX -fuzz FuzzCorbadoCeremonyLookup -fuzztime 3m .
func FuzzCorbadoCeremonyLookup(f *testing.F) {
	seeds := corbadoSeeds(f)
	kept := keptOf(seeds)
	kinds := []string{"append", "login", "mediation"}
	for _, s := range seeds {
		for k, kind := range kinds {
			if kind == s.kind {
				f.Add(s.response, uint8(k))
			}
		}
	}
	f.Add([]byte(`{"response":{"clientDataJSON":"e30"}}`), uint8(1))
	f.Add([]byte(`{"response":{"clientDataJSON":"eyJjaGFsbGVuZ2UiOiJBQSJ9"}}`), uint8(2))
	f.Fuzz(func(t *testing.T, response []byte, k uint8) {
		kind := kinds[int(k)%len(kinds)]
		got, err := passkeys.CorbadoTakeCeremony(response, kind, kept)
		if err != nil {
			var e *passkeys.Error
			if !errors.As(err, &e) || e.Status >= 500 || e.Code != "passkey_verification_failed" {
				t.Fatalf("lookup failed with %v, want a passkey_verification_failed client error", err)
			}
			return
		}
		if kept[got].Kind != kind {
			t.Fatalf("a %s finish took a %s ceremony", kind, kept[got].Kind)
		}
		var r struct {
			Response struct{ ClientDataJSON string } `json:"response"`
		}
		if err := json.Unmarshal(response, &r); err != nil {
			t.Fatalf("taken for a response that is not JSON: %v", err)
		}
		s := strings.TrimRight(r.Response.ClientDataJSON, "=")
		enc := base64.RawURLEncoding
		if strings.ContainsAny(s, "+/") {
			enc = base64.RawStdEncoding
		}
		cd, err := enc.DecodeString(s)
		if err != nil {
			t.Fatalf("taken for clientDataJSON that is not base64: %v", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cd, &m); err != nil {
			t.Fatalf("taken for clientDataJSON that is not an object: %v", err)
		}
		var challenges int
		for name := range m {
			if strings.EqualFold(name, "challenge") {
				challenges++
			}
		}
		if challenges != 1 {
			t.Fatalf("taken for clientDataJSON with %d challenge members: %s", challenges, cd)
		}
	})
}
