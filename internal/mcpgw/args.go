package mcpgw

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

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
// alike (nil when it is).
func checkJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		object, wantKey bool
		names           map[string]struct{}
	}
	var stack []*frame
	// done ends a value inside the enclosing object: its next token is a
	// key.
	done := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	for first := true; first || len(stack) > 0; first = false {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: not one JSON value", errAmbiguous)
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if len(stack) >= maxNesting {
					return fmt.Errorf("%w: nested more than %d deep", errAmbiguous, maxNesting)
				}
				if top != nil && top.object {
					top.wantKey = false
				}
				f := &frame{}
				if v == '{' {
					f = &frame{object: true, wantKey: true, names: map[string]struct{}{}}
				}
				stack = append(stack, f)
			default: // '}' or ']'
				stack = stack[:len(stack)-1]
				done()
			}
		case string:
			if top != nil && top.object && top.wantKey {
				folded := ident.Fold(v) // equal exactly when strings.EqualFold
				if _, dup := top.names[folded]; dup {
					return fmt.Errorf("%w: an object names %q twice (or twice but for case)", errAmbiguous, v)
				}
				top.names[folded] = struct{}{}
				top.wantKey = false
				continue
			}
			done()
		default:
			done()
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the JSON value", errAmbiguous)
	}
	return nil
}

// strictBody reads r's body (at most maxBody bytes) and checks it
// (checkJSON); on success r.Body reads the same bytes again. false: the
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
	} else if len(b) > 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", r.Method+" takes no request body")
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return true
}
