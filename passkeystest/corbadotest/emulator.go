package corbadotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/internal/corbadospec"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// The credentials an [Emulator] accepts unless told otherwise.
const (
	DefaultProjectID = "pro-1000000000"
	DefaultAPISecret = "corbado1_emulator0000000000000000"
)

// Options configures [New]. RPID and Origins
// are required.
type Options struct {
	// ProjectID and APISecret are the Basic credentials the emulator
	// accepts; any other gets 401. Default DefaultProjectID and
	// DefaultAPISecret.
	ProjectID string
	APISecret string

	// RPID and Origins are the relying party, as for selfhosted.Config.
	RPID    string
	Origins []string
	// AndroidApps and RelatedOrigins stand for the project's native-app
	// and origin settings: Corbado checks the origin of each passkey
	// response on its side, and so does the emulator, as
	// selfhosted.Config does with the same fields. Default none.
	AndroidApps    []passkeys.AndroidApp
	RelatedOrigins []string

	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// OnOTP receives each email one-time code the emulator would have
	// emailed. Default: codes are dropped.
	OnOTP func(email, code string)

	// SpecDir is the folder holding Corbado's OpenAPI description. When it
	// is set, every request is checked against it (a mismatch gets 400)
	// and so is every response (a mismatch becomes a 500), and each
	// mismatch is reported to Errorf. Default: the CORBADO_SPEC_DIR
	// environment variable, when it names a folder holding the
	// description; otherwise the checks are off (a failure instead under
	// PASSKEYS_SPEC_TESTS=required).
	SpecDir string
	// Errorf reports mismatches with the OpenAPI description; tests pass
	// t.Errorf. Default log.Printf.
	Errorf func(format string, args ...any)
}

// Emulator is a stand-in for Corbado's Backend API v2 that speaks its
// wire format, for testing a Corbado integration without the network. It is
// an http.Handler serving the API under /v2; run it in an httptest.Server
// and point the client's base URL at the server.
//
// It covers the operations the passkeys Corbado backend uses: users
// (create, get, update, delete), login identifiers (list with filters,
// create, update, delete), email OTP challenges (create, update), credentials (list,
// delete) and the six passkey append, login and mediation calls. The
// WebAuthn ceremonies run on the self-hosted engine with real checks; its
// users are the emulator's users, created when they first add a passkey.
// A disabled user neither starts nor finishes a passkey ceremony.
// One-time codes go to [Options.OnOTP] instead of an email. An unknown or
// deleted user, identifier, challenge or credential gets what real
// Corbado answers: not 404 but HTTP 400, a validation_error whose
// validation entry names the field, as in "userID: does not exist".
type Emulator struct {
	opts   Options
	spec   *corbadospec.Spec
	engine *selfhosted.Engine
	store  *memstore.Store

	mu          sync.Mutex
	intercept   func(http.ResponseWriter, *http.Request) bool
	users       map[string]*corbadoapi.User
	identifiers map[string]*corbadoapi.Identifier
	challenges  map[string]*emuChallenge
	processes   map[string]emuProcess
	credObjects map[string]string // credential ID (base64url) -> Corbado object ID
	deleted     map[string]bool   // credential IDs (base64url) deleted
	devices     map[string]corbadoapi.ParsedDeviceInfo
}

// emuChallenge is an email OTP challenge with its code.
type emuChallenge struct {
	corbadoapi.Challenge
	userID   string
	code     string
	attempts int
}

// emuProcess is a started append or login: finish must present the same
// processID, user and challenge.
type emuProcess struct {
	kind      string
	userID    string
	challenge string
	expires   time.Time
}

// emuMaxAttempts is how many wrong codes a challenge survives.
const emuMaxAttempts = 5

