package passkeysprom

import (
	"context"
	"errors"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/prometheus/client_golang/prometheus"
)

func newEmails() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "passkeys_emails_total",
		Help: "Emails handed to the sender (kind code or notice), by outcome (sent, failed) and, for a failure, the problem code it was answered with (unavailable, upstream_error, ...).",
	}, []string{"kind", "outcome", "code"})
}

// countEmail counts one delivery of kind: sent when err is nil, failed
// otherwise, with the problem code the handler answers err with (that of
// a [*passkeys.Error], upstream_error for any other error).
func (m *Metrics) countEmail(kind string, err error) {
	if err == nil {
		m.emails.WithLabelValues(kind, "sent", "").Inc()
		return
	}
	c := passkeys.ErrUpstream.Code
	var pe *passkeys.Error
	if errors.As(err, &pe) {
		c = pe.Code
	}
	m.emails.WithLabelValues(kind, "failed", code(c)).Inc()
}

// Sender returns s counting each code it delivers in
// passkeys_emails_total{kind="code"}: outcome "sent", or "failed" with
// the problem code of the error. Hand it to the self-hosted engine
// (selfhosted.Config.OTPSender) in place of s. It returns s's errors
// unchanged and is an [passkeys.OTPMessageSender]: it passes the whole
// message on to a sender that is one, and calls SendOTP of one that is
// not. With the Corbado backend, Corbado sends the codes and this counter
// does not move; passkeys_codes_sent_total counts them.
func (m *Metrics) Sender(s passkeys.OTPSender) passkeys.OTPSender {
	return &countingSender{m: m, s: s}
}

type countingSender struct {
	m *Metrics
	s passkeys.OTPSender
}

var (
	_ passkeys.OTPSender        = (*countingSender)(nil)
	_ passkeys.OTPMessageSender = (*countingSender)(nil)
)

func (c *countingSender) SendOTP(ctx context.Context, email, code string, validFor time.Duration) error {
	err := c.s.SendOTP(ctx, email, code, validFor)
	c.m.countEmail("code", err)
	return err
}

func (c *countingSender) SendOTPMessage(ctx context.Context, msg passkeys.OTPMessage) error {
	var err error
	if ms, ok := c.s.(passkeys.OTPMessageSender); ok {
		err = ms.SendOTPMessage(ctx, msg)
	} else {
		err = c.s.SendOTP(ctx, msg.Email, msg.Code, msg.ValidFor)
	}
	c.m.countEmail("code", err)
	return err
}

// Notifier returns n counting each security notice it delivers in
// passkeys_emails_total{kind="notice"}, as [Metrics.Sender] counts codes.
// Hand it to passkeys.NewSecurityNotifications in place of n.
func (m *Metrics) Notifier(n passkeys.Notifier) passkeys.Notifier {
	return &countingNotifier{m: m, n: n}
}

type countingNotifier struct {
	m *Metrics
	n passkeys.Notifier
}

var _ passkeys.Notifier = (*countingNotifier)(nil)

func (c *countingNotifier) Notify(ctx context.Context, n passkeys.SecurityNotice) error {
	err := c.n.Notify(ctx, n)
	c.m.countEmail("notice", err)
	return err
}
