package passkeys

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
)

// CorbadoAPIError is an answer of Corbado's Backend API with a status
// other than 2xx, in the manner of golang.org/x/oauth2's RetrieveError.
// The [Corbado] backend returns it as the cause of the [*Error] a client
// sees (usually [ErrUpstream]), so an application finds it with
// errors.As:
//
//	var ae *passkeys.CorbadoAPIError
//	if errors.As(err, &ae) {
//		log.Printf("Corbado %s: HTTP %d %s (request %s)", ae.Op, ae.StatusCode, ae.Type, ae.RequestID)
//	}
//
// It holds what Corbado said and nothing of the request: never the API
// secret, never a URL (whose query may hold an email address).
type CorbadoAPIError struct {
	// Op is the Backend API operation, such as "UserGet" or
	// "PasskeyAppendFinish".
	Op string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Type is Corbado's error type, such as "validation_error"; empty
	// when the body was not Corbado's error document.
	Type string
	// Details is Corbado's description of the error, when it gave one.
	Details string
	// Validation lists the request fields Corbado refused and why, such
	// as {Field: "userID", Message: "does not exist"}.
	Validation []CorbadoValidation
	// RequestID is Corbado's ID of the request, the one to quote to
	// Corbado's support.
	RequestID string
}

// CorbadoValidation is one field Corbado refused in a request.
type CorbadoValidation struct {
	Field   string
	Message string
}

func (e *CorbadoAPIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "corbado %s: HTTP %d", e.Op, e.StatusCode)
	if e.Type != "" {
		b.WriteString(": " + e.Type)
	}
	if e.Details != "" {
		b.WriteString(": " + e.Details)
	}
	for _, v := range e.Validation {
		fmt.Fprintf(&b, " (%s: %s)", v.Field, v.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// fromAPI converts an error of the internal client where it enters this
// package: a *corbadoapi.Error becomes a [*CorbadoAPIError]; any other
// error (a transport failure, a timeout, a malformed answer) stays as it
// is.
func fromAPI(err error) error {
	var ae *corbadoapi.Error
	if !errors.As(err, &ae) {
		return err
	}
	e := &CorbadoAPIError{Op: ae.Op, StatusCode: ae.StatusCode}
	if r := ae.Rsp; r != nil {
		e.Type, e.Details, e.RequestID = r.Error.Type, r.Error.Details, r.RequestData.RequestID
		for _, v := range r.Error.Validation {
			e.Validation = append(e.Validation, CorbadoValidation{Field: v.Field, Message: v.Message})
		}
	}
	return e
}

// call is fromAPI for calls that also return a value.
func call[T any](v T, err error) (T, error) { return v, fromAPI(err) }

// doesNotExist reports whether err is Corbado saying that the object a
// request names is not there: real Corbado answers an unknown or deleted
// user, identifier, challenge or credential with HTTP 400 and a
// validation entry such as "userID: does not exist", not with 404. A 404
// is not taken for one: it means the API itself was not found (a BaseURL
// pointing elsewhere), which must not make every account look deleted.
func doesNotExist(err error, fields ...string) bool {
	var ae *CorbadoAPIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest {
		return false
	}
	return slices.ContainsFunc(ae.Validation, func(v CorbadoValidation) bool {
		return slices.Contains(fields, v.Field) && strings.EqualFold(strings.TrimSpace(v.Message), "does not exist")
	})
}

// errAccountGone is the answer for a session or ceremony whose Corbado
// user (or its email identifier) no longer exists.
var errAccountGone = ErrUnauthorized.With("The account no longer exists.", nil)

// gone is upstream, except that Corbado saying one of fields does not
// exist means the account is gone: [ErrUnauthorized].
func (c *Corbado) gone(err error, fields ...string) error {
	if doesNotExist(err, fields...) {
		return errAccountGone.With("", err)
	}
	return c.upstream(err)
}

// upstream turns a failed API call into the error a client sees: 504 for
// a timeout, 502 for anything else. A 401 means the project ID and
// secret are wrong; that is logged once.
func (c *Corbado) upstream(err error) error {
	if corbadoapi.IsTimeout(err) {
		return ErrUpstreamTimeout.With("", err)
	}
	var ae *CorbadoAPIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized {
		c.authFailed.Do(func() {
			c.logger.Error("passkeys: Corbado rejected the project ID and API secret (HTTP 401); check CorbadoOptions.ProjectID and APISecret",
				"op", ae.Op)
		})
	}
	return ErrUpstream.With("", err)
}

// refused reports whether err is Corbado refusing the request itself (a
// 4xx other than authentication, rate limiting or a timeout), as opposed
// to Corbado failing to answer.
func refused(err error) bool {
	var ae *CorbadoAPIError
	if !errors.As(err, &ae) || ae.StatusCode < 400 || ae.StatusCode > 499 {
		return false
	}
	switch ae.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return true
}

// finishFailed maps the error of a finish call: a user that no longer
// exists is [ErrUnauthorized], and Corbado refusing the response is a
// verification failure.
func (c *Corbado) finishFailed(err error) error {
	switch {
	case doesNotExist(err, "userID"):
		return errAccountGone.With("", err)
	case refused(err):
		return ErrVerificationFailed.With("", err)
	}
	return c.upstream(err)
}
