package corbadoapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Each method is one operation of the Backend API, named by its
// operationId.

// UserCreate creates a user (POST /users).
func (c *Client) UserCreate(ctx context.Context, req UserCreateReq) (User, error) {
	var u User
	err := c.call(ctx, "UserCreate", http.MethodPost, "/users", nil, req, &u)
	return u, err
}

// UserGet reads a user (GET /users/{userID}).
func (c *Client) UserGet(ctx context.Context, userID string) (User, error) {
	var u User
	err := c.call(ctx, "UserGet", http.MethodGet, "/users/"+url.PathEscape(userID), nil, nil, &u)
	return u, err
}

// UserUpdate changes a user (PATCH /users/{userID}).
func (c *Client) UserUpdate(ctx context.Context, userID string, req UserUpdateReq) (User, error) {
	var u User
	err := c.call(ctx, "UserUpdate", http.MethodPatch, "/users/"+url.PathEscape(userID), nil, req, &u)
	return u, err
}

// UserDelete deletes a user (DELETE /users/{userID}).
func (c *Client) UserDelete(ctx context.Context, userID string) error {
	return c.call(ctx, "UserDelete", http.MethodDelete, "/users/"+url.PathEscape(userID), nil, nil, &GenericRsp{})
}

// IdentifierList lists login identifiers (GET /identifiers).
func (c *Client) IdentifierList(ctx context.Context, p ListParams) (IdentifierList, error) {
	var l IdentifierList
	err := c.call(ctx, "IdentifierList", http.MethodGet, "/identifiers", p.query(), nil, &l)
	return l, err
}

// IdentifierCreate adds a login identifier to a user
// (POST /users/{userID}/identifiers).
func (c *Client) IdentifierCreate(ctx context.Context, userID string, req IdentifierCreateReq) (Identifier, error) {
	var i Identifier
	err := c.call(ctx, "IdentifierCreate", http.MethodPost, "/users/"+url.PathEscape(userID)+"/identifiers", nil, req, &i)
	return i, err
}

// IdentifierUpdate changes a login identifier's status
// (PATCH /users/{userID}/identifiers/{identifierID}).
func (c *Client) IdentifierUpdate(ctx context.Context, userID, identifierID string, req IdentifierUpdateReq) (Identifier, error) {
	var i Identifier
	err := c.call(ctx, "IdentifierUpdate", http.MethodPatch,
		"/users/"+url.PathEscape(userID)+"/identifiers/"+url.PathEscape(identifierID), nil, req, &i)
	return i, err
}

// ChallengeCreate creates a challenge, such as an email OTP that Corbado
// sends (POST /users/{userID}/challenges).
func (c *Client) ChallengeCreate(ctx context.Context, userID string, req ChallengeCreateReq) (Challenge, error) {
	var ch Challenge
	err := c.call(ctx, "ChallengeCreate", http.MethodPost, "/users/"+url.PathEscape(userID)+"/challenges", nil, req, &ch)
	return ch, err
}

// ChallengeUpdate answers a challenge with the code the user typed
// (PATCH /users/{userID}/challenges/{challengeID}).
func (c *Client) ChallengeUpdate(ctx context.Context, userID, challengeID string, req ChallengeUpdateReq) (Challenge, error) {
	var ch Challenge
	err := c.call(ctx, "ChallengeUpdate", http.MethodPatch,
		"/users/"+url.PathEscape(userID)+"/challenges/"+url.PathEscape(challengeID), nil, req, &ch)
	return ch, err
}

// CredentialList lists a user's passkeys (GET /users/{userID}/credentials).
func (c *Client) CredentialList(ctx context.Context, userID string, p ListParams) (CredentialList, error) {
	var l CredentialList
	err := c.call(ctx, "CredentialList", http.MethodGet, "/users/"+url.PathEscape(userID)+"/credentials", p.query(), nil, &l)
	return l, err
}

// CredentialDelete deletes a user's passkey by its Corbado object ID
// (DELETE /users/{userID}/credentials/{credentialID}).
func (c *Client) CredentialDelete(ctx context.Context, userID, id string) error {
	return c.call(ctx, "CredentialDelete", http.MethodDelete,
		"/users/"+url.PathEscape(userID)+"/credentials/"+url.PathEscape(id), nil, nil, &GenericRsp{})
}

// PasskeyAppendStart starts adding a passkey (POST /passkey/append/start).
func (c *Client) PasskeyAppendStart(ctx context.Context, req PasskeyAppendStartReq) (PasskeyAppendStartRsp, error) {
	var r PasskeyAppendStartRsp
	err := c.call(ctx, "PasskeyAppendStart", http.MethodPost, "/passkey/append/start", nil, req, &r)
	return r, err
}

// PasskeyAppendFinish verifies and stores a new passkey
// (POST /passkey/append/finish).
func (c *Client) PasskeyAppendFinish(ctx context.Context, req PasskeyAppendFinishReq) (PasskeyFinishRsp, error) {
	var r PasskeyFinishRsp
	err := c.call(ctx, "PasskeyAppendFinish", http.MethodPost, "/passkey/append/finish", nil, req, &r)
	return r, err
}

// PasskeyLoginStart starts a login with a user's passkeys
// (POST /passkey/login/start).
func (c *Client) PasskeyLoginStart(ctx context.Context, req PasskeyLoginStartReq) (PasskeyLoginStartRsp, error) {
	var r PasskeyLoginStartRsp
	err := c.call(ctx, "PasskeyLoginStart", http.MethodPost, "/passkey/login/start", nil, req, &r)
	return r, err
}

// PasskeyLoginFinish verifies a login (POST /passkey/login/finish).
func (c *Client) PasskeyLoginFinish(ctx context.Context, req PasskeyLoginFinishReq) (PasskeyFinishRsp, error) {
	var r PasskeyFinishRsp
	err := c.call(ctx, "PasskeyLoginFinish", http.MethodPost, "/passkey/login/finish", nil, req, &r)
	return r, err
}

// PasskeyMediationStart starts a conditional-UI login
// (POST /passkey/mediation/start).
func (c *Client) PasskeyMediationStart(ctx context.Context, req PasskeyMediationStartReq) (PasskeyMediationStartRsp, error) {
	var r PasskeyMediationStartRsp
	err := c.call(ctx, "PasskeyMediationStart", http.MethodPost, "/passkey/mediation/start", nil, req, &r)
	return r, err
}

// PasskeyMediationFinish verifies a conditional-UI login
// (POST /passkey/mediation/finish).
func (c *Client) PasskeyMediationFinish(ctx context.Context, req PasskeyMediationFinishReq) (PasskeyFinishRsp, error) {
	var r PasskeyFinishRsp
	err := c.call(ctx, "PasskeyMediationFinish", http.MethodPost, "/passkey/mediation/finish", nil, req, &r)
	return r, err
}

func (p ListParams) query() url.Values {
	q := url.Values{}
	for _, f := range p.Filter {
		q.Add("filter[]", f)
	}
	if p.Sort != "" {
		q.Set("sort", p.Sort)
	}
	if p.Page > 0 {
		q.Set("page", strconv.Itoa(p.Page))
	}
	if p.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(p.PageSize))
	}
	return q
}