// New validates o and returns an emulator with no users.
func New(o Options) (*Emulator, error) {
	if o.ProjectID == "" {
		o.ProjectID = DefaultProjectID
	}
	if o.APISecret == "" {
		o.APISecret = DefaultAPISecret
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.OnOTP == nil {
		o.OnOTP = func(string, string) {}
	}
	if o.Errorf == nil {
		o.Errorf = log.Printf
	}
	e := &Emulator{
		opts: o, store: memstore.New(),
		users: map[string]*corbadoapi.User{}, identifiers: map[string]*corbadoapi.Identifier{},
		challenges: map[string]*emuChallenge{}, processes: map[string]emuProcess{},
		credObjects: map[string]string{}, deleted: map[string]bool{}, devices: map[string]corbadoapi.ParsedDeviceInfo{},
	}
	// Without SpecDir the environment decides: CORBADO_SPEC_DIR naming
	// no description turns the checks off unless PASSKEYS_SPEC_TESTS=required.
	var spec *corbadospec.Spec
	var err error
	if o.SpecDir != "" {
		spec, err = corbadospec.Load(o.SpecDir)
	} else {
		spec, err = corbadospec.FromEnv()
	}
	if err != nil {
		return nil, fmt.Errorf("corbadotest: %w", err)
	}
	e.spec = spec
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: o.RPID, Origins: o.Origins, AndroidApps: o.AndroidApps, RelatedOrigins: o.RelatedOrigins, Store: e.store, OTPSender: noSender{}, Clock: o.Clock,
	})
	if err != nil {
		return nil, fmt.Errorf("corbadotest: corbado emulator: %w", err)
	}
	e.engine = engine
	return e, nil
}

// ProjectID returns the project ID the emulator accepts.
func (e *Emulator) ProjectID() string { return e.opts.ProjectID }

// APISecret returns the API secret the emulator accepts.
func (e *Emulator) APISecret() string { return e.opts.APISecret }

// SetIntercept installs fn, for fault tests: fn sees every request first
// and, when it returns true, has answered it itself (with a 500, a 429,
// garbage, or by blocking until the test ends); nothing is checked
// against the OpenAPI description then. nil removes it.
func (e *Emulator) SetIntercept(fn func(w http.ResponseWriter, r *http.Request) bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.intercept = fn
}

// noSender stands in for the engine's OTP sender, which the emulator never
// uses: its codes come from challenges.
type noSender struct{}

func (noSender) SendOTP(context.Context, string, string, time.Duration) error {
	return errors.New("corbadotest: the corbado emulator sends codes through challenges")
}

// apiError is an errorRsp answer.
type apiError struct {
	status     int
	typ        string
	details    string
	validation []corbadoapi.ValidationError
}

func (a *apiError) Error() string { return a.typ + ": " + a.details }

// notFound answers a path the emulator does not serve.
func notFound(details string) *apiError {
	return &apiError{status: http.StatusNotFound, typ: "not_found", details: details}
}

// doesNotExist is Corbado's answer for an unknown or deleted user,
// identifier, challenge or credential: not a 404 but HTTP 400, a
// validation_error whose one validation entry names the path parameter,
// as in "userID: does not exist" (Corbado's own SDK integration tests
// assert exactly this status, field and message).
func doesNotExist(field string) *apiError {
	return &apiError{
		status: http.StatusBadRequest, typ: "validation_error",
		validation: []corbadoapi.ValidationError{{Field: field, Message: "does not exist"}},
	}
}

func invalid(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "validation_error", details: fmt.Sprintf(format, args...)}
}

