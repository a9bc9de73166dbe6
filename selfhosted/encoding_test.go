package selfhosted_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
)

// TestJSONRecordsStillRead stores a credential and a pending login as the
// engine once did, as JSON, and logs in with them: the engine writes
// MessagePack but reads both.
func TestJSONRecordsStillRead(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			ctx, store := t.Context(), st.open(t)
			now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			e, err := selfhosted.New(selfhosted.Config{
				RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: store, OTPSender: e2e.NewMailbox(),
				Clock: func() time.Time { return now },
			})
			if err != nil {
				t.Fatal(err)
			}
			user := selfhosted.UserRecord{ID: "usr_1", Email: "a@example.com", Handle: bytes.Repeat([]byte{7}, 32), CreatedAt: now}
			if err := store.CreateUser(ctx, user); err != nil {
				t.Fatal(err)
			}
			session := passkeys.User{ID: user.ID, Email: user.Email}
			a := passkeystest.New(e2e.Origin)
			start, err := e.StartAppend(ctx, session, passkeys.Client{})
			if err != nil {
				t.Fatal(err)
			}
			att, err := a.Create(start.Options)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.FinishAppend(ctx, session, att, passkeys.Client{}); err != nil {
				t.Fatal(err)
			}

			// Rewrite the credential as JSON.
			creds, err := store.CredentialsByUser(ctx, user.ID)
			if err != nil || len(creds) != 1 {
				t.Fatalf("CredentialsByUser = %d credentials, %v; want 1", len(creds), err)
			}
			rec := creds[0]
			var cred webauthn.Credential
			if rest, err := cred.UnmarshalMsg(rec.Data); err != nil || len(rest) != 0 {
				t.Fatalf("stored credential is not one MessagePack value: %v, %d bytes left", err, len(rest))
			}
			if rec.Data, err = json.Marshal(cred); err != nil {
				t.Fatal(err)
			}
			if err := store.DeleteCredential(ctx, user.ID, rec.ID); err != nil {
				t.Fatal(err)
			}
			if err := store.AddCredential(ctx, rec); err != nil {
				t.Fatal(err)
			}

			// Start a login and rewrite its session data as JSON.
			login, err := e.StartLogin(ctx, user.Email, passkeys.Client{})
			if err != nil || !login.Allow {
				t.Fatalf("StartLogin = %+v, %v; want allowed", login, err)
			}
			var opts struct {
				PublicKey struct {
					Challenge string `json:"challenge"`
				} `json:"publicKey"`
			}
			if err := json.Unmarshal(login.Options, &opts); err != nil {
				t.Fatal(err)
			}
			cer, err := store.TakeCeremony(ctx, opts.PublicKey.Challenge, now)
			if err != nil {
				t.Fatal(err)
			}
			var sd webauthn.SessionData
			if rest, err := sd.UnmarshalMsg(cer.Session); err != nil || len(rest) != 0 {
				t.Fatalf("stored session is not one MessagePack value: %v, %d bytes left", err, len(rest))
			}
			if cer.Session, err = json.Marshal(sd); err != nil {
				t.Fatal(err)
			}
			if err := store.PutCeremony(ctx, cer, now); err != nil {
				t.Fatal(err)
			}

			resp, err := a.Get(login.Options)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.FinishLogin(ctx, resp, passkeys.Client{})
			if err != nil || got != session {
				t.Fatalf("FinishLogin with JSON records = %+v, %v; want %+v", got, err, session)
			}
			list, err := e.ListPasskeys(ctx, session)
			if err != nil || len(list) != 1 || list[0].ID != base64.RawURLEncoding.EncodeToString(rec.ID) || list[0].LastUsedAt == nil {
				t.Errorf("ListPasskeys after the login = %+v, %v; want the passkey, used", list, err)
			}
		})
	}
}
