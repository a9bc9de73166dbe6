// Package openapicheck is what the two OpenAPI checks of this module share:
// internal/e2e checks the handler's calls against its own description
// (openapi.json) and internal/corbadospec checks the Corbado client's and
// emulator's traffic against Corbado's. Both match routes below a base path
// on any host, validate a request and its response with kin-openapi, and
// read an exchange's bodies whole so that they can be checked and still
// reach the caller.
package openapicheck

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Router finds the operation of a call in a description. It is safe for
// concurrent use.
type Router struct {
	router routers.Router
	auth   openapi3filter.AuthenticationFunc
}

// NewRouter matches the operations of doc on the path below its base path,
// on any host: it drops doc.Servers. auth decides whether a request meets
// an operation's security requirement. opts go to the router's validation
// of doc.
func NewRouter(doc *openapi3.T, auth openapi3filter.AuthenticationFunc, opts ...openapi3.ValidationOption) (*Router, error) {
	doc.Servers = nil
	r, err := legacy.NewRouter(doc, opts...)
	if err != nil {
		return nil, err
	}
	return &Router{router: r, auth: auth}, nil
}

// Call is a request matched to its operation, ready to be validated.
type Call struct {
	in   *openapi3filter.RequestValidationInput
	body []byte
}

// Match finds the operation of r at path, its path below the base path
// (which may differ from r.URL.Path), as if its method were method (r's
// own when ""). body is r's body, read whole. The error is the router's
// (a *routers.RouteError when no path or method matches).
func (rt *Router) Match(r *http.Request, path, method string, body []byte) (*Call, error) {
	u := *r.URL
	u.Path, u.RawPath = path, ""
	rr := r.Clone(context.Background())
	rr.URL = &u
	if method != "" {
		rr.Method = method
	}
	route, params, err := rt.router.FindRoute(rr)
	if err != nil {
		return nil, err
	}
	rr.GetBody = nil
	rr.ContentLength = int64(len(body))
	return &Call{
		in: &openapi3filter.RequestValidationInput{
			Request: rr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: rt.auth, SkipSettingDefaults: true, MultiError: true},
		},
		body: body,
	}, nil
}

// Operation is the operation the call matched.
func (c *Call) Operation() *openapi3.Operation { return c.in.Route.Operation }

// ValidateRequest checks the call's path and query parameters, security
// and body against its operation.
func (c *Call) ValidateRequest() error {
	c.in.Request.Body = io.NopCloser(bytes.NewReader(c.body))
	return openapi3filter.ValidateRequest(context.Background(), c.in)
}

// ValidateResponse checks a response (status, header, body) against the
// responses of the call's operation, its status among them.
func (c *Call) ValidateResponse(status int, header http.Header, body []byte) error {
	c.in.Request.Body = io.NopCloser(bytes.NewReader(c.body))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: c.in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), out)
}

// ReadBody reads and closes r's body; it is nil when r has none.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Send sends a copy of r with body (its body as ReadBody read it) through
// next and reads the response's body whole. The response it returns reads
// that body again.
func Send(next http.RoundTripper, r *http.Request, body []byte) (*http.Response, []byte, error) {
	out := r.Clone(r.Context())
	out.Body = nil
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
	}
	res, err := next.RoundTrip(out)
	if err != nil {
		return nil, nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	return res, resBody, nil
}
