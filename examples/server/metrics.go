package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeysprom"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// observability is what the example does with the handler's events: an
// audit line per security event on the log, the stored audit trail of
// GET /auth/account/activity (trail), a security notice when a passkey is
// added or removed or the email changes (emailed by the SMTP sender of
// -smtp, printed to stderr like the codes without it), and Prometheus
// metrics when -metrics-addr is set, which count the emails sent and
// failed through sender as well.
type observability struct {
	sink passkeys.EventSink
	// sender is the code sender for the engine: the one given, counted by
	// the metrics when there are any.
	sender  passkeys.OTPSender
	metrics *passkeysprom.Metrics
	reg     *prometheus.Registry
}

func newObservability(c config, logger *slog.Logger, stderr io.Writer, sender passkeys.OTPSender, trail *selfhosted.ActivitySink) (*observability, error) {
	o := &observability{sender: sender}
	notifier, ok := sender.(passkeys.Notifier)
	if !ok {
		notifier = &passkeys.DevelopmentNotifier{W: stderr}
	}
	sinks := []passkeys.EventSink{passkeys.NewAuditLog(logger)}
	if trail != nil {
		sinks = append(sinks, trail)
	}
	if c.metricsAddr != "" {
		o.reg = prometheus.NewRegistry()
		o.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		m, err := passkeysprom.New(o.reg)
		if err != nil {
			return nil, err
		}
		o.metrics = m
		sinks = append(sinks, m)
		o.sender, notifier = m.Sender(sender), m.Notifier(notifier)
	}
	sinks = append(sinks, passkeys.NewSecurityNotifications(notifier, logger))
	o.sink = passkeys.MultiSink(sinks...)
	return o, nil
}

// metricsAddr is where -metrics-addr listens: a bare ":port" means
// 127.0.0.1, so that metrics are never served to the public by accident.
func metricsAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", errors.New("-metrics-addr must be host:port or :port")
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// serveMetrics serves /metrics on its own listener, never on the public
// one, until ctx ends. It returns once the listener is open.
func (o *observability) serveMetrics(ctx context.Context, c config, auth *passkeys.Handler, logger *slog.Logger) (stop func(), err error) {
	if o.metrics == nil {
		return func() {}, nil
	}
	if err := o.metrics.CountDropped(auth); err != nil {
		return nil, err
	}
	addr, err := metricsAddr(c.metricsAddr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	scrape := promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{})
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Count what was emitted before the scrape; a stuck sink delays
		// it by a second at most.
		flush, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		_ = auth.FlushEvents(flush)
		scrape.ServeHTTP(w, r)
	}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("passkeys example metrics listening", "metrics_addr", ln.Addr().String())
	return func() {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}, nil
}
