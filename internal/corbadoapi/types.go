package corbadoapi

import "fmt"

// The request and response bodies of the operations this package covers,
// named after the schemas of backend_api_public_v2.yml. Only the fields the
// library sends or reads are declared; responses may carry more.

// User statuses.
const (
	UserPending  = "pending"
	UserActive   = "active"
	UserDisabled = "disabled"
)

// Identifier statuses.
const (
	IdentifierPending  = "pending"
	IdentifierPrimary  = "primary"
	IdentifierVerified = "verified"
)

// Challenge statuses.
const (
	ChallengePending   = "pending"
	ChallengeCompleted = "completed"
	ChallengeExpired   = "expired"
)

// UserCreateReq is the body of UserCreate (userCreateReq).
type UserCreateReq struct {
	FullName string `json:"fullName,omitempty"`
	Status   string `json:"status"`
}

// UserUpdateReq is the body of UserUpdate (userUpdateReq).
type UserUpdateReq struct {
	Status string `json:"status,omitempty"`
}

// User is the user schema.
type User struct {
	UserID    string `json:"userID"`
	FullName  string `json:"fullName,omitempty"`
	Status    string `json:"status"`
	Updated   string `json:"updated"`
	UpdatedMs int64  `json:"updatedMs"`
}

// IdentifierCreateReq is the body of IdentifierCreate (identifierCreateReq).
type IdentifierCreateReq struct {
	IdentifierType  string `json:"identifierType"`
	IdentifierValue string `json:"identifierValue"`
	Status          string `json:"status"`
}

// IdentifierUpdateReq is the body of IdentifierUpdate (identifierUpdateReq).
type IdentifierUpdateReq struct {
	Status string `json:"status"`
}

// Identifier is the identifier schema: a login identifier of a user.
type Identifier struct {
	IdentifierID string `json:"identifierID"`
	Type         string `json:"type"`
	Value        string `json:"value"`
	Status       string `json:"status"`
	UserID       string `json:"userID"`
}

// IdentifierList is the identifierList schema.
type IdentifierList struct {
	Identifiers []Identifier `json:"identifiers"`
	Paging      Paging       `json:"paging"`
}

// Paging is the paging schema of common.yml.
type Paging struct {
	Page       int `json:"page"`
	TotalPages int `json:"totalPages"`
	TotalItems int `json:"totalItems"`
}

// ListParams are the query parameters of the list operations. Zero
// values are left out.
type ListParams struct {
	// Filter holds "<field>:<operator>:<value>" terms, sent as filter[].
	Filter   []string
	Sort     string
	Page     int
	PageSize int
}

// ChallengeCreateReq is the body of ChallengeCreate (challengeCreateReq).
type ChallengeCreateReq struct {
	ChallengeType     string            `json:"challengeType"`
	IdentifierValue   string            `json:"identifierValue"`
	LifetimeSeconds   int               `json:"lifetimeSeconds,omitempty"`
	ClientInformation ClientInformation `json:"clientInformation"`
}

// ChallengeUpdateReq is the body of ChallengeUpdate (challengeUpdateReq):
// the code the user typed.
type ChallengeUpdateReq struct {
	Value string `json:"value"`
}

// Challenge is the challenge schema.
type Challenge struct {
	ChallengeID     string `json:"challengeID"`
	Type            string `json:"type"`
	IdentifierValue string `json:"identifierValue"`
	Value           string `json:"value"`
	// Expires is a Unix time in seconds.
	Expires int64  `json:"expires"`
	Status  string `json:"status"`
}

// Credential is the credential schema: a passkey as Corbado lists it.
// ID is Corbado's object ID ("cre-..."); CredentialID is the WebAuthn
// credential ID the browser reports.
type Credential struct {
	ID                  string       `json:"id"`
	CredentialID        string       `json:"credentialID"`
	AttestationType     string       `json:"attestationType"`
	Transport           []string     `json:"transport"`
	BackupEligible      bool         `json:"backupEligible"`
	BackupState         bool         `json:"backupState"`
	AuthenticatorAAGUID string       `json:"authenticatorAAGUID"`
	AAGUIDDetails       AAGUIDDetail `json:"aaguidDetails"`
	SourceOS            string       `json:"sourceOS"`
	SourceBrowser       string       `json:"sourceBrowser"`
	LastUsed            string       `json:"lastUsed"`
	LastUsedMs          int64        `json:"lastUsedMs"`
	Created             string       `json:"created"`
	CreatedMs           int64        `json:"createdMs"`
	Status              string       `json:"status"`
	Tags                []string     `json:"tags"`
}

// AAGUIDDetail is the aaguidDetails schema.
type AAGUIDDetail struct {
	AAGUID    string `json:"aaguid"`
	Name      string `json:"name"`
	IconLight string `json:"iconLight"`
	IconDark  string `json:"iconDark"`
}

