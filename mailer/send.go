package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/passkeyready/passkeys"
)

// send delivers msg over a new connection. The connection is closed when
// ctx ends, and each read and write must finish within CommandTimeout.
func (s *Sender) send(ctx context.Context, msg *gomail.Msg) error {
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	dial := func(dctx context.Context, _, _ string) (net.Conn, error) {
		d := net.Dialer{Timeout: s.dial}
		raw, err := d.DialContext(dctx, "tcp", s.srv.addr())
		if err != nil {
			return nil, err
		}
		stop = context.AfterFunc(ctx, func() { raw.Close() })
		limit, _ := ctx.Deadline()
		conn := &deadlineConn{Conn: raw, timeout: s.command, limit: limit}
		if !s.srv.implicit {
			return conn, nil
		}
		// The handshake is part of dialling: DialTimeout bounds it, and
		// the handshake's own deadlines reach the connection.
		conn.passthrough.Store(true)
		tc := tls.Client(conn, s.tlsConfig)
		hctx, cancel := context.WithTimeout(dctx, s.dial)
		defer cancel()
		if d, ok := hctx.Deadline(); ok {
			_ = raw.SetDeadline(d)
		}
		err = tc.HandshakeContext(hctx)
		conn.passthrough.Store(false)
		_ = raw.SetDeadline(time.Time{})
		if err != nil {
			raw.Close()
			return nil, err
		}
		return tc, nil
	}
	opts := []gomail.Option{
		gomail.WithDialContextFunc(dial),
		gomail.WithTimeout(s.dial),
		gomail.WithTLSConfig(s.tlsConfig),
		gomail.WithoutNoop(),
		gomail.WithPort(s.srv.port),
	}
	switch {
	case s.srv.implicit:
		opts = append(opts, gomail.WithSSL())
	case s.plain:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.helo != "" {
		opts = append(opts, gomail.WithHELO(s.helo))
	}
	if s.user != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.user), gomail.WithPassword(s.pass))
	}
	c, err := gomail.NewClient(s.srv.host, opts...)
	if err != nil {
		return passkeys.ErrUpstream.With(detailNotSent, fmt.Errorf("mailer: %w", err))
	}
	err = c.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil {
		err = fmt.Errorf("%w: %w", cause, err)
	}
	err = fmt.Errorf("mailer: sending through %s: %w", s.srv.addr(), err)
	if transient(err) {
		return passkeys.ErrUnavailable.With(detailNotSent, err)
	}
	return passkeys.ErrUpstream.With(detailNotSent, err)
}

// transient reports whether a retry may cure err: the context ended, the
// network failed or timed out, or the server gave a 4xx reply.
func transient(err error) bool {
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		return tpe.Code >= 400 && tpe.Code < 500
	}
	var se *gomail.SendError
	if errors.As(err, &se) && se.IsTemp() {
		return true
	}
	var ne net.Error
	var oe *net.OpError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		(errors.As(err, &ne) && ne.Timeout()) || (errors.As(err, &oe) && oe.Op == "dial")
}

// deadlineConn sets a fresh deadline, timeout from now but never past
// limit, before each read and write. go-mail's own deadlines cover a whole
// phase of the conversation; this one bounds each wait for the server.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
	limit   time.Time // the context's deadline, or zero
	// passthrough, during the TLS handshake of smtps://, leaves deadlines
	// to the caller.
	passthrough atomic.Bool
}

func (c *deadlineConn) deadline() time.Time {
	d := time.Now().Add(c.timeout)
	if !c.limit.IsZero() && c.limit.Before(d) {
		return c.limit
	}
	return d
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if c.passthrough.Load() {
		return c.Conn.Read(p)
	}
	if err := c.Conn.SetReadDeadline(c.deadline()); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if c.passthrough.Load() {
		return c.Conn.Write(p)
	}
	if err := c.Conn.SetWriteDeadline(c.deadline()); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// SetDeadline, SetReadDeadline and SetWriteDeadline are ignored outside
// the handshake: Read and Write set their own.
func (c *deadlineConn) SetDeadline(t time.Time) error {
	if c.passthrough.Load() {
		return c.Conn.SetDeadline(t)
	}
	return nil
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	if c.passthrough.Load() {
		return c.Conn.SetReadDeadline(t)
	}
	return nil
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	if c.passthrough.Load() {
		return c.Conn.SetWriteDeadline(t)
	}
	return nil
}
