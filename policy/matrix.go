package policy

import "sort"

// Matrix is a policy's role × permission table ("print it, tape it to the
// wall"): one column per role, most powerful first, then one per agent;
// one row per action of each declared resource type, then one per
// permission pattern any role declares on other types, grouped by
// resource.
type Matrix struct {
	Columns []MatrixColumn `json:"columns"`
	Rows    []MatrixRow    `json:"rows"`
}

// MatrixColumn is a role or an agent.
type MatrixColumn struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"` // "role" or "agent"
	Level int    `json:"level"`
	Role  string `json:"role,omitempty"` // an agent's ceiling role
}

// Cell values.
const (
	CellNone        = ""            // not granted
	CellGranted     = "granted"     // granted unconditionally
	CellConditional = "conditional" // an agent may use it only under a condition
)

// MatrixRow is one permission pattern and what each column has of it.
type MatrixRow struct {
	Permission Permission `json:"permission"`
	// Cells has one entry per column, in column order.
	Cells []string `json:"cells"`
	// Conditions, per column, names the conditions of conditional cells.
	Conditions [][]string `json:"conditions,omitempty"`
}

// BuildMatrix tabulates the model. A cell is granted when the column's
// flattened permissions cover the row's pattern (so `*:*` fills every row
// and `chains:*` fills `chains:run`); for agents, a row the agent's rules
// make conditional is marked conditional.
func BuildMatrix(m *Model) Matrix {
	var mx Matrix
	roles := append([]*Role(nil), m.Roles...)
	sort.SliceStable(roles, func(i, j int) bool { return roles[i].Level > roles[j].Level })
	for _, r := range roles {
		mx.Columns = append(mx.Columns, MatrixColumn{Name: r.Name, Kind: "role", Level: r.Level})
	}
	for _, a := range m.Agents {
		lvl := 0
		if r, ok := m.Role(a.Role); ok {
			lvl = r.Level
		}
		mx.Columns = append(mx.Columns, MatrixColumn{Name: a.Name, Kind: "agent", Level: lvl, Role: a.Role})
	}

	// Rows: first every declared resource type's actions, in declaration
	// order (so a template reads like its seed's table, and a role with
	// `*:*` shows on each row), then every pattern a role declares on a
	// type without a declaration, grouped by resource in order of first
	// appearance, wildcard resource last; actions in order of first
	// appearance within the resource, wildcard action last. A wildcard
	// action on a declared type is no row of its own: the declared
	// actions are the type's rows and the wildcard fills them.
	var resOrder []string
	byRes := map[string][]string{}
	seen := map[Permission]bool{}
	addRow := func(p Permission) {
		if seen[p] {
			return
		}
		seen[p] = true
		if _, ok := byRes[p.Resource]; !ok {
			resOrder = append(resOrder, p.Resource)
		}
		byRes[p.Resource] = append(byRes[p.Resource], p.Action)
	}
	for _, rt := range m.Resources {
		for _, a := range rt.Actions {
			addRow(Permission{Resource: rt.Name, Action: a})
		}
	}
	for _, r := range m.Roles {
		for _, p := range r.Own {
			if _, declared := m.ResourceType(p.Resource); declared && p.Action == Wildcard {
				continue
			}
			addRow(p)
		}
	}
	sort.SliceStable(resOrder, func(i, j int) bool {
		return resOrder[i] != Wildcard && resOrder[j] == Wildcard
	})
	for _, res := range resOrder {
		acts := byRes[res]
		sort.SliceStable(acts, func(i, j int) bool { return acts[i] != Wildcard && acts[j] == Wildcard })
		for _, act := range acts {
			mx.Rows = append(mx.Rows, matrixRow(m, roles, Permission{Resource: res, Action: act}))
		}
	}
	return mx
}

func matrixRow(m *Model, roles []*Role, p Permission) MatrixRow {
	row := MatrixRow{Permission: p}
	var conds [][]string
	hasConds := false
	for _, r := range roles {
		row.Cells = append(row.Cells, cell(covers(r, p)))
		conds = append(conds, nil)
	}
	for _, a := range m.Agents {
		r, _ := m.Role(a.Role)
		c := CellNone
		var cs []string
		if r != nil && covers(r, p) {
			c = CellGranted
			for _, cp := range a.Conditional {
				if cp.Permission == p {
					c, cs, hasConds = CellConditional, cp.Conditions, true
				}
			}
		}
		row.Cells = append(row.Cells, c)
		conds = append(conds, cs)
	}
	if hasConds {
		row.Conditions = conds
	}
	return row
}

func covers(r *Role, p Permission) bool {
	for _, q := range r.Permissions {
		if q.Covers(p) {
			return true
		}
	}
	return false
}

func cell(ok bool) string {
	if ok {
		return CellGranted
	}
	return CellNone
}