// CredentialList is the credentialList schema.
type CredentialList struct {
	Credentials []Credential `json:"credentials"`
	Paging      Paging       `json:"paging"`
}

// ClientInformation is the clientInformation schema: what Corbado learns
// about the browser behind a call.
type ClientInformation struct {
	RemoteAddress                               string           `json:"remoteAddress"`
	UserAgent                                   string           `json:"userAgent"`
	BluetoothAvailable                          *bool            `json:"bluetoothAvailable,omitempty"`
	UserVerifyingPlatformAuthenticatorAvailable bool             `json:"userVerifyingPlatformAuthenticatorAvailable"`
	ConditionalMediationAvailable               bool             `json:"conditionalMediationAvailable"`
	ParsedDeviceInfo                            ParsedDeviceInfo `json:"parsedDeviceInfo"`
}

// ParsedDeviceInfo is the parsedDeviceInfo schema.
type ParsedDeviceInfo struct {
	BrowserName    string `json:"browserName"`
	BrowserVersion string `json:"browserVersion"`
	OSName         string `json:"osName"`
	OSVersion      string `json:"osVersion"`
}

// PasskeyIntelFlags is the passkeyIntelFlags schema.
type PasskeyIntelFlags struct {
	ForcePasskeyAppend bool `json:"forcePasskeyAppend"`
}

// PasskeyAppendStartReq is the body of PasskeyAppendStart.
type PasskeyAppendStartReq struct {
	UserID            string            `json:"userID"`
	ProcessID         string            `json:"processID"`
	Username          string            `json:"username"`
	ClientInformation ClientInformation `json:"clientInformation"`
	PasskeyIntelFlags PasskeyIntelFlags `json:"passkeyIntelFlags"`
}

// PasskeyAppendStartRsp is the answer of PasskeyAppendStart.
// AttestationOptions is a JSON document in a string.
type PasskeyAppendStartRsp struct {
	AppendAllow        bool                   `json:"appendAllow"`
	AttestationOptions string                 `json:"attestationOptions"`
	DetectionInsights  DetectionInsights      `json:"detectionInsights"`
	DecisionInsights   DecisionInsightsAppend `json:"decisionInsights"`
}

// PasskeyAppendFinishReq is the body of PasskeyAppendFinish.
// AttestationResponse is the browser's JSON in a string.
type PasskeyAppendFinishReq struct {
	UserID              string            `json:"userID"`
	ProcessID           string            `json:"processID"`
	AttestationResponse string            `json:"attestationResponse"`
	ClientInformation   ClientInformation `json:"clientInformation"`
	TrackingID          string            `json:"trackingID"`
}

// PasskeyLoginStartReq is the body of PasskeyLoginStart.
type PasskeyLoginStartReq struct {
	UserID                            string            `json:"userID"`
	ClientInformation                 ClientInformation `json:"clientInformation"`
	CrossDeviceAuthenticationStrategy string            `json:"crossDeviceAuthenticationStrategy"`
	ProcessID                         string            `json:"processID"`
}

// PasskeyLoginStartRsp is the answer of PasskeyLoginStart.
// AssertionOptions is a JSON document in a string.
type PasskeyLoginStartRsp struct {
	LoginAllow        bool              `json:"loginAllow"`
	AssertionOptions  string            `json:"assertionOptions"`
	DetectionInsights DetectionInsights `json:"detectionInsights"`
	DecisionInsights  DecisionInsights  `json:"decisionInsights"`
}

// PasskeyLoginFinishReq is the body of PasskeyLoginFinish.
type PasskeyLoginFinishReq struct {
	UserID            string            `json:"userID"`
	AssertionResponse string            `json:"assertionResponse"`
	ClientInformation ClientInformation `json:"clientInformation"`
	ProcessID         string            `json:"processID"`
	TrackingID        string            `json:"trackingID"`
}

// PasskeyMediationStartReq is the body of PasskeyMediationStart.
type PasskeyMediationStartReq struct {
	ClientInformation ClientInformation `json:"clientInformation"`
}

// PasskeyMediationStartRsp is the answer of PasskeyMediationStart.
type PasskeyMediationStartRsp struct {
	LoginAllow       bool   `json:"loginAllow"`
	AssertionOptions string `json:"assertionOptions"`
}

// PasskeyMediationFinishReq is the body of PasskeyMediationFinish.
type PasskeyMediationFinishReq struct {
	AssertionResponse string            `json:"assertionResponse"`
	ClientInformation ClientInformation `json:"clientInformation"`
	ProcessID         string            `json:"processID"`
	TrackingID        string            `json:"trackingID"`
}

// PasskeyFinishRsp is the answer of PasskeyAppendFinish,
// PasskeyLoginFinish and PasskeyMediationFinish. Error is set only by
// mediation finish, when the passkey cannot be used.
type PasskeyFinishRsp struct {
	PasskeyData PasskeyData     `json:"passkeyData"`
	Error       *MediationError `json:"error,omitempty"`
}

