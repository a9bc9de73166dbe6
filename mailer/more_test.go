package mailer_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/passkeyready/passkeys/mailer"
)

func TestUnicodeRecipient(t *testing.T) {
	ts := startServer(t, serverOpts{startTLS: true})
	s := newSender(t, "smtp", ts.addr, mailer.Config{})
	m := otpMessage("")
	m.Email = "jörg@xn--bcher-kva.de"
	if err := s.SendOTPMessage(t.Context(), m); err != nil {
		t.Fatalf("SendOTPMessage: %v", err)
	}
	msgs := ts.messages()
	if len(msgs) != 1 || len(msgs[0].to) != 1 || msgs[0].to[0] != m.Email {
		t.Fatalf("envelope %+v", msgs)
	}
	p := parse(t, msgs[0].data)
	if to, err := p.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != m.Email {
		t.Errorf("To %q: %v %v", p.header.Get("To"), to, err)
	}
}

func TestConcurrentSends(t *testing.T) {
	ts := startServer(t, serverOpts{startTLS: true, user: testUser, pass: testPass})
	s := newSender(t, "smtp", ts.addr, mailer.Config{Username: testUser, Password: testPass})
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m := otpMessage("")
			m.Email = fmt.Sprintf("user%d@example.org", i)
			errs[i] = s.SendOTPMessage(t.Context(), m)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("send %d: %v", i, err)
		}
	}
	seen := map[string]bool{}
	for _, m := range ts.messages() {
		seen[m.to[0]] = true
	}
	if len(seen) != n {
		t.Errorf("server got messages for %d addresses, want %d", len(seen), n)
	}
}
