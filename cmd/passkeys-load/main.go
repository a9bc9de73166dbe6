// Command passkeys-load drives full passkey ceremonies over HTTP against a
// passkeys server running on this machine, and prints throughput, latency
// percentiles and errors.
//
//	go build -o /tmp/pk-server ./examples/server
//	/tmp/pk-server -addr 127.0.0.1:3000 -db /tmp/load.db -start-limit -1 2>/tmp/server.log &
//	go run ./cmd/passkeys-load -target http://127.0.0.1:3000 -otp-log /tmp/server.log \
//		-users 8 -duration 60s -pid $!
//
// Setup signs up each virtual user with a one-time code, read from the
// file the server's development OTP sender writes to (-otp-log), and
// registers a passkey with a software authenticator (package
// passkeystest). Then every user loops login ceremonies (login start,
// authenticator, login finish) until the duration or the operation count
// runs out. With -mix register=0.1 one operation in ten is instead a
// registration on a new device (append start and finish), followed by the
// deletion of that passkey so that accounts keep one passkey each.
//
// -login autofill runs autofill logins (mediation start and finish, no
// email) instead of button logins. -warmup runs the load for a while before
// the measured run and discards it.
//
// -compare memory,sqlite,postgres starts the example server (-server, a
// binary built from ./examples/server) once per store and round on a free
// loopback port, with its log in a temporary directory as the OTP log, runs
// the same load against each in turn for -rounds rounds, and prints the
// medians of each store with its login rate as a share of the first
// store's:
//
//	go build -o /tmp/pk-server ./examples/server
//	go run ./cmd/passkeys-load -compare memory,sqlite,postgres -server /tmp/pk-server \
//		-postgres 'postgres://root@127.0.0.1:5432/test?sslmode=disable' \
//		-login autofill -warmup 2s -duration 10s -rounds 3
//
// Only loopback targets are accepted: 127.0.0.0/8, ::1 and localhost. The
// server's per-IP limit on ceremony starts (600 a minute by default) must be
// lifted for a load test from one address; the example server takes
// -start-limit -1.
//
// The exit status is 1 when any operation failed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/passkeyready/passkeys/passkeystest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "passkeys-load:", err)
		os.Exit(1)
	}
}

// Bounds on what a run may ask for.
const (
	maxUsers    = 1000
	maxDuration = time.Hour
)

