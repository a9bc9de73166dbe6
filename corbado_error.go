package passkeys

import (
	"errors"
	"net/http"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
)

// upstream turns a failed API call into the error a client sees: 504 for
// a timeout, 502 for anything else. A 401 means the project ID and
// secret are wrong; that is logged once.
func (c *Corbado) upstream(err error) error {
	if corbadoapi.IsTimeout(err) {
		return ErrUpstreamTimeout.With("", err)
	}
	var ae *corbadoapi.Error
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
	var ae *corbadoapi.Error
	if !errors.As(err, &ae) || ae.StatusCode < 400 || ae.StatusCode > 499 {
		return false
	}
	switch ae.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return true
}

// finishFailed maps the error of a finish call: Corbado refusing the
// response is a verification failure.
func (c *Corbado) finishFailed(err error) error {
	if refused(err) {
		return ErrVerificationFailed.With("", err)
	}
	return c.upstream(err)
}
