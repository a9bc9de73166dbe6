package passkeys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/passkeyready/passkeys"
)

func TestAuditLog(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	env := newEventsEnv(t, passkeys.Options{Events: passkeys.NewAuditLog(slog.New(slog.NewJSONHandler(&buf, nil)))})
	const email = "audit@example.com"
	s, err := env.c.SignUpOrLogin(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := env.mail.Last(email)
	if _, err := env.c.AppendPasskey(ctx, s.Token); err != nil {
		t.Fatal(err)
	}
	cer, err := env.c.StartLogin(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(cer.Options, &opts); err != nil || opts.PublicKey.Challenge == "" {
		t.Fatalf("assertion options %s: %v", cer.Options, err)
	}
	resp, err := env.c.Authenticator().Get(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := env.c.FinishLogin(ctx, resp)
	if err != nil {
		t.Fatal(err)
	}
	if st := env.do(t, http.MethodPost, "/logout", s2.Token); st != http.StatusNoContent {
		t.Fatalf("logout: %d", st)
	}
	env.flushed(t)

	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if rec["msg"] != "passkeys audit" || rec["level"] != "INFO" || rec["request_id"] == "" || rec["ip"] != "127.0.0.1" || rec["user_agent"] != eventsUA || rec["time"] != "2030-01-02T03:04:05Z" {
			t.Errorf("line %q lacks a field every line has", line)
		}
		if rec["kind"] != "code_sent" && rec["user_id"] != s.User.ID {
			t.Errorf("line %q: user_id, want %s", line, s.User.ID)
		}
		kinds = append(kinds, rec["kind"].(string))
		for _, secret := range []string{code, s.Token, s2.Token, opts.PublicKey.Challenge} {
			if strings.Contains(line, secret) {
				t.Errorf("line %q holds a code, token or challenge (%q)", line, secret)
			}
		}
	}
	want := []string{"code_sent", "sign_up", "login", "session_created", "passkey_added", "login", "session_created", "session_revoked"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("audit lines (-want +got):\n%s", diff)
	}
	if !strings.Contains(buf.String(), `"email":"audit@example.com"`) || !strings.Contains(buf.String(), `"method":"passkey"`) || !strings.Contains(buf.String(), `"new_user":true`) {
		t.Errorf("audit log %s lacks the email, the method or new_user", buf.String())
	}
}

// notices is a Notifier that keeps what it is given, or fails.
type notices struct {
	mu   sync.Mutex
	got  []passkeys.SecurityNotice
	fail error
}

func (n *notices) Notify(_ context.Context, sn passkeys.SecurityNotice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, sn)
	return n.fail
}

func TestSecurityNotifications(t *testing.T) {
	ctx := context.Background()
	n := &notices{}
	env := newEventsEnv(t, passkeys.Options{Events: passkeys.NewSecurityNotifications(n, nil)})
	s, err := env.c.SignUpOrLogin(ctx, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := env.c.AppendPasskey(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.c.DeletePasskey(ctx, s.Token, pk.ID); err != nil {
		t.Fatal(err)
	}
	post := func(body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, env.ts.URL+"/auth/account/email", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.Token)
		req.Header.Set("User-Agent", eventsUA)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("account/email %s: %d", body, res.StatusCode)
		}
	}
	post(`{"email":"moved@example.com"}`)
	code, _ := env.mail.Last("moved@example.com")
	post(`{"email":"moved@example.com","otp":"` + code + `"}`)
	env.flushed(t)

	type brief struct {
		Kind                passkeys.EventKind
		To, Passkey, Name   string
		OldEmail, NewEmail  string
		UserAgent, RemoteIP string
	}
	var got []brief
	for _, sn := range n.got {
		got = append(got, brief{sn.Kind, sn.To, sn.PasskeyID, sn.PasskeyName, sn.OldEmail, sn.NewEmail, sn.Client.UserAgent, sn.Client.RemoteAddr})
		if sn.RequestID == "" || !sn.Time.Equal(env.now) || sn.User.ID != s.User.ID {
			t.Errorf("notice %+v lacks its request ID, time or user", sn)
		}
	}
	want := []brief{
		{passkeys.EventPasskeyAdded, "owner@example.com", pk.ID, pk.Name, "", "", eventsUA, "127.0.0.1"},
		{passkeys.EventPasskeyRemoved, "owner@example.com", pk.ID, "", "", "", eventsUA, "127.0.0.1"},
		{passkeys.EventEmailChanged, "owner@example.com", "", "", "owner@example.com", "moved@example.com", eventsUA, "127.0.0.1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
}

// A notifier that fails is logged and changes no answer.
func TestSecurityNotificationFails(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	n := &notices{fail: errors.New("smtp: 554 rejected, password=hunter2")}
	env := newEventsEnv(t, passkeys.Options{Events: passkeys.NewSecurityNotifications(n, slog.New(slog.NewJSONHandler(&logs, nil)))})
	s, err := env.c.SignUpOrLogin(ctx, "fail@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.AppendPasskey(ctx, s.Token); err != nil {
		t.Fatalf("append with a failing notifier: %v", err)
	}
	env.flushed(t)
	line := logs.String()
	if !strings.Contains(line, `"level":"ERROR"`) || !strings.Contains(line, `"kind":"passkey_added"`) || !strings.Contains(line, "554 rejected") {
		t.Errorf("log %q: want an ERROR line with the kind and the cause", line)
	}
	if strings.Contains(line, "hunter2") {
		t.Errorf("log %q holds the password", line)
	}
}

func TestDevelopmentNotifier(t *testing.T) {
	var buf bytes.Buffer
	d := &passkeys.DevelopmentNotifier{W: &buf}
	_ = d.Notify(context.Background(), passkeys.SecurityNotice{Kind: passkeys.EventPasskeyAdded, To: "a@example.com", PasskeyName: "Chrome on Mac"})
	_ = d.Notify(context.Background(), passkeys.SecurityNotice{Kind: passkeys.EventEmailChanged, To: "a@example.com", NewEmail: "b@example.com"})
	want := "passkeys DEVELOPMENT ONLY notice kind=passkey_added to=a@example.com passkey=\"Chrome on Mac\"\n" +
		"passkeys DEVELOPMENT ONLY notice kind=email_changed to=a@example.com new_email=b@example.com\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}
