// Package corbadoapi is a small typed client of Corbado's Backend API v2,
// covering exactly the operations the passkeys library uses. It
// authenticates with HTTP Basic (project ID and API secret), bounds each
// call with a timeout, retries GETs (and only GETs) with backoff, and
// reports every answer that is not a 2xx as an [*Error] that keeps the
// status and the errorRsp body. Its errors name the operation and method,
// never the URL, whose query may hold an email address. [NewClientInformation]
// builds the clientInformation the passkey calls carry.
package corbadoapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is where Corbado serves the Backend API; operations live
// under its /v2 path.
const DefaultBaseURL = "https://backendapi.cloud.corbado.io"

// maxBody caps the response bodies read.
const maxBody = 1 << 20

// Config configures a [Client].
type Config struct {
	// BaseURL is the API's address without the /v2 suffix. Default
	// DefaultBaseURL.
	BaseURL string
	// ProjectID and APISecret are the Basic credentials. Required.
	ProjectID string
	APISecret string
	// HTTPClient sends the requests. Default: a client of its own that
	// does not follow redirects.
	HTTPClient *http.Client
	// Timeout bounds each call, retries included. Default 10 seconds.
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// Backoff is the wait before retry n (1, 2, ...) of a GET. Default
	// 100ms doubled at each retry, with up to 50% jitter.
	Backoff func(n int) time.Duration
	// MaxAttempts is how many times a GET is sent at most. Default 3.
	MaxAttempts int
}

// Client calls the Backend API. It is safe for concurrent use.
type Client struct {
	c    Config
	base string // BaseURL + "/v2", without a trailing slash
}

// New returns a client for c. It does not validate c beyond filling in
// defaults; the caller does.
func New(c Config) *Client {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Backoff == nil {
		c.Backoff = defaultBackoff
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	return &Client{c: c, base: strings.TrimSuffix(c.BaseURL, "/") + "/v2"}
}

func defaultBackoff(n int) time.Duration {
	d := 100 * time.Millisecond << (n - 1)
	return d + rand.N(d/2+1)
}

// Error is an answer of the Backend API with a status other than 2xx,
// modelled on golang.org/x/oauth2's RetrieveError.
type Error struct {
	// Op is the operation ID, such as "PasskeyAppendFinish".
	Op string
	// StatusCode is the HTTP status.
	StatusCode int
	// Body is the raw body (at most 1 MiB).
	Body []byte
	// Rsp is Body decoded as errorRsp; nil when it is not one.
	Rsp *ErrorRsp
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("corbado %s: HTTP %d", e.Op, e.StatusCode)
	if e.Rsp == nil {
		return msg
	}
	msg += ": " + e.Rsp.Error.Type
	if e.Rsp.Error.Details != "" {
		msg += ": " + e.Rsp.Error.Details
	}
	for _, v := range e.Rsp.Error.Validation {
		msg += fmt.Sprintf(" (%s: %s)", v.Field, v.Message)
	}
	if e.Rsp.RequestData.RequestID != "" {
		msg += " [request " + e.Rsp.RequestData.RequestID + "]"
	}
	return msg
}

// Type is the errorRsp error type, such as "validation_error", or "".
func (e *Error) Type() string {
	if e.Rsp == nil {
		return ""
	}
	return e.Rsp.Error.Type
}

// call performs one operation: method on path (below /v2) with query q,
// the JSON of in as body (when not nil), and the 2xx body decoded into out
// (when not nil).
func (c *Client) call(ctx context.Context, op, method, path string, q url.Values, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.c.Timeout)
	defer cancel()
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("corbado %s: encoding request: %w", op, err)
		}
		body = b
	}
	target := c.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	attempts := 1
	if method == http.MethodGet {
		attempts = c.c.MaxAttempts
	}
	var err error
	for n := 1; ; n++ {
		var retryAfter time.Duration
		retryAfter, err = c.once(ctx, op, method, target, body, out)
		if err == nil || n >= attempts || !retryable(err) {
			return err
		}
		wait := max(c.c.Backoff(n), retryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// once sends one request. For a 429 or 503 it also returns the
// Retry-After the server asked for.
func (c *Client) once(ctx context.Context, op, method, target string, body []byte, out any) (time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, fmt.Errorf("corbado %s %s: building the request: %w", op, method, withoutURL(err))
	}
	req.SetBasicAuth(c.c.ProjectID, c.c.APISecret)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.c.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.c.HTTPClient.Do(req)
	if err != nil {
		return 0, &transportError{op: op, method: method, err: withoutURL(err)}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return 0, &transportError{op: op, method: method, err: withoutURL(err)}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e := &Error{Op: op, StatusCode: res.StatusCode, Body: raw}
		var rsp ErrorRsp
		if decode(raw, &rsp) == nil && rsp.Error.Type != "" {
			e.Rsp = &rsp
		}
		return retryAfter(res), e
	}
	if out == nil {
		return 0, nil
	}
	if err := decode(raw, out); err != nil {
		return 0, fmt.Errorf("corbado %s: malformed answer (HTTP %d): %w", op, res.StatusCode, err)
	}
	if v, ok := out.(completer); ok {
		if err := v.complete(); err != nil {
			return 0, fmt.Errorf("corbado %s: incomplete answer (HTTP %d): %w", op, res.StatusCode, err)
		}
	}
	return 0, nil
}

// completer is an answer with members Corbado always fills in; a 2xx
// answer without them is not a success.
type completer interface{ complete() error }

// withoutURL drops the *url.Error around an error of net/http: it quotes
// the request URL.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decode reads exactly one JSON value from raw into v.
func decode(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func retryAfter(res *http.Response) time.Duration {
	if res.StatusCode != http.StatusTooManyRequests && res.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	s, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// transportError is a failure to get an answer at all.
type transportError struct {
	op, method string
	err        error
}

func (e *transportError) Error() string {
	return "corbado " + e.op + " " + e.method + ": " + e.err.Error()
}
func (e *transportError) Unwrap() error { return e.err }

// retryable reports whether a GET that failed with err may be sent again:
// after a refused or broken connection, a 429 or a 5xx other than 501.
// A call whose time is up is not retried.
func retryable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
	}
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode == http.StatusTooManyRequests || (e.StatusCode >= 500 && e.StatusCode != http.StatusNotImplemented)
	}
	return false
}

// IsTimeout reports whether err means the API did not answer in time.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
