package passkeys

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// ActivityLimit is how many records GET account/activity lists at most.
const ActivityLimit = 50

// Activity is one recorded security event of the signed-in user, as GET
// account/activity lists it.
type Activity struct {
	Kind EventKind `json:"kind"`
	At   time.Time `json:"at"`
	// Method is how the user signed in (sign_up, login).
	Method Method `json:"method,omitempty"`
	// Detail is the passkey's name (passkey_added; the new name for
	// passkey_renamed) or the event's reason (code_failed, rate_limited,
	// session_revoked). A passkey_removed record has none: the event names
	// the passkey by ID only.
	Detail    string `json:"detail,omitempty"`
	IP        string `json:"ip"`
	UserAgent string `json:"userAgent"`
}

// ActivityLister lists a user's recorded security events for GET
// account/activity ([Options.Activity]). selfhosted.NewActivitySink
// returns one, which also records them. It must be safe for concurrent
// use.
type ActivityLister interface {
	// ListActivity returns at most limit of the user's records that are
	// kept at now, newest first; an empty slice when there are none.
	ListActivity(ctx context.Context, userID string, now time.Time, limit int) ([]Activity, error)
}

type activityResponse struct {
	Activity []Activity `json:"activity"`
}

var errNoActivity = ErrNotFound.With("This server keeps no record of account activity.", nil)

// activityWait bounds how long GET account/activity waits for the events
// queued before it to reach the sinks.
const activityWait = time.Second

// listActivity answers GET account/activity. It first lets the events
// queued before it reach [Options.Events] (for at most activityWait), so
// that a user who just added a passkey finds it listed.
func (h *Handler) listActivity(r *http.Request, _ http.ResponseWriter) (any, error) {
	if h.opts.Activity == nil {
		return nil, errNoActivity
	}
	if h.events != nil {
		ctx, cancel := context.WithTimeout(r.Context(), activityWait)
		_ = h.events.wait(ctx)
		cancel()
	}
	s, _ := SessionFromContext(r.Context())
	list, err := h.opts.Activity.ListActivity(r.Context(), s.User.ID, h.opts.Clock(), ActivityLimit)
	if err != nil {
		return nil, fmt.Errorf("listing account activity: %w", err)
	}
	if list == nil {
		list = []Activity{}
	}
	return activityResponse{list}, nil
}
