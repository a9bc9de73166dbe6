// Package mailaddr turns an email address as a person typed it into the one
// canonical form that accounts, rate limits and code deliveries key on, or
// refuses it with a reason that is safe to show the client.
//
// # Policy
//
// [Canonical] is the only place the policy lives. In order:
//
//  1. The input must be valid UTF-8; invalid bytes are refused, never turned
//     into U+FFFD, and U+FFFD itself is refused the same way, because
//     encoding/json has already put it in place of invalid bytes and lone
//     surrogates when an address comes from a JSON body. Leading and
//     trailing white space (Unicode White_Space) is trimmed; an input that
//     is empty after that is refused as missing, one longer than 1024 bytes
//     as too long.
//  2. Every character is classified. Refused anywhere in the address: white
//     space inside it, control characters (Cc), invisible characters (format
//     characters Cf such as ZERO WIDTH SPACE, SOFT HYPHEN, BYTE ORDER MARK
//     and the zero-width joiner and non-joiner, even where IDNA2008 would
//     allow a joiner in context; bidirectional controls; variation selectors
//     and other default-ignorable code points), private-use and unassigned
//     code points (Unicode 15.0, the edition shared by Go's unicode package
//     and the golang.org/x/text and golang.org/x/net/idna tables this module
//     builds with), and compatibility forms: any character whose NFKC form
//     differs from its NFC form (fullwidth and halfwidth forms, ligatures,
//     superscripts, circled and mathematical letters, ...) and any non-ASCII
//     character whose NFKC form or lower case contains ASCII (the Kelvin
//     sign K, U+0130 İ, the Greek question mark). Characters that NFC itself
//     replaces by their canonical equivalent (the Ohm sign Ω, CJK
//     compatibility ideographs) are the same character by Unicode's
//     definition and are folded. The others are refused, not folded: folding
//     would make a look-alike address share an account with the plain one,
//     and the mail system that delivers the code may not fold it the same
//     way, so the person is told to type the plain character. Outside ASCII
//     only letters, combining marks and decimal digits are accepted, and
//     they must belong to a script: characters of Unicode's Common script
//     (such as the modifier apostrophe ʼ, which looks like ') are refused,
//     except the prolonged sound mark ー (U+30FC) that Japanese words need,
//     and the ideographic full stop 。 (U+3002), which UTS #46 reads as a dot
//     between domain labels. Combining sequences that display like a
//     simpler one are refused too (UTS #39 §5.4), in the local part and in
//     every domain label: the same nonspacing mark twice on one letter,
//     more than four on one letter, and a dot above (U+0307) on a letter
//     that has a dot already (Soft_Dotted: i, j, і, ...), so admi̇n cannot
//     pass for admin.
//  3. The address is split at its last @. The local part must be a dot-atom
//     (RFC 5322 atext plus, per RFC 6531, the non-ASCII characters allowed
//     above): no quoted strings, comments, display names, leading, trailing
//     or doubled dots, and no atom that starts with a combining mark. It is
//     put in Unicode Normalization Form C and then lower-cased rune by rune
//     (strings.ToLower), which lower-cases non-ASCII letters too (JÖRG and
//     jörg are one account), and cannot map a non-ASCII letter onto ASCII
//     because those letters were refused in step 2. A lower-case variant
//     of a letter, one that shares its capital with another (the final
//     sigma ς, the historic Cyrillic forms ᲀ to ᲈ), is replaced by the
//     lower case of that capital, as case folding does, so ΟΔΟΣ and οδος
//     are one account (οδοσ); the dotless ı, whose capital lowers to ASCII
//     i, stays a letter of its own. Subaddresses (a+tag) are
//     kept: what + means is the mail provider's business.
//  4. The domain may not be an address literal (user@[127.0.0.1],
//     user@[IPv6:::1]) or an IP address (user@127.0.0.1, user@0x7f.1). It is
//     lower-cased (so the capital sharp s ẞ becomes ß, as in Unicode 16's
//     UTS #46, not "ss" as in the Unicode 15 tables) and converted with
//     IDNA2008 as profiled by UTS #46 (golang.org/x/net/idna:
//     non-transitional mapping, STD3 rules, label validation, hyphen and
//     joiner checks, the Bidi Rule and DNS lengths) to its ASCII form:
//     lower-case A-labels (xn--...), so bücher.de, BÜCHER.DE and
//     XN--BCHER-KVA.DE are one domain. Every label, including the Unicode
//     form of each A-label, passes the character checks of step 2, so
//     punycode cannot smuggle in what the Unicode spelling may not carry.
//     The domain needs at least two labels, no empty label and no trailing
//     dot; its top-level label is letters (or an xn-- A-label); and
//     top-levels reserved for local, private, test or non-DNS use
//     (localhost, localdomain, local, invalid, test, example, onion, alt,
//     arpa, internal, intranet, private, lan, home, corp) are refused.
//  5. Neither the local part nor any domain label may mix scripts beyond what
//     UTS #39's Highly Restrictive level allows (one script, or Latin with
//     Han and Hiragana/Katakana, Bopomofo or Hangul), so a Cyrillic а cannot
//     hide among Latin letters; a right-to-left local part must obey the
//     Bidi Rule of RFC 5893, as domain labels do. Whole-script look-alikes
//     (a label written entirely in Cyrillic letters that resemble Latin
//     ones) are not detected: they are another mailbox, delivered elsewhere,
//     so they are another account, not a collision.
//  6. The canonical form is the local part, @ and the ASCII domain. It is at
//     most 254 octets, with at most 64 octets before the @ (RFC 5321).
//
// Canonical is idempotent: Canonical of a canonical form returns it
// unchanged.
//
// # Why the domain is stored in ASCII
//
// The A-label form is what DNS and SMTP route on, it is the only form every
// mail system accepts (the Unicode form needs SMTPUTF8 end to end), it is
// unique per domain (UTS #46 maps every accepted Unicode spelling to one
// U-label and punycode encodes it one way), and it keeps every address
// whose domain is ASCII exactly as it was. The local part stays Unicode: it
// has no ASCII encoding, and only the receiving system can interpret it.
//
// # Stored addresses
//
// For an ASCII address the result equals strings.ToLower(strings.TrimSpace(s)),
// the form stored before this policy, so ASCII rows need no migration. Rows
// this policy now refuses (address literals, IP or reserved domains,
// underscores or "--" in the third and fourth position of a domain label,
// malformed punycode) keep their accounts but can no longer start a code or
// button login by email; a passkey sign-in from autofill still works.
// Rows with a non-ASCII domain were stored in Unicode (jörg@bücher.de) and
// are now looked up in ASCII (jörg@xn--bcher-kva.de), a local part
// typed decomposed is now looked up in NFC, and one with a final sigma ς
// with σ: rewrite each row holding a
// byte of 0x80 or above to Canonical(row), in one transaction;
// where two rows meet in one canonical form they were one mailbox split in
// two accounts, so keep one and move or drop the other's passkeys by hand.
// A row that Canonical refuses is left as it is.
package mailaddr

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/bidirule"
	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

