// Package weborigin validates origins written in configuration, so that the
// root package (cookie sessions, CORS) and the self-hosted engine (WebAuthn
// origins) refuse the same typos with the same words.
package weborigin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Check returns nil when o is the exact serialisation a browser produces
// for an origin (RFC 6454 §6.2, as written into clientDataJSON and the
// Origin header): lower-case scheme and host, the host in ASCII (punycode
// for an internationalised name), no default port, no empty or
// zero-padded port, no wildcard and nothing after the authority. Anything
// else would never compare equal to what a browser sends. The error says
// what is wrong, phrased to follow the quoted origin.
func Check(o string) error {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("is not an origin (scheme://host[:port])")
	}
	for _, r := range o {
		if r <= ' ' || r > '~' {
			return errors.New("must be ASCII without spaces (write an internationalised host name in punycode, xn--…)")
		}
	}
	if o != strings.ToLower(o) {
		return errors.New("must be lower-case, as browsers serialise origins")
	}
	if o != u.Scheme+"://"+u.Host {
		return errors.New("must be scheme://host[:port] with nothing after it")
	}
	if strings.Contains(u.Host, "*") {
		return errors.New("has a wildcard: list every origin exactly")
	}
	if strings.HasSuffix(u.Host, ":") {
		return errors.New("has an empty port")
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		switch {
		case err != nil || strconv.Itoa(n) != port || n > 65535:
			return errors.New("has a port that is not a decimal number up to 65535 without leading zeros")
		case u.Scheme == "https" && n == 443, u.Scheme == "http" && n == 80:
			return fmt.Errorf("names the default port %d, which browsers leave out: write %s://%s", n, u.Scheme, u.Hostname())
		}
	}
	return nil
}

// CheckWeb is Check for an origin that serves web pages: its scheme must
// also be http or https.
func CheckWeb(o string) error {
	if err := Check(o); err != nil {
		return err
	}
	if !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") {
		return errors.New("must be an http:// or https:// origin")
	}
	return nil
}

// IsLoopbackHTTP reports whether o, which passed Check, is plain http on
// this machine: http://localhost, http://127.0.0.1 (any 127/8 address) or
// http://[::1], with any port. Browsers treat these as secure contexts
// although nothing is encrypted, since the traffic never leaves the
// machine.
func IsLoopbackHTTP(o string) bool {
	u, err := url.Parse(o)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
