// Command existing-app is a small service that already has users with
// passwords (bcrypt) and its own cookie sessions (alexedwards/scs), and adds
// passkeys to them by mounting a passkeys.Handler under /auth/ with the
// self-hosted engine on SQLite.
//
// The app keeps its first factor, so it switches the OTP sign-up off, and it
// bridges the handler's two session seams to its own scs session:
//
//   - SessionVerifier (adding and listing passkeys): the guard is handed a
//     "passkey token", a random value the app keeps inside the user's scs
//     session and renders into the page it serves that user. The verifier
//     accepts it only when the request also carries that same scs session's
//     cookie, and returns the app's own user ID and email. The token is
//     useless without the HttpOnly cookie, and a cross-site page cannot read
//     it, so it doubles as the CSRF token of the passkey routes; scs's own
//     session token never reaches a script.
//   - SessionIssuer (passkey sign-in by button or autofill): the handler has
//     verified the passkey and names the app's user ID (the engine returns
//     the host's IDs for the users it created on their first passkey). The
//     issuer renews scs's token, stores the user ID in the scs session, which
//     scs writes as its cookie on the same response, and returns a fresh
//     passkey token as the sessionToken. From then on the app's own routes
//     work with scs's cookie alone.
//
// Run it with
//
//	go run ./examples/existing-app -add-user alice@example.com   # reads a password from stdin
//	go run ./examples/existing-app
//
// and open http://localhost:8080.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	origin := flag.String("origin", "http://localhost:8080", "the origin browsers open the app on (passkeys are bound to its host)")
	dbPath := flag.String("db", "existing-app.db", "SQLite file of the app's users and sessions")
	pkPath := flag.String("passkeys-db", "existing-app-passkeys.db", "SQLite file of the passkey engine")
	addUser := flag.String("add-user", "", "create a password user with this email (password read from stdin) and exit")
	flag.Parse()

	db, err := OpenDB(*dbPath)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if *addUser != "" {
		fmt.Fprint(os.Stderr, "password: ")
		pw, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && pw == "" {
			log.Fatal(err)
		}
		id, err := CreateUser(context.Background(), db, *addUser, strings.TrimRight(pw, "\r\n"))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("created user", id)
		return
	}
	store, err := sqlitestore.Open(*pkPath)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := NewApp(Config{DB: db, PasskeyStore: store, Origin: *origin})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s (open %s)", *addr, *origin)
	srv := &http.Server{Addr: *addr, Handler: app, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// OpenDB opens the app's own database and creates its tables: users with
// bcrypt password hashes, and the scs sessions.
func OpenDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`
CREATE TABLE IF NOT EXISTS users (
	id INTEGER PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,
	password_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
	token TEXT PRIMARY KEY,
	data BLOB NOT NULL,
	expiry INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expiry);`)
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// CreateUser adds a password user and returns their ID. The email is kept
// trimmed and lower-cased, the form the passkey handler gives addresses.
func CreateUser(ctx context.Context, db *sql.DB, email, password string) (string, error) {
	email = canonicalEmail(email)
	if email == "" || !strings.Contains(email, "@") {
		return "", errors.New("an email address is required")
	}
	if len(password) < 8 {
		return "", errors.New("the password needs at least 8 characters")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	res, err := db.ExecContext(ctx, `INSERT INTO users (email, password_hash) VALUES (?, ?)`, email, hash)
	if err != nil {
		return "", fmt.Errorf("create user %s: %w", email, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(id, 10), nil
}

func canonicalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Config configures the app.
type Config struct {
	// DB is the app's database, prepared by OpenDB.
	DB *sql.DB
	// PasskeyStore keeps the passkey engine's records.
	PasskeyStore selfhosted.Store
	// Origin is the origin browsers open the app on, such as
	// "http://localhost:8080"; passkeys are bound to its host.
	Origin string
	// Logger receives the passkey handler's lines. Default slog.Default().
	Logger *slog.Logger
}

// App is the service: its own password sign-in and scs sessions, with the
// passkey handler mounted under /auth/.
type App struct {
	db      *sql.DB
	sm      *scs.SessionManager
	handler http.Handler
}

// The keys of the app's scs session.
const (
	keyUserID       = "userID"
	keyPasskeyToken = "passkeyToken"
	keyMethod       = "signedInWith"
)

// NewApp builds the app.
func NewApp(c Config) (*App, error) {
	u, err := url.Parse(c.Origin)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("origin %q is not an origin such as http://localhost:8080", c.Origin)
	}
	a := &App{db: c.DB, sm: scs.New()}
	a.sm.Store = sqlSessionStore{c.DB}
	a.sm.Lifetime = 12 * time.Hour
	a.sm.IdleTimeout = 2 * time.Hour
	a.sm.Cookie.Name = "app_session"
	a.sm.Cookie.HttpOnly = true
	a.sm.Cookie.SameSite = http.SameSiteLaxMode
	a.sm.Cookie.Secure = u.Scheme == "https"

	engine, err := selfhosted.New(selfhosted.Config{
		RPID:    u.Hostname(),
		RPName:  "Existing App",
		Origins: []string{c.Origin},
		Store:   c.PasskeyStore,
		// The app signs users in with passwords and never sends a code;
		// the engine still requires a sender.
		OTPSender: noOTP{},
	})
	if err != nil {
		return nil, err
	}
	bridge := &sessionBridge{sm: a.sm, db: c.DB}
	opts := passkeys.Options{
		Backend:         engine,
		SessionIssuer:   bridge,
		SessionVerifier: bridge,
		Logger:          c.Logger,
		// The app's first factor is its password: the OTP sign-up is off
		// (signUpOrLogin answers 404), and noOTP refuses to send a code
		// should anything still ask the engine for one.
		DisableOTP: true,
	}
	pk, err := passkeys.New(opts)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", pk))
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /signin", a.signIn)
	mux.HandleFunc("POST /signout", a.signOut)
	mux.Handle("GET /api/me", a.requireUser(http.HandlerFunc(a.me)))
	// scs loads the session for every route, /auth/ included: the bridge
	// reads and renews it there. CrossOriginProtection refuses cross-site
	// form posts to the app's own routes (sign-in, sign-out).
	a.handler = a.sm.LoadAndSave(http.NewCrossOriginProtection().Handler(mux))
	return a, nil
}

// ServeHTTP serves the app.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// signIn checks an email and password against the app's users and signs
// the user into the app's scs session.
func (a *App) signIn(w http.ResponseWriter, r *http.Request) {
	email := canonicalEmail(r.PostFormValue("email"))
	var id int64
	var hash []byte
	err := a.db.QueryRowContext(r.Context(), `SELECT id, password_hash FROM users WHERE email = ?`, email).Scan(&id, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Spend the same time as a wrong password, so the answer does not
		// tell which emails have accounts.
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(r.PostFormValue("password")))
		http.Error(w, "Wrong email or password.", http.StatusUnauthorized)
		return
	case err != nil:
		http.Error(w, "Try again shortly.", http.StatusServiceUnavailable)
		return
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(r.PostFormValue("password"))) != nil {
		http.Error(w, "Wrong email or password.", http.StatusUnauthorized)
		return
	}
	if err := a.sm.RenewToken(r.Context()); err != nil {
		http.Error(w, "Try again shortly.", http.StatusServiceUnavailable)
		return
	}
	a.sm.Put(r.Context(), keyUserID, strconv.FormatInt(id, 10))
	a.sm.Put(r.Context(), keyPasskeyToken, randomToken())
	a.sm.Put(r.Context(), keyMethod, "password")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), bcrypt.DefaultCost)

