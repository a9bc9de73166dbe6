package passkeys

import (
	"context"
	"log/slog"
	"time"
)

// NewAuditLog returns an [EventSink] that writes every security event
// (all kinds but [EventRequest]) as one line to logger, at INFO, with the
// message "passkeys audit" and the event's fields that are set, named
// kind, time (RFC 3339, UTC), request_id, endpoint, ip, user_agent,
// user_id, email, old_email, method, new_user, ceremony, reason,
// passkey_id, passkey_name and session_id. Point logger at the host's
// audit log, for example slog.New(slog.NewJSONHandler(file, nil)) for
// one JSON object a line. Events hold no code, token, challenge or key,
// so neither does the log; they do hold email and IP addresses, which
// are personal data.
func NewAuditLog(logger *slog.Logger) EventSink {
	if logger == nil {
		logger = slog.Default()
	}
	return auditLog{logger}
}

type auditLog struct{ l *slog.Logger }

func (a auditLog) HandleEvent(ctx context.Context, e Event) {
	if e.Kind == EventRequest {
		return
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs, slog.String("kind", string(e.Kind)), slog.String("time", e.Time.UTC().Format(time.RFC3339Nano)))
	for _, f := range []struct{ k, v string }{
		{"request_id", e.RequestID}, {"endpoint", e.Endpoint}, {"ip", e.Client.RemoteAddr}, {"user_agent", e.Client.UserAgent},
		{"user_id", e.User.ID}, {"email", auditEmail(e)}, {"old_email", e.OldEmail}, {"method", string(e.Method)},
		{"ceremony", e.Ceremony}, {"reason", e.Reason}, {"passkey_id", e.PasskeyID}, {"passkey_name", e.PasskeyName},
		{"session_id", e.SessionID},
	} {
		if f.v != "" {
			attrs = append(attrs, slog.String(f.k, f.v))
		}
	}
	if e.NewUser {
		attrs = append(attrs, slog.Bool("new_user", true))
	}
	a.l.LogAttrs(ctx, slog.LevelInfo, "passkeys audit", attrs...)
}

// auditEmail is the address an event concerns: the one a code went to,
// or the user's.
func auditEmail(e Event) string {
	if e.Email != "" {
		return e.Email
	}
	return e.User.Email
}
