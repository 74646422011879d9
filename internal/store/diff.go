package store

import (
	"bytes"
	"encoding/json"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// DiffOp says how a value at a path changed.
type DiffOp string

// Diff operations.
const (
	DiffAdded   DiffOp = "added"
	DiffRemoved DiffOp = "removed"
	DiffChanged DiffOp = "changed"
)

// DiffEntry is one difference between two JSON documents.
type DiffEntry struct {
	// Path is a JSON Pointer (RFC 6901) into the documents: "" is the
	// whole document, "/spec/steps/0/name" a nested value; "~" and "/" in
	// keys are escaped as "~0" and "~1".
	Path string          `json:"path"`
	Op   DiffOp          `json:"op"`
	Old  json.RawMessage `json:"old,omitempty"` // compact JSON; nil for added
	New  json.RawMessage `json:"new,omitempty"` // compact JSON; nil for removed
}

// Diff returns the differences from document a to document b, ordered by
// path (object keys sorted, array indexes ascending). Objects are compared
// key by key and arrays index by index, recursively; a value whose JSON
// type differs, or a scalar that differs, is one "changed" entry; numbers
// compare by value (1 equals 1.0). An empty or nil document is JSON null.
// Malformed JSON is ErrInvalid.
func Diff(a, b json.RawMessage) ([]DiffEntry, error) {
	va, err := decodeJSON(a)
	if err != nil {
		return nil, Errorf(ErrInvalid, "diff", "old document is not JSON", err)
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return nil, Errorf(ErrInvalid, "diff", "new document is not JSON", err)
	}
	var out []DiffEntry
	diffValue("", va, vb, &out)
	return out, nil
}

func decodeJSON(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err == nil {
		return nil, errTrailing
	}
	return v, nil
}

var errTrailing = Errorf(ErrInvalid, "decode JSON", "trailing data after the document", nil)

func diffValue(path string, a, b any, out *[]DiffEntry) {
	switch x := a.(type) {
	case map[string]any:
		if y, ok := b.(map[string]any); ok {
			keys := make([]string, 0, len(x)+len(y))
			for k := range x {
				keys = append(keys, k)
			}
			for k := range y {
				if _, ok := x[k]; !ok {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				p := path + "/" + escapePointer(k)
				va, inA := x[k]
				vb, inB := y[k]
				switch {
				case !inB:
					*out = append(*out, DiffEntry{Path: p, Op: DiffRemoved, Old: encode(va)})
				case !inA:
					*out = append(*out, DiffEntry{Path: p, Op: DiffAdded, New: encode(vb)})
				default:
					diffValue(p, va, vb, out)
				}
			}
			return
		}
	case []any:
		if y, ok := b.([]any); ok {
			n := max(len(x), len(y))
			for i := range n {
				p := path + "/" + strconv.Itoa(i)
				switch {
				case i >= len(y):
					*out = append(*out, DiffEntry{Path: p, Op: DiffRemoved, Old: encode(x[i])})
				case i >= len(x):
					*out = append(*out, DiffEntry{Path: p, Op: DiffAdded, New: encode(y[i])})
				default:
					diffValue(p, x[i], y[i], out)
				}
			}
			return
		}
	default:
		if scalarEqual(a, b) {
			return
		}
	}
	*out = append(*out, DiffEntry{Path: path, Op: DiffChanged, Old: encode(a), New: encode(b)})
}

func scalarEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		fx, _, errx := big.ParseFloat(string(x), 10, 256, big.ToNearestEven)
		fy, _, erry := big.ParseFloat(string(y), 10, 256, big.ToNearestEven)
		return errx == nil && erry == nil && fx.Cmp(fy) == 0
	}
	return false
}

func encode(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen for decoded JSON
		return json.RawMessage("null")
	}
	return b
}

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
