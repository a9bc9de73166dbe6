package mailer_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testCert is a self-signed certificate for 127.0.0.1 and localhost,
// made once per test binary, and a pool that trusts it.
var testCert = sync.OnceValues(func() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mail.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
})

// clientTLS trusts the test certificate only.
func clientTLS() *tls.Config {
	_, pool := testCert()
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// serverOpts shapes a test SMTP server.
type serverOpts struct {
	startTLS bool   // offer STARTTLS
	implicit bool   // TLS from the first byte (smtps)
	user     string // require AUTH PLAIN with user and pass
	pass     string
	insecure bool // offer AUTH without TLS
	// reject, when set, answers DATA (after reading the whole message) with
	// this error; the message is still recorded.
	reject func() *smtp.SMTPError
	// hangData blocks DATA until the test ends.
	hangData bool
}

// received is one message as the server got it.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string // the authenticated user, or empty
}

// testServer is an in-process SMTP server on 127.0.0.1.
type testServer struct {
	addr    string
	opts    serverOpts
	release chan struct{} // closed when the test ends; hangData waits on it

	mu    sync.Mutex
	msgs  []received
	auths int // AUTH attempts
}

func startServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	ts := &testServer{opts: o}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &session{ts: ts, msg: received{tls: isTLS}, conn: c}, nil
	}))
	s.Domain = "mail.test"
	s.AllowInsecureAuth = o.insecure
	s.EnableSMTPUTF8 = true
	s.ReadTimeout, s.WriteTimeout = time.Minute, time.Minute
	if o.startTLS {
		cert, _ := testCert()
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicit {
		cert, _ := testCert()
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	ts.addr = l.Addr().String()
	ts.release = make(chan struct{})
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() {
		close(ts.release)
		_ = s.Close()
	})
	return ts
}

func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

func (ts *testServer) authAttempts() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.auths
}

type session struct {
	ts   *testServer
	conn *smtp.Conn
	msg  received
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.ts.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.ts.mu.Lock()
		s.ts.auths++
		s.ts.mu.Unlock()
		if user != s.ts.opts.user || pass != s.ts.opts.pass {
			return smtp.ErrAuthFailed
		}
		s.msg.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.ts.opts.user != "" && s.msg.user == "" {
		return smtp.ErrAuthRequired
	}
	s.msg.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.msg.tls = s.conn.TLSConnectionState()
	m := s.msg
	m.data = b
	s.ts.mu.Lock()
	s.ts.msgs = append(s.ts.msgs, m)
	s.ts.mu.Unlock()
	if s.ts.opts.hangData {
		<-s.ts.release
		return errors.New("released")
	}
	if s.ts.opts.reject != nil {
		if e := s.ts.opts.reject(); e != nil {
			return e
		}
	}
	return nil
}

func (s *session) Reset()        { s.msg = received{tls: s.msg.tls, user: s.msg.user} }
func (s *session) Logout() error { return nil }

// hangingListener accepts connections and never writes a byte: an SMTP
// server that does not answer. accepted receives each connection.
func hangingListener(t *testing.T) (addr string, accepted <-chan net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan net.Conn, 8)
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			ch <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), ch
}

// clientTLSWithoutRoots trusts nothing but the system's roots, which do
// not hold the test certificate.
func clientTLSWithoutRoots() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: x509.NewCertPool()}
}
