package corbadoapi

import (
	"context"
	"net/http"
	"net/url"
)

// IdentifierDelete removes a login identifier of a user
// (DELETE /users/{userID}/identifiers/{identifierID}).
func (c *Client) IdentifierDelete(ctx context.Context, userID, identifierID string) error {
	return c.call(ctx, "IdentifierDelete", http.MethodDelete,
		"/users/"+url.PathEscape(userID)+"/identifiers/"+url.PathEscape(identifierID), nil, nil, &GenericRsp{})
}
