package policy

import (
	"errors"
	"fmt"
	"sort"
)

// MaxMatrixCells bounds a matrix: rows × columns. A policy that compiles
// can still declare thousands of roles and thousands of distinct
// permissions, whose table (hundreds of millions of cells) no one can read
// and no machine should be made to build; BuildMatrix refuses it before
// allocating anything. Real policies stay far below (tens of roles, a few
// hundred permissions).
const MaxMatrixCells = 1 << 20

// ErrMatrixTooLarge is wrapped by BuildMatrix's error for a table of more
// than MaxMatrixCells cells.
var ErrMatrixTooLarge = errors.New("matrix too large")

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
	CellApproval    = "approval"    // granted, but an `ask before` rule may require approval ("✓?")
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
// make conditional is marked conditional. A granted cell whose permission
// an `ask before` rule of the role (or of the agent or its ceiling role)
// names is marked approval, whatever the rule's condition.
//
// The work is bounded: a table of more than MaxMatrixCells cells is
// refused (ErrMatrixTooLarge) once its size is known, before it is built,
// and each cell costs a few binary searches, never a scan of a role's
// permissions.
func BuildMatrix(m *Model) (Matrix, error) {
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
	rows, cols := len(seen), len(m.Roles)+len(m.Agents)
	if rows > 0 && cols > MaxMatrixCells/rows {
		return Matrix{}, fmt.Errorf("%w: %d permissions × %d roles and agents is more than %d cells; tabulate a smaller policy",
			ErrMatrixTooLarge, rows, cols, MaxMatrixCells)
	}

	var mx Matrix
	roles := append([]*Role(nil), m.Roles...)
	sort.SliceStable(roles, func(i, j int) bool { return roles[i].Level > roles[j].Level })
	for _, r := range roles {
		mx.Columns = append(mx.Columns, MatrixColumn{Name: r.Name, Kind: "role", Level: r.Level})
	}
	agents := make([]matrixAgent, 0, len(m.Agents))
	for _, a := range m.Agents {
		lvl := 0
		r, ok := m.Role(a.Role)
		if ok {
			lvl = r.Level
		}
		mx.Columns = append(mx.Columns, MatrixColumn{Name: a.Name, Kind: "agent", Level: lvl, Role: a.Role})
		ma := matrixAgent{role: r, asks: a.Asks}
		if len(a.Conditional) > 0 {
			ma.conds = make(map[Permission][]string, len(a.Conditional))
			for _, cp := range a.Conditional {
				ma.conds[cp.Permission] = cp.Conditions // the last listing wins, as before
			}
		}
		agents = append(agents, ma)
	}
	mx.Rows = make([]MatrixRow, 0, rows)
	sort.SliceStable(resOrder, func(i, j int) bool {
		return resOrder[i] != Wildcard && resOrder[j] == Wildcard
	})
	for _, res := range resOrder {
		acts := byRes[res]
		sort.SliceStable(acts, func(i, j int) bool { return acts[i] != Wildcard && acts[j] == Wildcard })
		for _, act := range acts {
			mx.Rows = append(mx.Rows, matrixRow(roles, agents, Permission{Resource: res, Action: act}))
		}
	}
	return mx, nil
}

// matrixAgent is an agent column: its ceiling role (nil if unknown) and
// its conditional permissions by permission.
type matrixAgent struct {
	role  *Role
	conds map[Permission][]string
	asks  []*AskRule
}

// asksFor reports whether one of the ask rules names p (conditional or not:
// the cell says approval may be needed).
func asksFor(asks []*AskRule, p Permission) bool {
	for _, a := range asks {
		if a.Permission == p {
			return true
		}
	}
	return false
}

func matrixRow(roles []*Role, agents []matrixAgent, p Permission) MatrixRow {
	n := len(roles) + len(agents)
	row := MatrixRow{Permission: p, Cells: make([]string, 0, n)}
	var conds [][]string
	for _, r := range roles {
		c := cell(covers(r, p))
		if c == CellGranted && asksFor(r.Asks, p) {
			c = CellApproval
		}
		row.Cells = append(row.Cells, c)
	}
	for i, a := range agents {
		c := CellNone
		if a.role != nil && covers(a.role, p) {
			c = CellGranted
			if asksFor(a.asks, p) || asksFor(a.role.Asks, p) {
				c = CellApproval // an approval rule outranks a condition in one cell
			} else if cs, ok := a.conds[p]; ok {
				c = CellConditional
				if conds == nil {
					conds = make([][]string, n)
				}
				conds[len(roles)+i] = cs
			}
		}
		row.Cells = append(row.Cells, c)
	}
	row.Conditions = conds
	return row
}

// covers reports whether one of r's patterns covers p. r.Permissions is
// sorted by (resource, action), and a pattern covering p is p itself,
// resource:*, *:action or *:*, so four binary searches decide.
func covers(r *Role, p Permission) bool {
	return hasPermission(r.Permissions, p) ||
		hasPermission(r.Permissions, Permission{Resource: p.Resource, Action: Wildcard}) ||
		hasPermission(r.Permissions, Permission{Resource: Wildcard, Action: p.Action}) ||
		hasPermission(r.Permissions, Permission{Resource: Wildcard, Action: Wildcard})
}

// hasPermission reports whether the sorted list ps holds p.
func hasPermission(ps []Permission, p Permission) bool {
	i := sort.Search(len(ps), func(i int) bool {
		if ps[i].Resource != p.Resource {
			return ps[i].Resource > p.Resource
		}
		return ps[i].Action >= p.Action
	})
	return i < len(ps) && ps[i] == p
}

func cell(ok bool) string {
	if ok {
		return CellGranted
	}
	return CellNone
}
