package passkeysprom_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeysprom"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const origin = "http://localhost:3000"

// setup serves a handler on the self-hosted engine whose events feed
// metrics registered with a fresh registry.
func setup(t *testing.T, opts passkeys.Options) (*passkeys.Handler, *passkeysprom.Metrics, *prometheus.Registry, *passkeystest.Client) {
	t.Helper()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	mail := passkeystest.NewMailbox()
	store := memstore.New()
	engine, err := selfhosted.New(selfhosted.Config{RPID: "localhost", Origins: []string{origin}, Store: store, OTPSender: mail, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := passkeysprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	opts.Backend, opts.JWTKey, opts.Clock, opts.Events = engine, []byte("0123456789abcdef0123456789abcdef"), clock, m
	opts.Logger = slog.New(slog.DiscardHandler)
	h, err := passkeys.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CountDropped(h); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	c := passkeystest.NewClient(ts.URL+"/auth", passkeystest.ClientOptions{Authenticator: passkeystest.New(origin), Mailbox: mail})
	return h, m, reg, c
}

func flush(t *testing.T, h *passkeys.Handler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.FlushEvents(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMetricsAfterCeremonies(t *testing.T) {
	ctx := context.Background()
	h, _, reg, c := setup(t, passkeys.Options{EmailLimit: passkeys.Rate{Events: 2, Per: time.Hour}})
	const email = "ada@example.com"
	s, err := c.SignUpOrLogin(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendPasskey(ctx, s.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoginWithPasskey(ctx, email); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LoginWithAutofill(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RequestCode(ctx, email); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitCode(ctx, email, "abcdef"); err == nil {
		t.Fatal("a malformed code was accepted")
	}
	if _, err := c.RequestCode(ctx, email); err == nil {
		t.Fatal("a third code in an hour was sent despite the limit of 2")
	}
	flush(t, h)

	for _, tc := range []struct {
		name   string
		metric prometheus.Collector
		want   float64
	}{
		{"sign-ups", eventsVec(t, reg, "sign_up", "otp", "", ""), 1},
		{"otp logins", eventsVec(t, reg, "login", "otp", "", ""), 1},
		{"passkey logins", eventsVec(t, reg, "login", "passkey", "", ""), 1},
		{"autofill logins", eventsVec(t, reg, "login", "autofill", "", ""), 1},
		{"passkeys added", eventsVec(t, reg, "passkey_added", "", "", ""), 1},
		{"sessions", eventsVec(t, reg, "session_created", "passkey", "", ""), 1},
	} {
		if got := testutil.ToFloat64(tc.metric); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	// Scrape /metrics as Prometheus would.
	ts := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer ts.Close()
	res, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(body)
	for _, want := range []string{
		`passkeys_requests_total{code="",endpoint="/signUpOrLogin",method="POST",status="200"} 3`,
		`passkeys_requests_total{code="invalid_request",endpoint="/signUpOrLogin",method="POST",status="400"} 1`,
		`passkeys_requests_total{code="too_many_attempts",endpoint="/signUpOrLogin",method="POST",status="429"} 1`,
		`passkeys_requests_total{code="",endpoint="/passkey/login/finish",method="POST",status="200"} 1`,
		`passkeys_request_duration_seconds_count{endpoint="/passkey/login/finish"} 1`,
		`passkeys_rate_limited_total{limit="email"} 1`,
		`passkeys_codes_sent_total{purpose="sign_in"} 2`,
		`passkeys_events_total{ceremony="",kind="login",method="otp",reason=""} 1`,
		`passkeys_events_dropped_total 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, secret := range []string{email, "127.0.0.1", s.User.ID, s.Token} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics holds %q", secret)
		}
	}
}

// eventsVec is the passkeys_events_total series with these labels.
func eventsVec(t *testing.T, reg *prometheus.Registry, kind, method, ceremony, reason string) prometheus.Collector {
	t.Helper()
	return &seriesOf{reg: reg, name: "passkeys_events_total", labels: map[string]string{"kind": kind, "method": method, "ceremony": ceremony, "reason": reason}}
}

// seriesOf is one series of a gathered metric, as a Collector that
// testutil.ToFloat64 can read.
type seriesOf struct {
	reg    *prometheus.Registry
	name   string
	labels map[string]string
}

func (s *seriesOf) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewDesc(s.name, "series", nil, nil)
}

func (s *seriesOf) Collect(ch chan<- prometheus.Metric) {
	families, err := s.reg.Gather()
	if err != nil {
		return
	}
	for _, f := range families {
		if f.GetName() != s.name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if s.labels[lp.GetName()] != lp.GetValue() {
					continue metrics
				}
			}
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(s.name, "series", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
		}
	}
}

// Values from outside the fixed sets become "other": a sink fed a
// forged event cannot grow the label space.
func TestMetricsBoundLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := passkeysprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.HandleEvent(context.Background(), passkeys.Event{Kind: "x@example.com", Method: "evil", Reason: "a@b.c", Ceremony: "1.2.3.4"})
	m.HandleEvent(context.Background(), passkeys.Event{Kind: passkeys.EventRequest, Endpoint: "/users/a@b.c", HTTPMethod: "BREW", Status: 999, Code: "Ünicode"})
	m.HandleEvent(context.Background(), passkeys.Event{Kind: passkeys.EventRateLimited, Reason: "user:42"})
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 5 {
		t.Errorf("%d series, %v; want 5", n, err)
	}
	want := `
# HELP passkeys_events_total Events of the passkeys handler (sign-ups, logins, codes, passkeys, sessions, account changes, failures), by kind, sign-in method, passkey ceremony and reason.
# TYPE passkeys_events_total counter
passkeys_events_total{ceremony="",kind="rate_limited",method="",reason="other"} 1
passkeys_events_total{ceremony="other",kind="other",method="other",reason="other"} 1
# HELP passkeys_requests_total Requests answered by the passkeys handler, by endpoint, HTTP method, status and problem code (empty on success).
# TYPE passkeys_requests_total counter
passkeys_requests_total{code="other",endpoint="other",method="other",status="other"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "passkeys_events_total", "passkeys_requests_total"); err != nil {
		t.Error(err)
	}
	if _, err := passkeysprom.New(reg); err == nil {
		t.Error("a second New on the same registry succeeded")
	}
}

// BenchmarkHandleEvent is what the handler's event goroutine spends on
// the metrics of one login finish (a login, a session and the request).
func BenchmarkHandleEvent(b *testing.B) {
	m, err := passkeysprom.New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	events := []passkeys.Event{
		{Kind: passkeys.EventLogin, Method: passkeys.MethodPasskey},
		{Kind: passkeys.EventSessionCreated, Method: passkeys.MethodPasskey},
		{Kind: passkeys.EventRequest, Endpoint: "/passkey/login/finish", HTTPMethod: "POST", Status: 200, Duration: 3 * time.Millisecond},
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range events {
			m.HandleEvent(ctx, e)
		}
	}
}
