package selfhosted_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// messageSender is an OTPMessageSender that keeps what it is given, or
// fails with err.
type messageSender struct {
	mu   sync.Mutex
	got  []passkeys.OTPMessage
	old  int // SendOTP calls
	fail error
}

func (m *messageSender) SendOTP(context.Context, string, string, time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.old++
	return m.fail
}

func (m *messageSender) SendOTPMessage(_ context.Context, msg passkeys.OTPMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, msg)
	return m.fail
}

// plainSender is an OTPSender without SendOTPMessage that always fails.
type plainSender struct{ err error }

func (p plainSender) SendOTP(context.Context, string, string, time.Duration) error { return p.err }

func TestOTPMessageSenderGetsPurposeAndClient(t *testing.T) {
	ms := &messageSender{}
	clock := e2e.NewClock()
	e, err := selfhosted.New(selfhosted.Config{RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: memstore.New(), OTPSender: ms, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := passkeys.Client{RemoteAddr: "198.51.100.4", UserAgent: "UA", AcceptLanguage: "de"}
	if _, err := e.StartOTP(t.Context(), "erin@example.org", c); err != nil {
		t.Fatal(err)
	}
	if len(ms.got) != 1 || ms.old != 0 {
		t.Fatalf("SendOTPMessage calls %d, SendOTP calls %d; want 1 and 0", len(ms.got), ms.old)
	}
	m := ms.got[0]
	if m.Email != "erin@example.org" || len(m.Code) != 6 || m.ValidFor != 10*time.Minute || m.Purpose != passkeys.OTPSignIn || !reflect.DeepEqual(m.Client, c) {
		t.Errorf("sign-in message %+v", m)
	}
	u, _, err := e.FinishOTP(t.Context(), "erin@example.org", m.Code, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.StartEmailChange(t.Context(), u, "erin.new@example.org", c); err != nil {
		t.Fatal(err)
	}
	if len(ms.got) != 2 || ms.got[1].Purpose != passkeys.OTPEmailChange || ms.got[1].Email != "erin.new@example.org" || !reflect.DeepEqual(ms.got[1].Client, c) {
		t.Errorf("email-change message %+v", ms.got[len(ms.got)-1])
	}
}

func TestSenderErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sender passkeys.OTPSender
		status int
		code   string
	}{
		{"plain error is 502", plainSender{errors.New("smtp: no route")}, http.StatusBadGateway, "upstream_error"},
		{"sender's own Error keeps its status", &messageSender{fail: passkeys.ErrUnavailable.With("", errors.New("busy"))}, http.StatusServiceUnavailable, "unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := selfhosted.New(selfhosted.Config{RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: memstore.New(), OTPSender: tc.sender})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.StartOTP(t.Context(), "frank@example.org", passkeys.Client{})
			var pe *passkeys.Error
			if !errors.As(err, &pe) || pe.Status != tc.status || pe.Code != tc.code {
				t.Fatalf("StartOTP error %v; want %d %s", err, tc.status, tc.code)
			}
		})
	}
}
