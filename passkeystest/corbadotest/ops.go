package corbadotest

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passkeyready/passkeys"
	aaguidlist "github.com/passkeyready/passkeys/internal/aaguid"
	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/selfhosted"
)

// The operations of the emulator, one method each, in the order of
// Emulator.route.

func (e *Emulator) userCreate(body []byte) (any, error) {
	var req corbadoapi.UserCreateReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	if !oneOf(req.Status, corbadoapi.UserPending, corbadoapi.UserActive, corbadoapi.UserDisabled) {
		return nil, invalid("status %q is not pending, active or disabled", req.Status)
	}
	now := e.now()
	u := &corbadoapi.User{
		UserID: newID("usr"), FullName: req.FullName, Status: req.Status,
		Updated: now.Format(corbadoTime), UpdatedMs: now.UnixMilli(),
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users[u.UserID] = u
	return *u, nil
}

func (e *Emulator) userGet(id string) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[id]
	if !ok {
		return nil, doesNotExist("userID")
	}
	return *u, nil
}

func (e *Emulator) userUpdate(id string, body []byte) (any, error) {
	var req corbadoapi.UserUpdateReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	if req.Status != "" && !oneOf(req.Status, corbadoapi.UserPending, corbadoapi.UserActive, corbadoapi.UserDisabled) {
		return nil, invalid("status %q is not pending, active or disabled", req.Status)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[id]
	if !ok {
		return nil, doesNotExist("userID")
	}
	if req.Status != "" {
		u.Status = req.Status
	}
	now := e.now()
	u.Updated, u.UpdatedMs = now.Format(corbadoTime), now.UnixMilli()
	return *u, nil
}

func (e *Emulator) userDelete(id string) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.users[id]; !ok {
		return nil, doesNotExist("userID")
	}
	delete(e.users, id)
	for k, i := range e.identifiers {
		if i.UserID == id {
			delete(e.identifiers, k)
		}
	}
	return e.generic(http.StatusOK), nil
}

func (e *Emulator) identifierList(r *http.Request) (any, error) {
	q := r.URL.Query()
	var conds []func(*corbadoapi.Identifier) bool
	for _, f := range q["filter[]"] {
		parts := strings.SplitN(f, ":", 3)
		if len(parts) != 3 || parts[1] != "eq" {
			return nil, invalid("filter %q: the emulator supports <field>:eq:<value> only", f)
		}
		v := parts[2]
		switch parts[0] {
		case "userID":
			conds = append(conds, func(i *corbadoapi.Identifier) bool { return i.UserID == v })
		case "identifierType":
			conds = append(conds, func(i *corbadoapi.Identifier) bool { return i.Type == v })
		case "identifierValue":
			conds = append(conds, func(i *corbadoapi.Identifier) bool { return strings.EqualFold(i.Value, v) })
		default:
			return nil, invalid("filter %q: field %q is not userID, identifierType or identifierValue", f, parts[0])
		}
	}
	page, size, err := paging(q)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	var all []corbadoapi.Identifier
	for _, i := range e.identifiers {
		if !slices.ContainsFunc(conds, func(c func(*corbadoapi.Identifier) bool) bool { return !c(i) }) {
			all = append(all, *i)
		}
	}
	e.mu.Unlock()
	slices.SortFunc(all, func(a, b corbadoapi.Identifier) int { return strings.Compare(a.IdentifierID, b.IdentifierID) })
	items, p := pageOf(all, page, size)
	return corbadoapi.IdentifierList{Identifiers: items, Paging: p}, nil
}

