package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// A credential pasted where an id belongs (`gatehouse apikey revoke
// <the token>` instead of its id) arrives in the request's path. The path
// is logged, and refusals quote the id they could not find; neither may
// carry the credential. Segments of the path that have the form of one
// of Gatehouse's credentials are replaced by redactedCredential in the
// request log and in the problem's detail.

// redactedCredential stands for a credential in logs and error texts.
const redactedCredential = "[credential redacted]"

// credentialPrefixes are the prefixes of the credentials Gatehouse mints
// (API keys, invitations, agent tokens, run tokens). Sessions are bare
// JWTs (looksLikeJWT).
var credentialPrefixes = [...]string{auth.APIKeyPrefix, auth.InvitationPrefix, auth.AgentTokenPrefix, vault.RunTokenPrefix}

func init() {
	for _, p := range credentialPrefixes {
		if !strings.HasPrefix(p, "g") {
			panic("server: credential prefix " + p + " does not start with g: pathCredentials' quick test would miss it")
		}
	}
}

// looksLikeCredential reports whether a path segment has the form of a
// credential: one of credentialPrefixes, or a JWT (a session).
func looksLikeCredential(seg string) bool {
	for _, p := range credentialPrefixes {
		if strings.HasPrefix(seg, p) {
			return true
		}
	}
	return strings.HasPrefix(seg, "eyJ") && strings.Count(seg, ".") == 2
}

// pathCredentials returns the segments of path that look like
// credentials (nil, without allocating, when there are none).
func pathCredentials(path string) []string {
	// Every credential prefix starts with "g", a JWT with "eyJ": a path
	// with no segment starting so (nearly every one) is not split.
	if !strings.Contains(path, "/g") && !strings.Contains(path, "/eyJ") {
		return nil
	}
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		if looksLikeCredential(seg) {
			out = append(out, seg)
		}
	}
	return out
}

// redactCredentials replaces every occurrence of each of creds in s.
func redactCredentials(s string, creds []string) string {
	for _, c := range creds {
		s = strings.ReplaceAll(s, c, redactedCredential)
	}
	return s
}

// The same holds for request bodies (threat-model row 91): a credential
// pasted into a body's field — an id, a name, a label, a policy — would be
// quoted back by the refusal that names it, logged with a 5xx's cause, or
// stored and then shown to every reader of what it named (and recorded in
// the audit log). A body holding a value in the form of a credential
// outside the members that take one (credentialMembers) is refused, 400
// naming the member and never the value (bodyCredential); and every
// problem's detail and every logged error is scanned for credentials
// wherever they came from (redactText).

// minCredentialTail is the fewest characters after a prefix for a token
// to count as a credential: the shortest Gatehouse mints has 69 (an API
// key's 16-digit id, "_", 52 characters), so nothing real is missed,
// while an id such as "gth_v2" is left alone.
const minCredentialTail = 16

// credentialMembers are the top-level body members whose value may be a
// credential: an invitation's or run token's "token" (redeemed), a
// secret's "value" (stored encrypted, never answered but to a reader of
// the secret). No route echoes them.
var credentialMembers = map[string]bool{"token": true, "value": true}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// nextCredential returns the bounds of the first credential-shaped token
// of s at or after from (start -1 when there is none): one of
// credentialPrefixes, or a JWT ("eyJ…", two dots), not preceded by a
// letter or digit (so "length_limit" is not "gth_"), followed by at least
// minCredentialTail token characters.
func nextCredential(s string, from int) (start, end int) {
	for i := from; i < len(s); i++ {
		if s[i] != 'g' && s[i] != 'e' || i > 0 && alnum(s[i-1]) {
			continue
		}
		rest := s[i:]
		head := 0
		if strings.HasPrefix(rest, "eyJ") {
			head = 3
		} else {
			for _, p := range credentialPrefixes {
				if strings.HasPrefix(rest, p) {
					head = len(p)
					break
				}
			}
		}
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
		if head == 3 && strings.Count(s[i:j], ".") != 2 {
			continue
		}
		return i, j
	}
	return -1, -1
}

// redactText is s with every credential-shaped token replaced by
// redactedCredential (s itself, without allocating, when it has none).
func redactText(s string) string {
	start, end := nextCredential(s, 0)
	if start < 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for start >= 0 {
		b.WriteString(s[last:start])
		b.WriteString(redactedCredential)
		last = end
		start, end = nextCredential(s, end)
	}
	b.WriteString(s[last:])
	return b.String()
}

// mayHoldCredential is a quick test of a body: false (nearly every body)
// when no byte sequence could start a credential. Every prefix ends in
// "_" (so each "_" is looked behind), a JWT starts "eyJ" (so each "J",
// rare in JSON, is looked behind): two IndexByte scans, not a substring
// search, which costs several times more on a /check body.
func mayHoldCredential(b []byte) bool {
	for i := bytes.IndexByte(b, '_'); i >= 0; {
		for _, p := range credentialPrefixes {
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

// bodyCredential returns the member of a JSON body that holds a
// credential-shaped string — a value or a member name, at any depth but
// the top-level credentialMembers — named as problems name fields
// ("changes[3].email", "labels.tier"), and whether there is one. A body
// that is not JSON has none (its decoder refuses it, and its problem's
// detail is redacted).
func bodyCredential(b []byte) (string, bool) {
	if !mayHoldCredential(b) {
		return "", false
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return "", false
	}
	return credentialIn(doc, "")
}

func credentialIn(v any, path string) (string, bool) {
	switch v := v.(type) {
	case string:
		if s, _ := nextCredential(v, 0); s >= 0 {
			return path, true
		}
	case []any:
		for i, x := range v {
			if f, ok := credentialIn(x, fmt.Sprintf("%s[%d]", path, i)); ok {
				return f, true
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the same member named for the same body
		for _, k := range keys {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if s, _ := nextCredential(k, 0); s >= 0 {
				return path, true // the member's name is the credential: name its parent
			}
			if path == "" && credentialMembers[k] {
				continue
			}
			if f, ok := credentialIn(v[k], sub); ok {
				return f, true
			}
		}
	}
	return "", false
}

// errBodyCredential is the refusal of a body holding a credential in
// field: the member, never the value.
func errBodyCredential(field string) *Problem {
	where := "a member name"
	if field != "" {
		where = "field " + strconv.Quote(field)
	}
	return invalidField(field, "%s holds a value in the form of a Gatehouse credential (an API key, invitation, session, agent or run token); credentials are never ids, names or data: revoke it if it was pasted by mistake, and keep secrets in the vault", where)
}
