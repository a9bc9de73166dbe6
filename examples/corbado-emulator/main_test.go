package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/passkeyready/passkeys/passkeystest/corbadotest"

	"github.com/passkeyready/passkeys"
)

// start runs the emulator with args until the test ends and returns its
// address, or fails t at once with run's error when it does not start.
func start(t *testing.T, args []string, out *syncBuffer) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, out, ready) }()
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
			err := run(ctx, append([]string{"-addr", addr}, tc.args...), out, nil)
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
