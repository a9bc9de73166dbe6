package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofAddr is where -pprof-addr listens: a loopback address only (a bare
// ":port" means 127.0.0.1). Profiles show the process's memory and call
// stacks, so they are never served beyond this machine.
func pprofAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", errors.New("-pprof-addr must be host:port or :port")
	}
	switch host {
	case "":
		host = "127.0.0.1"
	case "localhost":
	default:
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return "", errors.New("-pprof-addr must be a loopback address such as 127.0.0.1:6060: profiles are never served beyond this machine")
		}
	}
	return net.JoinHostPort(host, port), nil
}

// servePprof serves the Go runtime profiles under /debug/pprof/ on their
// own loopback listener, never on the public one, until the returned stop
// is called. It returns once the listener is open; addr "" serves none.
func servePprof(ctx context.Context, addr string, logger *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	if addr, err = pprofAddr(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-pprof-addr: %w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		// localhost resolved to something else.
		ln.Close()
		return nil, errors.New("-pprof-addr must be a loopback address: profiles are never served beyond this machine")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	// A CPU profile or trace runs for its ?seconds=, 30 by default; the
	// write timeout leaves it room.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 5 * time.Minute, IdleTimeout: 60 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Warn("passkeys example pprof listening: Go runtime profiles for measurement, on loopback only", "pprof_addr", ln.Addr().String())
	return func() {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}, nil
}
