package server

import (
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
