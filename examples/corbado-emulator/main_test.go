package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/passkeystest/corbadotest"

	"github.com/passkeyready/passkeys"
)

// start runs the emulator with args until the test ends and returns its
// address, or fails t at once with run's error when it does not start.
func start(t *testing.T, args []string, out *syncBuffer) (addr string, stop func() error) {
	t.Helper()
	return startEnv(t, args, noEnv, out)
}

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// startEnv is start with the environment getenv.
func startEnv(t *testing.T, args []string, getenv func(string) string, out *syncBuffer) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, getenv, out, ready) }()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("the emulator did not start: %v\n%s", err, out.String())
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return addr, stop
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The emulator runs on its own, prints what it accepts, and prints each
// code it would have emailed; the Corbado backend signs up against it.
func TestRun(t *testing.T) {
	ctx := t.Context()
	out := &syncBuffer{}
	addr, stop := start(t, []string{"-addr", "127.0.0.1:0", "-rp-id", "localhost", "-origin", "http://localhost:3000"}, out)

	if !regexp.MustCompile(`listening on http://` + regexp.QuoteMeta(addr) + `.*project_id=` + corbadotest.DefaultProjectID + ` api_secret=` + corbadotest.DefaultAPISecret + ` \(the built-in test secret\)`).MatchString(out.String()) {
		t.Errorf("start-up line: %s", out.String())
	}
	b, err := passkeys.NewCorbado(passkeys.CorbadoOptions{
		ProjectID: corbadotest.DefaultProjectID, APISecret: corbadotest.DefaultAPISecret, BaseURL: "http://" + addr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.StartOTP(ctx, "run@example.com", passkeys.Client{RemoteAddr: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`email=run@example\.com code=(\d{6})\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no code line: %s", out.String())
	}
	u, created, err := b.FinishOTP(ctx, "run@example.com", m[1], passkeys.Client{RemoteAddr: "127.0.0.1"})
	if err != nil || !created || u.Email != "run@example.com" {
		t.Errorf("FinishOTP = %+v, %v, %v", u, created, err)
	}

	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}

// A secret of the user's own is never printed.
func TestRunHidesOwnSecret(t *testing.T) {
	const secret = "corbado1_mySecretValue"
	out := &syncBuffer{}
	_, stop := start(t, []string{"-addr", "127.0.0.1:0", "-api-secret", secret}, out)
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
	if s := out.String(); strings.Contains(s, "mySecretValue") || !strings.Contains(s, "api_secret=(set, not shown)") {
		t.Errorf("start-up line: %s", s)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a run that wrongly starts returns at once
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"origin off the RP ID", []string{"-rp-id", "localhost", "-origin", "https://evil.example"}, []string{"-origin", "https://evil.example"}},
		{"RP ID with a port", []string{"-rp-id", "localhost:3000"}, []string{"-rp-id", "localhost:3000"}},
		{"unknown flag", []string{"-secret", "x"}, []string{"-secret"}},
		{"android app without fingerprint", []string{"-android-app", "com.example.app"}, []string{"-android-app", "PACKAGE:FINGERPRINT"}},
		{"android app with a short fingerprint", []string{"-android-app", "com.example.app:AB:CD"}, []string{"-android-app", "fingerprint", "32"}},
		{"android app with a bad package", []string{"-android-app", "app:" + passkeystest.AndroidFingerprint([]byte("c"))}, []string{"-android-app", `package "app"`}},
		{"android origin as app", []string{"-android-app", passkeystest.AndroidOrigin([]byte("c"))}, []string{"-android-app"}},
		{"related origin with a path", []string{"-related-origin", "https://example.org/login"}, []string{"-related-origin", "https://example.org/login"}},
		{"related origin on the RP ID", []string{"-related-origin", "http://localhost:3000"}, []string{"-related-origin"}},
		{"address in use", nil, []string{"-addr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if tc.args == nil {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				addr = ln.Addr().String()
			}
			out := &syncBuffer{}
			err := run(ctx, append([]string{"-addr", addr}, tc.args...), noEnv, out, nil)
			if err == nil {
				t.Fatalf("run accepted %q", tc.args)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

// cert stands for the DER signing certificate of the Android app.
var cert = []byte("signing certificate of com.example.app")

// signUp signs email up by code on the emulator behind b.
func signUp(t *testing.T, b *passkeys.Corbado, out *syncBuffer, email string) passkeys.User {
	t.Helper()
	ctx := t.Context()
	if _, err := b.StartOTP(ctx, email, passkeys.Client{RemoteAddr: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`email=` + regexp.QuoteMeta(email) + ` code=(\d{6})\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no code line for %s: %s", email, out.String())
	}
	u, _, err := b.FinishOTP(ctx, email, m[1], passkeys.Client{RemoteAddr: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// appendAndLogin adds a passkey of a to u by the Corbado backend b and
// logs in with it by button; it returns the first error.
func appendAndLogin(t *testing.T, b *passkeys.Corbado, u passkeys.User, a *passkeystest.Authenticator) error {
	t.Helper()
	ctx := t.Context()
	st, err := b.StartAppend(ctx, u, passkeys.Client{})
	if err != nil {
		t.Fatal(err)
	}
	att, err := a.Create(st.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.FinishAppend(ctx, u, att, passkeys.Client{}); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	ls, err := b.StartLogin(ctx, u.Email, passkeys.Client{})
	if err != nil || !ls.Allow {
		t.Fatalf("login start: %+v, %v", ls, err)
	}
	resp, err := a.Get(ls.Options)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.FinishLogin(ctx, resp, passkeys.Client{})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if got.ID != u.ID {
		t.Errorf("login as %+v, want %+v", got, u)
	}
	return nil
}

// -android-app and -related-origin (or their PASSKEYS_* twins) make the
// emulator accept those apps' and sites' responses, as the project's
// settings make Corbado; others stay refused.
func TestRunNativeAppsAndRelatedOrigins(t *testing.T) {
	fp := passkeystest.AndroidFingerprint(cert)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flags", []string{"-android-app", "com.example.app:" + fp, "-related-origin", "https://example.org"}, nil},
		{"environment", nil, map[string]string{"PASSKEYS_ANDROID_APPS": "com.example.app:" + fp, "PASSKEYS_RELATED_ORIGINS": "https://example.org"}},
		{"flags win", []string{"-android-app", "com.example.app:" + fp, "-related-origin", "https://example.org"},
			map[string]string{"PASSKEYS_ANDROID_APPS": "com.example.other:" + passkeystest.AndroidFingerprint([]byte("other")), "PASSKEYS_RELATED_ORIGINS": "https://example.net"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &syncBuffer{}
			args := append([]string{"-addr", "127.0.0.1:0", "-rp-id", "localhost", "-origin", "http://localhost:3000"}, tc.args...)
			addr, _ := startEnv(t, args, func(k string) string { return tc.env[k] }, out)
			if want := "android_apps=com.example.app:" + fp + " related_origins=https://example.org"; !strings.Contains(out.String(), want) {
				t.Errorf("start-up line lacks %q: %s", want, out.String())
			}
			b, err := passkeys.NewCorbado(passkeys.CorbadoOptions{
				ProjectID: corbadotest.DefaultProjectID, APISecret: corbadotest.DefaultAPISecret, BaseURL: "http://" + addr,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := appendAndLogin(t, b, signUp(t, b, out, "app@example.com"), passkeystest.NewAndroidApp("localhost", "com.example.app", cert)); err != nil {
				t.Errorf("Android app: %v", err)
			}
			related := passkeystest.New("https://example.org")
			related.RPID = "localhost"
			if err := appendAndLogin(t, b, signUp(t, b, out, "related@example.com"), related); err != nil {
				t.Errorf("related origin: %v", err)
			}

			for _, bad := range []struct {
				what string
				auth *passkeystest.Authenticator
			}{
				{"unlisted certificate", passkeystest.NewAndroidApp("localhost", "com.example.app", []byte("another certificate"))},
				{"listed certificate, other package", passkeystest.NewAndroidApp("localhost", "com.example.other", cert)},
				{"unlisted site", func() *passkeystest.Authenticator {
					a := passkeystest.New("https://example.net")
					a.RPID = "localhost"
					return a
				}()},
			} {
				u := signUp(t, b, out, strings.ReplaceAll(bad.what, " ", "-")+"@example.com")
				var e *passkeys.Error
				if err := appendAndLogin(t, b, u, bad.auth); !errors.As(err, &e) || e.Code != "passkey_verification_failed" {
					t.Errorf("%s: %v, want passkey_verification_failed at append", bad.what, err)
				}
			}
		})
	}
}