//lint:file-ignore ST1005 the reasons are whole sentences shown to clients as they are.

// Limits on the canonical form and on the raw input, in octets.
const (
	MaxLength      = 254  // the whole address (RFC 5321 path minus the angle brackets)
	MaxLocalLength = 64   // the local part (RFC 5321 §4.5.3.1.1)
	maxInput       = 1024 // what is read at all, before normalisation
)

// The reasons an address is refused, one per class. Each message is a
// sentence safe to show a client; it never echoes the input. Canonical
// returns them through an *[Error], so test with [errors.Is].
var (
	ErrRequired       = errors.New("email is required.")
	ErrInvalid        = errors.New("email is not a valid email address.")
	ErrInvalidUTF8    = errors.New("email is not valid UTF-8.")
	ErrTooLong        = errors.New("email is too long: at most 254 bytes, and 64 before the @.")
	ErrWhitespace     = errors.New("email must not contain spaces.")
	ErrControl        = errors.New("email contains a control character.")
	ErrInvisible      = errors.New("email contains an invisible or text-direction character.")
	ErrPrivateUse     = errors.New("email contains a private-use character.")
	ErrUnassigned     = errors.New("email contains a character that Unicode has not assigned.")
	ErrCharacter      = errors.New("email contains a symbol or punctuation character that is not allowed in an address.")
	ErrCompatibility  = errors.New("email contains a fullwidth, compatibility or look-alike form of a character; type the plain character.")
	ErrMixedScript    = errors.New("email mixes writing systems (such as Latin and Cyrillic) within one part.")
	ErrDirection      = errors.New("email mixes right-to-left and left-to-right text in a way that displays ambiguously.")
	ErrAddressLiteral = errors.New("email must name a domain, not an IP address.")
	ErrDomain         = errors.New("email's domain is not a valid internet domain name such as example.com.")
	ErrReservedDomain = errors.New("email's domain is reserved for local, private or test use and cannot receive mail.")
)

