// Command corbado-emulator serves the Corbado Backend API emulator of
// package passkeystest on its own, for trying the Corbado backend without
// a Corbado project:
//
//	go run ./examples/corbado-emulator -addr 127.0.0.1:8090 -rp-id localhost -origin http://localhost:3000
//
// It prints the project ID it accepts, and the API secret only when it is
// the built-in test secret, and then every one-time code it would have
// emailed, as a line holding email=<email> and code=<digits>, to stderr.
// Its users and passkeys live in memory and are gone when it stops.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/passkeyready/passkeys/passkeystest/corbadotest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "corbado-emulator:", err)
		os.Exit(1)
	}
}

// origins is the repeatable -origin flag.
type origins struct {
	values []string
	set    bool
}

func (o *origins) String() string { return strings.Join(o.values, ",") }
func (o *origins) Set(v string) error {
	if !o.set {
		o.values, o.set = nil, true
	}
	o.values = append(o.values, v)
	return nil
}

// flagNames turns the configuration fields named in the emulator's errors
// into the flags that set them.
var flagNames = strings.NewReplacer("Config.RPID", "-rp-id", "Config.Origins", "-origin")

// lineWriter writes whole lines from concurrent requests one at a time.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}

// run serves until ctx ends. When ready is not nil it receives the
// listener's address once the emulator accepts connections.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("corbado-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	rpID := fs.String("rp-id", "localhost", "WebAuthn relying party ID")
	projectID := fs.String("project-id", corbadotest.DefaultProjectID, "project ID to accept")
	secret := fs.String("api-secret", corbadotest.DefaultAPISecret, "API secret to accept")
	origin := &origins{values: []string{"http://localhost:3000"}}
	fs.Var(origin, "origin", "allowed origin, repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	out := &lineWriter{w: stderr}
	emu, err := corbadotest.New(corbadotest.Options{
		ProjectID: *projectID, APISecret: *secret, RPID: *rpID, Origins: origin.values,
		OnOTP: func(email, code string) {
			out.printf("corbado-emulator DEVELOPMENT ONLY otp email=%s code=%s", email, code)
		},
		Errorf: func(format string, args ...any) { out.printf("corbado-emulator: "+format, args...) },
	})
	if err != nil {
		return errors.New(flagNames.Replace(err.Error()))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	shown := "(set, not shown)"
	if emu.APISecret() == corbadotest.DefaultAPISecret {
		shown = emu.APISecret() + " (the built-in test secret)"
	}
	out.printf("corbado-emulator listening on http://%s (Backend API under /v2) project_id=%s api_secret=%s rp_id=%s origins=%s",
		ln.Addr(), emu.ProjectID(), shown, *rpID, origin)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
