// Command server is a runnable example: it mounts the passkey handler under
// /auth/ and protects GET /api/me with the session guard.
//
//	go run ./examples/server
//
// then open http://localhost:3000. One-time codes are printed to stderr by
// the development sender. Every flag has a PASSKEYS_* environment
// equivalent; flags win.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/nativeapp"
	"github.com/passkeyready/passkeys/mailer"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
	"github.com/passkeyready/passkeys/selfhosted/pgstore"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// now is the example's clock, shared by the handler, the engine and the
// sessions. Tests replace it before run to move time on instead of waiting.
var now = time.Now

type config struct {
	addr        string
	db          string
	rpID        string
	origins     []string
	jwtSecret   string
	postgres    string
	pgSchema    string // pgstore.WithSchema
	store       string // "sqlite", "postgres" or "memory"
	sqliteAlone bool   // sqlitestore.Options.SingleProcess
	startRate   int
	sessions    string   // "store" or "jwt"
	cookie      bool     // cookie sessions for the -origin pages
	cors        []string // origins allowed by CORS
	metricsAddr string   // where /metrics listens, "" for none
	pprofAddr   string   // where /debug/pprof/ listens, "" for none
	smtp        smtpConfig
	limits      limits
	// The native apps and related origins: accepted by the engine and
	// published by the well-known documents at the root.
	wellKnown passkeys.WellKnownOptions
}

// smtpConfig chooses the code sender: SMTP when url is set, the
// development sender (codes on stderr) otherwise.
type smtpConfig struct {
	url                string
	from               string
	plaintextLocalhost bool
}

// stringList is a repeatable flag.
type stringList struct {
	values []string
	set    bool
}