// MediationError is the error member of passkeyMediationFinishRsp.
type MediationError struct {
	// Type is "credentialDeleted" or "alternativeProjectID".
	Type                   string `json:"type"`
	AlternativeProjectName string `json:"alternativeProjectName,omitempty"`
}

// PasskeyData is the passkeyData schema: the outcome of a ceremony.
type PasskeyData struct {
	ID            string       `json:"id"`
	UserID        string       `json:"userID"`
	Username      string       `json:"username"`
	CeremonyType  string       `json:"ceremonyType"`
	ChallengeID   string       `json:"challengeID"`
	AAGUIDDetails AAGUIDDetail `json:"aaguidDetails"`
}

// DetectionInsights is the detectionInsights schema. The library reads
// none of it; it is declared so that the emulator answers in full.
type DetectionInsights struct {
	Tags               []DetectionTag    `json:"tags"`
	CredentialIDs      []string          `json:"credentialIds"`
	ClientEnvIDs       []string          `json:"clientEnvIds"`
	IsCDACandidate     bool              `json:"isCDACandidate"`
	PasswordManagerIDs []string          `json:"passwordManagerIds"`
	HistoryData        AppendHistoryData `json:"historyData"`
}

// DetectionTag is the detectionTag schema.
type DetectionTag struct {
	Category string `json:"category"`
	Name     string `json:"name"`
}

// AppendHistoryData is the appendHistoryData schema.
type AppendHistoryData struct {
	DefaultCount        int  `json:"defaultCount"`
	AfterErrorCount     int  `json:"afterErrorCount"`
	AfterHybridCount    int  `json:"afterHybridCount"`
	AutoCount           int  `json:"autoCount"`
	DefaultCooldown     bool `json:"defaultCooldown"`
	AfterErrorCooldown  bool `json:"afterErrorCooldown"`
	AfterHybridCooldown bool `json:"afterHybridCooldown"`
	AutoCooldown        bool `json:"autoCooldown"`
}

// DecisionInsights is the decisionInsights schema.
type DecisionInsights struct {
	Tag            string   `json:"tag"`
	IsCDACandidate bool     `json:"isCDACandidate"`
	Experiments    []string `json:"experiments"`
}

// DecisionInsightsAppend is the decisionInsightsAppend schema.
type DecisionInsightsAppend struct {
	Tag                 string `json:"tag"`
	IsRestrictedBrowser bool   `json:"isRestrictedBrowser"`
	Variant             string `json:"variant"`
	Auto                bool   `json:"auto"`
}

// GenericRsp is the genericRsp schema of common.yml, the answer of the
// delete operations.
type GenericRsp struct {
	HTTPStatusCode int         `json:"httpStatusCode"`
	Message        string      `json:"message"`
	RequestData    RequestData `json:"requestData"`
	Runtime        float64     `json:"runtime"`
}

// RequestData is the requestData schema of common.yml.
type RequestData struct {
	RequestID string `json:"requestID"`
	Link      string `json:"link,omitempty"`
}

// ErrorRsp is the errorRsp schema of common.yml, the body of every error.
type ErrorRsp struct {
	GenericRsp
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the error member of errorRsp.
type ErrorDetail struct {
	Type       string            `json:"type"`
	Details    string            `json:"details,omitempty"`
	Validation []ValidationError `json:"validation,omitempty"`
	Links      []string          `json:"links,omitempty"`
}

// ValidationError is one entry of errorRsp.error.validation.
type ValidationError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// missing is the error of an answer without member.
func missing(member string) error { return fmt.Errorf("%s is empty", member) }

func (u *User) complete() error {
	switch {
	case u.UserID == "":
		return missing("userID")
	case u.Status == "":
		return missing("status")
	}
	return nil
}

func (i *Identifier) complete() error {
	switch {
	case i.IdentifierID == "":
		return missing("identifierID")
	case i.UserID == "":
		return missing("userID")
	}
	return nil
}

func (c *Challenge) complete() error {
	switch {
	case c.ChallengeID == "":
		return missing("challengeID")
	case c.Status == "":
		return missing("status")
	}
	return nil
}

func (r *PasskeyAppendStartRsp) complete() error {
	if r.AppendAllow && r.AttestationOptions == "" {
		return missing("attestationOptions")
	}
	return nil
}

func (r *PasskeyLoginStartRsp) complete() error {
	if r.LoginAllow && r.AssertionOptions == "" {
		return missing("assertionOptions")
	}
	return nil
}

func (r *PasskeyMediationStartRsp) complete() error {
	if r.LoginAllow && r.AssertionOptions == "" {
		return missing("assertionOptions")
	}
	return nil
}
