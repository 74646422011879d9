package mcp

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
)

// Diff is what an import changes in a server's tools, by the tools' names
// as the upstream spells them, each list sorted.
type Diff struct {
	Added   []string     `json:"added"`
	Removed []string     `json:"removed"`
	Changed []ToolChange `json:"changed"`
}

// ToolChange is a tool whose spec changed, and which members did:
// "title", "description", "input_schema", "output_schema", "annotations".
type ToolChange struct {
	Tool   string   `json:"tool"`
	Fields []string `json:"fields"`
}

// Empty reports whether the diff changes nothing.
func (d Diff) Empty() bool { return len(d.Added)+len(d.Removed)+len(d.Changed) == 0 }

// canonical is JSON re-encoded with sorted keys and no spaces (a store may
// keep JSON in its own layout), nil for nil or null.
func canonical(b json.RawMessage) []byte {
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return b
	}
	if v == nil {
		return nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b
	}
	return out
}

// changedFields lists the members of next that differ from old.
func changedFields(old, next ToolSpec) []string {
	var fs []string
	if old.Title != next.Title {
		fs = append(fs, "title")
	}
	if old.Description != next.Description {
		fs = append(fs, "description")
	}
	if !bytes.Equal(canonical(old.InputSchema), canonical(next.InputSchema)) {
		fs = append(fs, "input_schema")
	}
	if !bytes.Equal(canonical(old.OutputSchema), canonical(next.OutputSchema)) {
		fs = append(fs, "output_schema")
	}
	if !reflect.DeepEqual(old.Annotations, next.Annotations) {
		fs = append(fs, "annotations")
	}
	if old.Tool != next.Tool || old.Server != next.Server {
		fs = append(fs, "tool")
	}
	return fs
}

// DiffTools compares the stored tools of a server with the upstream's,
// both keyed by resource id.
func DiffTools(stored, next map[string]ToolSpec) Diff {
	d := Diff{Added: []string{}, Removed: []string{}, Changed: []ToolChange{}}
	for id, n := range next {
		o, ok := stored[id]
		if !ok {
			d.Added = append(d.Added, n.Tool)
			continue
		}
		if fs := changedFields(o, n); len(fs) > 0 {
			d.Changed = append(d.Changed, ToolChange{Tool: n.Tool, Fields: fs})
		}
	}
	for id, o := range stored {
		if _, ok := next[id]; !ok {
			name := o.Tool
			if name == "" {
				name = id
			}
			d.Removed = append(d.Removed, name)
		}
	}
	sort.Strings(d.Added)
	sort.Strings(d.Removed)
	sort.Slice(d.Changed, func(i, j int) bool { return d.Changed[i].Tool < d.Changed[j].Tool })
	return d
}