func (e *Emulator) identifierCreate(userID string, body []byte) (any, error) {
	var req corbadoapi.IdentifierCreateReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	switch {
	case !oneOf(req.IdentifierType, "email", "phone", "username"):
		return nil, invalid("identifierType %q is not email, phone or username", req.IdentifierType)
	case req.IdentifierValue == "":
		return nil, invalid("identifierValue is required")
	case !oneOf(req.Status, corbadoapi.IdentifierPending, corbadoapi.IdentifierPrimary, corbadoapi.IdentifierVerified):
		return nil, invalid("status %q is not pending, primary or verified", req.Status)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.users[userID]; !ok {
		return nil, doesNotExist("userID")
	}
	for _, i := range e.identifiers {
		if i.Type == req.IdentifierType && strings.EqualFold(i.Value, req.IdentifierValue) {
			return nil, invalid("identifierValue: this %s is already in use", req.IdentifierType)
		}
	}
	i := &corbadoapi.Identifier{
		IdentifierID: newID("ide"), Type: req.IdentifierType, Value: req.IdentifierValue,
		Status: req.Status, UserID: userID,
	}
	e.identifiers[i.IdentifierID] = i
	return *i, nil
}

func (e *Emulator) identifierUpdate(userID, id string, body []byte) (any, error) {
	var req corbadoapi.IdentifierUpdateReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	if !oneOf(req.Status, corbadoapi.IdentifierPending, corbadoapi.IdentifierPrimary, corbadoapi.IdentifierVerified) {
		return nil, invalid("status %q is not pending, primary or verified", req.Status)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	i, err := e.userIdentifier(userID, id)
	if err != nil {
		return nil, err
	}
	i.Status = req.Status
	return *i, nil
}

func (e *Emulator) challengeCreate(userID string, body []byte) (any, error) {
	var req corbadoapi.ChallengeCreateReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	if req.ChallengeType != "email_otp" {
		return nil, invalid("challengeType %q is not supported by the emulator (email_otp only)", req.ChallengeType)
	}
	lifetime := 300 * time.Second
	if req.LifetimeSeconds > 0 {
		lifetime = time.Duration(req.LifetimeSeconds) * time.Second
	}
	e.mu.Lock()
	if _, ok := e.users[userID]; !ok {
		e.mu.Unlock()
		return nil, doesNotExist("userID")
	}
	known := false
	for _, i := range e.identifiers {
		known = known || i.UserID == userID && i.Type == "email" && strings.EqualFold(i.Value, req.IdentifierValue)
	}
	if !known {
		e.mu.Unlock()
		return nil, invalid("identifierValue: the user has no such email identifier")
	}
	ch := &emuChallenge{
		Challenge: corbadoapi.Challenge{
			ChallengeID: newID("cha"), Type: req.ChallengeType, IdentifierValue: req.IdentifierValue,
			Expires: e.now().Add(lifetime).Unix(), Status: corbadoapi.ChallengePending,
		},
		userID: userID, code: newCode(),
	}
	e.challenges[ch.ChallengeID] = ch
	e.mu.Unlock()
	e.opts.OnOTP(req.IdentifierValue, ch.code)
	return ch.Challenge, nil
}

func (e *Emulator) challengeUpdate(userID, id string, body []byte) (any, error) {
	var req corbadoapi.ChallengeUpdateReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.users[userID]; !ok {
		return nil, doesNotExist("userID")
	}
	ch, ok := e.challenges[id]
	if !ok || ch.userID != userID {
		return nil, doesNotExist("challengeID")
	}
	if ch.Status == corbadoapi.ChallengePending && e.now().Unix() >= ch.Expires {
		ch.Status = corbadoapi.ChallengeExpired
	}
	if ch.Status != corbadoapi.ChallengePending {
		return nil, invalid("the challenge is %s", ch.Status)
	}
	if subtle.ConstantTimeCompare([]byte(req.Value), []byte(ch.code)) != 1 {
		ch.attempts++
		if ch.attempts >= emuMaxAttempts {
			ch.Status = corbadoapi.ChallengeExpired
		}
		return nil, invalid("value: the code is wrong")
	}
	ch.Status = corbadoapi.ChallengeCompleted
	return ch.Challenge, nil
}

func (e *Emulator) credentialList(ctx context.Context, r *http.Request, userID string) (any, error) {
	q := r.URL.Query()
	page, size, err := paging(q)
	if err != nil {
		return nil, err
	}
	if !oneOf(q.Get("sort"), "", "created:asc", "created:desc") {
		return nil, invalid("sort %q: the emulator sorts by created only", q.Get("sort"))
	}
	e.mu.Lock()
	_, ok := e.users[userID]
	e.mu.Unlock()
	if !ok {
		return nil, doesNotExist("userID")
	}
	list, err := e.engine.ListPasskeys(ctx, passkeys.User{ID: userID})
	if err != nil {
		return nil, err
	}
	creds := make([]corbadoapi.Credential, 0, len(list))
	for _, p := range list {
		creds = append(creds, e.credential(p))
	}
	if q.Get("sort") == "created:desc" {
		slices.Reverse(creds)
	}
	items, p := pageOf(creds, page, size)
	return corbadoapi.CredentialList{Credentials: items, Paging: p}, nil
}

// zeroAAGUID is the AAGUID of authenticators that do not tell theirs.
const zeroAAGUID = "00000000-0000-0000-0000-000000000000"

// credential describes one of the engine's passkeys as Corbado does.
func (e *Emulator) credential(p passkeys.Passkey) corbadoapi.Credential {
	e.mu.Lock()
	obj := e.objectID(p.ID)
	dev := e.devices[p.ID]
	e.mu.Unlock()
	aaguid := cmp.Or(p.AAGUID, zeroAAGUID)
	c := corbadoapi.Credential{
		ID: obj, CredentialID: p.ID, AttestationType: "none", Transport: []string{},
		BackupEligible: p.BackupEligible, BackupState: p.BackedUp,
		AuthenticatorAAGUID: aaguid, AAGUIDDetails: aaguidDetails(aaguid),
		SourceOS: dev.OSName, SourceBrowser: dev.BrowserName,
		Created: p.CreatedAt.UTC().Format(corbadoTime), CreatedMs: p.CreatedAt.UnixMilli(),
		Status: "active", Tags: []string{},
	}
	for _, t := range p.Transports {
		if oneOf(t, "usb", "nfc", "ble", "internal", "hybrid", "smart-card") {
			c.Transport = append(c.Transport, t)
		}
	}
	if p.LastUsedAt != nil {
		c.LastUsed, c.LastUsedMs = p.LastUsedAt.UTC().Format(corbadoTime), p.LastUsedAt.UnixMilli()
	}
	return c
}

// objectID returns the Corbado object ID of a credential, making one up
// the first time. e.mu must be held.
func (e *Emulator) objectID(credentialID string) string {
	id, ok := e.credObjects[credentialID]
	if !ok {
		id = newID("cre")
		e.credObjects[credentialID] = id
	}
	return id
}

func (e *Emulator) credentialDelete(ctx context.Context, userID, objectID string) (any, error) {
	e.mu.Lock()
	if _, ok := e.users[userID]; !ok {
		e.mu.Unlock()
		return nil, doesNotExist("userID")
	}
	credID := ""
	for c, o := range e.credObjects {
		if o == objectID {
			credID = c
		}
	}
	e.mu.Unlock()
	raw, err := decodeB64(credID)
	if credID == "" || err != nil {
		return nil, doesNotExist("credentialID")
	}
	err = e.store.DeleteCredential(ctx, userID, raw)
	if errors.Is(err, selfhosted.ErrNotFound) {
		return nil, doesNotExist("credentialID")
	}
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deleted[credID] = true
	return e.generic(http.StatusOK), nil
}

func (e *Emulator) appendStart(ctx context.Context, body []byte) (any, error) {
	var req corbadoapi.PasskeyAppendStartReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	if req.Username == "" || req.ProcessID == "" {
		return nil, invalid("username and processID are required")
	}
	status, err := e.userStatus(req.UserID)
	if err != nil {
		return nil, err
	}
	if err := e.engineUser(ctx, req.UserID, req.Username); err != nil {
		return nil, err
	}
	rsp := corbadoapi.PasskeyAppendStartRsp{
		DetectionInsights: detectionInsights(),
		DecisionInsights:  corbadoapi.DecisionInsightsAppend{Tag: "user-env-no-pks", Variant: "default"},
	}
	if status == corbadoapi.UserDisabled {
		rsp.DecisionInsights.Tag = "default-deny"
		return rsp, nil
	}
	start, err := e.engine.StartAppend(ctx, passkeys.User{ID: req.UserID, Email: req.Username}, engineClient(req.ClientInformation))
	if err != nil {
		return nil, engineErr(err)
	}
	if err := e.startProcess(req.ProcessID, "append", req.UserID, start.Options); err != nil {
		return nil, err
	}
	rsp.AppendAllow, rsp.AttestationOptions = true, string(start.Options)
	return rsp, nil
}

func (e *Emulator) appendFinish(ctx context.Context, body []byte) (any, error) {
	var req corbadoapi.PasskeyAppendFinishReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	if err := e.finishProcess(req.ProcessID, "append", req.UserID, req.AttestationResponse); err != nil {
		return nil, err
	}
	if err := e.notDisabled(req.UserID); err != nil {
		return nil, err
	}
	pk, err := e.engine.FinishAppend(ctx, passkeys.User{ID: req.UserID}, json.RawMessage(req.AttestationResponse), engineClient(req.ClientInformation))
	if err != nil {
		return nil, engineErr(err)
	}
	rec, err := e.store.UserByID(ctx, req.UserID)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.devices[pk.ID] = req.ClientInformation.ParsedDeviceInfo
	e.mu.Unlock()
	return corbadoapi.PasskeyFinishRsp{PasskeyData: e.passkeyData(pk.ID, rec.ID, rec.Email, pk.AAGUID)}, nil
}

func (e *Emulator) loginStart(ctx context.Context, body []byte) (any, error) {
	var req corbadoapi.PasskeyLoginStartReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	if req.ProcessID == "" {
		return nil, invalid("processID is required")
	}
	status, err := e.userStatus(req.UserID)
	if err != nil {
		return nil, err
	}
	rsp := corbadoapi.PasskeyLoginStartRsp{
		DetectionInsights: detectionInsights(),
		DecisionInsights:  corbadoapi.DecisionInsights{Tag: "user-no-pks", Experiments: []string{}},
	}
	rec, err := e.store.UserByID(ctx, req.UserID)
	if errors.Is(err, selfhosted.ErrNotFound) {
		return rsp, nil
	}
	if err != nil {
		return nil, err
	}
	if status == corbadoapi.UserDisabled {
		rsp.DecisionInsights.Tag = "default-deny"
		return rsp, nil
	}
	start, err := e.engine.StartLogin(ctx, rec.Email, engineClient(req.ClientInformation))
	if err != nil {
		return nil, engineErr(err)
	}
	if !start.Allow {
		return rsp, nil
	}
	if err := e.startProcess(req.ProcessID, "login", req.UserID, start.Options); err != nil {
		return nil, err
	}
	rsp.LoginAllow, rsp.AssertionOptions = true, string(start.Options)
	rsp.DecisionInsights.Tag = "user-platform-pk-high-confidence"
	return rsp, nil
}

func (e *Emulator) loginFinish(ctx context.Context, body []byte) (any, error) {
	var req corbadoapi.PasskeyLoginFinishReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	if err := e.finishProcess(req.ProcessID, "login", req.UserID, req.AssertionResponse); err != nil {
		return nil, err
	}
	if err := e.notDisabled(req.UserID); err != nil {
		return nil, err
	}
	u, err := e.engine.FinishLogin(ctx, json.RawMessage(req.AssertionResponse), engineClient(req.ClientInformation))
	if err != nil {
		return nil, engineErr(err)
	}
	if u.ID != req.UserID {
		return nil, invalid("the passkey belongs to another user")
	}
	return corbadoapi.PasskeyFinishRsp{PasskeyData: e.passkeyData(responseCredentialID(req.AssertionResponse), u.ID, u.Email, "")}, nil
}

func (e *Emulator) mediationStart(ctx context.Context, body []byte) (any, error) {
	var req corbadoapi.PasskeyMediationStartReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	start, err := e.engine.StartMediation(ctx, engineClient(req.ClientInformation))
	if err != nil {
		return nil, engineErr(err)
	}
	return corbadoapi.PasskeyMediationStartRsp{LoginAllow: start.Allow, AssertionOptions: string(start.Options)}, nil
}

func (e *Emulator) mediationFinish(ctx context.Context, body []byte) (any, error) {
	var req corbadoapi.PasskeyMediationFinishReq
	if err := decodeReq(body, &req); err != nil {
		return nil, err
	}
	if req.ProcessID == "" {
		return nil, invalid("processID is required")
	}
	credID := responseCredentialID(req.AssertionResponse)
	u, err := e.engine.FinishMediation(ctx, json.RawMessage(req.AssertionResponse), engineClient(req.ClientInformation))
	if err != nil {
		e.mu.Lock()
		gone := e.deleted[credID]
		e.mu.Unlock()
		// Corbado reports a deleted credential of a valid ceremony; any
		// other refusal is a 400.
		if gone && errors.Is(err, passkeys.ErrUnknownCredential) {
			return corbadoapi.PasskeyFinishRsp{
				PasskeyData: corbadoapi.PasskeyData{CeremonyType: "local"},
				Error:       &corbadoapi.MediationError{Type: "credentialDeleted"},
			}, nil
		}
		return nil, engineErr(err)
	}
	if err := e.notDisabled(u.ID); err != nil {
		return nil, err
	}
	return corbadoapi.PasskeyFinishRsp{PasskeyData: e.passkeyData(credID, u.ID, u.Email, "")}, nil
}

// userStatus returns the status of a user, or not_found.
func (e *Emulator) userStatus(id string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[id]
	if !ok {
		return "", doesNotExist("userID")
	}
	return u.Status, nil
}

// notDisabled refuses to finish a ceremony of a disabled user, as the
// starts refuse to begin one.
func (e *Emulator) notDisabled(userID string) error {
	status, err := e.userStatus(userID)
	if err != nil {
		return err
	}
	if status == corbadoapi.UserDisabled {
		return invalid("userID: the user is disabled")
	}
	return nil
}

// engineUser creates the engine's user for a Corbado user the first time
// they add a passkey; the username becomes the WebAuthn user name.
func (e *Emulator) engineUser(ctx context.Context, id, username string) error {
	_, err := e.store.UserByID(ctx, id)
	if !errors.Is(err, selfhosted.ErrNotFound) {
		return err
	}
	handle := make([]byte, 32)
	if _, err := rand.Read(handle); err != nil {
		return err
	}
	err = e.store.CreateUser(ctx, selfhosted.UserRecord{ID: id, Email: username, Handle: handle, CreatedAt: e.now()})
	if errors.Is(err, selfhosted.ErrDuplicate) {
		if _, err := e.store.UserByID(ctx, id); err == nil {
			return nil // created concurrently
		}
		return invalid("username: already used by another user")
	}
	return err
}

// startProcess remembers which user and challenge a processID started.
func (e *Emulator) startProcess(processID, kind, userID string, options json.RawMessage) error {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return err
	}
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, p := range e.processes {
		if !p.expires.After(now) {
			delete(e.processes, id)
		}
	}
	e.processes[processID] = emuProcess{kind: kind, userID: userID, challenge: o.PublicKey.Challenge, expires: now.Add(processLifetime)}
	return nil
}

// processLifetime is how long a started process may be finished.
const processLifetime = 5 * time.Minute

// finishProcess ends a process: the finish must name the user that
// started it and answer its challenge.
func (e *Emulator) finishProcess(processID, kind, userID, response string) error {
	e.mu.Lock()
	p, ok := e.processes[processID]
	delete(e.processes, processID)
	e.mu.Unlock()
	switch {
	case !ok || p.kind != kind || !p.expires.After(e.now()):
		return invalid("processID: no pending %s process has this ID", kind)
	case p.userID != userID:
		return invalid("userID: the process belongs to another user")
	case responseChallenge(response) != strings.TrimRight(p.challenge, "="):
		return invalid("the response answers another challenge than the process's")
	}
	return nil
}

// responseChallenge returns the challenge inside a response's
// clientDataJSON, or "".
func responseChallenge(response string) string {
	var r struct {
		Response struct {
			ClientDataJSON string `json:"clientDataJSON"`
		} `json:"response"`
	}
	var cd struct {
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal([]byte(response), &r) != nil {
		return ""
	}
	raw, err := decodeB64(r.Response.ClientDataJSON)
	if err != nil || json.Unmarshal(raw, &cd) != nil {
		return ""
	}
	return strings.TrimRight(cd.Challenge, "=")
}

// responseCredentialID returns the credential ID (base64url) of a
// response, or "".
func responseCredentialID(response string) string {
	var r struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(response), &r)
	return strings.TrimRight(r.ID, "=")
}

func (e *Emulator) passkeyData(credID, userID, username, aaguid string) corbadoapi.PasskeyData {
	e.mu.Lock()
	obj := e.objectID(credID)
	e.mu.Unlock()
	aaguid = cmp.Or(aaguid, zeroAAGUID)
	return corbadoapi.PasskeyData{
		ID: obj, UserID: userID, Username: username, CeremonyType: "local",
		ChallengeID: newID("pch"), AAGUIDDetails: aaguidDetails(aaguid),
	}
}

// aaguidDetails describes an AAGUID as Corbado does: the provider's name
// and icons from the community list (the one this module embeds), empty
// strings for an AAGUID the list does not know.
func aaguidDetails(aaguid string) corbadoapi.AAGUIDDetail {
	d := corbadoapi.AAGUIDDetail{AAGUID: aaguid}
	if p, ok := aaguidlist.Lookup(aaguid); ok {
		d.Name, d.IconLight, d.IconDark = p.Name, p.IconLight, p.IconDark
	}
	return d
}

func detectionInsights() corbadoapi.DetectionInsights {
	return corbadoapi.DetectionInsights{
		Tags: []corbadoapi.DetectionTag{}, CredentialIDs: []string{}, ClientEnvIDs: []string{}, PasswordManagerIDs: []string{},
	}
}

func engineClient(ci corbadoapi.ClientInformation) passkeys.Client {
	return passkeys.Client{RemoteAddr: ci.RemoteAddress, UserAgent: ci.UserAgent}
}

// engineErr answers an engine failure the way Corbado does: a response
// that fails verification is a 400 validation_error.
func engineErr(err error) error {
	var pe *passkeys.Error
	if !errors.As(err, &pe) {
		return err
	}
	switch {
	case errors.Is(pe, passkeys.ErrUnauthorized):
		return doesNotExist("userID")
	case pe.Status < 500:
		return invalid("%s", pe.Detail)
	}
	return err
}

// paging reads the page and pageSize parameters.
func paging(q url.Values) (page, size int, err error) {
	page, size = 1, 10
	for _, p := range []struct {
		name string
		v    *int
	}{{"page", &page}, {"pageSize", &size}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || p.name == "pageSize" && n > 100 {
				return 0, 0, invalid("%s %q is out of range", p.name, s)
			}
			*p.v = n
		}
	}
	return page, size, nil
}

// pageOf returns one page of items and its paging.
func pageOf[T any](items []T, page, size int) ([]T, corbadoapi.Paging) {
	p := corbadoapi.Paging{Page: page, TotalItems: len(items), TotalPages: (len(items) + size - 1) / size}
	lo := min((page-1)*size, len(items))
	hi := min(lo+size, len(items))
	return append(make([]T, 0, hi-lo), items[lo:hi]...), p
}

func oneOf(s string, options ...string) bool { return slices.Contains(options, s) }

// decodeB64 decodes base64url with or without padding.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// userIdentifier finds identifier id of user userID, as Corbado's
// identifier operations do: an unknown user is "userID: does not exist",
// an identifier that is not this user's "identifierID: does not exist".
// The caller holds e.mu.
func (e *Emulator) userIdentifier(userID, id string) (*corbadoapi.Identifier, error) {
	if _, ok := e.users[userID]; !ok {
		return nil, doesNotExist("userID")
	}
	i, ok := e.identifiers[id]
	if !ok || i.UserID != userID {
		return nil, doesNotExist("identifierID")
	}
	return i, nil
}
