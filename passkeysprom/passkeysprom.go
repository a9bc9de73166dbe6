// Package passkeysprom turns the events of a [passkeys.Handler] into
// Prometheus metrics. It is a sub-package so that the root package does
// not compile Prometheus.
//
//	m, err := passkeysprom.New(prometheus.DefaultRegisterer)
//	h, err := passkeys.New(passkeys.Options{..., Events: m})
//	err = m.CountDropped(h)
//
// The metrics, all prefixed passkeys_:
//
//	requests_total{endpoint,method,status,code}    answered requests
//	request_duration_seconds{endpoint}              their latency (histogram)
//	events_total{kind,method,ceremony,reason}       every other event
//	rate_limited_total{limit}                       requests refused by a limit
//	codes_sent_total{purpose}                       one-time codes emailed
//	events_dropped_total                            events the full queue dropped
//	emails_total{kind,outcome,code}                 emails sent or failed, through
//	                                                [Metrics.Sender] and [Metrics.Notifier]
//
// Every label value comes from a fixed set (the handler's routes, its
// methods, kinds and reason categories, HTTP statuses and problem codes);
// a value outside the set is counted as "other". No email, IP, user agent,
// user, session or passkey ID is ever a label.
package passkeysprom

import (
	"context"
	"strconv"
	"strings"

	"github.com/passkeyready/passkeys"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is an [passkeys.EventSink] that counts events. Create it with
// [New]. It is safe for concurrent use.
type Metrics struct {
	reg         prometheus.Registerer
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	events      *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	codesSent   *prometheus.CounterVec
	emails      *prometheus.CounterVec
}

var _ passkeys.EventSink = (*Metrics)(nil)

// New creates the metrics and registers them with reg
// (prometheus.DefaultRegisterer, or a registry of your own). It fails
// when reg already holds metrics of these names.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passkeys_requests_total",
			Help: "Requests answered by the passkeys handler, by endpoint, HTTP method, status and problem code (empty on success).",
		}, []string{"endpoint", "method", "status", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "passkeys_request_duration_seconds",
			Help:    "Time the passkeys handler took to answer, by endpoint.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passkeys_events_total",
			Help: "Events of the passkeys handler (sign-ups, logins, codes, passkeys, sessions, account changes, failures), by kind, sign-in method, passkey ceremony and reason.",
		}, []string{"kind", "method", "ceremony", "reason"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passkeys_rate_limited_total",
			Help: "Requests refused by a rate limit of the passkeys handler, by limit.",
		}, []string{"limit"}),
		codesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "passkeys_codes_sent_total",
			Help: "One-time codes sent by email, by purpose (sign_in, email_change).",
		}, []string{"purpose"}),
		emails: newEmails(),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.events, m.rateLimited, m.codesSent, m.emails} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// CountDropped registers passkeys_events_dropped_total, read from
// h's [passkeys.Handler.DroppedEvents] at each scrape.
func (m *Metrics) CountDropped(h *passkeys.Handler) error {
	return m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "passkeys_events_dropped_total",
		Help: "Events the passkeys handler dropped because its event queue was full.",
	}, func() float64 { return float64(h.DroppedEvents()) }))
}

// HandleEvent implements [passkeys.EventSink].
func (m *Metrics) HandleEvent(_ context.Context, e passkeys.Event) {
	switch e.Kind {
	case passkeys.EventRequest:
		ep := endpoint(e.Endpoint)
		m.requests.WithLabelValues(ep, httpMethod(e.HTTPMethod), status(e.Status), code(e.Code)).Inc()
		m.duration.WithLabelValues(ep).Observe(e.Duration.Seconds())
		return
	case passkeys.EventRateLimited:
		m.rateLimited.WithLabelValues(oneOf(e.Reason, limits)).Inc()
	case passkeys.EventCodeSent:
		m.codesSent.WithLabelValues(oneOf(e.Reason, purposes)).Inc()
	}
	m.events.WithLabelValues(oneOf(string(e.Kind), kinds), oneOf(string(e.Method), methods),
		oneOf(e.Ceremony, ceremonies), oneOf(e.Reason, reasons)).Inc()
}

func set(values ...string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return m
}

var (
	kinds = set(string(passkeys.EventCodeSent), string(passkeys.EventCodeFailed), string(passkeys.EventSignUp),
		string(passkeys.EventLogin), string(passkeys.EventSessionCreated), string(passkeys.EventSessionRevoked),
		string(passkeys.EventPasskeyAdded), string(passkeys.EventPasskeyRenamed), string(passkeys.EventPasskeyRemoved),
		string(passkeys.EventAccountDeleted), string(passkeys.EventEmailChanged), string(passkeys.EventRateLimited),
		string(passkeys.EventVerificationFailed))
	methods    = set("", string(passkeys.MethodOTP), string(passkeys.MethodPasskey), string(passkeys.MethodAutofill))
	ceremonies = set("", "login", "autofill", "append")
	limits     = set("ip", "email", "otpcheck", "otpfail", "start")
	purposes   = set("sign_in", "email_change")
	reasons    = set("", "sign_in", "email_change", "logout", "revoked",
		"ip", "email", "otpcheck", "otpfail", "start",
		"ceremony", "origin", "key", "counter", "duplicate", "unknown_credential", "invalid")
	httpMethods = set("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
)

// oneOf is v when it is in allowed, "other" otherwise.
func oneOf(v string, allowed map[string]bool) string {
	if allowed[v] {
		return v
	}
	return "other"
}

// endpoint keeps a route pattern: the handler only reports those and
// "other", and a route is short and made of path characters.
func endpoint(v string) string {
	if !strings.HasPrefix(v, "/") || len(v) > 64 {
		return "other"
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/{}_-", c)) {
			return "other"
		}
	}
	return v
}

func httpMethod(v string) string { return oneOf(v, httpMethods) }

func status(s int) string {
	if s < 100 || s > 599 {
		return "other"
	}
	return strconv.Itoa(s)
}

// code keeps a problem code: lower-case letters and underscores, short.
func code(v string) string {
	if len(v) > 40 {
		return "other"
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c == '_') {
			return "other"
		}
	}
	return v
}
