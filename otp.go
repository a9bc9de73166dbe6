package passkeys

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// OTPSender delivers a one-time code to an email address. The self-hosted
// engine calls it; Corbado's Backend API sends its own emails.
// Implementations must not log the code, and must be safe for concurrent
// use: the engine calls SendOTP from every request goroutine at once. An
// error fails the request and drops the code, so that the next request
// sends a new one at once.
type OTPSender interface {
	SendOTP(ctx context.Context, email, code string, validFor time.Duration) error
}

// DevelopmentOTPSender writes each code as one line to W, for local
// development only: it holds the plain code, so anyone who can read the
// output can log in as anyone. The line has the form
//
//	passkeys DEVELOPMENT ONLY otp email=<email> code=<digits> valid=10m0s
//
// It is the single place where this library lets a code reach a log.
// It writes one line at a time, so it is safe for concurrent use.
type DevelopmentOTPSender struct {
	W  io.Writer
	mu sync.Mutex
}

var _ OTPSender = (*DevelopmentOTPSender)(nil)

// SendOTP implements [OTPSender].
func (d *DevelopmentOTPSender) SendOTP(_ context.Context, email, code string, validFor time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := fmt.Fprintf(d.W, "passkeys DEVELOPMENT ONLY otp email=%s code=%s valid=%s\n", email, code, validFor)
	return err
}