// Error is a refused address. Its message is the public reason alone, safe
// to send to a client; Cause, when set, is the underlying library error and
// is for logs. errors.Is matches both the reason and the cause.
type Error struct {
	Reason error // one of the Err* values of this package
	Cause  error // may be nil
}

func (e *Error) Error() string { return e.Reason.Error() }

// Unwrap returns the reason and, when set, the cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Cause}
}

func refuse(reason error) error { return &Error{Reason: reason} }

// profile is UTS #46 non-transitional processing with every check on:
// the Lookup profile plus DNS length verification.
var profile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.CheckHyphens(true),
	idna.CheckJoiners(true),
	idna.VerifyDNSLength(true),
)

// reservedTLDs are top-level labels no public mail system delivers to:
// RFC 2606 and 6761 (localhost, invalid, test, example), RFC 6762 (local),
// RFC 7686 (onion), RFC 9476 (alt), .arpa (reverse DNS, home.arpa), ICANN's
// private-use .internal, and names common on private networks.
var reservedTLDs = map[string]bool{
	"localhost": true, "localdomain": true, "local": true, "invalid": true,
	"test": true, "example": true, "onion": true, "alt": true, "arpa": true,
	"internal": true, "intranet": true, "private": true, "lan": true,
	"home": true, "corp": true,
}

// Canonical returns the canonical form of the address s, or an *[Error]
// whose message says, safely for a client, why s is refused. The package
// documentation states the policy.
func Canonical(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", refuse(ErrInvalidUTF8)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", refuse(ErrRequired)
	}
	if len(s) > maxInput {
		return "", refuse(ErrTooLong)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		if err := checkRunes(s, false); err != nil {
			return "", err
		}
		return "", refuse(ErrInvalid)
	}
	local, domain := s[:at], s[at+1:]
	if err := checkRunes(local, false); err != nil {
		return "", err
	}
	if strings.HasPrefix(domain, "[") {
		return "", refuse(ErrAddressLiteral)
	}
	if err := checkRunes(domain, true); err != nil {
		return "", err
	}
	l, err := canonicalLocal(local)
	if err != nil {
		return "", err
	}
	d, err := canonicalDomain(domain)
	if err != nil {
		return "", err
	}
	if len(l) > MaxLocalLength || len(l)+1+len(d) > MaxLength {
		return "", refuse(ErrTooLong)
	}
	return l + "@" + d, nil
}

// checkRunes applies the per-character rules of step 2 to one part.
func checkRunes(s string, inDomain bool) error {
	for _, r := range s {
		if r < utf8.RuneSelf {
			switch {
			case r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r':
				return refuse(ErrWhitespace)
			case r < 0x20 || r == 0x7f:
				return refuse(ErrControl)
			}
			continue
		}
		if err := checkRune(r, inDomain); err != nil {
			return err
		}
	}
	return nil
}

// checkRune classifies one non-ASCII rune.
func checkRune(r rune, inDomain bool) error {
	switch {
	case r == utf8.RuneError:
		// encoding/json decodes invalid UTF-8 and lone surrogates to
		// U+FFFD, so by the time it gets here it stands for invalid bytes.
		return refuse(ErrInvalidUTF8)
	case unicode.Is(unicode.White_Space, r):
		return refuse(ErrWhitespace)
	case unicode.Is(unicode.Cc, r):
		return refuse(ErrControl)
	case invisible(r):
		return refuse(ErrInvisible)
	case unicode.Is(unicode.Co, r):
		return refuse(ErrPrivateUse)
	case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs):
		// unicode.C would include the unassigned code points (Cn).
		return refuse(ErrUnassigned)
	case compatibility(r):
		return refuse(ErrCompatibility)
	case r == '\u3002' && inDomain:
		return nil
	case r == '\u30fc':
		return nil
	case !unicode.In(r, unicode.L, unicode.Mn, unicode.Mc, unicode.Nd):
		return refuse(ErrCharacter)
	case unicode.Is(unicode.Common, r):
		return refuse(ErrCharacter)
	}
	return nil
}

