package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/passkeyready/passkeys"
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
	router routers.Router
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
		doc.Servers = nil
		router, err := legacy.NewRouter(doc)
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
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	if body == nil {
		out.Body = nil
	}
	res, err := t.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
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
	u := *r.URL
	u.Path, u.RawPath = path, ""
	rr := r.Clone(context.Background())
	rr.URL = &u
	if r.Method == http.MethodHead {
		rr.Method = http.MethodGet
	}
	route, params, err := c.router.FindRoute(rr)
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
	if r.Method == http.MethodHead {
		if len(resBody) > 0 {
			return call + ": a HEAD answer has a body"
		}
		if route.Operation.Responses.Status(status) == nil {
			return fmt.Sprintf("%s: %s documents no status %d", call, route.Operation.OperationID, status)
		}
		return ""
	}
	in := &openapi3filter.RequestValidationInput{
		Request: rr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: authenticated, SkipSettingDefaults: true, MultiError: true},
	}
	rr.Body = io.NopCloser(bytes.NewReader(body))
	rr.ContentLength = int64(len(body))
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && (status < 400 || status > 499) {
		return fmt.Sprintf("%s: the description refuses the request (%v), but the handler answered %d: %s", call, reqErr, status, resBody)
	}
	rr.Body = io.NopCloser(bytes.NewReader(body))
	resIn := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	resIn.SetBodyBytes(resBody)
	if err := openapi3filter.ValidateResponse(context.Background(), resIn); err != nil {
		return fmt.Sprintf("%s: the response does not match %s: %v: %s", call, route.Operation.OperationID, err, resBody)
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