type config struct {
	target         *url.URL
	prefix         string
	origin         string
	otpLog         string
	users          int
	duration       time.Duration
	maxOps         int64
	register       float64
	pid            int
	sample         time.Duration
	setupTimeout   time.Duration
	requestTimeout time.Duration
	runID          string
	login          string        // "button" or "autofill"
	warmup         time.Duration // load run before the measured one, discarded

	// compare mode: start serverBin once per store and round
	compare  []string
	server   string
	postgres string
	rounds   int
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("passkeys-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "http://127.0.0.1:3000", "server base URL; loopback only")
	fs.StringVar(&c.prefix, "prefix", "/auth", "path the passkeys handler is mounted under")
	fs.StringVar(&c.origin, "origin", "http://localhost:3000", "origin the authenticator reports; one of the server's origins")
	fs.StringVar(&c.otpLog, "otp-log", "", "file the server's development OTP sender writes to (required)")
	fs.IntVar(&c.users, "users", 8, fmt.Sprintf("concurrent virtual users, 1 to %d", maxUsers))
	fs.DurationVar(&c.duration, "duration", 60*time.Second, fmt.Sprintf("how long the load runs, at most %s", maxDuration))
	fs.Int64Var(&c.maxOps, "max-ops", 0, "stop after this many ceremonies; 0 = only -duration bounds the run")
	mix := fs.String("mix", "", "share of registrations among the ceremonies, e.g. register=0.1")
	fs.IntVar(&c.pid, "pid", 0, "server process whose resident memory (VmRSS) is sampled")
	fs.DurationVar(&c.sample, "sample", 10*time.Second, "interval of the memory samples")
	fs.DurationVar(&c.setupTimeout, "setup-timeout", 30*time.Second, "bound on signing up the users, one-time codes included")
	fs.DurationVar(&c.requestTimeout, "request-timeout", 10*time.Second, "bound on each HTTP request")
	fs.StringVar(&c.runID, "run-id", "", "names this run's accounts load-<run-id>-<n>@example.com; default random")
	fs.StringVar(&c.login, "login", "button", "login kind: button (login start with the email) or autofill (mediation start, no email)")
	fs.DurationVar(&c.warmup, "warmup", 0, "load run before the measured one, not counted; memory samples start after it")
	compare := fs.String("compare", "", "stores to compare, e.g. memory,sqlite,postgres (sqlite-single: SQLite with -sqlite-single-process): start -server once per store and round on a free loopback port (-target, -otp-log and -pid are then ignored) and print each store's throughput as a share of the first's")
	fs.StringVar(&c.server, "server", "", "with -compare: the example server binary (go build -o /tmp/pk-server ./examples/server)")
	fs.StringVar(&c.postgres, "postgres", "", "with -compare postgres: the DSN the server is started with")
	fs.IntVar(&c.rounds, "rounds", 3, "with -compare: rounds, each running every store once in turn; the table gives medians")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.target, err = loopbackTarget(*target); err != nil {
		return c, err
	}
	if c.register, err = parseMix(*mix); err != nil {
		return c, err
	}
	if *compare != "" {
		if c.compare, err = parseCompare(*compare, c); err != nil {
			return c, err
		}
		c.otpLog, c.pid = "-", 0 // each server's own, set per run
	}
	switch {
	case c.login != "button" && c.login != "autofill":
		return c, fmt.Errorf("-login must be button or autofill, got %q", c.login)
	case c.warmup < 0 || c.warmup > maxDuration:
		return c, fmt.Errorf("-warmup must not be negative and at most %s", maxDuration)
	case c.otpLog == "":
		return c, errors.New("-otp-log is required: the file the server writes one-time codes to")
	case c.users < 1 || c.users > maxUsers:
		return c, fmt.Errorf("-users must be between 1 and %d", maxUsers)
	case c.duration <= 0 || c.duration > maxDuration:
		return c, fmt.Errorf("-duration must be positive and at most %s", maxDuration)
	case c.maxOps < 0:
		return c, errors.New("-max-ops must not be negative")
	case c.sample <= 0 || c.setupTimeout <= 0 || c.requestTimeout <= 0:
		return c, errors.New("-sample, -setup-timeout and -request-timeout must be positive")
	case c.pid < 0:
		return c, errors.New("-pid must not be negative")
	}
	if c.prefix = strings.Trim(c.prefix, "/"); c.prefix != "" {
		c.prefix = "/" + c.prefix
	}
	if c.runID == "" {
		b := make([]byte, 4)
		rand.Read(b)
		c.runID = hex.EncodeToString(b)
	}
	if !runIDPattern.MatchString(c.runID) {
		return c, fmt.Errorf("-run-id %q must be 1 to 32 of a-z, 0-9 and -", c.runID)
	}
	return c, nil
}

var runIDPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// loopbackTarget parses s and accepts it only when it names this machine
// by a loopback address or as localhost; no name is resolved.
func loopbackTarget(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-target %q must be an http:// or https:// URL", s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("-target %q must be scheme://host[:port] only; the mount path is -prefix", s)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("-target %q is not on this machine: only 127.0.0.0/8, ::1 and localhost are allowed", s)
	}
	u.Path = ""
	return u, nil
}

// parseMix reads "register=F" with F in [0, 1]; empty means no
// registrations.
func parseMix(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	name, v, ok := strings.Cut(s, "=")
	f, err := strconv.ParseFloat(v, 64)
	if !ok || name != "register" || err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("-mix %q must be register=F with F between 0 and 1", s)
	}
	return f, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	if len(c.compare) > 0 {
		return runCompare(ctx, c, stdout)
	}
	res, err := runOnce(ctx, c, stdout)
	if err != nil {
		return err
	}
	if n := res.errorCount(); n > 0 {
		return fmt.Errorf("%d operations failed", n)
	}
	return nil
}

