// Package edit changes the role declarations of a policy source through
// its syntax tree, printing what it changes with policy/format and keeping
// every other byte of the source as it was.
//
// A File is a source that parses without errors together with its tree.
// SetRole replaces the declaration of a role (or appends one at the end
// of the file) and RemoveRole deletes it; after each edit the new source
// is parsed again, so the tree always describes the current bytes.
//
// A role's extent is the whole lines from its doc comment (the own-line
// comments directly above the `role` keyword, with no blank line between)
// to its closing brace and a comment trailing that brace. Invariants:
//   - An edit changes only the edited role's extent and, for a removal or
//     an append, the blank lines that separated it from its neighbours:
//     every other line, comment and blank line stays byte for byte (so a
//     layout format would change elsewhere in the file is kept).
//   - A replaced declaration is printed in format's canonical layout and
//     keeps every comment of its extent: comments of permission blocks
//     and actions that the new declaration still has stay with them,
//     comments of parts it dropped move to the nearest part that is left.
//     A removal deletes the extent's comments with the declaration.
//   - Only when the declaration shares a line with another token (e.g.
//     `role a {} role b {}` on one line) is the whole file first printed
//     in format's layout, so that extents are whole lines.
//   - An edit either succeeds with a source that parses to a tree in which
//     the role is present exactly once (SetRole) or absent (RemoveRole),
//     with every other declaration unchanged, or it returns an error and
//     leaves the File as it was: it fails closed.
package edit

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/policy/ast"
	"github.com/gatehouse-dev/gatehouse/policy/format"
	"github.com/gatehouse-dev/gatehouse/policy/parser"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

var (
	// ErrInvalidRole: the declaration given to SetRole has no name, or
	// does not print to a declaration that parses back to itself (a name
	// that is not an identifier, say).
	ErrInvalidRole = errors.New("edit: invalid role declaration")
	// ErrEdit: the edited source did not parse, or the tree it describes
	// was unusable. It means a bug in this package; the File is unchanged.
	ErrEdit = errors.New("edit: the edit did not produce a valid source")
)

// File is a policy source that parses without errors, and its tree. A
// File is not safe for concurrent use.
type File struct {
	name string
	src  []byte
	tree *ast.File
}

// Parse parses src. On parse errors it returns nil and the diagnostics.
func Parse(filename string, src []byte) (*File, token.List) {
	tree, diags := parser.ParseFile(filename, src)
	if diags.HasErrors() || tree == nil {
		return nil, diags
	}
	return &File{name: filename, src: slices.Clone(src), tree: tree}, nil
}

// Bytes returns the current source.
func (f *File) Bytes() []byte { return slices.Clone(f.src) }

// Tree returns the tree of the current source. It is the File's own:
// callers must not modify it.
func (f *File) Tree() *ast.File { return f.tree }

// Role returns the first declaration of the role named name, or nil.
func (f *File) Role(name string) *ast.RoleDecl {
	for _, d := range f.tree.Decls {
		if rd, ok := d.(*ast.RoleDecl); ok && rd.Name != nil && rd.Name.Name == name {
			return rd
		}
	}
	return nil
}

// SetRole makes d the declaration of the role d.Name: it replaces the
// first declaration of that name (and removes any later duplicate), or
// appends d at the end of the file, after one blank line. replaced
// reports whether a declaration was replaced. d is not modified; its
// positions are ignored.
func (f *File) SetRole(d *ast.RoleDecl) (replaced bool, err error) {
	if d == nil || d.Name == nil || d.Name.Name == "" {
		return false, fmt.Errorf("%w: no name", ErrInvalidRole)
	}
	name := d.Name.Name
	work := *f
	for n := count(work.tree, name); n > 1; n-- {
		if err := work.removeDecl(last(work.tree, name)); err != nil {
			return false, err
		}
	}
	var src []byte
	if old := work.Role(name); old != nil {
		replaced = true
		ext, err := work.extentOf(old)
		if err != nil {
			return false, err
		}
		nd := cloneRole(d)
		adopt(nd, ext.decl, ext.src)
		text := format.File(&ast.File{Name: work.name, Decls: []ast.Decl{nd}, Comments: ext.comments})
		src = splice(work.src, ext.start, ext.end, text)
	} else {
		text := format.File(&ast.File{Name: work.name, Decls: []ast.Decl{cloneRole(d)}})
		src = slices.Clone(work.src)
		if len(src) > 0 && src[len(src)-1] != '\n' {
			src = append(src, '\n')
		}
		if len(src) > 0 && !isBlank(lastLine(src)) {
			src = append(src, '\n')
		}
		src = append(src, text...)
	}
	next, err := work.with(src)
	if err != nil {
		return false, fmt.Errorf("%w: role %q: %w", ErrInvalidRole, name, err)
	}
	got := next.Role(name)
	if count(next.tree, name) != 1 || got == nil || !sameRole(got, d) {
		return false, fmt.Errorf("%w: role %q does not print as a declaration of itself", ErrInvalidRole, name)
	}
	*f = *next
	return replaced, nil
}

