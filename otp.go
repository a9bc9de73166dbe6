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
// sends a new one at once. An error that is an [*Error] (such as
// [ErrUnavailable] wrapping the cause) is answered with its status; any
// other error is answered 502 upstream_error, saying that the code could
// not be sent.
//
// A sender that also implements [OTPMessageSender] is given the whole
// [OTPMessage] instead, with the client's language, address and user
// agent and the purpose of the code.
type OTPSender interface {
	SendOTP(ctx context.Context, email, code string, validFor time.Duration) error
}

// OTPMessageSender is an optional interface of an [OTPSender]: when the
// sender has it, the self-hosted engine calls SendOTPMessage instead of
// SendOTP, with everything it knows about the code and the request that
// asked for it. The rules of OTPSender apply: never log the code, be safe
// for concurrent use, and an error fails the request and drops the code.
// A sender keeps its SendOTP for callers that know only the address (it
// may call SendOTPMessage with Purpose [OTPSignIn] and a zero Client).
//
// It is optional so that senders written before it keep compiling and
// working unchanged; the mailer sub-package implements both.
type OTPMessageSender interface {
	SendOTPMessage(ctx context.Context, m OTPMessage) error
}

// OTPMessage is one code to deliver, as an [OTPMessageSender] receives it.
type OTPMessage struct {
	// Email is the address to send to, in its canonical form.
	Email string
	// Code is the one-time code, six digits. Never log it.
	Code string
	// ValidFor is how long the code can be used.
	ValidFor time.Duration
	// Purpose says why the code was asked for.
	Purpose OTPPurpose
	// Client is the request that asked for the code: its IP address (after
	// [Options.TrustedProxies]), User-Agent and Accept-Language, so that
	// the message can be written in the client's language and say where
	// the request came from. It is zero when the code was not asked for
	// over HTTP.
	Client Client
}

// OTPPurpose says why a code was sent.
type OTPPurpose string

// The purposes of a code.
const (
	// OTPSignIn is a code of signUpOrLogin: signing up or signing in.
	OTPSignIn OTPPurpose = "sign_in"
	// OTPEmailChange is a code of account/email, sent to the new address
	// to confirm it.
	OTPEmailChange OTPPurpose = "email_change"
)

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
