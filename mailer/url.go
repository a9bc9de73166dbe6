package mailer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// server is a parsed [Config.URL].
type server struct {
	host     string // without brackets
	port     int
	implicit bool // smtps: TLS from the first byte
	user     string
	pass     string
}

// parseURL reads an smtp:// or smtps:// URL. Its errors never quote the
// URL, which may hold a password.
func parseURL(raw string) (server, error) {
	if raw == "" {
		return server{}, errors.New("mailer: Config.URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The parser's error quotes the URL or a piece of it, which may be
		// the password.
		return server{}, errors.New("mailer: Config.URL is not a URL (a user or password with reserved characters must be percent-encoded)")
	}
	var s server
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.implicit, s.port = true, 465
	default:
		return server{}, fmt.Errorf("mailer: Config.URL must start with smtp:// (STARTTLS) or smtps:// (implicit TLS), not %q", u.Scheme)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return server{}, errors.New("mailer: Config.URL must be scheme://[user[:password]@]host[:port], with no path, query or fragment")
	}
	s.host = u.Hostname()
	if s.host == "" {
		return server{}, errors.New("mailer: Config.URL names no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return server{}, errors.New("mailer: Config.URL has a port out of range")
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	return s, nil
}

// addr is host:port for dialling.
func (s server) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// isLoopback reports whether host is "localhost" or a loopback address:
// the only hosts [Config.InsecurePlaintextLocalhost] lets talk without TLS.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
