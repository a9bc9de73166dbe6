package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the example's real http.Server (run, flags and all) on
// 127.0.0.1 and talk to it over raw TCP, as slow and idle clients do. Each
// wait on a server-side timeout is bounded by cutBound and set short by the
// test's flags.

// cutBound is how long a test waits for the server to close a connection
// whose timeout, set by the test, is well under a second.
const cutBound = 10 * time.Second

// dial opens a TCP connection to the server at base, closed at cleanup.
func dial(t *testing.T, base string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports nil when the server closed c (EOF or reset)
// within cutBound, with any bytes it sent first in got.
func closedByServer(c net.Conn) (got string, err error) {
	c.SetReadDeadline(time.Now().Add(cutBound))
	b, err := io.ReadAll(c)
	if err == nil || errors.Is(err, syscall.ECONNRESET) {
		return string(b), nil
	}
	return string(b), fmt.Errorf("connection still open after %v: %w", cutBound, err)
}

// get sends one keep-alive GET on c and reads its response.
func get(t *testing.T, c net.Conn, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func exampleDB(t *testing.T) string { return filepath.Join(t.TempDir(), "passkeys.db") }

// TestExampleServerLimitsConfig: every timeout and cap is set by default,
// flags and environment change them, and none can be switched off.
func TestExampleServerLimitsConfig(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.limits != defaultLimits {
		t.Errorf("default limits %+v, want %+v", c.limits, defaultLimits)
	}
	srv := newServer(http.NotFoundHandler(), c.limits, slog.New(slog.DiscardHandler), nil)
	if srv.ReadHeaderTimeout != 5*time.Second || srv.ReadTimeout != 10*time.Second || srv.WriteTimeout != 30*time.Second ||
		srv.IdleTimeout != 60*time.Second || srv.MaxHeaderBytes != 64<<10 {
		t.Errorf("server: header %v, read %v, write %v, idle %v, max header %d",
			srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}

	env := map[string]string{"PASSKEYS_IDLE_TIMEOUT": "2m", "PASSKEYS_MAX_BODY_BYTES": "4096", "PASSKEYS_READ_TIMEOUT": "7s", "PASSKEYS_MAX_CONNS": "10"}
	c, err = parseConfig([]string{"-read-timeout", "3s", "-write-timeout", "1m", "-read-header-timeout", "1s", "-max-header-bytes", "8192"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := limits{readHeaderTimeout: time.Second, readTimeout: 3 * time.Second, writeTimeout: time.Minute,
		idleTimeout: 2 * time.Minute, maxHeaderBytes: 8192, maxBodyBytes: 4096, maxConns: 10}
	if c.limits != want {
		t.Errorf("limits %+v, want %+v", c.limits, want)
	}

	for _, args := range [][]string{
		{"-read-header-timeout", "0"}, {"-read-timeout", "0s"}, {"-write-timeout", "-1s"}, {"-idle-timeout", "0"},
		{"-max-header-bytes", "0"}, {"-max-conns", "0"}, {"-max-body-bytes", "0"}, {"-max-body-bytes", "1048577"},
	} {
		if _, err := parseConfig(args, none, io.Discard); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: error %v, want one naming %s", args, err, args[0])
		}
	}
}

// TestExampleServerClosesIdleConnections: keep-alive connections that send
// nothing after their response are closed after -idle-timeout.
func TestExampleServerClosesIdleConnections(t *testing.T) {
	base, _ := startServer(t, nil, "-db", exampleDB(t), "-idle-timeout", "200ms")
	const n = 50
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dial(t, base)
		if res := get(t, conns[i], bufio.NewReader(conns[i]), "/favicon.svg"); res.StatusCode != 200 || res.Close {
			t.Fatalf("GET /favicon.svg: %d, close %v", res.StatusCode, res.Close)
		}
	}
	for i, c := range conns {
		if got, err := closedByServer(c); err != nil || got != "" {
			t.Errorf("idle connection %d: %v, sent %q", i, err, got)
		}
	}
}

// TestExampleServerCutsSlowClients: a client that sends its headers or its
// body too slowly is cut off at -read-header-timeout or -read-timeout,
// counted from the request's first byte, however it trickles; a body that
// stalls gets 400 before the connection closes.
func TestExampleServerCutsSlowClients(t *testing.T) {
	base, _ := startServer(t, nil, "-db", exampleDB(t), "-read-header-timeout", "300ms", "-read-timeout", "600ms")
	const head = "POST /auth/signUpOrLogin HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n"

	t.Run("headers stall", func(t *testing.T) {
		c := dial(t, base)
		fmt.Fprint(c, "POST /auth/signUpOrLogin HTTP/1.1\r\nHost: localhost\r\n")
		if got, err := closedByServer(c); err != nil || got != "" {
			t.Errorf("%v, sent %q", err, got)
		}
	})
	t.Run("body stalls", func(t *testing.T) {
		c := dial(t, base)
		fmt.Fprint(c, head+`{"email":"`)
		got, err := closedByServer(c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, "HTTP/1.1 400 ") || !strings.Contains(got, "application/problem+json") || !strings.Contains(got, `"code":"invalid_request"`) {
			t.Errorf("response %q, want 400 invalid_request", got)
		}
	})
	t.Run("body trickles", func(t *testing.T) {
		c := dial(t, base)
		start := time.Now()
		fmt.Fprint(c, head+`{"email":"`)
		// One byte every 10 ms would take 20 s for the body; the server
		// must not let each byte extend the deadline.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		done := make(chan string, 1)
		go func() {
			got, _ := closedByServer(c)
			done <- got
		}()
		for i := 0; i < 2000-10; i++ {
			select {
			case got := <-done:
				if !strings.HasPrefix(got, "HTTP/1.1 400 ") {
					t.Errorf("response %q, want 400", got)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("cut off after %v, want about 600ms", d)
				}
				return
			case <-tick.C:
				if _, err := c.Write([]byte("a")); err != nil {
					<-done
					return // reset by the server: cut off
				}
			}
		}
		t.Errorf("the whole body trickled in over %v without being cut off", time.Since(start))
	})
}

// TestExampleServerServesOthersWhileClientsStall: idle, half-sent and
// stalled-body connections do not keep other clients from being served; a
// body over -max-body-bytes is refused as soon as the cap is read, not
// held; and the memory the stalled clients hold stays within a few KiB
// each plus -max-body-bytes per stalled body (with the 1 MiB cap, a body
// just under it held 1.9 MiB for as long as the client liked).
func TestExampleServerServesOthersWhileClientsStall(t *testing.T) {
	base, stderr := startServer(t, nil, "-db", exampleDB(t))
	const n = 100
	post := "POST /auth/signUpOrLogin HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
	// A body just under the cap, padded with spaces and never finished.
	pad := strings.Repeat(" ", int(defaultLimits.maxBodyBytes)-1024)
	stalledBody := func(i int) string { return fmt.Sprintf(`{"email":"stalled%d@example.com"`, i) + pad }
	// A body of almost 1 MiB, the root handler's own cap.
	big := []byte(`{"email":"` + strings.Repeat("a", 1<<20-1024))

	before := liveMemory()
	idle, halfHead, stalled, over := make([]net.Conn, n), make([]net.Conn, n), make([]net.Conn, n), make([]net.Conn, n)
	for i := range n {
		idle[i] = dial(t, base)
		get(t, idle[i], bufio.NewReader(idle[i]), "/favicon.svg")
		halfHead[i] = dial(t, base)
		fmt.Fprint(halfHead[i], "GET / HTTP/1.1\r\nHost: localhost\r\n")
		stalled[i] = dial(t, base)
		b := stalledBody(i)
		if _, err := fmt.Fprintf(stalled[i], post+b, len(b)+1); err != nil {
			t.Fatal(err)
		}
		over[i] = dial(t, base)
		go func(c net.Conn) {
			fmt.Fprintf(c, post, len(big)+2)
			c.Write(big) // fails once the server has refused it
		}(over[i])
	}
	for i, c := range over {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		r, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || r.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("client %d sending %d bytes: %v %v, want 413", i, len(big), r, err)
		}
		c.Close()
	}

	c := client{t, base}
	st, res := c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": "other@example.com"}, "")
	if st != 200 || res["otpSent"] != true {
		t.Fatalf("request code while %d clients stall: %d %v", 3*n, st, res)
	}
	st, res = c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": "other@example.com", "otp": lastCode(t, stderr, "other@example.com")}, "")
	if st != 200 || res["sessionToken"] == nil {
		t.Fatalf("sign up while %d clients stall: %d %v", 3*n, st, res)
	}
	if st, _ = c.call("GET", "/api/me", nil, res["sessionToken"].(string)); st != 200 {
		t.Fatalf("/api/me while %d clients stall: %d", 3*n, st)
	}

	grown := liveMemory() - before
	limit := 3*n*(64<<10) + n*2*int(defaultLimits.maxBodyBytes)
	if grown > limit {
		t.Errorf("live heap and stacks grew %d KiB with %d idle, half-sent and stalled connections, want at most %d KiB", grown>>10, 3*n, limit>>10)
	}
	t.Logf("live heap and stacks grew %d KiB with %d idle, %d half-sent and %d stalled-body connections", grown>>10, n, n, n)

	// The stalled clients were held, not dropped: finishing the body gets
	// each its answer.
	for i, s := range stalled[:10] {
		fmt.Fprint(s, "}")
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		r, err := http.ReadResponse(bufio.NewReader(s), nil)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("stalled client %d after finishing its body: %v %v", i, r, err)
		}
	}
	for _, cs := range [][]net.Conn{idle, halfHead, stalled} {
		for _, c := range cs {
			c.Close()
		}
	}
}

// liveMemory returns the bytes of live heap objects, after a collection,
// and of goroutine stacks.
func liveMemory() int {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int(m.HeapAlloc + m.StackInuse)
}

// TestExampleServerConnectionCap: with -max-conns open, a new connection
// closes the one idle longest; when none is idle it waits, in the
// kernel's queue, until a stalled one is cut off, and is then served.
func TestExampleServerConnectionCap(t *testing.T) {
	const max = 4
	base, _ := startServer(t, nil, "-db", exampleDB(t), "-max-conns", fmt.Sprint(max), "-read-header-timeout", "500ms")

	idle := make([]net.Conn, max)
	for i := range idle {
		idle[i] = dial(t, base)
		if res := get(t, idle[i], bufio.NewReader(idle[i]), "/favicon.svg"); res.StatusCode != 200 {
			t.Fatalf("idle %d: %d", i, res.StatusCode)
		}
	}
	c := dial(t, base)
	if res := get(t, c, bufio.NewReader(c), "/favicon.svg"); res.StatusCode != 200 {
		t.Fatalf("at the cap with idle connections: %d", res.StatusCode)
	}
	// Exactly one idle connection made room (which one depends on when
	// the server marked each idle; TestConnLimitClosesLongestIdle checks
	// the order); the others answer another request.
	closed := 0
	for i, ic := range idle {
		fmt.Fprint(ic, "GET /favicon.svg HTTP/1.1\r\nHost: localhost\r\n\r\n")
		ic.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(ic), nil)
		switch {
		case err == nil && res.StatusCode == 200:
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
			closed++
		default:
			t.Errorf("idle %d: %v %v", i, res, err)
		}
	}
	if closed != 1 {
		t.Errorf("%d idle connections closed to admit one, want 1", closed)
	}
	for _, ic := range append(idle, c) {
		ic.Close()
	}

	stalled := make([]net.Conn, max)
	for i := range stalled {
		stalled[i] = dial(t, base)
		fmt.Fprint(stalled[i], "GET / HTTP/1.1\r\nHost: localhost\r\n")
	}
	waiting := dial(t, base)
	start := time.Now()
	res := get(t, waiting, bufio.NewReader(waiting), "/favicon.svg")
	if res.StatusCode != 200 {
		t.Errorf("waiting connection: %d", res.StatusCode)
	}
	for i, s := range stalled {
		if got, err := closedByServer(s); err != nil || got != "" {
			t.Errorf("stalled %d: %v, sent %q", i, err, got)
		}
	}
	t.Logf("a connection beyond %d stalled ones was served after %v", max, time.Since(start).Round(time.Millisecond))
	waiting.Close()
}