// runOnce sets up c.users users on c.target, runs the warm-up and the
// measured load, and prints the result.
func runOnce(ctx context.Context, c config, stdout io.Writer) (*result, error) {
	cl := newClient(c)
	defer cl.http.CloseIdleConnections()
	fmt.Fprintf(stdout, "target %s%s, %d users, %s login, duration %s, max ops %d, register share %.2f\n",
		c.target, c.prefix, c.users, c.login, c.duration, c.maxOps, c.register)

	t0 := time.Now()
	users, err := setup(ctx, c, cl)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "setup: %d users signed up, each holding a passkey, in %s\n", len(users), time.Since(t0).Round(time.Millisecond))
	if c.warmup > 0 {
		w := c
		w.duration, w.maxOps = c.warmup, 0
		if n := load(ctx, w, cl, users).errorCount(); n > 0 {
			return nil, fmt.Errorf("warm-up: %d operations failed", n)
		}
	}

	var mem *memSampler
	if c.pid > 0 {
		if mem, err = startMemSampler(c.pid, c.sample); err != nil {
			return nil, err
		}
	}
	res := load(ctx, c, cl, users)
	if mem != nil {
		res.rss = mem.stop()
	}
	res.print(stdout)
	return res, nil
}

// client sends JSON requests to the passkeys handler.
type client struct {
	http *http.Client
	base string
}

func newClient(c config) *client {
	tr := &http.Transport{
		Proxy:               nil, // loopback only: never through a proxy
		DialContext:         (&net.Dialer{Timeout: c.requestTimeout}).DialContext,
		MaxIdleConns:        2 * c.users,
		MaxIdleConnsPerHost: 2 * c.users,
		IdleConnTimeout:     time.Minute,
	}
	return &client{
		http: &http.Client{
			Transport:     tr,
			Timeout:       c.requestTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		base: c.target.String() + c.prefix,
	}
}

// reply is a handler answer: the status, the problem code of an error and
// the members of a JSON object body.
type reply struct {
	status     int
	code       string
	retryAfter time.Duration
	body       map[string]json.RawMessage
}

// failure is a failed operation, counted by what failed and how.
type failure struct {
	step   string // e.g. "login/finish"
	status int    // 0 when no HTTP answer came
	code   string // problem code, or the client-side error
}

func (f *failure) Error() string {
	if f.status == 0 {
		return fmt.Sprintf("%s: %s", f.step, f.code)
	}
	return fmt.Sprintf("%s: %d %s", f.step, f.status, f.code)
}

// do sends method path with body (JSON unless nil) and token, and returns
// the answer; any status but 200 and 204 is a *failure.
func (cl *client) do(ctx context.Context, method, path, token string, body any) (reply, error) {
	step := strings.TrimPrefix(path, "/")
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, cl.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := cl.http.Do(req)
	if err != nil {
		return reply{}, &failure{step: step, code: transportError(err)}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return reply{}, &failure{step: step, code: transportError(err)}
	}
	r := reply{status: res.StatusCode}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			return r, &failure{step: step, status: r.status, code: "body is not a JSON object"}
		}
	}
	if r.status == http.StatusOK || r.status == http.StatusNoContent {
		return r, nil
	}
	r.code = "-"
	if err := json.Unmarshal(r.body["code"], &r.code); err != nil {
		r.code = "-"
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil {
		r.retryAfter = time.Duration(s) * time.Second
	}
	return r, &failure{step: step, status: r.status, code: r.code}
}

// transportError names a failed exchange without addresses or ports, so
// that the same failure is counted once.
func transportError(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	return "transport error"
}

func (cl *client) post(ctx context.Context, path, token string, body any) (reply, error) {
	return cl.do(ctx, http.MethodPost, path, token, body)
}

