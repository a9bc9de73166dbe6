package corbadotest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/passkeystest/corbadotest"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/passkeystest"
)

const (
	emuRPID   = "localhost"
	emuOrigin = "http://localhost:3000"
)

// emulator is a Emulator on a settable clock with a client of it.
type emulator struct {
	emu   *corbadotest.Emulator
	api   *corbadoapi.Client
	url   string
	mu    sync.Mutex
	now   time.Time
	codes map[string]string
}

func newEmulator(t *testing.T) *emulator {
	t.Helper()
	e := &emulator{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), codes: map[string]string{}}
	emu, err := corbadotest.New(corbadotest.Options{
		RPID: emuRPID, Origins: []string{emuOrigin}, Clock: e.clock, Errorf: t.Errorf,
		OnOTP: func(email, code string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.codes[email] = code
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	e.emu, e.url = emu, ts.URL
	e.api = corbadoapi.New(corbadoapi.Config{BaseURL: ts.URL, ProjectID: emu.ProjectID(), APISecret: emu.APISecret()})
	return e
}

func (e *emulator) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *emulator) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func (e *emulator) code(email string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.codes[email]
}

// user creates a user with an email identifier.
func (e *emulator) user(t *testing.T, email string) string {
	t.Helper()
	ctx := context.Background()
	u, err := e.api.UserCreate(ctx, corbadoapi.UserCreateReq{Status: corbadoapi.UserActive})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.IdentifierCreate(ctx, u.UserID, corbadoapi.IdentifierCreateReq{IdentifierType: "email", IdentifierValue: email, Status: corbadoapi.IdentifierVerified}); err != nil {
		t.Fatal(err)
	}
	return u.UserID
}

var emuClient = corbadoapi.ClientInformation{
	RemoteAddress: "192.0.2.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0.0.0 Safari/537.36",
	UserVerifyingPlatformAuthenticatorAvailable: true, ConditionalMediationAvailable: true,
	ParsedDeviceInfo: corbadoapi.ParsedDeviceInfo{BrowserName: "Chrome", BrowserVersion: "124.0.0.0", OSName: "Linux"},
}

func statusOf(err error) int {
	var e *corbadoapi.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// expectDoesNotExist checks that err is the answer of real Corbado for an
// unknown object: HTTP 400, a validation_error and exactly one validation
// entry, "<field>: does not exist".
func expectDoesNotExist(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ae *corbadoapi.Error
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Rsp == nil || ae.Rsp.HTTPStatusCode != 400 ||
		ae.Type() != "validation_error" || len(ae.Rsp.Error.Validation) != 1 ||
		ae.Rsp.Error.Validation[0] != (corbadoapi.ValidationError{Field: field, Message: "does not exist"}) {
		t.Errorf("%s: %v, want HTTP 400 validation_error %s: does not exist", what, err, field)
	}
}

func TestEmulatorCredentials(t *testing.T) {
	e := newEmulator(t)
	bad := corbadoapi.New(corbadoapi.Config{BaseURL: e.url, ProjectID: e.emu.ProjectID(), APISecret: "corbado1_wrong"})
	_, err := bad.UserCreate(context.Background(), corbadoapi.UserCreateReq{Status: "active"})
	var ae *corbadoapi.Error
	if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Type() != "login_error" {
		t.Errorf("wrong secret: %v", err)
	}
	_, err = e.api.UserGet(context.Background(), "usr-404")
	expectDoesNotExist(t, "unknown user", err, "userID")
}

func TestEmulatorIdentifiers(t *testing.T) {
	e := newEmulator(t)
	ctx := context.Background()
	id := e.user(t, "a@example.com")
	e.user(t, "b@example.com")
	l, err := e.api.IdentifierList(ctx, corbadoapi.ListParams{Filter: []string{"identifierValue:eq:A@example.com", "identifierType:eq:email"}})
	if err != nil || len(l.Identifiers) != 1 || l.Identifiers[0].UserID != id || l.Paging.TotalItems != 1 {
		t.Errorf("list = %+v, %v", l, err)
	}
	if _, err := e.api.IdentifierCreate(ctx, id, corbadoapi.IdentifierCreateReq{IdentifierType: "email", IdentifierValue: "b@example.com", Status: "pending"}); statusOf(err) != 400 {
		t.Errorf("duplicate identifier: %v", err)
	}
	if _, err := e.api.IdentifierList(ctx, corbadoapi.ListParams{Filter: []string{"identifierValue:gt:a"}}); statusOf(err) != 400 {
		t.Errorf("unsupported filter: %v", err)
	}
	if err := e.api.UserDelete(ctx, id); err != nil {
		t.Fatal(err)
	}
	l, err = e.api.IdentifierList(ctx, corbadoapi.ListParams{Filter: []string{"identifierValue:eq:a@example.com"}})
	if err != nil || len(l.Identifiers) != 0 {
		t.Errorf("identifiers of a deleted user: %+v, %v", l, err)
	}
}

func TestEmulatorEmailOTP(t *testing.T) {
	e := newEmulator(t)
	ctx := context.Background()
	id := e.user(t, "otp@example.com")
	start := func() corbadoapi.Challenge {
		t.Helper()
		ch, err := e.api.ChallengeCreate(ctx, id, corbadoapi.ChallengeCreateReq{
			ChallengeType: "email_otp", IdentifierValue: "otp@example.com", LifetimeSeconds: 600, ClientInformation: emuClient,
		})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Status != "pending" || ch.Value != "" || ch.Expires != e.clock().Add(10*time.Minute).Unix() {
			t.Errorf("challenge %+v", ch)
		}
		return ch
	}
	check := func(ch corbadoapi.Challenge, code string) error {
		_, err := e.api.ChallengeUpdate(ctx, id, ch.ChallengeID, corbadoapi.ChallengeUpdateReq{Value: code})
		return err
	}
	wrong := func(code string) string {
		if code == "000000" {
			return "111111"
		}
		return "000000"
	}

	ch := start()
	code := e.code("otp@example.com")
	if err := check(ch, wrong(code)); statusOf(err) != 400 {
		t.Errorf("wrong code: %v", err)
	}
	if err := check(ch, code); err != nil {
		t.Errorf("right code: %v", err)
	}
	if err := check(ch, code); statusOf(err) != 400 {
		t.Errorf("used code: %v", err)
	}

	ch = start()
	code = e.code("otp@example.com")
	for range 5 {
		_ = check(ch, wrong(code))
	}
	if err := check(ch, code); statusOf(err) != 400 {
		t.Errorf("right code after five wrong ones: %v", err)
	}

	ch = start()
	e.advance(10 * time.Minute)
	if err := check(ch, e.code("otp@example.com")); statusOf(err) != 400 {
		t.Errorf("expired code: %v", err)
	}

	if _, err := e.api.ChallengeCreate(ctx, id, corbadoapi.ChallengeCreateReq{ChallengeType: "email_otp", IdentifierValue: "other@example.com", ClientInformation: emuClient}); statusOf(err) != 400 {
		t.Errorf("challenge for another address: %v", err)
	}
}

// appendPasskey adds a passkey of auth to user id through the API.
func (e *emulator) appendPasskey(t *testing.T, id, email string, auth *passkeystest.Authenticator) {
	t.Helper()
	ctx := context.Background()
	st, err := e.api.PasskeyAppendStart(ctx, corbadoapi.PasskeyAppendStartReq{
		UserID: id, ProcessID: "proc-append", Username: email, ClientInformation: emuClient,
		PasskeyIntelFlags: corbadoapi.PasskeyIntelFlags{ForcePasskeyAppend: true},
	})
	if err != nil || !st.AppendAllow {
		t.Fatalf("append start: %+v, %v", st, err)
	}
	att, err := auth.Create([]byte(st.AttestationOptions))
	if err != nil {
		t.Fatal(err)
	}
	fin, err := e.api.PasskeyAppendFinish(ctx, corbadoapi.PasskeyAppendFinishReq{
		UserID: id, ProcessID: "proc-append", AttestationResponse: string(att), ClientInformation: emuClient, TrackingID: "trk",
	})
	if err != nil || fin.PasskeyData.UserID != id || fin.PasskeyData.Username != email || !strings.HasPrefix(fin.PasskeyData.ID, "cre-") {
		t.Fatalf("append finish: %+v, %v", fin, err)
	}
}

func TestEmulatorPasskeys(t *testing.T) {
	e := newEmulator(t)
	ctx := context.Background()
	id := e.user(t, "pk@example.com")
	auth := passkeystest.New(emuOrigin)
	e.appendPasskey(t, id, "pk@example.com", auth)

	l, err := e.api.CredentialList(ctx, id, corbadoapi.ListParams{})
	if err != nil || len(l.Credentials) != 1 {
		t.Fatalf("credentials: %+v, %v", l, err)
	}
	cred := l.Credentials[0]
	if cred.CredentialID != base64.RawURLEncoding.EncodeToString(auth.Credentials()[0].ID) || cred.SourceBrowser != "Chrome" || cred.SourceOS != "Linux" || cred.Status != "active" || cred.LastUsedMs != 0 {
		t.Errorf("credential %+v", cred)
	}

	// A login finish must name the process its start began.
	st, err := e.api.PasskeyLoginStart(ctx, corbadoapi.PasskeyLoginStartReq{UserID: id, ClientInformation: emuClient, CrossDeviceAuthenticationStrategy: "standard", ProcessID: "proc-login"})
	if err != nil || !st.LoginAllow {
		t.Fatalf("login start: %+v, %v", st, err)
	}
	resp, err := auth.Get([]byte(st.AssertionOptions))
	if err != nil {
		t.Fatal(err)
	}
	login := corbadoapi.PasskeyLoginFinishReq{UserID: id, AssertionResponse: string(resp), ClientInformation: emuClient, ProcessID: "proc-other", TrackingID: "trk"}
	if _, err := e.api.PasskeyLoginFinish(ctx, login); statusOf(err) != 400 {
		t.Errorf("finish under another processID: %v", err)
	}

	// Mediation with a deleted passkey reports it.
	med, err := e.api.PasskeyMediationStart(ctx, corbadoapi.PasskeyMediationStartReq{ClientInformation: emuClient})
	if err != nil || !med.LoginAllow {
		t.Fatalf("mediation start: %+v, %v", med, err)
	}
	var opts map[string]any
	if err := json.Unmarshal([]byte(med.AssertionOptions), &opts); err != nil || opts["mediation"] != "conditional" {
		t.Errorf("mediation options %s", med.AssertionOptions)
	}
	resp, err = auth.Get([]byte(med.AssertionOptions))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.api.CredentialDelete(ctx, id, cred.ID); err != nil {
		t.Fatal(err)
	}
	expectDoesNotExist(t, "second delete", e.api.CredentialDelete(ctx, id, cred.ID), "credentialID")
	fin, err := e.api.PasskeyMediationFinish(ctx, corbadoapi.PasskeyMediationFinishReq{AssertionResponse: string(resp), ClientInformation: emuClient, ProcessID: "proc-med", TrackingID: "trk"})
	if err != nil || fin.Error == nil || fin.Error.Type != "credentialDeleted" {
		t.Errorf("mediation with a deleted passkey: %+v, %v", fin, err)
	}
}

// A disabled user finishes no ceremony, as they start none.
func TestEmulatorDisabledUser(t *testing.T) {
	e := newEmulator(t)
	ctx := context.Background()
	id := e.user(t, "off@example.com")
	auth := passkeystest.New(emuOrigin)
	e.appendPasskey(t, id, "off@example.com", auth)
	login, err := e.api.PasskeyLoginStart(ctx, corbadoapi.PasskeyLoginStartReq{UserID: id, ClientInformation: emuClient, CrossDeviceAuthenticationStrategy: "standard", ProcessID: "proc-login"})
	if err != nil || !login.LoginAllow {
		t.Fatalf("login start: %+v, %v", login, err)
	}
	med, err := e.api.PasskeyMediationStart(ctx, corbadoapi.PasskeyMediationStartReq{ClientInformation: emuClient})
	if err != nil || !med.LoginAllow {
		t.Fatalf("mediation start: %+v, %v", med, err)
	}
	app, err := e.api.PasskeyAppendStart(ctx, corbadoapi.PasskeyAppendStartReq{
		UserID: id, ProcessID: "proc-append", Username: "off@example.com", ClientInformation: emuClient,
		PasskeyIntelFlags: corbadoapi.PasskeyIntelFlags{ForcePasskeyAppend: true},
	})
	if err != nil || !app.AppendAllow {
		t.Fatalf("append start: %+v, %v", app, err)
	}
	if _, err := e.api.UserUpdate(ctx, id, corbadoapi.UserUpdateReq{Status: corbadoapi.UserDisabled}); err != nil {
		t.Fatal(err)
	}

	resp, err := auth.Get([]byte(login.AssertionOptions))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.api.PasskeyLoginFinish(ctx, corbadoapi.PasskeyLoginFinishReq{UserID: id, AssertionResponse: string(resp), ClientInformation: emuClient, ProcessID: "proc-login", TrackingID: "trk"})
	if statusOf(err) != 400 || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("login finish of a disabled user: %v", err)
	}
	resp, err = auth.Get([]byte(med.AssertionOptions))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.api.PasskeyMediationFinish(ctx, corbadoapi.PasskeyMediationFinishReq{AssertionResponse: string(resp), ClientInformation: emuClient, ProcessID: "proc-med", TrackingID: "trk"})
	if statusOf(err) != 400 || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("mediation finish of a disabled user: %v", err)
	}
	att, err := passkeystest.New(emuOrigin).Create([]byte(app.AttestationOptions))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.api.PasskeyAppendFinish(ctx, corbadoapi.PasskeyAppendFinishReq{UserID: id, ProcessID: "proc-append", AttestationResponse: string(att), ClientInformation: emuClient, TrackingID: "trk"})
	if statusOf(err) != 400 || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("append finish of a disabled user: %v", err)
	}
	if l, err := e.api.CredentialList(ctx, id, corbadoapi.ListParams{}); err != nil || len(l.Credentials) != 1 {
		t.Errorf("credentials after the refused append: %+v, %v", l, err)
	}
}

