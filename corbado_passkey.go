package passkeys

import (
	"context"
	"strings"
	"time"

	"github.com/passkeyready/passkeys/internal/aaguid"
	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/internal/useragent"
)

// credentials lists the user's active passkeys, every page of them. A
// user that no longer exists is [ErrUnauthorized].
func (c *Corbado) credentials(ctx context.Context, userID string) ([]corbadoapi.Credential, error) {
	const pageSize, maxPages = 100, 10
	var out []corbadoapi.Credential
	for page := 1; page <= maxPages; page++ {
		l, err := call(c.api.CredentialList(ctx, userID, corbadoapi.ListParams{Sort: "created:asc", Page: page, PageSize: pageSize}))
		if err != nil {
			return nil, c.gone(err, "userID")
		}
		for _, cr := range l.Credentials {
			if cr.Status == "active" {
				out = append(out, cr)
			}
		}
		if page >= l.Paging.TotalPages || len(l.Credentials) == 0 {
			break
		}
	}
	return out, nil
}

// zeroAAGUID is the AAGUID of authenticators that do not tell theirs.
const zeroAAGUID = "00000000-0000-0000-0000-000000000000"

func toPasskey(cr corbadoapi.Credential) Passkey {
	p := Passkey{
		ID: canonicalID(cr.CredentialID), Name: passkeyName(cr),
		CreatedAt:      time.UnixMilli(cr.CreatedMs).UTC(),
		BackupEligible: cr.BackupEligible, BackedUp: cr.BackupState,
		Transports: append([]string{}, cr.Transport...),
	}
	if cr.LastUsedMs > 0 {
		t := time.UnixMilli(cr.LastUsedMs).UTC()
		p.LastUsedAt = &t
	}
	if a := strings.ToLower(cr.AuthenticatorAAGUID); a != "" && a != zeroAAGUID {
		p.AAGUID = a
	}
	p.Provider = providerOf(cr.AAGUIDDetails)
	return p
}

// providerOf maps Corbado's aaguidDetails to a Provider: nil without a
// name Corbado knows; an icon that is not an SVG or PNG data URI is left
// out rather than passed on to the page.
func providerOf(d corbadoapi.AAGUIDDetail) *Provider {
	name := strings.TrimSpace(d.Name)
	if aaguid.ValidName(name) != nil {
		return nil
	}
	p := &Provider{Name: name}
	if aaguid.ValidIcon(d.IconLight) == nil {
		p.IconLight = d.IconLight
	}
	if aaguid.ValidIcon(d.IconDark) == nil {
		p.IconDark = d.IconDark
	}
	return p
}

// passkeyName names a passkey after its provider (from the AAGUID) or
// else the browser and system it was created on, as the self-hosted
// engine does.
func passkeyName(cr corbadoapi.Credential) string {
	if n := strings.TrimSpace(cr.AAGUIDDetails.Name); n != "" {
		return n
	}
	return useragent.Info{Browser: cr.SourceBrowser, OS: cr.SourceOS}.PasskeyName()
}
