// Command corbado-emulator serves the Corbado Backend API emulator of
// package passkeystest on its own, for trying the Corbado backend without
// a Corbado project:
//
//	go run ./examples/corbado-emulator -addr 127.0.0.1:8090 -rp-id localhost -origin http://localhost:3000
//
// -android-app PACKAGE:FINGERPRINT and -related-origin ORIGIN (both
// repeatable, with the PASSKEYS_ANDROID_APPS and PASSKEYS_RELATED_ORIGINS
// twins that examples/server reads too) stand for the project's
// native-app and origin settings: Corbado checks each passkey response's
// origin on its side, so the emulator accepts those apps' and sites'
// responses too. There is no -apple-app-id: an iOS app's clientDataJSON
// carries the web origin https://RPID, which -origin must list, and the
// apple-app-site-association document is served by the app's site
// (examples/server), not by Corbado.
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

	"github.com/passkeyready/passkeys/internal/nativeapp"
	"github.com/passkeyready/passkeys/passkeystest/corbadotest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "corbado-emulator:", err)
		os.Exit(1)
	}
}

// stringList is a repeatable flag: -origin, -android-app, -related-origin.
type stringList struct {
	values []string
	set    bool
}

func (o *stringList) String() string { return strings.Join(o.values, ",") }
func (o *stringList) Set(v string) error {
	if !o.set {
		o.values, o.set = nil, true
	}
	o.values = append(o.values, v)
	return nil
}

// flagNames turns the configuration fields named in the emulator's errors
// into the flags that set them.
var flagNames = strings.NewReplacer("Config.RPID", "-rp-id", "Config.Origins", "-origin",
	"Config.AndroidApps", "-android-app", "Config.RelatedOrigins", "-related-origin")

// envList is a repeatable flag whose default is the comma-separated
// environment variable name; a flag given replaces it.
func envList(getenv func(string) string, name string) *stringList {
	l := &stringList{}
	if v := getenv(name); v != "" {
		l.values = strings.Split(v, ",")
	}
	return l
}

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

// run serves until ctx ends, reading the environment with getenv. When
// ready is not nil it receives the listener's address once the emulator
// accepts connections.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("corbado-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	rpID := fs.String("rp-id", "localhost", "WebAuthn relying party ID")
	projectID := fs.String("project-id", corbadotest.DefaultProjectID, "project ID to accept")
	secret := fs.String("api-secret", corbadotest.DefaultAPISecret, "API secret to accept")
	origin := &stringList{values: []string{"http://localhost:3000"}}
	fs.Var(origin, "origin", "allowed origin, repeatable")
	androidApps, related := envList(getenv, "PASSKEYS_ANDROID_APPS"), envList(getenv, "PASSKEYS_RELATED_ORIGINS")
	fs.Var(androidApps, "android-app", "Android app whose passkey responses the project accepts, PACKAGE:SHA256_FINGERPRINT (AB:CD:…, as the Play Console shows), repeatable; repeat a package for each of its certificates (PASSKEYS_ANDROID_APPS, comma-separated)")
	fs.Var(related, "related-origin", "web origin on another site whose passkey responses the project accepts for -rp-id, repeatable (PASSKEYS_RELATED_ORIGINS, comma-separated)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	apps, err := nativeapp.ParseAndroidAppFlags("-android-app", androidApps.values)
	if err != nil {
		return err
	}
	if err := nativeapp.CheckRelatedOrigins("-related-origin", related.values); err != nil {
		return err
	}
	out := &lineWriter{w: stderr}
	emu, err := corbadotest.New(corbadotest.Options{
		ProjectID: *projectID, APISecret: *secret, RPID: *rpID, Origins: origin.values,
		AndroidApps: apps, RelatedOrigins: related.values,
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
	out.printf("corbado-emulator listening on http://%s (Backend API under /v2) project_id=%s api_secret=%s rp_id=%s origins=%s android_apps=%s related_origins=%s",
		ln.Addr(), emu.ProjectID(), shown, *rpID, origin, androidApps, related)
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