// RemoveRole deletes every declaration of the role named name, with its
// extent's comments, and reports whether there was one.
func (f *File) RemoveRole(name string) (removed bool, err error) {
	work := *f
	for n := count(work.tree, name); n > 0; n-- {
		if err := work.removeDecl(last(work.tree, name)); err != nil {
			return false, err
		}
		removed = true
	}
	*f = work
	return removed, nil
}

// removeDecl deletes rd's extent. Of the blank lines around it, it keeps
// the ones above (they separated the previous text from the role and now
// separate it from the next), unless the role ended the file; when there
// were none above, the ones below stay instead.
func (f *File) removeDecl(rd *ast.RoleDecl) error {
	ext, err := f.extentOf(rd)
	if err != nil {
		return err
	}
	// ext may come from a reformatted source: use its lines.
	src, lines := ext.src, lineStarts(ext.src)
	s, e := ext.startLine, ext.endLine // the extent is lines [s, e]
	a := s                             // blank lines [a, s) above
	for a > 0 && isBlank(line(src, lines, a-1)) {
		a--
	}
	b := e + 1 // blank lines (e, b) below
	for b < len(lines)-1 && isBlank(line(src, lines, b)) {
		b++
	}
	somethingAbove, somethingBelow := a > 0, b < len(lines)-1
	from, to := s, e+1 // lines to delete: [from, to)
	switch {
	case somethingAbove && !somethingBelow:
		from = a
	case a < s || !somethingAbove:
		to = b
	}
	next, err := f.with(splice(src, lines[from], lines[to], nil))
	if err != nil {
		return err
	}
	if count(next.tree, rd.Name.Name) != count(f.tree, rd.Name.Name)-1 {
		return fmt.Errorf("%w: removing role %q", ErrEdit, rd.Name.Name)
	}
	*f = *next
	return nil
}

// with parses src as the File's next source.
func (f *File) with(src []byte) (*File, error) {
	tree, diags := parser.ParseFile(f.name, src)
	if diags.HasErrors() || tree == nil {
		return nil, fmt.Errorf("%w: %v", ErrEdit, diags.Err())
	}
	return &File{name: f.name, src: src, tree: tree}, nil
}

// extent is a role declaration's whole lines in src: bytes [start, end),
// lines [startLine, endLine] (0-based), and the comments in them.
type extent struct {
	src                []byte
	decl               *ast.RoleDecl // the declaration in src
	start, end         int
	startLine, endLine int
	comments           []*ast.Comment
}

// extentOf finds rd's extent. When rd shares a line with another token,
// the file is printed in format's layout first (ext.src is then that
// text, and ext.decl the declaration in it).
func (f *File) extentOf(rd *ast.RoleDecl) (extent, error) {
	if ext, ok := findExtent(f.src, f.tree, rd); ok {
		return ext, nil
	}
	// Print the file canonically and find the same declaration (by its
	// index among the declarations) in the result.
	idx := slices.IndexFunc(f.tree.Decls, func(d ast.Decl) bool { return d == ast.Decl(rd) })
	next, err := f.with(format.File(f.tree))
	if err != nil {
		return extent{}, err
	}
	if idx < 0 || idx >= len(next.tree.Decls) {
		return extent{}, fmt.Errorf("%w: declaration not found", ErrEdit)
	}
	nrd, isRole := next.tree.Decls[idx].(*ast.RoleDecl)
	if !isRole {
		return extent{}, fmt.Errorf("%w: declaration not found", ErrEdit)
	}
	ext, ok := findExtent(next.src, next.tree, nrd)
	if !ok {
		return extent{}, fmt.Errorf("%w: role %q shares its lines after formatting", ErrEdit, name(nrd))
	}
	*f = *next
	return ext, nil
}

