package passkeysprom_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeysprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// plainSender has SendOTP only; messageSender has SendOTPMessage too and
// records what it got. Both fail with err.
type plainSender struct{ err error }

func (s plainSender) SendOTP(context.Context, string, string, time.Duration) error { return s.err }

type messageSender struct {
	err error
	got *passkeys.OTPMessage
}

func (s messageSender) SendOTP(context.Context, string, string, time.Duration) error {
	return errors.New("SendOTP called instead of SendOTPMessage")
}

func (s messageSender) SendOTPMessage(_ context.Context, m passkeys.OTPMessage) error {
	*s.got = m
	return s.err
}

type notifierFunc func(passkeys.SecurityNotice) error

func (f notifierFunc) Notify(_ context.Context, n passkeys.SecurityNotice) error { return f(n) }

// Sender and Notifier count each delivery by outcome and problem code,
// return the wrapped errors unchanged and pass the whole message on.
func TestEmailCounters(t *testing.T) {
	ctx := t.Context()
	reg := prometheus.NewRegistry()
	m, err := passkeysprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	unavailable := passkeys.ErrUnavailable.With("The code could not be sent; try again shortly.", errors.New("dial: refused"))
	plain := errors.New("550 no such mailbox")

	var got passkeys.OTPMessage
	ms := m.Sender(messageSender{got: &got}).(passkeys.OTPMessageSender)
	msg := passkeys.OTPMessage{Email: "a@example.com", Code: "123456", ValidFor: time.Minute, Purpose: passkeys.OTPEmailChange,
		Client: passkeys.Client{AcceptLanguage: "de"}}
	if err := ms.SendOTPMessage(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if got.Email != msg.Email || got.Code != msg.Code || got.Purpose != msg.Purpose || got.Client.AcceptLanguage != "de" {
		t.Errorf("the sender got %+v, want %+v", got, msg)
	}
	if err := m.Sender(messageSender{err: unavailable, got: &got}).(passkeys.OTPMessageSender).SendOTPMessage(ctx, msg); err != unavailable {
		t.Errorf("error %v, want the sender's own", err)
	}
	// A sender without SendOTPMessage is called by SendOTP either way.
	for _, send := range []func(passkeys.OTPSender) error{
		func(s passkeys.OTPSender) error { return s.SendOTP(ctx, "a@example.com", "123456", time.Minute) },
		func(s passkeys.OTPSender) error { return s.(passkeys.OTPMessageSender).SendOTPMessage(ctx, msg) },
	} {
		if err := send(m.Sender(plainSender{err: plain})); err != plain {
			t.Errorf("error %v, want the sender's own", err)
		}
	}
	n := m.Notifier(notifierFunc(func(passkeys.SecurityNotice) error { return nil }))
	for range 2 {
		if err := n.Notify(ctx, passkeys.SecurityNotice{Kind: passkeys.EventPasskeyAdded, To: "a@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Notifier(notifierFunc(func(passkeys.SecurityNotice) error { return unavailable })).Notify(ctx, passkeys.SecurityNotice{}); err != unavailable {
		t.Errorf("notifier error %v, want its own", err)
	}

	for _, c := range []struct {
		kind, outcome, code string
		want                float64
	}{
		{"code", "sent", "", 1},
		{"code", "failed", "unavailable", 1},
		{"code", "failed", "upstream_error", 2}, // not a *passkeys.Error: answered 502 upstream_error
		{"notice", "sent", "", 2},
		{"notice", "failed", "unavailable", 1},
	} {
		v, err := counter(reg, "passkeys_emails_total", map[string]string{"kind": c.kind, "outcome": c.outcome, "code": c.code})
		if err != nil || v != c.want {
			t.Errorf("passkeys_emails_total{kind=%q,outcome=%q,code=%q} = %v, %v; want %v", c.kind, c.outcome, c.code, v, err, c.want)
		}
	}
	if n := testutil.CollectAndCount(reg, "passkeys_emails_total"); n != 5 {
		t.Errorf("%d series of passkeys_emails_total, want 5", n)
	}
}

// counter reads one series of a counter from reg.
func counter(reg *prometheus.Registry, name string, labels map[string]string) (float64, error) {
	families, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return s.GetCounter().GetValue(), nil
		}
	}
	return 0, errors.New("no such series")
}
