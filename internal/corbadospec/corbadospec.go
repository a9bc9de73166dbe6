// Package corbadospec checks HTTP traffic against Corbado's OpenAPI
// description of the Backend API v2 (backend_api_public_v2.yml with its
// common.yml, published in github.com/corbado/corbado-python under
// scripts/). The Corbado client's tests check every request they send, and
// the emulator in passkeystest/corbadotest checks every request it
// receives and every response it returns, whenever CORBADO_SPEC_DIR names
// the folder holding the two files.
//
// The description is not part of this module, so the checks are off in a
// fresh clone: [FromEnv] returns nil, and [ForTest] skips with one line
// that says how to turn them on. With PASSKEYS_SPEC_TESTS=required (as in
// .ci/run) a missing description is a failure instead.
package corbadospec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/passkeyready/passkeys/internal/openapicheck"
)

// EnvVar names the environment variable holding the spec folder.
const EnvVar = "CORBADO_SPEC_DIR"

// File is the name of the Backend API description inside the spec folder.
const File = "backend_api_public_v2.yml"

// RequiredEnvVar names the switch that turns a missing description into a
// failure: with PASSKEYS_SPEC_TESTS=required, [FromEnv] and [ForTest] fail
// unless [EnvVar] names a folder holding [File].
const RequiredEnvVar = "PASSKEYS_SPEC_TESTS"

// required reports whether RequiredEnvVar is set to "required".
func required() bool { return os.Getenv(RequiredEnvVar) == "required" }

// Spec validates requests and responses of the Backend API. Paths are
// matched after the "/v2" base path, wherever the API is mounted. A Spec
// is safe for concurrent use.
type Spec struct {
	router *openapicheck.Router
}

// loaded holds the Spec of each folder already read.
var loaded sync.Map // absolute folder -> *Spec

// Load reads File (and the files it refers to) from dir, once per folder
// and process.
func Load(dir string) (*Spec, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("corbadospec: %w", err)
	}
	if s, ok := loaded.Load(abs); ok {
		return s.(*Spec), nil
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	doc, err := loader.LoadFromFile(filepath.Join(abs, File))
	if err != nil {
		return nil, fmt.Errorf("corbadospec: loading %s: %w", filepath.Join(abs, File), err)
	}
	// Routes are matched on the path below the base path, on any host.
	router, err := openapicheck.NewRouter(doc, basicAuth, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("corbadospec: %w", err)
	}
	s, _ := loaded.LoadOrStore(abs, &Spec{router: router})
	return s.(*Spec), nil
}

// FromEnv loads the spec from the folder named by [EnvVar]. When the
// variable is unset, or names a folder without [File], the checks are off:
// it returns nil and no error, unless [RequiredEnvVar] is "required", when
// the error says what is missing. A description that is there but does
// not load is always an error.
func FromEnv() (*Spec, error) {
	if why := Off(); why != "" {
		if required() {
			return nil, fmt.Errorf("corbadospec: %s=required, but %s", RequiredEnvVar, why)
		}
		return nil, nil
	}
	return Load(strings.TrimSpace(os.Getenv(EnvVar)))
}

// Off returns why the checks are off, naming how to turn them on, or ""
// when [EnvVar] names a folder holding [File].
func Off() string {
	const turnOn = "set " + EnvVar + " to a folder holding " + File + " and common.yml (github.com/corbado/corbado-python, scripts/) to turn them on"
	dir := strings.TrimSpace(os.Getenv(EnvVar))
	if dir == "" {
		return EnvVar + " is not set; " + turnOn
	}
	file := filepath.Join(dir, File)
	if _, err := os.Stat(file); err != nil {
		return EnvVar + " names no description (" + file + " does not exist); " + turnOn
	}
	return ""
}

// TB is the part of testing.TB that [ForTest] uses.
type TB interface {
	Helper()
	Skip(args ...any)
	Fatal(args ...any)
}

// ForTest returns the spec from [FromEnv] for a test that checks nothing
// without it. When the checks are off it skips t with one line saying how
// to turn them on; when they are required but off, or the description does
// not load, it fails t.
func ForTest(t TB) *Spec {
	t.Helper()
	s, err := FromEnv()
	switch {
	case err != nil:
		t.Fatal(err)
	case s == nil:
		t.Skip("Corbado OpenAPI checks are off: " + Off() + " (" + RequiredEnvVar + "=required makes this a failure)")
	}
	return s
}

// match finds the operation of r, whose path holds the API's "/v2" base.
func (s *Spec) match(r *http.Request, body []byte) (*openapicheck.Call, error) {
	_, rest, ok := strings.Cut(r.URL.EscapedPath(), "/v2/")
	if !ok {
		return nil, fmt.Errorf("corbadospec: %s %s is not under the /v2 base path", r.Method, r.URL.Path)
	}
	p, err := url.PathUnescape("/" + rest)
	if err != nil {
		return nil, fmt.Errorf("corbadospec: %s %s: %w", r.Method, r.URL.Path, err)
	}
	c, err := s.router.Match(r, p, "", body)
	if err != nil {
		return nil, fmt.Errorf("corbadospec: %s %s matches no operation: %w", r.Method, r.URL.Path, err)
	}
	return c, nil
}

// ValidateRequest checks r, whose body is body, against its operation:
// path, query parameters, Basic authentication and the JSON body.
func (s *Spec) ValidateRequest(r *http.Request, body []byte) error {
	c, err := s.match(r, body)
	if err != nil {
		return err
	}
	if err := c.ValidateRequest(); err != nil {
		return fmt.Errorf("corbadospec: request %s %s does not match %s: %w", r.Method, r.URL.Path, c.Operation().OperationID, err)
	}
	return nil
}

// ValidateResponse checks a response (status, header, body) to r, whose
// body was reqBody, against its operation's responses.
func (s *Spec) ValidateResponse(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	c, err := s.match(r, reqBody)
	if err != nil {
		return err
	}
	if err := c.ValidateResponse(status, header, body); err != nil {
		return fmt.Errorf("corbadospec: response %d to %s %s does not match %s: %w", status, r.Method, r.URL.Path, c.Operation().OperationID, err)
	}
	return nil
}

// basicAuth accepts the Basic scheme the description requires; the
// credentials themselves are the server's business.
func basicAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	user, pass, ok := in.RequestValidationInput.Request.BasicAuth()
	if in.SecurityScheme.Type != "http" || in.SecurityScheme.Scheme != "basic" {
		return fmt.Errorf("unsupported security scheme %s", in.SecuritySchemeName)
	}
	if !ok || user == "" || pass == "" {
		return errors.New("no Basic credentials")
	}
	return nil
}

// Transport returns a RoundTripper that validates each request before
// sending it through next (nil means http.DefaultTransport) and each
// response it gets back. A request that does not match is not sent and a
// response that does not match is dropped; either way the caller gets the
// error.
func (s *Spec) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{spec: s, next: next}
}

type transport struct {
	spec *Spec
	next http.RoundTripper
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := openapicheck.ReadBody(r)
	if err != nil {
		return nil, err
	}
	if err := t.spec.ValidateRequest(r, body); err != nil {
		return nil, err
	}
	res, resBody, err := openapicheck.Send(t.next, r, body)
	if err != nil {
		return nil, err
	}
	if err := t.spec.ValidateResponse(r, body, res.StatusCode, res.Header, resBody); err != nil {
		return nil, err
	}
	return res, nil
}
