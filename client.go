package passkeys

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// client describes the request's sender for backends and rate limits.
func (h *Handler) client(r *http.Request) Client {
	return Client{
		RemoteAddr:     clientIP(r, h.opts.TrustedProxies),
		UserAgent:      r.UserAgent(),
		AcceptLanguage: acceptLanguage(r),
	}
}

// maxAcceptLanguage caps [Client.AcceptLanguage]: a few dozen language
// ranges, more than any browser sends.
const maxAcceptLanguage = 512

// acceptLanguage is the request's Accept-Language values joined by commas,
// cut at the last comma within maxAcceptLanguage bytes, so that whatever
// is kept is still a list of whole language ranges.
func acceptLanguage(r *http.Request) string {
	s := strings.Join(r.Header.Values("Accept-Language"), ",")
	if len(s) <= maxAcceptLanguage {
		return s
	}
	s = s[:maxAcceptLanguage+1]
	if i := strings.LastIndexByte(s, ','); i >= 0 {
		return s[:i]
	}
	return ""
}

// clientIP is the connection's remote address or, when that is a trusted
// proxy, the right-most X-Forwarded-For entry that is not a trusted proxy.
// Entries further left are written by the client and never believed.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if !isTrusted(addr, trusted) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = hop.Unmap()
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return addr.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ipKey is the rate-limit key of an address: the address itself for IPv4,
// its /64 network for IPv6, since one client usually holds a whole /64.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}