// TestExampleServerConnectionCapWakesOnIdle: a connection waiting at the
// cap is admitted as soon as a busy connection turns idle, not when the
// (here one-minute) idle timeout closes it.
func TestExampleServerConnectionCapWakesOnIdle(t *testing.T) {
	const max = 2
	base, _ := startServer(t, nil, "-db", exampleDB(t), "-max-conns", fmt.Sprint(max), "-read-timeout", "1m", "-idle-timeout", "1m")
	body := `{"email":"busy@example.com"}`
	busy := make([]net.Conn, max)
	for i := range busy {
		busy[i] = dial(t, base)
		fmt.Fprintf(busy[i], "POST /auth/signUpOrLogin HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	}
	waiting := dial(t, base)
	fmt.Fprint(waiting, "GET /favicon.svg HTTP/1.1\r\nHost: localhost\r\n\r\n")
	fmt.Fprint(busy[0], body) // its request ends; the connection turns idle
	busy[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if res, err := http.ReadResponse(bufio.NewReader(busy[0]), nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("busy request: %v %v", res, err)
	}
	waiting.SetReadDeadline(time.Now().Add(cutBound))
	if res, err := http.ReadResponse(bufio.NewReader(waiting), nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("waiting connection: %v %v", res, err)
	}
	for _, c := range append(busy, waiting) {
		c.Close()
	}
}

// TestConnLimitClosesLongestIdle: at the cap, a new connection closes the
// connection idle longest, not one that is busy or idle for less time, and
// each closed connection frees its slot once.
func TestConnLimitClosesLongestIdle(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newConnLimit(tcp, 3)
	defer l.Close()
	accept := func() (client, server net.Conn) {
		t.Helper()
		client = dial(t, "http://"+tcp.Addr().String())
		server, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return client, server
	}
	var clients, servers []net.Conn
	for range 3 {
		c, s := accept()
		clients, servers = append(clients, c), append(servers, s)
		l.track(s, http.StateNew)
	}
	l.track(servers[2], http.StateIdle) // idle longest
	l.track(servers[0], http.StateIdle)
	l.track(servers[1], http.StateActive) // busy
	c, s := accept()
	if got, err := closedByServer(clients[2]); err != nil || got != "" {
		t.Errorf("longest idle: %v, sent %q", err, got)
	}
	l.track(servers[2], http.StateIdle) // a late hook on a closed connection is ignored
	servers[2].Close()                  // the server's own close frees nothing more
	l.mu.Lock()
	open, idle := l.open, len(l.idle)
	l.mu.Unlock()
	if open != 3 || idle != 1 {
		t.Errorf("open %d, idle %d; want 3 and 1 (servers[0])", open, idle)
	}
	for _, sc := range append(servers, s) {
		sc.Close()
	}
	c.Close()
	l.mu.Lock()
	open, idle = l.open, len(l.idle)
	l.mu.Unlock()
	if open != 0 || idle != 0 {
		t.Errorf("after closing all: open %d, idle %d", open, idle)
	}
}

// TestExampleServerListensOnLoopbackByDefault: without -addr the demo, which
// prints its codes, is reachable from this machine only.
func TestExampleServerListensOnLoopbackByDefault(t *testing.T) {
	c, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:3000" {
		t.Errorf("default addr %q, want 127.0.0.1:3000", c.addr)
	}
	c, err = parseConfig(nil, func(k string) string { return map[string]string{"PASSKEYS_ADDR": ":4000"}[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != ":4000" {
		t.Errorf("PASSKEYS_ADDR=:4000 gave addr %q", c.addr)
	}
}