// signOut ends the app's session; the passkey token inside it goes with it.
func (a *App) signOut(w http.ResponseWriter, r *http.Request) {
	if err := a.sm.Destroy(r.Context()); err != nil {
		http.Error(w, "Try again shortly.", http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type userKey struct{}

// requireUser lets a request through only with a signed-in scs session, and
// puts the app's user into its context.
func (a *App) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := lookupUser(r.Context(), a.db, a.sm.GetString(r.Context(), keyUserID))
		if err != nil {
			http.Error(w, "Sign in first.", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

// me is the app's own protected API: who is signed in, how, and the
// passkey token the page hands to the passkey routes.
func (a *App) me(w http.ResponseWriter, r *http.Request) {
	u := r.Context().Value(userKey{}).(passkeys.User)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"id":           u.ID,
		"email":        u.Email,
		"signedInWith": a.sm.GetString(r.Context(), keyMethod),
		"passkeyToken": a.sm.GetString(r.Context(), keyPasskeyToken),
	})
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	var data struct {
		User         *passkeys.User
		PasskeyToken string
	}
	if u, err := lookupUser(r.Context(), a.db, a.sm.GetString(r.Context(), keyUserID)); err == nil {
		data.User = &u
		data.PasskeyToken = a.sm.GetString(r.Context(), keyPasskeyToken)
	}
	w.Header().Set("Cache-Control", "no-store")
	if err := page.Execute(w, data); err != nil {
		slog.Error("render home", "err", err)
	}
}

// lookupUser reads the app's user with id; an unknown or empty id is an
// error wrapping passkeys.ErrUnauthorized.
func lookupUser(ctx context.Context, db *sql.DB, id string) (passkeys.User, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return passkeys.User{}, passkeys.ErrUnauthorized
	}
	u := passkeys.User{ID: id}
	err = db.QueryRowContext(ctx, `SELECT email FROM users WHERE id = ?`, n).Scan(&u.Email)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return passkeys.User{}, passkeys.ErrUnauthorized.With("The account no longer exists.", nil)
	case err != nil:
		return passkeys.User{}, passkeys.ErrUnavailable.With("", err)
	}
	return u, nil
}

// sessionBridge is the app's SessionIssuer and SessionVerifier: both work
// on the scs session that LoadAndSave put into the request's context.
type sessionBridge struct {
	sm *scs.SessionManager
	db *sql.DB
}

var (
	_ passkeys.SessionIssuer   = (*sessionBridge)(nil)
	_ passkeys.SessionVerifier = (*sessionBridge)(nil)
)

// VerifySession accepts token when it is the passkey token of the scs
// session whose cookie came with the request, and returns the app's user of
// that session: the app's own ID and email, which the engine keys its
// passkeys by.
func (b *sessionBridge) VerifySession(ctx context.Context, token string) (passkeys.User, error) {
	want := b.sm.GetString(ctx, keyPasskeyToken)
	if want == "" || subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
		return passkeys.User{}, passkeys.ErrUnauthorized
	}
	return lookupUser(ctx, b.db, b.sm.GetString(ctx, keyUserID))
}

