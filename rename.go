package passkeys

import (
	"context"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// PasskeyRenamer is an optional capability of a [Backend]: renaming one of
// a user's passkeys (PATCH /passkeys/{id}). The self-hosted engine has it
// (on a store with selfhosted.CredentialRenamer, as all three shipped
// ones are). The Corbado backend has not, since Corbado's Backend API
// keeps no passkey name. Without it the handler answers
// [ErrNotSupported].
//
// Implementations must be safe for concurrent use.
type PasskeyRenamer interface {
	// RenamePasskey gives u's passkey with this ID (unpadded base64url)
	// the name, which the handler has already checked and cleaned (see
	// MaxPasskeyNameLength), and returns the passkey as it is now. A
	// passkey that does not exist or belongs to another user is
	// [ErrNotFound], and nothing changes. Renaming to the current name
	// succeeds.
	RenamePasskey(ctx context.Context, u User, id, name string) (Passkey, error)
}

// MaxPasskeyNameLength is the longest passkey name PATCH /passkeys/{id}
// accepts, in characters (Unicode code points) after trimming.
const MaxPasskeyNameLength = 64

// cleanPasskeyName returns name trimmed of white space and in NFC, or
// ErrInvalidRequest when it is empty, longer than MaxPasskeyNameLength
// characters or holds a control, format (such as a bidi override or a
// zero-width character), line or paragraph separator, or U+FFFD (what
// invalid UTF-8 became).
func cleanPasskeyName(name string) (string, error) {
	name = norm.NFC.String(strings.TrimSpace(name))
	n := utf8.RuneCountInString(name)
	if n == 0 || n > MaxPasskeyNameLength {
		return "", ErrInvalidRequest.Withf("name must be 1 to %d characters after trimming.", MaxPasskeyNameLength)
	}
	for _, r := range name {
		if r == utf8.RuneError || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Cs) {
			return "", ErrInvalidRequest.Withf("name must not hold control, format or bidi characters (U+%04X).", r)
		}
	}
	return name, nil
}

type renameRequest struct {
	Name *string `json:"name"`
}

func (h *Handler) renamePasskey(r *http.Request, w http.ResponseWriter) (any, error) {
	id := r.PathValue("id")
	if err := checkPasskeyID(id); err != nil {
		return nil, err
	}
	var req renameRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	if req.Name == nil {
		return nil, ErrInvalidRequest.With("name is required.", nil)
	}
	name, err := cleanPasskeyName(*req.Name)
	if err != nil {
		return nil, err
	}
	rn, ok := h.opts.Backend.(PasskeyRenamer)
	if !ok {
		return nil, ErrNotSupported.With("Passkeys cannot be renamed here: this backend keeps no passkey names.", nil)
	}
	u, _ := UserFromContext(r.Context())
	p, err := rn.RenamePasskey(r.Context(), u, id, name)
	if err != nil {
		return nil, err
	}
	h.emit(r, Event{Kind: EventPasskeyRenamed, PasskeyID: p.ID, PasskeyName: p.Name})
	return struct {
		Passkey Passkey `json:"passkey"`
	}{p}, nil
}
