package selfhosted

import (
	"errors"

	"github.com/passkeyready/passkeys"
)

// Details of the 503 a finish answers when the store becomes unavailable
// on the way (see restartOnOutage).
const (
	restartCeremony = "The service was briefly unavailable and this passkey ceremony may have been used up; start it again shortly."
	restartCode     = "The service was briefly unavailable; try again shortly, and request a new code if this one is refused."
)

// restartOnOutage gives a finish that failed because the store was
// unavailable ([passkeys.ErrUnavailable] in *err's chain) a detail that
// tells the client what to do. A finish takes its ceremony (or uses up its
// code) before the steps that may fail, and the engine does not put it
// back: the store that failed would likely refuse that too, and a
// ceremony put back after a counter write-back that reached the database
// would let one assertion succeed twice. So the client is told to start
// again, and a retry of the same assertion is refused as a used ceremony.
// Any other error is left as it is.
func restartOnOutage(err *error, detail string) {
	var e *passkeys.Error
	if *err == nil || !errors.Is(*err, passkeys.ErrUnavailable) {
		return
	}
	cause := *err
	if errors.As(*err, &e) && e.Code == passkeys.ErrUnavailable.Code && e.Err != nil {
		cause = e.Err // the store's own cause, without the sentinel's text
	}
	*err = passkeys.ErrUnavailable.With(detail, cause)
}
