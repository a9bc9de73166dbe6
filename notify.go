package passkeys

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// SecurityNotice tells an account's owner about a change to their account
// that they may not have made: a passkey added or removed, the email
// changed. It holds no code or token.
type SecurityNotice struct {
	// Kind is EventPasskeyAdded, EventPasskeyRemoved or EventEmailChanged.
	Kind EventKind
	// To is the address to write to: the account's, or for an email
	// change the old one (the new one proved itself with a code).
	To string
	// User is the account (with its current email).
	User User
	// PasskeyID and PasskeyName identify the passkey added or removed
	// (the name only for an added one).
	PasskeyID   string
	PasskeyName string
	// OldEmail and NewEmail are the addresses of an email change.
	OldEmail string
	NewEmail string
	// Time, Client and RequestID say when, from where and in which
	// request it happened, for "was this you?".
	Time      time.Time
	Client    Client
	RequestID string
}

// Notifier delivers security notices, usually by email through the same
// sender and templates as the one-time codes. Notify is called from the
// handler's event goroutine (see [EventSink]); an error is logged, not
// retried. Implementations must be safe for concurrent use.
type Notifier interface {
	Notify(ctx context.Context, n SecurityNotice) error
}

// NewSecurityNotifications returns an [EventSink] that sends a
// [SecurityNotice] through n when a passkey is added to or removed from
// an account and when an account's email changes (to the old address).
// Put it into [Options.Events], alone or with [MultiSink]. A failed
// delivery is logged to logger (default slog.Default()) at ERROR with the
// notice's kind and request ID and the error.
func NewSecurityNotifications(n Notifier, logger *slog.Logger) EventSink {
	if logger == nil {
		logger = slog.Default()
	}
	return &notifications{n: n, log: logger}
}

type notifications struct {
	n   Notifier
	log *slog.Logger
}

func (s *notifications) HandleEvent(ctx context.Context, e Event) {
	notice := SecurityNotice{Kind: e.Kind, To: e.User.Email, User: e.User, Time: e.Time, Client: e.Client, RequestID: e.RequestID}
	switch e.Kind {
	case EventPasskeyAdded:
		notice.PasskeyID, notice.PasskeyName = e.PasskeyID, e.PasskeyName
	case EventPasskeyRemoved:
		notice.PasskeyID = e.PasskeyID
	case EventEmailChanged:
		notice.To, notice.OldEmail, notice.NewEmail = e.OldEmail, e.OldEmail, e.Email
	default:
		return
	}
	if notice.To == "" {
		return
	}
	if err := s.n.Notify(ctx, notice); err != nil {
		s.log.Log(ctx, slog.LevelError, "passkeys: security notice not sent",
			"kind", string(e.Kind), "request_id", e.RequestID, "cause", redactSecrets(err.Error()))
	}
}

// DevelopmentNotifier writes each security notice as one line to W, for
// local development:
//
//	passkeys DEVELOPMENT ONLY notice kind=passkey_added to=<email> passkey=<name>
//
// It is safe for concurrent use.
type DevelopmentNotifier struct {
	W  io.Writer
	mu sync.Mutex
}

var _ Notifier = (*DevelopmentNotifier)(nil)

// Notify implements [Notifier].
func (d *DevelopmentNotifier) Notify(_ context.Context, n SecurityNotice) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	switch n.Kind {
	case EventEmailChanged:
		_, err = fmt.Fprintf(d.W, "passkeys DEVELOPMENT ONLY notice kind=%s to=%s new_email=%s\n", n.Kind, n.To, n.NewEmail)
	default:
		_, err = fmt.Fprintf(d.W, "passkeys DEVELOPMENT ONLY notice kind=%s to=%s passkey=%q\n", n.Kind, n.To, n.PasskeyName)
	}
	return err
}
