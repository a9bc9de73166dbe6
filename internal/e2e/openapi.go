package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/openapicheck"
)

// mount is where the suite mounts the handler, the server of the
// description.
const mount = "/auth"

// Contract checks requests and responses of the handler against its
// OpenAPI description ([passkeys.OpenAPI]). Every call the suite makes
// under /auth goes through [Contract.Transport]:
//
//   - a request the description accepts must get a response it describes
//     (status, Content-Type, required headers, body);
//   - a request it refuses (a missing session, a malformed body sent on
//     purpose) must get a documented 4xx;
//   - a path it does not know must get its 404, a method it does not list
//     its 405 with Allow, and a CORS preflight 204 or its 403;
//   - HEAD is answered as the path's GET, without a body: its status must
//     be one the GET documents, and a body is a departure.
//
// Calls outside /auth (the host's own routes) are not checked. A Contract
// is safe for concurrent use.
type Contract struct {
	doc    *openapi3.T
	router *openapicheck.Router
}

var (
	contractOnce sync.Once
	contract     *Contract
	contractErr  error
)

// LoadContract parses and validates the description once per process.
func LoadContract() (*Contract, error) {
	contractOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(passkeys.OpenAPI())
		if err != nil {
			contractErr = fmt.Errorf("openapi.json: %w", err)
			return
		}
		if !doc.IsOpenAPI31OrLater() {
			contractErr = fmt.Errorf("openapi.json: version %s, want 3.1", doc.OpenAPI)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			contractErr = fmt.Errorf("openapi.json is not a valid description: %w", err)
			return
		}
		if len(doc.Servers) != 1 || doc.Servers[0].URL != mount {
			contractErr = fmt.Errorf("openapi.json: servers must be the one mount point %s", mount)
			return
		}
		// Routes are matched on the path below the mount point, on any host.
		router, err := openapicheck.NewRouter(doc, authenticated)
		if err != nil {
			contractErr = fmt.Errorf("openapi.json: %w", err)
			return
		}
		contract = &Contract{doc: doc, router: router}
	})
	return contract, contractErr
}

// Transport returns a RoundTripper that sends through next (nil means
// http.DefaultTransport) and calls report with every way a call under
// /auth departs from the description. The caller gets the response as
// it came.
func (c *Contract) Transport(next http.RoundTripper, report func(string)) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &contractTransport{c: c, next: next, report: report}
}

type contractTransport struct {
	c      *Contract
	next   http.RoundTripper
	report func(string)
}

func (t *contractTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rest, under := strings.CutPrefix(r.URL.Path, mount+"/")
	if !under {
		return t.next.RoundTrip(r)
	}
	body, err := openapicheck.ReadBody(r)
	if err != nil {
		return nil, err
	}
	res, resBody, err := openapicheck.Send(t.next, r, body)
	if err != nil {
		return nil, err
	}
	if msg := t.c.Check(r, "/"+rest, body, res.StatusCode, res.Header, resBody); msg != "" {
		t.report(msg)
	}
	return res, nil
}

// Check returns how a call departs from the description, or "": r was
// sent with body to path (relative to the mount point) and got status,
// header and resBody.
func (c *Contract) Check(r *http.Request, path string, body []byte, status int, header http.Header, resBody []byte) string {
	call := fmt.Sprintf("%s %s%s -> %d", r.Method, mount, path, status)
	method := ""
	if r.Method == http.MethodHead {
		method = http.MethodGet
	}
	matched, err := c.router.Match(r, path, method, body)
	var routeErr *routers.RouteError
	errors.As(err, &routeErr)
	switch {
	case r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "":
		if status == http.StatusNoContent {
			return ""
		}
		return c.checkComponent(call+" (a CORS preflight)", "PreflightRefused", status, http.StatusForbidden, header, resBody)
	case routeErr != nil && routeErr.Reason == routers.ErrPathNotFound.Error():
		return c.checkComponent(call+" (an undocumented path)", "NotFound", status, http.StatusNotFound, header, resBody)
	case routeErr != nil && routeErr.Reason == routers.ErrMethodNotAllowed.Error():
		return c.checkComponent(call+" (an undocumented method)", "MethodNotAllowed", status, http.StatusMethodNotAllowed, header, resBody)
	case err != nil:
		return call + ": " + err.Error()
	}
	op := matched.Operation()
	if r.Method == http.MethodHead {
		if len(resBody) > 0 {
			return call + ": a HEAD answer has a body"
		}
		if op.Responses.Status(status) == nil {
			return fmt.Sprintf("%s: %s documents no status %d", call, op.OperationID, status)
		}
		return ""
	}
	reqErr := matched.ValidateRequest()
	if reqErr != nil && (status < 400 || status > 499) {
		return fmt.Sprintf("%s: the description refuses the request (%v), but the handler answered %d: %s", call, reqErr, status, resBody)
	}
	if err := matched.ValidateResponse(status, header, resBody); err != nil {
		return fmt.Sprintf("%s: the response does not match %s: %v: %s", call, op.OperationID, err, resBody)
	}
	return ""
}

// checkComponent checks a response against one of the description's
// components/responses, which answers with status want.
func (c *Contract) checkComponent(call, name string, status, want int, header http.Header, body []byte) string {
	if status != want {
		return fmt.Sprintf("%s: status %d, want %d: %s", call, status, want, body)
	}
	ref := c.doc.Components.Responses[name]
	if ref == nil || ref.Value == nil {
		return call + ": the description has no components/responses/" + name
	}
	op := &openapi3.Operation{OperationID: name, Responses: openapi3.NewResponses(openapi3.WithStatus(want, ref))}
	route := &routers.Route{Spec: c.doc, Path: "/", Method: http.MethodGet, Operation: op}
	req, _ := http.NewRequest(http.MethodGet, "http://contract.invalid/", nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route},
		Status:                 status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Sprintf("%s: the response does not match components/responses/%s: %v: %s", call, name, err, body)
	}
	return ""
}

// authenticated accepts the session schemes of the description when the
// request carries their credential; whether it is valid is the handler's
// business.
func authenticated(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	s := in.SecurityScheme
	switch {
	case s.Type == "http" && s.Scheme == "bearer":
		if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && token != "" {
			return nil
		}
		return errors.New("no bearer token")
	case s.Type == "apiKey" && s.In == "cookie":
		// The cookie's name is Options.Cookie.Name; any cookie may be it.
		if len(r.Cookies()) > 0 {
			return nil
		}
		return errors.New("no session cookie")
	}
	return fmt.Errorf("unsupported security scheme %s", in.SecuritySchemeName)
}

// contractClient returns an HTTP client whose every call under /auth is
// checked against the description; a departure fails t.
func contractClient(t interface {
	Helper()
	Fatal(...any)
	Errorf(string, ...any)
}) *http.Client {
	t.Helper()
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: c.Transport(nil, func(msg string) { t.Errorf("OpenAPI contract: %s", msg) })}
}
