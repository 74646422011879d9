// Package credscan finds Gatehouse credentials where none belongs: in a
// JSON body (the API's, the MCP gateway's JSON-RPC messages), in a form
// post (the console's), and in any text about to be shown or logged
// (docs/threat-model.md rows 91, 102 and 103). A credential pasted into a
// field is refused, naming the field and never the value, so no refusal
// quotes it, no store keeps it, no upstream receives it and no log or
// audit entry records it.
//
// A credential is one of Prefixes (API keys, invitations, agent tokens,
// run tokens) or a JWT ("eyJ…", two dots: a session), not glued to a
// preceding letter or digit ("length_limit" is not "gth_"), with at least
// minCredentialTail token characters after its prefix (every minted
// credential has at least 69; "gth_v2" is not one).
package credscan

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// Redacted stands for a credential in logs and error texts.
const Redacted = "[credential redacted]"

// Prefixes are the prefixes of the credentials Gatehouse mints (API keys,
// invitations, agent tokens, run tokens). Sessions are bare JWTs.
var Prefixes = [...]string{auth.APIKeyPrefix, auth.InvitationPrefix, auth.AgentTokenPrefix, vault.RunTokenPrefix}

func init() {
	for _, p := range Prefixes {
		if !strings.HasPrefix(p, "g") || !strings.HasSuffix(p, "_") {
			panic("credscan: credential prefix " + p + " does not start with g and end with _: the quick tests would miss it")
		}
	}
}

// minCredentialTail is the fewest characters after a prefix for a token
// to count as a credential: the shortest Gatehouse mints has 69 (an API
// key's 16-digit id, "_", 52 characters), so nothing real is missed,
// while an id such as "gth_v2" is left alone.
const minCredentialTail = 16

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// jwts says which JWTs a scan counts as credentials.
type jwts bool

const (
	anyJWT jwts = false // every JWT: where none belongs (the API's and the console's fields, logs)
	ownJWT jwts = true  // only Gatehouse's sessions (iss "gatehouse"): bodies bound for third parties
)

// nextCredential returns the bounds of the first credential-shaped token
// of s at or after from (start -1 when there is none): one of
// Prefixes, or a JWT ("eyJ…", two dots; with ownJWT only one whose
// payload's iss is auth.SessionIssuer), not preceded by a letter or digit
// (so "length_limit" is not "gth_"), followed by at least
// minCredentialTail token characters.
func nextCredential(s string, from int, which jwts) (start, end int) {
	for i := from; i < len(s); i++ {
		if s[i] != 'g' && s[i] != 'e' || i > 0 && alnum(s[i-1]) {
			continue
		}
		head := headLen(s[i:])
		if head == 0 {
			continue
		}
		j := i + head
		for j < len(s) && tokenByte(s[j]) {
			j++
		}
		if j-i-head < minCredentialTail {
			continue
		}
		if s[i] == 'e' && (strings.Count(s[i:j], ".") != 2 || which == ownJWT && !sessionJWT(s[i:j])) { // a JWT
			continue
		}
		return i, j
	}
	return -1, -1
}

// jwtHead is how every JWT starts (a JSON header, base64url-encoded).
const jwtHead = "eyJ"

// headLen is the length of the credential head s starts with — one of
// Prefixes, or jwtHead — or 0 when it starts with none.
func headLen(s string) int {
	if strings.HasPrefix(s, jwtHead) {
		return len(jwtHead)
	}
	for _, p := range Prefixes {
		if strings.HasPrefix(s, p) {
			return len(p)
		}
	}
	return 0
}

// Segment reports whether a segment of a request's path is, or holds, a
// credential: the whole segment is then redacted where the path is
// logged or quoted (an id pasted as the token: `gatehouse apikey revoke
// <the token>`). It is stricter than In, since no id starts like a
// credential: a segment that starts with one of Prefixes counts however
// short what follows ("gti_01_x"), and one that starts with jwtHead
// counts when the segment has two dots, whatever its other characters;
// anywhere else in the segment In's rule holds ("key=gth_…").
func Segment(seg string) bool {
	if strings.HasPrefix(seg, jwtHead) {
		if strings.Count(seg, ".") == 2 {
			return true
		}
	} else if headLen(seg) > 0 {
		return true
	}
	return In(seg)
}