// invisible reports format characters and the other default-ignorable code
// points: they render as nothing, or change how neighbours render.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Bidi_Control, unicode.Join_Control,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// compatibility reports a rune that NFKC changes, or whose NFKC form or
// lower case holds an ASCII character (r itself is not ASCII).
func compatibility(r rune) bool {
	if unicode.ToLower(r) < utf8.RuneSelf {
		return true
	}
	var buf [utf8.UTFMax]byte
	b := buf[:utf8.EncodeRune(buf[:], r)]
	k := norm.NFKC.Bytes(b)
	if string(k) != string(norm.NFC.Bytes(b)) {
		return true
	}
	for _, c := range k {
		if c < utf8.RuneSelf {
			return true
		}
	}
	return false
}

// atext reports the ASCII characters RFC 5322 allows in an atom.
func atext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// foldLocal puts a local part in NFC lower case. A lower-case letter that
// is a variant of another one, the two sharing a capital (the final sigma
// ς and σ, the historic Cyrillic forms such as ᲀ and в), becomes the lower
// case of that capital, as Unicode case folding makes it, so that ΟΔΟΣ and
// οδος are one mailbox. A letter whose capital lowers to ASCII (the
// dotless ı) is kept: it is another letter, not a variant.
func foldLocal(local string) string {
	return norm.NFC.String(strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if r < utf8.RuneSelf || !unicode.IsLetter(r) {
			return r
		}
		if l := unicode.ToLower(unicode.ToUpper(r)); l >= utf8.RuneSelf {
			return l
		}
		return r
	}, norm.NFC.String(local)))
}

// maxMarks is the most nonspacing marks one letter may carry (UTS #39
// §5.4); real words need at most three or so.
const maxMarks = 4

// checkMarks refuses combining sequences that display like a simpler one
// (UTS #39 §5.4): a nonspacing mark twice on one letter (é́ shows as é),
// more than maxMarks marks on one letter, and a dot above on a letter that
// already has a dot (Soft_Dotted: i, j, і, ...), which shows as the plain
// letter, so admi̇n would pass for admin. Sequences are read decomposed
// (NFD), so that a precomposed letter and its marks count as one.
func checkMarks(s string) error {
	var seen []rune
	softDotted := false
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			seen, softDotted = seen[:0], unicode.Is(unicode.Soft_Dotted, r)
			continue
		}
		if slices.Contains(seen, r) || len(seen) == maxMarks || softDotted && r == '\u0307' {
			return refuse(ErrCompatibility)
		}
		seen = append(seen, r)
	}
	return nil
}

// premapDomain lower-cases a domain and turns ideographic full stops into
// dots, before UTS #46 processing. Lower-casing first matters: UTS #46 as of
// Unicode 15 maps the capital sharp s to "ss" but keeps ß; lower-casing
// makes both ß, as Unicode 16 does, so no non-ASCII letter becomes ASCII.
func premapDomain(domain string) string {
	return strings.ReplaceAll(strings.ToLower(domain), "\u3002", ".")
}

func canonicalLocal(local string) (string, error) {
	if local == "" {
		return "", refuse(ErrInvalid)
	}
	for atom := range strings.SplitSeq(local, ".") {
		if atom == "" {
			return "", refuse(ErrInvalid)
		}
		if r, _ := utf8.DecodeRuneInString(atom); unicode.Is(unicode.M, r) {
			return "", refuse(ErrInvalid)
		}
		for i := 0; i < len(atom); i++ {
			if c := atom[i]; c < utf8.RuneSelf && !atext(c) {
				return "", refuse(ErrInvalid)
			}
		}
	}
	l := foldLocal(local)
	// Lower-casing and composing only produce letters and marks of the
	// scripts already present; check the result anyway, so that what is
	// returned always passes the rules it was checked against.
	if err := checkRunes(l, false); err != nil {
		return "", err
	}
	if err := checkMarks(l); err != nil {
		return "", err
	}
	if !singleScript(l) {
		return "", refuse(ErrMixedScript)
	}
	if bidirule.DirectionString(l) == bidi.RightToLeft && !bidirule.ValidString(l) {
		return "", refuse(ErrDirection)
	}
	return l, nil
}