func (l *stringList) String() string { return strings.Join(l.values, ",") }
func (l *stringList) Set(v string) error {
	if !l.set {
		l.values, l.set = nil, true
	}
	l.values = append(l.values, v)
	return nil
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", env("PASSKEYS_ADDR", "127.0.0.1:3000"), "listen address; the default reaches this machine only, 0.0.0.0:3000 or :3000 listens on every interface (PASSKEYS_ADDR)")
	fs.StringVar(&c.db, "db", env("PASSKEYS_DB", "./passkeys.db"), "SQLite database file (PASSKEYS_DB)")
	fs.StringVar(&c.rpID, "rp-id", env("PASSKEYS_RP_ID", "localhost"), "WebAuthn relying party ID (PASSKEYS_RP_ID)")
	origins := &stringList{values: strings.Split(env("PASSKEYS_ORIGIN", "http://localhost:3000"), ",")}
	fs.Var(origins, "origin", "allowed origin, repeatable (PASSKEYS_ORIGIN, comma-separated)")
	fs.StringVar(&c.jwtSecret, "jwt-secret", env("PASSKEYS_JWT_SECRET", ""), "demo JWT key, at least 32 bytes, from which the OTP key is derived too (PASSKEYS_JWT_SECRET); default: generated and kept next to the database")
	fs.StringVar(&c.postgres, "postgres", env("PASSKEYS_POSTGRES", ""), "PostgreSQL DSN; use PostgreSQL instead of SQLite, for several instances (PASSKEYS_POSTGRES)")
	fs.StringVar(&c.pgSchema, "postgres-schema", env("PASSKEYS_POSTGRES_SCHEMA", pgstore.DefaultSchema), "PostgreSQL only: the schema that holds the store's tables, created if missing (pgstore.WithSchema) (PASSKEYS_POSTGRES_SCHEMA)")
	fs.StringVar(&c.store, "store", env("PASSKEYS_STORE", ""), "store: sqlite (-db), postgres (-postgres) or memory: FOR MEASUREMENT ONLY, every account, passkey and session is lost when the process exits (PASSKEYS_STORE); default: postgres when -postgres is set, sqlite otherwise")
	fs.BoolVar(&c.sqliteAlone, "sqlite-single-process", envBool(getenv, "PASSKEYS_SQLITE_SINGLE_PROCESS"), "SQLite only: lock the -db file for this process alone and keep ceremonies in progress in memory, which a restart loses (sqlitestore.Options.SingleProcess) (PASSKEYS_SQLITE_SINGLE_PROCESS=true)")
	fs.IntVar(&c.startRate, "start-limit", envInt(getenv, "PASSKEYS_START_LIMIT", 0), "passkey login/mediation starts allowed per minute per client IP; 0 = library default (600), -1 = unlimited, e.g. for a load test from one address (PASSKEYS_START_LIMIT)")
	fs.StringVar(&c.sessions, "sessions", env("PASSKEYS_SESSIONS", "store"), "session system: store (revocable sessions kept in the database) or jwt (the demo JWT, not revocable) (PASSKEYS_SESSIONS)")
	fs.BoolVar(&c.cookie, "cookie", envBool(getenv, "PASSKEYS_COOKIE"), "keep the session in an HttpOnly cookie for the -origin pages, with a cross-origin check on unsafe requests (PASSKEYS_COOKIE=true)")
	cors := &stringList{}
	if v := getenv("PASSKEYS_CORS_ORIGINS"); v != "" {
		cors.values = strings.Split(v, ",")
	}
	fs.StringVar(&c.metricsAddr, "metrics-addr", env("PASSKEYS_METRICS_ADDR", ""), "serve Prometheus metrics at /metrics on this address, on its own listener; a bare :port listens on 127.0.0.1 (PASSKEYS_METRICS_ADDR); default: off")
	fs.StringVar(&c.pprofAddr, "pprof-addr", env("PASSKEYS_PPROF_ADDR", ""), "serve Go runtime profiles at /debug/pprof/ on this loopback address, on its own listener, for measurement; a bare :port listens on 127.0.0.1 (PASSKEYS_PPROF_ADDR); default: off")
	fs.StringVar(&c.smtp.url, "smtp", env("PASSKEYS_SMTP", ""), "send codes by SMTP: smtp://user:pass@host:587 (STARTTLS required) or smtps://user:pass@host:465 (PASSKEYS_SMTP); default: print them to stderr")
	fs.StringVar(&c.smtp.from, "mail-from", env("PASSKEYS_MAIL_FROM", ""), "sender address of the code emails, e.g. 'Example <no-reply@example.com>'; required with -smtp (PASSKEYS_MAIL_FROM)")
	fs.BoolVar(&c.smtp.plaintextLocalhost, "smtp-insecure-plaintext-localhost", envBool(getenv, "PASSKEYS_SMTP_INSECURE_PLAINTEXT_LOCALHOST"), "allow an smtp://localhost server without STARTTLS, such as a development mail catcher (PASSKEYS_SMTP_INSECURE_PLAINTEXT_LOCALHOST=true)")
	androidApps, appleApps, related := envList(getenv, "PASSKEYS_ANDROID_APPS"), envList(getenv, "PASSKEYS_APPLE_APP_IDS"), envList(getenv, "PASSKEYS_RELATED_ORIGINS")
	fs.Var(androidApps, "android-app", "Android app allowed to use the passkeys, PACKAGE:SHA256_FINGERPRINT (AB:CD:…, as the Play Console shows), repeatable; repeat a package for each of its certificates (PASSKEYS_ANDROID_APPS, comma-separated)")
	fs.Var(appleApps, "apple-app-id", "iOS app allowed to use the passkeys, TEAMID.BUNDLE_ID, repeatable (PASSKEYS_APPLE_APP_IDS, comma-separated)")
	fs.Var(related, "related-origin", "web origin on another site allowed to use the passkeys of -rp-id, repeatable (PASSKEYS_RELATED_ORIGINS, comma-separated)")
	fs.Var(cors, "cors-origin", "origin of another site's pages allowed to call the API by CORS, repeatable (PASSKEYS_CORS_ORIGINS, comma-separated)")
	l, d := &c.limits, defaultLimits
	fs.DurationVar(&l.readHeaderTimeout, "read-header-timeout", envDuration(getenv, "PASSKEYS_READ_HEADER_TIMEOUT", d.readHeaderTimeout), "time a client has to send a request's headers (PASSKEYS_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&l.readTimeout, "read-timeout", envDuration(getenv, "PASSKEYS_READ_TIMEOUT", d.readTimeout), "time a client has to send a whole request, body included (PASSKEYS_READ_TIMEOUT)")
	fs.DurationVar(&l.writeTimeout, "write-timeout", envDuration(getenv, "PASSKEYS_WRITE_TIMEOUT", d.writeTimeout), "time from the end of a request's headers to the end of its response (PASSKEYS_WRITE_TIMEOUT)")
	fs.DurationVar(&l.idleTimeout, "idle-timeout", envDuration(getenv, "PASSKEYS_IDLE_TIMEOUT", d.idleTimeout), "time a keep-alive connection may wait for its next request (PASSKEYS_IDLE_TIMEOUT)")
	fs.IntVar(&l.maxHeaderBytes, "max-header-bytes", envInt(getenv, "PASSKEYS_MAX_HEADER_BYTES", d.maxHeaderBytes), "cap on a request's line and headers (PASSKEYS_MAX_HEADER_BYTES)")
	fs.IntVar(&l.maxConns, "max-conns", envInt(getenv, "PASSKEYS_MAX_CONNS", d.maxConns), "connections open at once; at the cap the longest-idle one is closed, or new ones wait (PASSKEYS_MAX_CONNS)")
	fs.Int64Var(&l.maxBodyBytes, "max-body-bytes", int64(envInt(getenv, "PASSKEYS_MAX_BODY_BYTES", int(d.maxBodyBytes))), "cap on a request's body, at most 1048576 (PASSKEYS_MAX_BODY_BYTES)")
	err := fs.Parse(args)
	if err != nil {
		return c, err
	}
	c.origins = origins.values
	c.cors = cors.values
	if c.smtp.url == "" && (c.smtp.from != "" || c.smtp.plaintextLocalhost) {
		return c, errors.New("-mail-from and -smtp-insecure-plaintext-localhost need -smtp")
	}
	if c.smtp.url != "" && c.smtp.from == "" {
		return c, errors.New("-smtp needs -mail-from (PASSKEYS_MAIL_FROM), the sender of the code emails, e.g. 'Example <no-reply@example.com>'")
	}
	switch {
	case c.store == "":
		c.store = "sqlite"
		if c.postgres != "" {
			c.store = "postgres"
		}
	case c.store == "postgres" && c.postgres == "":
		return c, errors.New("-store postgres needs -postgres (PASSKEYS_POSTGRES), the DSN")
	case c.store != "postgres" && c.store != "sqlite" && c.store != "memory":
		return c, fmt.Errorf("-store must be sqlite, postgres or memory, got %q", c.store)
	case c.store != "postgres" && c.postgres != "":
		return c, fmt.Errorf("-postgres is set but -store is %s", c.store)
	}
	if c.pgSchema != pgstore.DefaultSchema && c.store != "postgres" {
		return c, fmt.Errorf("-postgres-schema is set but -store is %s", c.store)
	}
	if c.sqliteAlone && c.store != "sqlite" {
		return c, fmt.Errorf("-sqlite-single-process is set but -store is %s", c.store)
	}
	if c.wellKnown, err = nativeConfig(c.origins, androidApps.values, appleApps.values, related.values); err != nil {
		return c, err
	}
	if c.sessions != "store" && c.sessions != "jwt" {
		return c, fmt.Errorf("-sessions must be store or jwt, got %q", c.sessions)
	}
	for name, v := range map[string]time.Duration{
		"-read-header-timeout": l.readHeaderTimeout, "-read-timeout": l.readTimeout,
		"-write-timeout": l.writeTimeout, "-idle-timeout": l.idleTimeout,
	} {
		if v <= 0 {
			return c, fmt.Errorf("%s must be positive: without it a client may hold a connection for ever", name)
		}
	}
	if l.maxConns <= 0 {
		return c, errors.New("-max-conns must be positive")
	}
	if l.maxHeaderBytes <= 0 {
		return c, errors.New("-max-header-bytes must be positive")
	}
	if l.maxBodyBytes <= 0 || l.maxBodyBytes > 1<<20 {
		return c, errors.New("-max-body-bytes must be between 1 and 1048576")
	}
	return c, nil
}

// otpSender is the SMTP sender of c, or the development sender when c
// names no server.
func otpSender(c smtpConfig, stderr io.Writer) (passkeys.OTPSender, error) {
	if c.url == "" {
		return &passkeys.DevelopmentOTPSender{W: stderr}, nil
	}
	s, err := mailer.New(mailer.Config{URL: c.url, From: c.from, InsecurePlaintextLocalhost: c.plaintextLocalhost})
	if err != nil {
		return nil, fmt.Errorf("-smtp: %w", err)
	}
	return s, nil
}

// envList is a repeatable flag whose default is the comma-separated
// environment variable name.
func envList(getenv func(string) string, name string) *stringList {
	l := &stringList{}
	if v := getenv(name); v != "" {
		l.values = strings.Split(v, ",")
	}
	return l
}

// nativeConfig checks the -android-app, -apple-app-id and
// -related-origin values, naming the flag, and turns them into the
// well-known options (fingerprints of one package merged into one app).
func nativeConfig(origins, androidApps, appleApps, related []string) (passkeys.WellKnownOptions, error) {
	var wk passkeys.WellKnownOptions
	for _, o := range origins {
		if strings.HasPrefix(o, nativeapp.AndroidOriginPrefix) {
			return wk, fmt.Errorf("-origin %q is an Android app's origin: give the app as -android-app PACKAGE:FINGERPRINT instead", o)
		}
	}
	apps, err := nativeapp.ParseAndroidAppFlags("-android-app", androidApps)
	if err != nil {
		return wk, err
	}
	wk.AndroidApps = apps
	for _, id := range appleApps {
		if err := nativeapp.CheckAppleAppID(id); err != nil {
			return wk, fmt.Errorf("-apple-app-id %q %s", id, err)
		}
	}
	if err := nativeapp.CheckRelatedOrigins("-related-origin", related); err != nil {
		return wk, err
	}
	for _, o := range related {
		if slices.Contains(origins, o) {
			return wk, fmt.Errorf("-related-origin %q is also an -origin: a related origin is on another site than -rp-id", o)
		}
	}
	wk.AppleAppIDs, wk.RelatedOrigins = appleApps, related
	return wk, nil
}

func envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(getenv(name)); err == nil {
		return v
	}
	return def
}

