package mcpgw

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/credscan"
	"github.com/gatehouse-dev/gatehouse/internal/ident"
)

// Strict reading of what callers send. The SDK decodes a JSON-RPC message
// leniently (the last of two equal member names wins, data after the
// message is ignored), and the gateway decides a tools/call on its
// arguments as encoding/json reads them ("amount" and "Amount" are two
// keys) but forwards their bytes unchanged: an upstream whose parser keeps
// the first of two equal names, or fills one struct field from names in
// any case (as encoding/json does), would run a call with other arguments
// than the ones decided — {"amount": 100, "Amount": 900} passing a
// condition on amount < 500. So a request body is refused (400) unless it
// is exactly one JSON value in which no object names a member twice, or
// two members equal but for case, nested at most maxNesting deep.

// maxBody bounds a request body (the SDK's own default, which it enforces
// too).
const maxBody = 4 << 20

// maxNesting bounds a body's nesting (the API's bound; the SDK's is 1000).
const maxNesting = 100

// errAmbiguous: a body that is not one unambiguous JSON value.
var errAmbiguous = errors.New("mcpgw: ambiguous JSON")

// checkJSON reports why b is not one JSON value that every parser reads
// alike (nil when it is). json.Valid checks the syntax (one value, nothing
// after it); one pass over the bytes then follows the nesting and compares
// each object's member names (bytes.EqualFold, which is how encoding/json
// matches names to fields; a map by ident.Fold past a few names).
func checkJSON(b []byte) error {
	if !json.Valid(b) {
		return fmt.Errorf("%w: not one JSON value (malformed, data after the value, or nested too deep)", errAmbiguous)
	}
	var stack []members
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) >= maxNesting {
				return fmt.Errorf("%w: nested more than %d deep", errAmbiguous, maxNesting)
			}
			stack = append(stack, members{object: c == '{', wantKey: c == '{'})
		case '}', ']':
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey = true
			}
		case '"':
			end := i + 1
			escaped := false
			for ; b[end] != '"'; end++ {
				if b[end] == '\\' {
					escaped = true
					end++ // json.Valid: an escape is complete
				}
			}
			if n := len(stack); n > 0 && stack[n-1].wantKey {
				top := &stack[n-1]
				top.wantKey = false
				name := b[i+1 : end]
				if escaped {
					var u string
					if err := json.Unmarshal(b[i:end+1], &u); err != nil {
						return fmt.Errorf("%w: not one JSON value", errAmbiguous)
					}
					name = []byte(u)
				}
				if top.seen(name) {
					return fmt.Errorf("%w: an object names %q twice (or twice but for case)", errAmbiguous, name)
				}
			}
			i = end
		}
	}
	return nil
}

// members are the member names of one object (or nothing, for an array)
// as checkJSON reads them.
type members struct {
	object, wantKey bool
	few             [8][]byte
	n               int
	many            map[string]struct{}
}

// seen records name and reports whether the object had it already, or
// one equal but for case.
func (m *members) seen(name []byte) bool {
	if m.many != nil {
		f := ident.Fold(string(name))
		_, dup := m.many[f]
		m.many[f] = struct{}{}
		return dup
	}
	for _, k := range m.few[:m.n] {
		if bytes.EqualFold(k, name) {
			return true
		}
	}
	if m.n < len(m.few) {
		m.few[m.n] = name
		m.n++
		return false
	}
	m.many = make(map[string]struct{}, 2*len(m.few))
	for _, k := range m.few {
		m.many[ident.Fold(string(k))] = struct{}{}
	}
	m.many[ident.Fold(string(name))] = struct{}{}
	return false
}

// credentialRefusal is the refusal of a message holding a value in the
// form of a Gatehouse credential (credscan: the API's rule, threat-model
// rows 91 and 103) in field: a tool argument would be forwarded upstream,
// stored with an approval request and shown to its approvers, or quoted
// by an upstream's error. It names the member, never the value.
func credentialRefusal(field string) string {
	where := "a member name"
	if field != "" {
		where = "member " + strconv.Quote(field)
	}
	return where + " holds a value in the form of a Gatehouse credential (an API key, invitation, session, agent or run token); a credential goes in the Authorization header only, never in a message (revoke it if it was pasted by mistake; give a tool a secret through the vault)"
}

// strictBody reads r's body (at most maxBody bytes) and checks it
// (checkJSON, and no credential in it: credentialRefusal); on success r.Body reads the same bytes again. false: the
// answer (413 or 400) is written.
func strictBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("the request body is larger than %d bytes", maxBody))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid_request", "the request body could not be read")
		return false
	}
	if len(b) > 0 && r.Method == http.MethodPost {
		if err := checkJSON(b); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", strings.TrimPrefix(err.Error(), "mcpgw: ")+"; send one JSON-RPC message, each member named once")
			return false
		}
		if field, found := credscan.JSONForThirdParty(b); found {
			writeError(w, http.StatusBadRequest, "invalid_request", credentialRefusal(field))
			return false
		}
	} else if len(b) > 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", r.Method+" takes no request body")
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return true
}