func canonicalDomain(domain string) (string, error) {
	if domain == "" {
		return "", refuse(ErrInvalid)
	}
	if _, err := netip.ParseAddr(domain); err == nil {
		return "", refuse(ErrAddressLiteral)
	}
	domain = premapDomain(domain)
	labels := strings.Split(domain, ".")
	if slices.Contains(labels, "") {
		return "", refuse(ErrDomain) // leading, trailing or doubled dot
	}
	if ipLike(labels) {
		return "", refuse(ErrAddressLiteral)
	}
	if len(labels) < 2 {
		if reservedTLDs[strings.ToLower(domain)] {
			return "", refuse(ErrReservedDomain) // user@localhost
		}
		return "", refuse(ErrDomain) // a single label: no public mail domain
	}
	a, err := profile.ToASCII(domain)
	if err != nil {
		return "", &Error{Reason: ErrDomain, Cause: err}
	}
	u, err := profile.ToUnicode(a)
	if err != nil {
		return "", &Error{Reason: ErrDomain, Cause: err}
	}
	alabels := strings.Split(a, ".")
	ulabels := strings.Split(u, ".")
	if len(alabels) != len(labels) || len(ulabels) != len(labels) {
		return "", refuse(ErrDomain)
	}
	for i, al := range alabels {
		if al == "" || len(al) > 63 {
			return "", refuse(ErrDomain)
		}
		for j := 0; j < len(al); j++ {
			if c := al[j]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return "", refuse(ErrDomain)
			}
		}
		if err := checkRunes(ulabels[i], true); err != nil {
			return "", err
		}
		if err := checkMarks(ulabels[i]); err != nil {
			return "", err
		}
		if strings.ContainsRune(ulabels[i], '\u3002') {
			return "", refuse(ErrDomain)
		}
		if !singleScript(ulabels[i]) {
			return "", refuse(ErrMixedScript)
		}
	}
	tld := alabels[len(alabels)-1]
	if !strings.HasPrefix(tld, "xn--") && (len(tld) < 2 || strings.Trim(tld, "abcdefghijklmnopqrstuvwxyz") != "") {
		return "", refuse(ErrDomain)
	}
	if reservedTLDs[tld] {
		return "", refuse(ErrReservedDomain)
	}
	return a, nil
}

// ipLike reports a domain whose labels are all numbers, decimal or 0x
// hexadecimal, which some resolvers read as an IPv4 address (127.1, 0x7f.1).
func ipLike(labels []string) bool {
	for _, l := range labels {
		l = strings.ToLower(l)
		digits := "0123456789"
		if strings.HasPrefix(l, "0x") {
			l, digits = l[2:], "0123456789abcdef"
		}
		if l != "" && strings.Trim(l, digits) != "" {
			return false
		}
	}
	return true
}

// scriptTables lists Unicode's scripts other than Common and Inherited,
// in a fixed order.
var scriptTables = func() []*unicode.RangeTable {
	names := make([]string, 0, len(unicode.Scripts))
	for n := range unicode.Scripts {
		if n != "Common" && n != "Inherited" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	t := make([]*unicode.RangeTable, len(names))
	for i, n := range names {
		t[i] = unicode.Scripts[n]
	}
	return t
}()

var (
	latin, han               = unicode.Latin, unicode.Han
	hiragana, katakana       = unicode.Hiragana, unicode.Katakana
	bopomofo, hangul         = unicode.Bopomofo, unicode.Hangul
	highlyRestrictiveSupport = [][]*unicode.RangeTable{
		{latin, han, hiragana, katakana},
		{latin, han, bopomofo},
		{latin, han, hangul},
	}
)

// singleScript reports whether the scripts of s (ignoring Common and
// Inherited) are one script or one of UTS #39's Highly Restrictive
// combinations.
func singleScript(s string) bool {
	var seen []*unicode.RangeTable
	for _, r := range s {
		if r < utf8.RuneSelf && !unicode.IsLetter(r) {
			continue
		}
		var t *unicode.RangeTable
		if r < utf8.RuneSelf {
			t = latin
		} else {
			for _, st := range scriptTables {
				if unicode.Is(st, r) {
					t = st
					break
				}
			}
		}
		if t != nil && !slices.Contains(seen, t) {
			seen = append(seen, t)
		}
	}
	if len(seen) <= 1 {
		return true
	}
	for _, set := range highlyRestrictiveSupport {
		if !slices.ContainsFunc(seen, func(t *unicode.RangeTable) bool { return !slices.Contains(set, t) }) {
			return true
		}
	}
	return false
}