// str returns the string member name of r's body.
func (r reply) str(name string) string {
	var s string
	_ = json.Unmarshal(r.body[name], &s)
	return s
}

// user is a virtual user: an account and the device holding its passkey.
type user struct {
	email string
	token string
	auth  *passkeystest.Authenticator
}

// setup signs up c.users users concurrently and gives each a passkey,
// within c.setupTimeout.
func setup(ctx context.Context, c config, cl *client) ([]*user, error) {
	ctx, cancel := context.WithTimeout(ctx, c.setupTimeout)
	defer cancel()
	users := make([]*user, c.users)
	errs := make([]error, c.users)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			u := &user{email: fmt.Sprintf("load-%s-%d@example.com", c.runID, i), auth: passkeystest.New(c.origin)}
			errs[i] = u.signUp(ctx, cl, c.otpLog)
			if errs[i] == nil {
				_, errs[i] = u.addPasskey(ctx, cl, u.auth)
			}
			users[i] = u
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	return users, nil
}

// signUp runs the OTP flow, reading the code from the server's log.
func (u *user) signUp(ctx context.Context, cl *client, otpLog string) error {
	from, err := fileSize(otpLog)
	if err != nil {
		return err
	}
	if _, err := postRetrying(ctx, cl, "/signUpOrLogin", map[string]string{"email": u.email}); err != nil {
		return fmt.Errorf("%s: requesting a code: %w", u.email, err)
	}
	code, err := waitForCode(ctx, otpLog, from, u.email)
	if err != nil {
		return err
	}
	r, err := postRetrying(ctx, cl, "/signUpOrLogin", map[string]string{"email": u.email, "otp": code})
	if err != nil {
		return fmt.Errorf("%s: checking the code: %w", u.email, err)
	}
	if u.token = r.str("sessionToken"); u.token == "" {
		return fmt.Errorf("%s: sign-up returned no sessionToken", u.email)
	}
	return nil
}

// postRetrying posts, and after a 429 waits the Retry-After the server
// asked for when ctx leaves time for it.
func postRetrying(ctx context.Context, cl *client, path string, body any) (reply, error) {
	for {
		r, err := cl.post(ctx, path, "", body)
		if r.status != http.StatusTooManyRequests || r.retryAfter <= 0 {
			return r, err
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < r.retryAfter {
			return r, fmt.Errorf("%w (the server's rate limit asks to wait %s)", err, r.retryAfter)
		}
		t := time.NewTimer(r.retryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return r, err
		case <-t.C:
		}
	}
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("-otp-log: %w", err)
	}
	return fi.Size(), nil
}

// otpLine is the development OTP sender's line.
var otpLine = regexp.MustCompile(`passkeys DEVELOPMENT ONLY otp email=(\S+) code=(\d+) `)

// waitForCode polls path, from byte offset from on, until a code for email
// appears or ctx ends.
func waitForCode(ctx context.Context, path string, from int64, email string) (string, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		code, err := findCode(path, from, email)
		if code != "" || err != nil {
			return code, err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%s: no one-time code appeared in %s: %w", email, path, ctx.Err())
		case <-tick.C:
		}
	}
}

// findCode returns the last code for email written to path after offset
// from, or "".
func findCode(path string, from int64, email string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("-otp-log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return "", fmt.Errorf("-otp-log: %w", err)
	}
	code := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := otpLine.FindSubmatch(sc.Bytes()); m != nil && string(m[1]) == email {
			code = string(m[2])
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("-otp-log: %w", err)
	}
	return code, nil
}

// addPasskey registers a new passkey on device a and returns its id.
func (u *user) addPasskey(ctx context.Context, cl *client, a *passkeystest.Authenticator) (string, error) {
	r, err := cl.post(ctx, "/passkey/append/start", u.token, map[string]any{})
	if err != nil {
		return "", err
	}
	att, err := a.Create(r.body["attestationOptions"])
	if err != nil {
		return "", &failure{step: "authenticator create", code: err.Error()}
	}
	r, err = cl.post(ctx, "/passkey/append/finish", u.token, map[string]json.RawMessage{"attestationResponse": att})
	if err != nil {
		return "", err
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.body["passkey"], &p); err != nil || p.ID == "" {
		return "", &failure{step: "passkey/append/finish", status: r.status, code: "no passkey id in the answer"}
	}
	return p.ID, nil
}

