package selfhosted

import (
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/webauthn"
)

// msgpValue is a go-webauthn type with generated MessagePack methods:
// webauthn.Credential and webauthn.SessionData.
type msgpValue interface {
	MarshalMsg(b []byte) ([]byte, error)
	UnmarshalMsg(b []byte) ([]byte, error)
}

// encode encodes v as MessagePack, the format of CredentialRecord.Data
// and Ceremony.Session: go-webauthn's own compact encoding of these
// types, far faster to decode than JSON.
func encode(v msgpValue) ([]byte, error) { return v.MarshalMsg(nil) }

// decode decodes what encode encodes, and the JSON that earlier versions
// stored: a MessagePack map never starts with '{', a JSON object always
// does.
func decode(data []byte, v msgpValue) error {
	if len(data) > 0 && data[0] == '{' {
		return json.Unmarshal(data, v)
	}
	rest, err := v.UnmarshalMsg(data)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("%d bytes after the value", len(rest))
	}
	return err
}

// decodeCredential decodes a stored credential record and lays the
// store's counter and backup state over it.
func decodeCredential(r CredentialRecord) (webauthn.Credential, error) {
	var c webauthn.Credential
	if err := decode(r.Data, &c); err != nil {
		return c, fmt.Errorf("decoding credential %s: %w", b64.EncodeToString(r.ID), err)
	}
	c.Authenticator.SignCount = r.SignCount
	c.Flags.BackupState = r.BackupState
	return c, nil
}