// findExtent computes rd's extent in src, or reports that its first or
// last line holds another token.
func findExtent(src []byte, tree *ast.File, rd *ast.RoleDecl) (extent, bool) {
	lines := lineStarts(src)
	nlines := len(lines) - 1
	if rd == nil || !rd.Role.IsValid() || !rd.Rbrace.IsValid() {
		return extent{}, false
	}
	roleLine, endLine := rd.Role.Line-1, rd.Rbrace.Line-1
	if roleLine < 0 || endLine < roleLine || endLine >= nlines ||
		rd.Role.Offset < lines[roleLine] || rd.Rbrace.Offset >= lines[endLine+1] {
		return extent{}, false
	}
	if !isBlank(src[lines[roleLine]:rd.Role.Offset]) {
		return extent{}, false
	}
	rest := bytes.TrimLeft(src[rd.Rbrace.Offset+1:lines[endLine+1]], " \t\r\f\v\n")
	if len(rest) > 0 && rest[0] != '#' && !bytes.HasPrefix(rest, []byte("//")) {
		return extent{}, false
	}
	// The doc comment: own-line comments on the lines directly above.
	first := slices.IndexFunc(tree.Comments, func(c *ast.Comment) bool { return c != nil && c.Slash.Offset >= rd.Role.Offset })
	if first < 0 {
		first = len(tree.Comments)
	}
	s := roleLine
	for j := first - 1; j >= 0 && s > 0; j-- {
		c := tree.Comments[j]
		if c == nil || c.Slash.Line-1 != s-1 || c.Slash.Offset < lines[s-1] || !isBlank(src[lines[s-1]:c.Slash.Offset]) {
			break
		}
		s--
	}
	ext := extent{src: src, decl: rd, start: lines[s], end: lines[endLine+1], startLine: s, endLine: endLine}
	for _, c := range tree.Comments {
		if c != nil && c.Slash.Offset >= ext.start && c.Slash.Offset < ext.end {
			ext.comments = append(ext.comments, c)
		}
	}
	return ext, true
}

// adopt gives nd the positions of the declaration it replaces, so that
// format puts old's comments where they were: the keyword and braces,
// and each permission block and action that nd keeps (matched by name, in
// source order). A part new in nd is placed at the end of the line after
// the kept token before it (or at the next kept token, if that is
// sooner): comments trailing the token before stay on its line, a comment
// on the next line goes on its own line before the new part, and later
// comments come after it.
func adopt(nd, old *ast.RoleDecl, src []byte) {
	nd.Role, nd.Lbrace, nd.Rbrace = old.Role, old.Lbrace, old.Rbrace
	// The positions of nd in print order; set ones are kept tokens.
	var slots []*token.Pos
	slots = append(slots, &nd.Lbrace)
	used := map[*ast.PermissionBlock]bool{}
	after := old.Lbrace.Offset
	for _, pb := range nd.Permissions {
		var ob *ast.PermissionBlock
		for _, cand := range old.Permissions {
			if cand != nil && !used[cand] && cand.Permission.Offset > after && identName(cand.Resource) == identName(pb.Resource) {
				ob = cand
				break
			}
		}
		if ob != nil {
			used[ob] = true
			pb.Permission, pb.Lbrace, pb.Rbrace = ob.Permission, ob.Lbrace, ob.Rbrace
			inner := ob.Lbrace.Offset
			for _, a := range pb.Actions {
				for _, oa := range ob.Actions {
					if oa != nil && oa.Name == a.Name && oa.NamePos.Offset > inner {
						a.NamePos, inner = oa.NamePos, oa.NamePos.Offset
						break
					}
				}
			}
			after = ob.Rbrace.Offset
		}
		slots = append(slots, &pb.Permission, &pb.Lbrace)
		for _, a := range pb.Actions {
			slots = append(slots, &a.NamePos)
		}
		slots = append(slots, &pb.Rbrace)
	}
	slots = append(slots, &nd.Rbrace)

	starts := lineStarts(src)
	prev := nd.Lbrace
	for i, sl := range slots {
		if sl.IsValid() {
			prev = *sl
			continue
		}
		next := nd.Rbrace
		for _, later := range slots[i+1:] {
			if later.IsValid() {
				next = *later
				break
			}
		}
		p := next
		if l := prev.Line + 1; l < len(starts) && starts[l]-1 < next.Offset {
			p = token.Pos{File: prev.File, Offset: starts[l] - 1, Line: l, Col: starts[l] - starts[l-1]}
		}
		*sl = p
	}
}