// login runs one login: start (a button login's with the email, or an
// autofill login's without), the device's assertion, finish.
func (u *user) login(ctx context.Context, cl *client, kind string) error {
	start, body, finish := "/passkey/login/start", map[string]string{"email": u.email}, "/passkey/login/finish"
	if kind == "autofill" {
		start, body, finish = "/passkey/mediation/start", map[string]string{}, "/passkey/mediation/finish"
	}
	r, err := cl.post(ctx, start, "", body)
	if err != nil {
		return err
	}
	resp, err := u.auth.Get(r.body["assertionOptions"])
	if err != nil {
		return &failure{step: "authenticator get", code: err.Error()}
	}
	r, err = cl.post(ctx, finish, "", map[string]json.RawMessage{"assertionResponse": resp})
	if err != nil {
		return err
	}
	if r.str("sessionToken") == "" {
		return &failure{step: strings.TrimPrefix(finish, "/"), status: r.status, code: "no sessionToken in the answer"}
	}
	return nil
}

// deletePasskey removes the user's passkey id.
func (u *user) deletePasskey(ctx context.Context, cl *client, id string) error {
	_, err := cl.do(ctx, http.MethodDelete, "/passkeys/"+id, u.token, nil)
	return err
}

// Operation kinds, in the order the summary lists them.
const (
	kindLogin    = "login"
	kindRegister = "register"
	kindDelete   = "delete"
)

var kinds = []string{kindLogin, kindRegister, kindDelete}

// tally collects one worker's latencies and failures.
type tally struct {
	lat    map[string][]time.Duration
	errors map[string]int
}

func newTally() *tally {
	return &tally{lat: map[string][]time.Duration{}, errors: map[string]int{}}
}

func (t *tally) add(kind string, d time.Duration, err error) {
	if err == nil {
		t.lat[kind] = append(t.lat[kind], d)
		return
	}
	var f *failure
	if errors.As(err, &f) {
		t.errors[kind+" "+f.Error()]++
	} else {
		t.errors[kind+" client: "+err.Error()]++
	}
}

// result is what a run measured.
type result struct {
	elapsed time.Duration
	lat     map[string][]time.Duration // sorted
	errors  map[string]int
	rss     []rssSample
	// ceremonies is what the store held after the server stopped, in
	// -compare on the stores that keep ceremonies in a database; nil
	// otherwise.
	ceremonies *leftCount
}

func (r *result) errorCount() int {
	n := 0
	for _, v := range r.errors {
		n += v
	}
	return n
}

// load runs the users until the duration or the operation count ends, or
// ctx is cancelled; operations in flight then complete.
func load(ctx context.Context, c config, cl *client, users []*user) *result {
	var issued atomic.Int64
	start := time.Now()
	end := start.Add(c.duration)
	// Requests run on their own context so that a stop lets the
	// ceremonies in flight finish; each is bounded by c.requestTimeout.
	reqCtx := context.WithoutCancel(ctx)
	tallies := make([]*tally, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		t := newTally()
		tallies[i] = t
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				if c.maxOps > 0 && issued.Add(1) > c.maxOps {
					return
				}
				if c.register > 0 && mrand.Float64() < c.register {
					t0 := time.Now()
					id, err := u.addPasskey(reqCtx, cl, passkeystest.New(c.origin))
					t.add(kindRegister, time.Since(t0), err)
					if err == nil {
						t0 = time.Now()
						err = u.deletePasskey(reqCtx, cl, id)
						t.add(kindDelete, time.Since(t0), err)
					}
					continue
				}
				t0 := time.Now()
				err := u.login(reqCtx, cl, c.login)
				t.add(kindLogin, time.Since(t0), err)
			}
		})
	}
	wg.Wait()
	res := &result{elapsed: time.Since(start), lat: map[string][]time.Duration{}, errors: map[string]int{}}
	for _, t := range tallies {
		for k, v := range t.lat {
			res.lat[k] = append(res.lat[k], v...)
		}
		for k, v := range t.errors {
			res.errors[k] += v
		}
	}
	for _, v := range res.lat {
		slices.Sort(v)
	}
	return res
}

