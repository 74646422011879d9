package sqlcore

import (
	"encoding/base64"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A cursor is base64url(JSON{list, scope, keys}): the keys of the last row of
// the previous page, bound to the list and the org (or user) it came from.
// Anything else is ErrInvalid; a cursor never makes a query read another
// org, because the org comes from the call, not from the cursor.
type cursor struct {
	List  string   `json:"l"`
	Scope string   `json:"s"`
	Keys  []string `json:"k"`
}

const maxCursorBytes = 4096

func encodeCursor(list, scope string, keys []string) string {
	b, _ := json.Marshal(cursor{List: list, Scope: scope, Keys: keys}) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// pageArgs validates p for a list keyed by nkeys columns and returns the
// page size and the keys to start after (nil for the first page).
func pageArgs(op, list, scope string, p store.Page, nkeys int) (int, []string, error) {
	size := p.Size
	switch {
	case size == 0:
		size = store.DefaultPageSize
	case size < 0 || size > store.MaxPageSize:
		return 0, nil, invalid(op, "page size %d is outside 1..%d", p.Size, store.MaxPageSize)
	}
	if p.Cursor == "" {
		return size, nil, nil
	}
	if len(p.Cursor) > maxCursorBytes {
		return 0, nil, invalid(op, "cursor is malformed")
	}
	raw, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil {
		return 0, nil, invalid(op, "cursor is malformed")
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil || c.List != list || c.Scope != scope || len(c.Keys) != nkeys {
		return 0, nil, invalid(op, "cursor is malformed or belongs to another list")
	}
	return size, c.Keys, nil
}