// envBool is true for PASSKEYS_X=true (or 1, t, TRUE...) and false for
// anything else, unset included.
func envBool(getenv func(string) string, name string) bool {
	v, _ := strconv.ParseBool(getenv(name))
	return v
}

func envInt(getenv func(string) string, name string, def int) int {
	if v, err := strconv.Atoi(getenv(name)); err == nil {
		return v
	}
	return def
}

// run serves until ctx ends. When ready is not nil it receives the
// listener's address once the server accepts connections.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) error {
	c, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if c.store == "memory" {
		logger.Warn("-store memory: FOR MEASUREMENT ONLY; every account, passkey, session and pending ceremony is kept in this process and lost when it exits")
	}
	secret, err := jwtSecret(c, logger)
	if err != nil {
		return err
	}
	store, limiter, closeStore, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer closeStore()
	sender, err := otpSender(c.smtp, stderr)
	if err != nil {
		return err
	}
	corbado, err := corbadoBackend(getenv, store, logger)
	if err != nil {
		return err
	}
	trail := activityTrail(store, corbado != nil, logger)
	obs, err := newObservability(c, logger, stderr, sender, trail)
	if err != nil {
		return err
	}
	engine, err := selfhosted.New(selfhosted.Config{
		RPID:           c.rpID,
		Origins:        c.origins,
		AndroidApps:    c.wellKnown.AndroidApps,
		AppleAppIDs:    c.wellKnown.AppleAppIDs,
		RelatedOrigins: c.wellKnown.RelatedOrigins,
		Store:          store,
		OTPSender:      obs.sender,
		OTPKey:         derive(secret, "passkeys otp key"),
		Clock:          now,
	})
	if err != nil {
		return err
	}
	var backend passkeys.Backend = engine
	name := "self-hosted"
	if corbado != nil {
		backend, name = corbado, "corbado"
	}
	opts := passkeys.Options{Backend: backend, JWTKey: secret, Logger: logger, Limiter: limiter, MaxBodyBytes: c.limits.maxBodyBytes, Clock: now}
	if c.sessions == "store" {
		ss, ok := store.(selfhosted.SessionStore)
		if !ok {
			return errors.New("-sessions store: the store keeps no sessions; use -sessions jwt")
		}
		sessions, err := selfhosted.NewSessions(ss, selfhosted.SessionsConfig{Clock: now})
		if err != nil {
			return err
		}
		opts.SessionIssuer, opts.SessionVerifier = sessions, sessions
	}
	if c.cookie {
		opts.Cookie = &passkeys.CookieOptions{Origins: c.origins}
	}
	opts.CORS.Origins = c.cors
	if c.startRate != 0 {
		opts.StartLimit = passkeys.Rate{Events: c.startRate, Per: time.Minute}
	}
	opts.Events = obs.sink
	if trail != nil {
		opts.Activity = trail
	}
	auth, err := passkeys.New(opts)
	if err != nil {
		return err
	}
	stopMetrics, err := obs.serveMetrics(ctx, c, auth, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	stopPprof, err := servePprof(ctx, c.pprofAddr, logger)
	if err != nil {
		return err
	}
	defer stopPprof()

	tcp, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	ln := newConnLimit(tcp, c.limits.maxConns)
	wkOpts := c.wellKnown
	wkOpts.Logger = logger
	wellKnown, err := passkeys.WellKnown(wkOpts)
	if err != nil {
		return err
	}
	srv := newServer(routes(auth, wellKnown), c.limits, logger, ln)
	logger.Info("passkeys example server listening", "addr", ln.Addr().String(), "rp_id", c.rpID, "origins", strings.Join(c.origins, ","), "store", storeName(c), "backend", name, "sessions", c.sessions, "cookie", c.cookie, "cors_origins", strings.Join(c.cors, ","))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	_ = auth.FlushEvents(shutdown)
	return err
}

