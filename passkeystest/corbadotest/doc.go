// Package corbadotest is a stand-in for Corbado's Backend API v2, for tests
// of an application that uses the Corbado backend ([passkeys.NewCorbado]).
//
// An [Emulator] speaks Corbado's wire format, checks every WebAuthn response
// for real with the self-hosted engine, and hands one-time codes to a hook
// instead of emailing them. When CORBADO_SPEC_DIR names the folder of
// Corbado's OpenAPI description, it validates every request and response
// against it.
package corbadotest
