package server

import (
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/credscan"
)

// A credential pasted where an id belongs (`gatehouse apikey revoke
// <the token>` instead of its id) arrives in the request's path. The path
// is logged, and refusals quote the id they could not find; neither may
// carry the credential. Segments of the path that have the form of one
// of Gatehouse's credentials are replaced by redactedCredential in the
// request log and in the problem's detail.

// redactedCredential stands for a credential in logs and error texts.
const redactedCredential = credscan.Redacted

// pathCredentials returns the segments of path that are or hold
// credentials (credscan.Segment), nil without allocating when there are
// none.
func pathCredentials(path string) []string {
	// Every credential prefix ends with "_", a JWT starts "eyJ": a path
	// with neither (nearly every one) is not split.
	if strings.IndexByte(path, '_') < 0 && !strings.Contains(path, "eyJ") {
		return nil
	}
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		if credscan.Segment(seg) {
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

// credentialMembers are the top-level body members whose value may be a
// credential: an invitation's or run token's "token" (redeemed), a
// secret's "value" (stored encrypted, never answered but to a reader of
// the secret). No route echoes them.
var credentialMembers = map[string]bool{"token": true, "value": true}

// redactText is s with every credential-shaped token redacted
// (credscan.Redact: shared with the console and the MCP gateway).
func redactText(s string) string { return credscan.Redact(s) }

// mayHoldCredential is credscan's quick test of a body.
func mayHoldCredential(b []byte) bool { return credscan.MayHold(b) }

// bodyCredential returns the member of a JSON body that holds a
// credential-shaped string but for the top-level credentialMembers
// (credscan.JSON), and whether there is one.
func bodyCredential(b []byte) (string, bool) { return credscan.JSON(b, credentialMembers) }

// errBodyCredential is the refusal of a body holding a credential in
// field: the member, never the value.
func errBodyCredential(field string) *Problem {
	where := "a member name"
	if field != "" {
		where = "field " + strconv.Quote(field)
	}
	return invalidField(field, "%s holds a value in the form of a Gatehouse credential (an API key, invitation, session, agent or run token); credentials are never ids, names or data: revoke it if it was pasted by mistake, and keep secrets in the vault", where)
}