func storeName(c config) string {
	if c.store == "sqlite" {
		return "sqlite " + c.db
	}
	return c.store
}

// openStore opens the store c names. On PostgreSQL the rate limits live in
// the database too, so they hold across instances; on SQLite and in memory
// the limiter is nil (in memory).
func openStore(ctx context.Context, c config) (selfhosted.Store, passkeys.Limiter, func(), error) {
	switch c.store {
	case "memory":
		return memstore.New(), nil, func() {}, nil
	case "postgres":
		s, err := pgstore.Open(ctx, c.postgres, pgstore.WithSchema(c.pgSchema))
		if err != nil {
			return nil, nil, nil, err
		}
		return s, s, s.Close, nil
	}
	s, err := sqlitestore.OpenWith(c.db, sqlitestore.Options{SingleProcess: c.sqliteAlone})
	if err != nil {
		return nil, nil, nil, err
	}
	return s, nil, func() { s.Close() }, nil
}

// activityTrail is the audit trail that GET /auth/account/activity lists,
// kept in store (every store of the example has one; nil for a store
// without). With the Corbado backend the accounts live at Corbado, not in
// store, so the trail sees only store's activity records: an event known
// by its email alone (a wrong code during sign-in) is not stored, rather
// than looked up among accounts that store may hold from a self-hosted
// past.
func activityTrail(store selfhosted.Store, corbado bool, logger *slog.Logger) *selfhosted.ActivitySink {
	as, ok := store.(selfhosted.ActivityStore)
	if !ok {
		return nil
	}
	if corbado {
		as = struct{ selfhosted.ActivityStore }{as}
	}
	return selfhosted.NewActivitySink(as, logger)
}