func TestEmulatorIntercept(t *testing.T) {
	e := newEmulator(t)
	e.emu.SetIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		w.WriteHeader(http.StatusTeapot)
		return true
	})
	if _, err := e.api.UserCreate(context.Background(), corbadoapi.UserCreateReq{Status: "active"}); statusOf(err) != http.StatusTeapot {
		t.Errorf("intercepted POST: %v", err)
	}
	_, err := e.api.UserGet(context.Background(), "usr-1")
	expectDoesNotExist(t, "GET passed through", err, "userID")
	e.emu.SetIntercept(nil)
	if _, err := e.api.UserCreate(context.Background(), corbadoapi.UserCreateReq{Status: "active"}); err != nil {
		t.Errorf("after removing the intercept: %v", err)
	}
}

// Every operation that names an unknown or deleted user, identifier,
// challenge or credential gets Corbado's answer: HTTP 400 with the
// validation entry "<field>: does not exist", never a 404.
func TestEmulatorDoesNotExist(t *testing.T) {
	e := newEmulator(t)
	ctx := context.Background()
	id := e.user(t, "here@example.com")
	gone := e.user(t, "gone@example.com")
	if err := e.api.UserDelete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"get deleted user", func() error { _, err := e.api.UserGet(ctx, gone); return err }, "userID"},
		{"update deleted user", func() error {
			_, err := e.api.UserUpdate(ctx, gone, corbadoapi.UserUpdateReq{Status: corbadoapi.UserActive})
			return err
		}, "userID"},
		{"delete deleted user", func() error { return e.api.UserDelete(ctx, gone) }, "userID"},
		{"identifier for deleted user", func() error {
			_, err := e.api.IdentifierCreate(ctx, gone, corbadoapi.IdentifierCreateReq{IdentifierType: "email", IdentifierValue: "new@example.com", Status: corbadoapi.IdentifierPending})
			return err
		}, "userID"},
		{"update unknown identifier", func() error {
			_, err := e.api.IdentifierUpdate(ctx, id, "ide-123456789", corbadoapi.IdentifierUpdateReq{Status: corbadoapi.IdentifierVerified})
			return err
		}, "identifierID"},
		{"update identifier of deleted user", func() error {
			_, err := e.api.IdentifierUpdate(ctx, gone, "ide-123456789", corbadoapi.IdentifierUpdateReq{Status: corbadoapi.IdentifierVerified})
			return err
		}, "userID"},
		{"challenge for deleted user", func() error {
			_, err := e.api.ChallengeCreate(ctx, gone, corbadoapi.ChallengeCreateReq{ChallengeType: "email_otp", IdentifierValue: "gone@example.com", ClientInformation: emuClient})
			return err
		}, "userID"},
		{"check unknown challenge", func() error {
			_, err := e.api.ChallengeUpdate(ctx, id, "cha-123456789", corbadoapi.ChallengeUpdateReq{Value: "123456"})
			return err
		}, "challengeID"},
		{"check challenge of deleted user", func() error {
			_, err := e.api.ChallengeUpdate(ctx, gone, "cha-123456789", corbadoapi.ChallengeUpdateReq{Value: "123456"})
			return err
		}, "userID"},
		{"credentials of deleted user", func() error {
			_, err := e.api.CredentialList(ctx, gone, corbadoapi.ListParams{})
			return err
		}, "userID"},
		{"delete unknown credential", func() error { return e.api.CredentialDelete(ctx, id, "cre-123456789") }, "credentialID"},
		{"delete credential of deleted user", func() error { return e.api.CredentialDelete(ctx, gone, "cre-123456789") }, "userID"},
		{"append start for deleted user", func() error {
			_, err := e.api.PasskeyAppendStart(ctx, corbadoapi.PasskeyAppendStartReq{
				UserID: gone, ProcessID: "proc-1", Username: "gone@example.com", ClientInformation: emuClient,
			})
			return err
		}, "userID"},
		{"login start for deleted user", func() error {
			_, err := e.api.PasskeyLoginStart(ctx, corbadoapi.PasskeyLoginStartReq{
				UserID: gone, ClientInformation: emuClient, CrossDeviceAuthenticationStrategy: "standard", ProcessID: "proc-2",
			})
			return err
		}, "userID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectDoesNotExist(t, tc.name, tc.call(), tc.field)
		})
	}
}
