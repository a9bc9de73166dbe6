package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys/internal/e2e"
)

var pprofLine = regexp.MustCompile(`pprof_addr=(\S+)`)

// TestExampleServerPprof takes a heap profile and the goroutine list from
// the -pprof-addr listener; the public listener serves no profile.
func TestExampleServerPprof(t *testing.T) {
	base, stderr := startServer(t, nil, "-pprof-addr", "127.0.0.1:0")
	m := pprofLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no pprof address in the server output:\n%s", stderr)
	}
	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, body := get("http://" + m[1] + "/debug/pprof/goroutine?debug=1"); st != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("goroutine list: %d %.200q", st, body)
	}
	if st, body := get("http://" + m[1] + "/debug/pprof/heap"); st != http.StatusOK || len(body) == 0 {
		t.Errorf("heap profile: %d, %d bytes", st, len(body))
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"} {
		if st, body := get(base + path); st == http.StatusOK {
			t.Errorf("the public listener serves %s: %.200q", path, body)
		}
	}
}

func TestPprofAddr(t *testing.T) {
	for in, want := range map[string]string{":6060": "127.0.0.1:6060", "127.0.0.1:6060": "127.0.0.1:6060", "[::1]:9": "[::1]:9", "localhost:0": "localhost:0", "127.0.0.2:1": "127.0.0.2:1"} {
		if got, err := pprofAddr(in); err != nil || got != want {
			t.Errorf("pprofAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"6060", "0.0.0.0:6060", "[::]:6060", "192.0.2.1:6060", "example.com:6060"} {
		if _, err := pprofAddr(in); err == nil {
			t.Errorf("pprofAddr(%q) is accepted", in)
		}
	}
}

// TestExampleServerPprofRefusesPublic: the server does not start with
// profiles on an address beyond loopback.
func TestExampleServerPprofRefusesPublic(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-store", "memory", "-pprof-addr", "0.0.0.0:0"}, func(string) string { return "" }, &e2e.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "-pprof-addr") {
		t.Fatalf("run with -pprof-addr 0.0.0.0:0 = %v, want an error naming -pprof-addr", err)
	}
}
