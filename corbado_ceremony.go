package passkeys

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
)

// add keeps v as JSON under key unless a live entry is kept there.
func (c *Corbado) add(ctx context.Context, key string, v any, expires time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.keeper.Add(ctx, key, b, c.now(), expires)
}

// take takes the JSON kept under key into v. It reports false when
// nothing is kept.
func (c *Corbado) take(ctx context.Context, key string, v any) (bool, error) {
	b, err := c.keeper.Take(ctx, key, c.now())
	if errors.Is(err, ErrKeeperMiss) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decoding kept state: %w", err)
	}
	return true, nil
}

// Ceremony kinds kept with each ceremony.
const (
	kindAppend    = "append"
	kindLogin     = "login"
	kindMediation = "mediation"
)

// ceremonyState is what a finish needs from its start.
type ceremonyState struct {
	Kind       string          `json:"k"`
	ProcessID  string          `json:"p"`
	TrackingID string          `json:"t"`
	UserID     string          `json:"u,omitempty"`
	Email      string          `json:"e,omitempty"`
	Caps       map[string]bool `json:"c,omitempty"`
	// Allow holds the credential IDs (unpadded base64url) of a button
	// login's allowCredentials, so that its finish can tell a passkey
	// deleted since the start (see Corbado.FinishLogin).
	Allow []string `json:"a,omitempty"`
}

func newCeremony(kind, userID, email string, cl Client) ceremonyState {
	return ceremonyState{
		Kind: kind, ProcessID: randomID(), TrackingID: randomID(),
		UserID: userID, Email: email, Caps: cl.Capabilities,
	}
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// ceremonyKey is the keeper key of the ceremony with this challenge.
func ceremonyKey(challenge []byte) string {
	return "corbado-ceremony:" + base64.RawURLEncoding.EncodeToString(challenge)
}

// started keeps st under the challenge of the options Corbado returned
// and returns the options as a JSON object; mediation options are marked
// conditional, and hints, when not nil, become publicKey.hints.
func (c *Corbado) started(ctx context.Context, st ceremonyState, options string, hints []string) (json.RawMessage, error) {
	var o map[string]json.RawMessage
	var pk struct {
		Challenge        string `json:"challenge"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	}
	if err := json.Unmarshal([]byte(options), &o); err != nil || o["publicKey"] == nil {
		return nil, ErrUpstream.With("", fmt.Errorf("corbado %s options are not a JSON object with publicKey", st.Kind))
	}
	if err := json.Unmarshal(o["publicKey"], &pk); err != nil {
		return nil, ErrUpstream.With("", fmt.Errorf("corbado %s options: publicKey: %w", st.Kind, err))
	}
	challenge, err := decodeB64(pk.Challenge)
	if err != nil || len(challenge) == 0 {
		return nil, ErrUpstream.With("", fmt.Errorf("corbado %s options carry no challenge", st.Kind))
	}
	if st.Kind == kindMediation {
		o["mediation"] = json.RawMessage(`"conditional"`)
	}
	if hints != nil {
		if o["publicKey"], err = withHints(o["publicKey"], hints); err != nil {
			return nil, ErrUpstream.With("", fmt.Errorf("corbado %s options: publicKey: %w", st.Kind, err))
		}
	}
	if st.Kind == kindLogin {
		for _, a := range pk.AllowCredentials {
			st.Allow = append(st.Allow, canonicalID(a.ID))
		}
	}
	out, err := json.Marshal(o)
	if err != nil {
		return nil, ErrUpstream.With("", err)
	}
	if err := c.add(ctx, ceremonyKey(challenge), st, c.now().Add(corbadoCeremonyTimeout)); err != nil {
		return nil, err
	}
	return out, nil
}

var errCorbadoCeremony = ErrVerificationFailed.With("The passkey ceremony is unknown, expired or already used; start again.", nil).WithReason(ReasonCeremony)

// takeCeremony consumes the ceremony named by the challenge inside the
// response's clientDataJSON. A ceremony of another kind is consumed too
// and fails. A clientDataJSON that names a member twice (in any case)
// fails before anything is consumed.
func (c *Corbado) takeCeremony(ctx context.Context, response json.RawMessage, kind string) (ceremonyState, error) {
	var st ceremonyState
	var r struct {
		Response struct {
			ClientDataJSON string `json:"clientDataJSON"`
		} `json:"response"`
	}
	var cd struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(response, &r); err != nil {
		return st, ErrVerificationFailed.With("", err)
	}
	raw, err := decodeB64(r.Response.ClientDataJSON)
	if err != nil || json.Unmarshal(raw, &cd) != nil {
		return st, ErrVerificationFailed.With("", errors.New("clientDataJSON is not base64url JSON"))
	}
	if err := checkMembers(raw); err != nil {
		// Two challenges (or origins) in one clientDataJSON: this side and
		// Corbado might read different ones.
		return st, ErrVerificationFailed.With("", fmt.Errorf("clientDataJSON: %w", err))
	}
	challenge, err := decodeB64(cd.Challenge)
	if err != nil || len(challenge) == 0 {
		return st, errCorbadoCeremony
	}
	found, err := c.take(ctx, ceremonyKey(challenge), &st)
	switch {
	case err != nil:
		return st, err
	case !found:
		return st, errCorbadoCeremony
	case st.Kind != kind:
		return st, ErrVerificationFailed.With("", fmt.Errorf("ceremony of kind %s finished as %s", st.Kind, kind))
	}
	return st, nil
}

// responseCredentialID returns the raw credential ID of a browser
// response (its rawId, else its id), or nil when it has none.
func responseCredentialID(response json.RawMessage) []byte {
	var r struct {
		ID    string `json:"id"`
		RawID string `json:"rawId"`
	}
	if json.Unmarshal(response, &r) != nil {
		return nil
	}
	for _, s := range []string{r.RawID, r.ID} {
		if b, err := decodeB64(s); err == nil && len(b) > 0 {
			return b
		}
	}
	return nil
}

// decodeB64 decodes base64url or standard base64, padded or not.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// canonicalID writes a credential ID as unpadded base64url, the form the
// browser reports; an ID that is not base64 is returned unchanged.
func canonicalID(s string) string {
	b, err := decodeB64(s)
	if err != nil || len(b) == 0 {
		return s
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientInformation describes the browser to Corbado. caps, when not
// nil, replaces the capabilities of cl (a finish reuses those its start
// was sent).
func clientInformation(cl Client, caps map[string]bool) corbadoapi.ClientInformation {
	if caps == nil {
		caps = cl.Capabilities
	}
	return corbadoapi.NewClientInformation(cl.RemoteAddr, cl.UserAgent, caps)
}

// withHints returns the publicKey object with its hints member set to
// hints. Corbado's Backend API has no hints setting; hints only lead the
// browser's dialog and are not part of what Corbado verifies, so the
// handler's backend adds them to the options on its way to the client.
func withHints(publicKey json.RawMessage, hints []string) (json.RawMessage, error) {
	var pk map[string]json.RawMessage
	if err := json.Unmarshal(publicKey, &pk); err != nil {
		return nil, err
	}
	h, err := json.Marshal(hints)
	if err != nil {
		return nil, err
	}
	pk["hints"] = h
	return json.Marshal(pk)
}