// cloneRole copies d without positions and without nil parts.
func cloneRole(d *ast.RoleDecl) *ast.RoleDecl {
	nd := &ast.RoleDecl{Name: &ast.Ident{Name: name(d)}}
	for _, p := range d.Parents {
		if p != nil {
			nd.Parents = append(nd.Parents, &ast.Ident{Name: p.Name})
		}
	}
	if d.Level != nil {
		nd.Level = &ast.IntLit{Raw: d.Level.Raw, Value: d.Level.Value}
	}
	for _, pb := range d.Permissions {
		if pb == nil {
			continue
		}
		npb := &ast.PermissionBlock{Resource: &ast.Ident{}}
		if pb.Resource != nil {
			npb.Resource.Name = pb.Resource.Name
		}
		for _, a := range pb.Actions {
			if a != nil {
				npb.Actions = append(npb.Actions, &ast.Ident{Name: a.Name})
			}
		}
		nd.Permissions = append(nd.Permissions, npb)
	}
	for _, a := range d.Asks {
		if a != nil {
			nd.Asks = append(nd.Asks, cloneAsk(a))
		}
	}
	return nd
}

// cloneAsk copies an ask rule without positions.
func cloneAsk(a *ast.Rule) *ast.Rule {
	idents := func(xs []*ast.Ident) []*ast.Ident {
		var out []*ast.Ident
		for _, x := range xs {
			if x != nil {
				out = append(out, &ast.Ident{Name: x.Name})
			}
		}
		return out
	}
	n := &ast.Rule{Kind: a.Kind, Words: idents(a.Words), Keyword: a.Keyword, From: idents(a.From)}
	if a.Condition != nil {
		n.Condition = &ast.Ident{Name: a.Condition.Name}
	}
	if a.Quorum != nil {
		n.Quorum = &ast.IntLit{Raw: a.Quorum.Raw, Value: a.Quorum.Value}
	}
	return n
}

// sameRole reports whether a and b print the same, positions aside.
func sameRole(a, b *ast.RoleDecl) bool {
	pa := format.File(&ast.File{Decls: []ast.Decl{cloneRole(a)}})
	pb := format.File(&ast.File{Decls: []ast.Decl{cloneRole(b)}})
	return bytes.Equal(pa, pb)
}

func name(d *ast.RoleDecl) string {
	if d == nil || d.Name == nil {
		return ""
	}
	return d.Name.Name
}

func identName(id *ast.Ident) string {
	if id == nil {
		return ""
	}
	return id.Name
}

func count(tree *ast.File, roleName string) int {
	n := 0
	for _, d := range tree.Decls {
		if rd, ok := d.(*ast.RoleDecl); ok && name(rd) == roleName {
			n++
		}
	}
	return n
}

func last(tree *ast.File, roleName string) *ast.RoleDecl {
	for i := len(tree.Decls) - 1; i >= 0; i-- {
		if rd, ok := tree.Decls[i].(*ast.RoleDecl); ok && name(rd) == roleName {
			return rd
		}
	}
	return nil
}

// lineStarts returns the offset of each line's first byte, then len(src):
// line i is src[starts[i]:starts[i+1]], with its '\n'. A source that ends
// with '\n' has no empty last line.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' && i+1 < len(src) {
			starts = append(starts, i+1)
		}
	}
	if len(src) == 0 {
		return starts
	}
	return append(starts, len(src))
}

func line(src []byte, starts []int, i int) []byte { return src[starts[i]:starts[i+1]] }

func lastLine(src []byte) []byte {
	s := lineStarts(src)
	if len(s) < 2 {
		return nil
	}
	return line(src, s, len(s)-2)
}

// isBlank reports whether b is only white space as the scanner skips it.
func isBlank(b []byte) bool {
	return len(bytes.TrimLeft(b, " \t\r\f\v\n")) == 0
}

func splice(src []byte, start, end int, text []byte) []byte {
	out := make([]byte, 0, len(src)-(end-start)+len(text))
	out = append(out, src[:start]...)
	out = append(out, text...)
	return append(out, src[end:]...)
}