// percentile returns the nearest-rank q-quantile of sorted, which is not
// empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(float64(len(sorted))*q-1e-9)) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// rate is the operations of kind per second.
func (r *result) rate(kind string) float64 {
	return float64(len(r.lat[kind])) / r.elapsed.Seconds()
}

// p is the q-quantile latency of kind, 0 when there were none.
func (r *result) p(kind string, q float64) time.Duration {
	if len(r.lat[kind]) == 0 {
		return 0
	}
	return percentile(r.lat[kind], q)
}

func (r *result) print(w io.Writer) {
	ceremonies := len(r.lat[kindLogin]) + len(r.lat[kindRegister])
	secs := r.elapsed.Seconds()
	fmt.Fprintf(w, "run: %.2fs, %d ceremonies, %.1f/s, %d errors\n", secs, ceremonies, float64(ceremonies)/secs, r.errorCount())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tcount\tops/s\tp50\tp95\tp99\tmax\t")
	for _, k := range kinds {
		l := r.lat[k]
		if len(l) == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t\n", k, len(l), float64(len(l))/secs,
			ms(percentile(l, 0.50)), ms(percentile(l, 0.95)), ms(percentile(l, 0.99)), ms(l[len(l)-1]))
	}
	tw.Flush()
	if len(r.errors) == 0 {
		fmt.Fprintln(w, "errors: none")
	} else {
		fmt.Fprintln(w, "errors:")
		for _, k := range slices.Sorted(maps.Keys(r.errors)) {
			fmt.Fprintf(w, "  %s: %d\n", k, r.errors[k])
			if strings.Contains(k, " 429 ") {
				fmt.Fprintln(w, "  (the server's rate limit refused; lift its start limit for a load test, e.g. -start-limit -1)")
			}
		}
	}
	if len(r.rss) > 0 {
		first, last := r.rss[0], r.rss[len(r.rss)-1]
		fmt.Fprintf(w, "server rss: start %s, end %s, change %+.1f MiB; samples:", mib(first.kb), mib(last.kb), float64(last.kb-first.kb)/1024)
		for _, s := range r.rss {
			fmt.Fprintf(w, " %s=%s", s.at.Round(time.Second), mib(s.kb))
		}
		fmt.Fprintln(w)
	}
}

func mib(kb int64) string { return fmt.Sprintf("%.1fMiB", float64(kb)/1024) }

// rssSample is the server's resident memory at a moment of the run.
type rssSample struct {
	at time.Duration // since the run started
	kb int64
}

// memSampler reads a process's VmRSS at the start, every interval and at
// the stop.
type memSampler struct {
	pid     int
	start   time.Time
	done    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	samples []rssSample
}

func startMemSampler(pid int, every time.Duration) (*memSampler, error) {
	m := &memSampler{pid: pid, start: time.Now(), done: make(chan struct{})}
	if err := m.take(); err != nil {
		return nil, err
	}
	m.wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-m.done:
				return
			case <-tick.C:
				_ = m.take()
			}
		}
	})
	return m, nil
}

func (m *memSampler) take() error {
	kb, err := readRSS(m.pid)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = append(m.samples, rssSample{time.Since(m.start), kb})
	return nil
}

// stop takes the last sample and returns them all.
func (m *memSampler) stop() []rssSample {
	close(m.done)
	m.wg.Wait()
	_ = m.take()
	return m.samples
}

// readRSS returns the VmRSS of process pid in KiB, from /proc.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("-pid %d: %w", pid, err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("-pid %d: no VmRSS in /proc/%d/status", pid, pid)
}