// corbadoBackend returns the Corbado backend when CORBADO_PROJECT_ID and
// CORBADO_API_SECRET are set (CORBADO_BACKEND_API optionally points at
// another base URL, such as the emulator), and nil otherwise. Its pending
// ceremonies are kept in the store, so they too are shared by instances.
func corbadoBackend(getenv func(string) string, store selfhosted.Store, logger *slog.Logger) (passkeys.Backend, error) {
	pid, secret := getenv("CORBADO_PROJECT_ID"), getenv("CORBADO_API_SECRET")
	if pid == "" && secret == "" {
		return nil, nil
	}
	return passkeys.NewCorbado(passkeys.CorbadoOptions{
		ProjectID: pid, APISecret: secret, BaseURL: getenv("CORBADO_BACKEND_API"),
		Ceremonies: selfhosted.Keeper(store), Logger: logger,
	})
}

// me is the application's own protected route.
func me(w http.ResponseWriter, r *http.Request) {
	u, _ := passkeys.UserFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]passkeys.User{"user": u})
}

// jwtSecret returns the configured key or, for development, one generated
// once and kept in a file next to the database.
func jwtSecret(c config, logger *slog.Logger) ([]byte, error) {
	if c.jwtSecret != "" {
		if len(c.jwtSecret) < passkeys.MinJWTKeyLen {
			return nil, fmt.Errorf("-jwt-secret must be at least %d bytes", passkeys.MinJWTKeyLen)
		}
		return []byte(c.jwtSecret), nil
	}
	if c.store == "memory" {
		// Nothing outlives the process, so neither does the key.
		key := make([]byte, 32)
		_, err := rand.Read(key)
		return key, err
	}
	if c.postgres != "" {
		return nil, errors.New("-postgres needs -jwt-secret (PASSKEYS_JWT_SECRET): instances sharing a database must share the key")
	}
	path := c.db + ".jwt-secret"
	logger.Warn("no -jwt-secret given: using a development key kept in a file next to the database; set PASSKEYS_JWT_SECRET in production", "file", path)
	if b, err := os.ReadFile(path); err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < passkeys.MinJWTKeyLen {
			return nil, fmt.Errorf("%s does not hold a hex key of at least %d bytes", path, passkeys.MinJWTKeyLen)
		}
		return key, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// derive gives each purpose its own key from one secret.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