// ServeHTTP serves the Backend API under /v2.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	intercept := e.intercept
	e.mu.Unlock()
	if intercept != nil && intercept(w, r) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	var status int
	var out any
	if err != nil {
		status, out = e.errorRsp(invalid("reading the body: %v", err))
	} else {
		status, out = e.handle(r, body)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		status, raw = http.StatusInternalServerError, e.mustJSON(e.errorBody(&apiError{status: 500, typ: "internal_error", details: err.Error()}))
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	if e.spec != nil {
		if err := e.spec.ValidateResponse(r, body, status, hdr, raw); err != nil {
			e.opts.Errorf("corbado emulator: its own answer does not match the OpenAPI description: %v", err)
			status = http.StatusInternalServerError
			raw = e.mustJSON(e.errorBody(&apiError{status: status, typ: "internal_error", details: "emulator answer does not match the OpenAPI description: " + err.Error()}))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

// handle authenticates, checks and routes one request.
func (e *Emulator) handle(r *http.Request, body []byte) (int, any) {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(e.opts.ProjectID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(e.opts.APISecret)) != 1 {
		return e.errorRsp(&apiError{status: http.StatusUnauthorized, typ: "login_error", details: "wrong project ID or API secret"})
	}
	if e.spec != nil {
		if err := e.spec.ValidateRequest(r, body); err != nil {
			e.opts.Errorf("corbado emulator: a request does not match the OpenAPI description: %v", err)
			return e.errorRsp(invalid("%v", err))
		}
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v2/")
	if !ok {
		return e.errorRsp(notFound("no operation at " + r.URL.Path))
	}
	out, err := e.route(r, strings.Split(path, "/"), body)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{status: http.StatusInternalServerError, typ: "internal_error", details: err.Error()}
		}
		return e.errorRsp(ae)
	}
	return http.StatusOK, out
}

// route dispatches on method and path segments below /v2.
func (e *Emulator) route(r *http.Request, seg []string, body []byte) (any, error) {
	ctx := r.Context()
	m := r.Method
	switch {
	case m == http.MethodPost && match(seg, "users"):
		return e.userCreate(body)
	case m == http.MethodGet && match(seg, "users", "*"):
		return e.userGet(seg[1])
	case m == http.MethodPatch && match(seg, "users", "*"):
		return e.userUpdate(seg[1], body)
	case m == http.MethodDelete && match(seg, "users", "*"):
		return e.userDeleteAll(ctx, seg[1])
	case m == http.MethodGet && match(seg, "identifiers"):
		return e.identifierList(r)
	case m == http.MethodPost && match(seg, "users", "*", "identifiers"):
		return e.identifierCreate(seg[1], body)
	case m == http.MethodPatch && match(seg, "users", "*", "identifiers", "*"):
		return e.identifierUpdate(seg[1], seg[3], body)
	case m == http.MethodDelete && match(seg, "users", "*", "identifiers", "*"):
		return e.identifierDelete(seg[1], seg[3])
	case m == http.MethodPost && match(seg, "users", "*", "challenges"):
		return e.challengeCreate(seg[1], body)
	case m == http.MethodPatch && match(seg, "users", "*", "challenges", "*"):
		return e.challengeUpdate(seg[1], seg[3], body)
	case m == http.MethodGet && match(seg, "users", "*", "credentials"):
		return e.credentialList(ctx, r, seg[1])
	case m == http.MethodDelete && match(seg, "users", "*", "credentials", "*"):
		return e.credentialDelete(ctx, seg[1], seg[3])
	case m == http.MethodPost && match(seg, "passkey", "append", "start"):
		return e.appendStart(ctx, body)
	case m == http.MethodPost && match(seg, "passkey", "append", "finish"):
		return e.appendFinish(ctx, body)
	case m == http.MethodPost && match(seg, "passkey", "login", "start"):
		return e.loginStart(ctx, body)
	case m == http.MethodPost && match(seg, "passkey", "login", "finish"):
		return e.loginFinish(ctx, body)
	case m == http.MethodPost && match(seg, "passkey", "mediation", "start"):
		return e.mediationStart(ctx, body)
	case m == http.MethodPost && match(seg, "passkey", "mediation", "finish"):
		return e.mediationFinish(ctx, body)
	}
	return nil, notFound("the emulator does not serve " + m + " /v2/" + strings.Join(seg, "/"))
}

// match reports whether seg has the pattern's shape; "*" stands for any
// non-empty segment.
func match(seg []string, pattern ...string) bool {
	if len(seg) != len(pattern) {
		return false
	}
	for i, p := range pattern {
		if seg[i] == "" || p != "*" && p != seg[i] {
			return false
		}
	}
	return true
}

func (e *Emulator) errorRsp(ae *apiError) (int, any) { return ae.status, e.errorBody(ae) }

func (e *Emulator) errorBody(ae *apiError) corbadoapi.ErrorRsp {
	return corbadoapi.ErrorRsp{
		GenericRsp: e.generic(ae.status),
		Error:      corbadoapi.ErrorDetail{Type: ae.typ, Details: ae.details, Validation: ae.validation},
	}
}

func (e *Emulator) generic(status int) corbadoapi.GenericRsp {
	return corbadoapi.GenericRsp{
		HTTPStatusCode: status, Message: http.StatusText(status),
		RequestData: corbadoapi.RequestData{RequestID: newID("req")}, Runtime: 0.001,
	}
}

func (e *Emulator) mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("corbadotest: " + err.Error()) // the error bodies are plain structs
	}
	return b
}

// decodeReq reads a JSON request body.
func decodeReq(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return invalid("the body is not the expected JSON: %v", err)
	}
	return nil
}

// newID returns prefix-<19 digits>, the shape of Corbado's IDs.
func newID(prefix string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(8e18)) // + 1e18: 19 digits, within int64
	if err != nil {
		panic("corbadotest: crypto/rand failed: " + err.Error())
	}
	return prefix + "-" + strconv.FormatInt(n.Int64()+1e18, 10)
}

// newCode returns six random digits.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic("corbadotest: crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// corbadoTime is Corbado's yyyy-MM-dd'T'HH:mm:ss timestamp format.
const corbadoTime = "2006-01-02T15:04:05"

func (e *Emulator) now() time.Time { return e.opts.Clock().UTC() }