// IssueSession signs u, whom a passkey has just proved, into the app's own
// session: a new scs token (no session fixation), the user ID, and a new
// passkey token, returned as the sessionToken. scs writes its cookie on
// this response.
func (b *sessionBridge) IssueSession(ctx context.Context, u passkeys.User) (string, error) {
	if _, err := lookupUser(ctx, b.db, u.ID); err != nil {
		return "", err
	}
	if err := b.sm.RenewToken(ctx); err != nil {
		return "", passkeys.ErrUnavailable.With("", err)
	}
	token := randomToken()
	b.sm.Put(ctx, keyUserID, u.ID)
	b.sm.Put(ctx, keyPasskeyToken, token)
	b.sm.Put(ctx, keyMethod, signInMethod(ctx))
	return token, nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// noOTP is the engine's OTPSender for an app that never sends codes.
type noOTP struct{}

func (noOTP) SendOTP(context.Context, string, string, time.Duration) error {
	return errors.New("this app signs users in with passwords; it sends no codes")
}

// sqlSessionStore is an scs.Store on the app's SQLite database.
type sqlSessionStore struct{ db *sql.DB }

var _ scs.Store = sqlSessionStore{}

func (s sqlSessionStore) Find(token string) ([]byte, bool, error) {
	var b []byte
	err := s.db.QueryRow(`SELECT data FROM sessions WHERE token = ? AND expiry > ?`, token, time.Now().UnixMicro()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (s sqlSessionStore) Commit(token string, b []byte, expiry time.Time) error {
	_, err := s.db.Exec(`INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)
ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, token, b, expiry.UnixMicro())
	if err == nil {
		// Bounded inline purge of expired sessions instead of a goroutine.
		_, err = s.db.Exec(`DELETE FROM sessions WHERE token IN (SELECT token FROM sessions WHERE expiry <= ? LIMIT 100)`, time.Now().UnixMicro())
	}
	return err
}

func (s sqlSessionStore) Delete(token string) error {
	_, err := s.db.Exec(`DELETE FROM sessions WHERE token = ?`, token)
	return err
}