// sessionJWT reports whether the JWT t (three dot-separated parts) was
// issued by Gatehouse: its payload decodes to a JSON object whose iss is
// auth.SessionIssuer, as every session's is (a forged one that would not
// verify is still one to keep out of a third party's hands).
func sessionJWT(t string) bool {
	payload := t[strings.IndexByte(t, '.')+1 : strings.LastIndexByte(t, '.')]
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return false
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	return json.Unmarshal(b, &claims) == nil && claims.Iss == auth.SessionIssuer
}

// In reports whether s holds a credential-shaped token.
func In(s string) bool {
	start, _ := nextCredential(s, 0, anyJWT)
	return start >= 0
}

// Redact is s with every credential-shaped token replaced by Redacted (s
// itself, without allocating, when it has none).
func Redact(s string) string {
	start, end := nextCredential(s, 0, anyJWT)
	if start < 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for start >= 0 {
		b.WriteString(s[last:start])
		b.WriteString(Redacted)
		last = end
		start, end = nextCredential(s, end, anyJWT)
	}
	b.WriteString(s[last:])
	return b.String()
}

// MayHold is a quick test of a body: false (nearly every body)
// when no byte sequence could start a credential. Every prefix ends in
// "_" (so each "_" is looked behind), a JWT starts "eyJ" (so each "J",
// rare in JSON, is looked behind): two IndexByte scans, not a substring
// search, which costs several times more on a /check body.
func MayHold(b []byte) bool {
	for i := bytes.IndexByte(b, '_'); i >= 0; {
		for _, p := range Prefixes {
			if n := len(p) - 1; i >= n && string(b[i-n:i+1]) == p {
				return true
			}
		}
		j := bytes.IndexByte(b[i+1:], '_')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	for i := bytes.IndexByte(b, 'J'); i >= 0; {
		if i >= 2 && b[i-2] == 'e' && b[i-1] == 'y' {
			return true
		}
		j := bytes.IndexByte(b[i+1:], 'J')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// JSON returns the member of a JSON body that holds a credential-shaped
// string — a value or a member name, at any depth but the top-level
// members named in exempt — named as problems name fields
// ("changes[3].email", "labels.tier", "params.arguments.to"), and whether
// there is one. A body that is not JSON has none (its decoder refuses
// it, and the refusal's text is to be redacted).
func JSON(b []byte, exempt map[string]bool) (string, bool) {
	return jsonScan(b, exempt, anyJWT)
}

// JSONForThirdParty is JSON for a body that Gatehouse forwards to
// someone else (an MCP gateway's upstream), where a JWT may be the third
// party's own business: a JWT counts only when Gatehouse issued it (a
// session); Gatehouse's prefixed credentials count as in JSON.
func JSONForThirdParty(b []byte) (string, bool) {
	return jsonScan(b, nil, ownJWT)
}

func jsonScan(b []byte, exempt map[string]bool, which jwts) (string, bool) {
	if !MayHold(b) {
		return "", false
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return "", false
	}
	rel, found := credentialIn(doc, true, exempt, which)
	return strings.TrimPrefix(rel, "."), found
}

// Form returns the first field (in name order) of a form post whose name
// or any of whose values holds a credential-shaped token, skipping the
// fields named in exempt, and whether there is one. A field whose name is
// the credential is reported as "" (the caller names no field).
func Form(v url.Values, exempt map[string]bool) (string, bool) {
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if In(k) {
			return "", true
		}
		if exempt[k] {
			continue
		}
		for _, x := range v[k] {
			if In(x) {
				return k, true
			}
		}
	}
	return "", false
}

// credentialIn returns where under v a credential-shaped string is, as a
// path relative to v (".name", "[3]", ".name[3].inner"; "" for v itself or
// for a member of v whose name is the credential), and whether there is
// one. The path is built only on the way back from a find, not for every
// member and element walked. exempt names members of the top level (top).
func credentialIn(v any, top bool, exempt map[string]bool, which jwts) (string, bool) {
	switch v := v.(type) {
	case string:
		if s, _ := nextCredential(v, 0, which); s >= 0 {
			return "", true
		}
	case []any:
		for i, x := range v {
			if f, ok := credentialIn(x, false, exempt, which); ok {
				return "[" + strconv.Itoa(i) + "]" + f, true
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the same member named for the same body
		for _, k := range keys {
			if s, _ := nextCredential(k, 0, which); s >= 0 {
				return "", true // the member's name is the credential: name its parent
			}
			if top && exempt[k] {
				continue
			}
			if f, ok := credentialIn(v[k], false, exempt, which); ok {
				return "." + k + f, true
			}
		}
	}
	return "", false
}
