package selfhosted_test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

// engineOn returns an e2e.Setup running the engine, and the revocable
// sessions of selfhosted.NewSessions, on the stores newStore makes.
func engineOn(newStore func(t *testing.T) selfhosted.Store) e2e.Setup {
	return func(t *testing.T, env *e2e.Env) e2e.Target {
		return engineTarget(t, env, newStore(t), nil)
	}
}

// engineTarget is the engine and its sessions on store, with otpKey (nil
// for a random one), and the audit trail in store when it has one.
func engineTarget(t *testing.T, env *e2e.Env, store selfhosted.Store, otpKey []byte) e2e.Target {
	t.Helper()
	rp := e2e.RP()
	e, err := selfhosted.New(selfhosted.Config{
		RPID: rp.RPID, Origins: rp.Origins,
		AndroidApps: rp.AndroidApps, AppleAppIDs: rp.AppleAppIDs, RelatedOrigins: rp.RelatedOrigins,
		Store: store, OTPSender: env.Mailbox, OTPKey: otpKey, Clock: env.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ss, ok := store.(selfhosted.SessionStore)
	if !ok {
		t.Fatalf("%T is not a selfhosted.SessionStore", store)
	}
	sessions, err := selfhosted.NewSessions(ss, selfhosted.SessionsConfig{Clock: env.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	target := e2e.Target{Backend: e, Sessions: sessions}
	if as, ok := store.(selfhosted.ActivityStore); ok {
		target.Activity = selfhosted.NewActivitySink(as, nil)
	}
	return target
}

func TestEndToEndMemory(t *testing.T) {
	e2e.Run(t, engineOn(openMemoryForTest))
}

func TestEndToEndSQLite(t *testing.T) {
	e2e.Run(t, engineOn(openSQLiteForTest))
}

func TestEndToEndPostgres(t *testing.T) {
	if os.Getenv("PASSKEYS_TEST_POSTGRES_DSN") == "" {
		t.Skip("set PASSKEYS_TEST_POSTGRES_DSN (e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable) to run against PostgreSQL")
	}
	e2e.Run(t, engineOn(openPostgresForTest))
}

// The two-instance tests: two engines, each with its own session system,
// on one store (memory), on two handles of one database file (SQLite) and
// on two pools of one schema (PostgreSQL), sharing the OTP key.

func TestEndToEndSharedMemory(t *testing.T) {
	e2e.RunShared(t, func(t *testing.T, env *e2e.Env) (e2e.Target, e2e.Target) {
		store, key := memstore.New(), otpKey()
		return engineTarget(t, env, store, key), engineTarget(t, env, store, key)
	})
}

func TestEndToEndSharedSQLite(t *testing.T) {
	e2e.RunShared(t, func(t *testing.T, env *e2e.Env) (e2e.Target, e2e.Target) {
		path, key := filepath.Join(t.TempDir(), "passkeys.db"), otpKey()
		open := func() selfhosted.Store {
			s, err := sqlitestore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return engineTarget(t, env, open(), key), engineTarget(t, env, open(), key)
	})
}

func TestEndToEndSharedPostgres(t *testing.T) {
	if os.Getenv("PASSKEYS_TEST_POSTGRES_DSN") == "" {
		t.Skip("set PASSKEYS_TEST_POSTGRES_DSN (e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable) to run against PostgreSQL")
	}
	e2e.RunShared(t, func(t *testing.T, env *e2e.Env) (e2e.Target, e2e.Target) {
		pools, key := openPostgresPoolsForTest(t, 2), otpKey()
		return engineTarget(t, env, pools[0], key), engineTarget(t, env, pools[1], key)
	})
}

// otpKey returns a random OTP key for instances to share.
func otpKey() []byte {
	key := make([]byte, 32)
	rand.Read(key)
	return key
}

func TestNewValidates(t *testing.T) {
	ok := selfhosted.Config{RPID: "example.com", Origins: []string{"https://example.com"}, Store: memstore.New(), OTPSender: e2e.NewMailbox()}
	for _, tc := range []struct {
		name string
		mod  func(*selfhosted.Config)
		want string
	}{
		{"no RPID", func(c *selfhosted.Config) { c.RPID = "" }, "Config.RPID is required"},
		{"RPID with scheme", func(c *selfhosted.Config) { c.RPID = "https://example.com" }, "Config.RPID"},
		{"no origins", func(c *selfhosted.Config) { c.Origins = nil }, "Config.Origins is required"},
		{"origin with path", func(c *selfhosted.Config) { c.Origins = []string{"https://example.com/app"} }, "scheme://host"},
		{"origin off RPID", func(c *selfhosted.Config) { c.Origins = []string{"https://example.org"} }, "not on RPID"},
		{"origin in upper case", func(c *selfhosted.Config) { c.Origins = []string{"https://Example.com"} }, "must be lower-case"},
		{"origin with the default port", func(c *selfhosted.Config) { c.Origins = []string{"https://example.com:443"} }, "default port 443"},
		{"origin lookalike", func(c *selfhosted.Config) { c.Origins = []string{"https://evilexample.com"} }, "not on RPID"},
		{"plain http", func(c *selfhosted.Config) { c.Origins = []string{"http://example.com"} }, "https"},
		{"no store", func(c *selfhosted.Config) { c.Store = nil }, "Config.Store"},
		{"no sender", func(c *selfhosted.Config) { c.OTPSender = nil }, "Config.OTPSender"},
		{"short OTP key", func(c *selfhosted.Config) { c.OTPKey = []byte("short") }, "Config.OTPKey"},
		{"bad UV", func(c *selfhosted.Config) { c.UserVerification = "sometimes" }, "Config.UserVerification"},
		{"negative timeout", func(c *selfhosted.Config) { c.CeremonyTimeout = -1 }, "Config.CeremonyTimeout"},
		{"app origin in Origins", func(c *selfhosted.Config) {
			c.Origins = append(c.Origins, passkeystest.AndroidOrigin([]byte("cert")))
		}, "Config.AndroidApps"},
		{"bad package name", func(c *selfhosted.Config) {
			c.AndroidApps = []passkeys.AndroidApp{{PackageName: "app", Fingerprints: []string{passkeystest.AndroidFingerprint([]byte("cert"))}}}
		}, "Config.AndroidApps[0].PackageName"},
		{"web origin as fingerprint", func(c *selfhosted.Config) {
			c.AndroidApps = []passkeys.AndroidApp{{PackageName: "com.example.app", Fingerprints: []string{"https://example.com"}}}
		}, "Config.AndroidApps[0].Fingerprints[0] \"https://example.com\" is an origin"},
		{"app origin as fingerprint", func(c *selfhosted.Config) {
			c.AndroidApps = []passkeys.AndroidApp{{PackageName: "com.example.app", Fingerprints: []string{passkeystest.AndroidOrigin([]byte("cert"))}}}
		}, "is an origin"},
		{"short fingerprint", func(c *selfhosted.Config) {
			c.AndroidApps = []passkeys.AndroidApp{{PackageName: "com.example.app", Fingerprints: []string{"AB:CD"}}}
		}, "32 colon-separated hex bytes"},
		{"bad Apple app ID", func(c *selfhosted.Config) { c.AppleAppIDs = []string{"com.example.app"} }, "Config.AppleAppIDs[0]"},
		{"related origin equal to an origin", func(c *selfhosted.Config) { c.RelatedOrigins = []string{"https://example.com"} }, "also in Config.Origins"},
		{"related origin on RPID", func(c *selfhosted.Config) { c.RelatedOrigins = []string{"https://shop.example.com"} }, "is on RPID"},
		{"related app origin", func(c *selfhosted.Config) { c.RelatedOrigins = []string{passkeystest.AndroidOrigin([]byte("cert"))} }, "Config.RelatedOrigins[0]"},
		{"related origin with a path", func(c *selfhosted.Config) { c.RelatedOrigins = []string{"https://example.org/login"} }, "Config.RelatedOrigins[0]"},
		{"six sites with an app", func(c *selfhosted.Config) {
			c.AndroidApps = []passkeys.AndroidApp{{PackageName: "com.example.app", Fingerprints: []string{passkeystest.AndroidFingerprint([]byte("cert"))}}}
			c.RelatedOrigins = []string{"https://a.example", "https://b.example", "https://c.example", "https://d.example", "https://e.example"}
		}, "with Config.AndroidApps set, Config.Origins and Config.RelatedOrigins"},
		{"six related sites", func(c *selfhosted.Config) {
			c.RelatedOrigins = []string{"https://a.example", "https://b.example", "https://c.example", "https://d.example", "https://e.example", "https://f.example"}
		}, "Config.RelatedOrigins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			_, err := selfhosted.New(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := selfhosted.New(ok); err != nil {
		t.Errorf("valid config: %v", err)
	}
	native := ok
	native.AndroidApps = []passkeys.AndroidApp{{PackageName: "com.example.app", Fingerprints: []string{passkeystest.AndroidFingerprint([]byte("a")), passkeystest.AndroidFingerprint([]byte("b"))}}}
	native.AppleAppIDs = []string{"ABCDE12345.com.example.app"}
	native.RelatedOrigins = []string{"https://example.org", "https://example.de"}
	e, err := selfhosted.New(native)
	if err != nil {
		t.Fatalf("config with native apps: %v", err)
	}
	if wk := e.WellKnown(); len(wk.AndroidApps) != 1 || len(wk.AndroidApps[0].Fingerprints) != 2 || len(wk.AppleAppIDs) != 1 || len(wk.RelatedOrigins) != 2 {
		t.Errorf("WellKnown: %+v", wk)
	}
	sub := ok
	sub.Origins = []string{"https://login.example.com", "http://localhost:8080"}
	sub.RPID = "example.com"
	if _, err := selfhosted.New(sub); err == nil {
		t.Error("localhost origin accepted for RPID example.com")
	}
}
