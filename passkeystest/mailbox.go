package passkeystest

import (
	"context"
	"sync"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/mailaddr"
)

// Mailbox is a [passkeys.OTPSender] that keeps every one-time code it is
// asked to send instead of emailing it, so that a test can read the code a
// user would have received. Hand it to the self-hosted engine as its
// OTPSender, or pass [Mailbox.Deliver] to a sender callback such as the
// Corbado emulator's OnOTP. The zero value is an empty mailbox ready to
// use; a Mailbox is safe for concurrent use.
type Mailbox struct {
	mu    sync.Mutex
	codes map[string][]string
	order []string // every code, in the order sent
}

var _ passkeys.OTPSender = (*Mailbox)(nil)

// NewMailbox returns an empty mailbox.
func NewMailbox() *Mailbox { return &Mailbox{} }

// SendOTP implements [passkeys.OTPSender]: it keeps code for email, exactly
// as given, and never fails.
func (m *Mailbox) SendOTP(_ context.Context, email, code string, _ time.Duration) error {
	m.Deliver(email, code)
	return nil
}

// Deliver keeps code for email, for senders that report codes through a
// callback rather than the OTPSender interface.
func (m *Mailbox) Deliver(email, code string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.codes == nil {
		m.codes = map[string][]string{}
	}
	m.codes[email] = append(m.codes[email], code)
	m.order = append(m.order, code)
}

// Codes returns every code sent to email, oldest first. email may be
// written as a user typed it: it is matched in the canonical form the
// handler sends to (so "JÖRG@Bücher.de" finds the codes sent to
// "jörg@xn--bcher-kva.de").
func (m *Mailbox) Codes(email string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.codes[canonical(email)]...)
}

// Last returns the newest code sent to email (matched as [Mailbox.Codes]
// matches it), and false when none was.
func (m *Mailbox) Last(email string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.codes[canonical(email)]
	if len(c) == 0 {
		return "", false
	}
	return c[len(c)-1], true
}

// All returns every code sent to anyone, oldest first; a test may check
// that none of them reached a log.
func (m *Mailbox) All() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.order...)
}

// canonical returns the form of email the handler sends codes to, or email
// as given when the handler would refuse it.
func canonical(email string) string {
	if c, err := mailaddr.Canonical(email); err == nil {
		return c
	}
	return email
}
