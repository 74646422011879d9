package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// Admin verbs for resources (with versions and diffs) and the org's
// policy text.

// specMax bounds a spec read from a file or stdin.
const specMax = 4 << 20

// readSpec reads a JSON spec from FILE or "-" (stdin).
func (a *adm) readSpec(arg string) (json.RawMessage, error) {
	var (
		b   []byte
		err error
	)
	if arg == "-" {
		b, err = readAllLimited(a.e.stdin, specMax)
	} else {
		var f *os.File
		if f, err = os.Open(arg); err == nil {
			b, err = readAllLimited(f, specMax)
			f.Close()
		}
	}
	if err != nil {
		return nil, badInput("--spec: %v", err)
	}
	if !json.Valid(b) {
		return nil, badInput("--spec %s is not JSON", arg)
	}
	return json.RawMessage(b), nil
}

func (a *adm) resourceCmd() *cobra.Command {
	var ns, typ, spec, attrs string
	var labels []string
	var ifVersion, from, to uint64
	var lo listOpts
	var ref client.ResourceRef
	// readRef is the PreRunE of the verbs on one resource: TYPE/ID in -n.
	readRef := func(_ *cobra.Command, args []string) (err error) {
		ref, err = parseRef(args[0], ns)
		return err
	}
	header := []string{"NAMESPACE", "TYPE", "ID", "VERSION", "LABELS", "UPDATED", "BY"}
	rows := func(rs []client.Resource) [][]string {
		var out [][]string
		for _, r := range rs {
			out = append(out, []string{r.Namespace, r.Type, r.ID, strconv.FormatUint(r.Version, 10), kvText(r.Labels), admTime(r.UpdatedAt), r.UpdatedBy})
		}
		return out
	}
	var rs client.ResourceSpec
	create := writeCmd(a, "create TYPE/ID [-n NS] [--spec FILE|-] [--label K=V]...", "Create a resource (version 1)", 1, func(cl *call, org string, _ []string) (wrote, error) {
		r, rev, err := cl.c.CreateResource(cl.ctx, org, rs)
		return wrote{r, rev, resourceLine("created", r)}, err
	})
	create.PreRunE = func(cmd *cobra.Command, args []string) (err error) {
		if err = readRef(cmd, args); err != nil {
			return err
		}
		rs = client.ResourceSpec{Namespace: ref.Namespace, Type: ref.Type, ID: ref.ID}
		if rs.Labels, err = parseLabels(labels); err != nil {
			return err
		}
		if rs.Attributes, err = parseAttrs(attrs); err != nil {
			return err
		}
		if spec != "" {
			if rs.Spec, err = a.readSpec(spec); err != nil {
				return err
			}
		}
		return nil
	}
	var p client.ResourcePatch
	update := writeCmd(a, "update TYPE/ID [-n NS] [--spec FILE|-] [--label K=V]... [--if-version N]", "Change a resource, recording a new version", 1, func(cl *call, org string, _ []string) (wrote, error) {
		r, rev, err := cl.c.UpdateResource(cl.ctx, org, ref, p)
		return wrote{r, rev, resourceLine("updated", r)}, err
	})
	update.PreRunE = func(cmd *cobra.Command, args []string) (err error) {
		if err = readRef(cmd, args); err != nil {
			return err
		}
		p = client.ResourcePatch{IfVersion: ifVersion}
		if p.Labels, err = patchMap(cmd, "label", parseLabels, labels); err != nil {
			return err
		}
		if p.Attributes, err = patchMap(cmd, "attributes", parseAttrs, attrs); err != nil {
			return err // --attributes "" clears them, as for agents and services
		}
		if spec != "" {
			if p.Spec, err = a.readSpec(spec); err != nil {
				return err
			}
		}
		if p.Labels == nil && p.Attributes == nil && p.Spec == nil {
			return badInput("nothing to change: pass --spec, --label or --attributes")
		}
		return nil
	}
	for _, c := range []*cobra.Command{create, update} {
		addNamespaceFlag(c, &ns, "", "namespace (default \"default\")")
		c.Flags().StringVar(&spec, "spec", "", "JSON spec from FILE or - (stdin)")
		c.Flags().StringSliceVar(&labels, "label", nil, "label KEY=VALUE, repeatable")
		c.Flags().StringVar(&attrs, "attributes", "", "attributes as a JSON object")
	}
	update.Flags().Uint64Var(&ifVersion, "if-version", 0, "fail with a conflict unless this is the current version")
	list := listCmd(a, "List the resources you may read", header, rows,
		func(c *client.Client, ctx context.Context, org string, o *client.ListOptions) (client.List[client.Resource], error) {
			return c.ListResources(ctx, org, client.ResourceFilter{Namespace: ns, Type: typ}, o)
		})
	list.Use = "list [-n NS] [--type TYPE]"
	addNamespaceFlag(list, &ns, "", "only this namespace")
	list.Flags().StringVar(&typ, "type", "", "only this type")
	get := &cobra.Command{
		Use: "get TYPE/ID [-n NS]", Short: "Show a resource with its spec", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				r, err := cl.c.GetResource(cl.ctx, org, ref)
				if err != nil {
					return err
				}
				return cl.outSpec(r, header, rows([]client.Resource{r}), r.Spec)
			})
		},
	}
	del := writeCmd(a, "delete TYPE/ID [-n NS]", "Delete a resource with its versions and the bindings scoped to it", 1, func(cl *call, org string, args []string) (wrote, error) {
		rev, err := cl.c.DeleteResource(cl.ctx, org, ref)
		return wrote{rev: rev, line: "deleted " + args[0] + " in " + ref.Namespace}, err
	})
	versions := &cobra.Command{
		Use: "versions TYPE/ID [VERSION] [-n NS]", Short: "List a resource's versions, or show one with its spec", Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var one uint64
			if len(args) == 2 {
				var err error
				if one, err = strconv.ParseUint(args[1], 10, 64); err != nil || one == 0 {
					return badInput("VERSION %q: want a positive integer", args[1])
				}
			}
			vheader := []string{"VERSION", "AUTHOR", "CREATED", "LABELS"}
			vrow := func(v client.ResourceVersion) []string {
				return []string{strconv.FormatUint(v.Version, 10), v.Author, admTime(v.CreatedAt), kvText(v.Labels)}
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				if one > 0 {
					v, err := cl.c.GetResourceVersion(cl.ctx, org, ref, one)
					if err != nil {
						return err
					}
					return cl.outSpec(v, vheader, [][]string{vrow(v)}, v.Spec)
				}
				l, err := cl.c.ListResourceVersions(cl.ctx, org, ref, lo.opts())
				if err != nil {
					return err
				}
				var rs [][]string
				for _, v := range l.Items {
					rs = append(rs, vrow(v))
				}
				defer cl.more(l.NextCursor)
				return cl.out(l, vheader, rs)
			})
		},
	}
	diff := &cobra.Command{
		Use: "diff TYPE/ID --from N --to M [-n NS]", Short: "What changed between two versions", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == 0 || to == 0 {
				return badInput("--from and --to are required version numbers")
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				ds, err := cl.c.DiffResource(cl.ctx, org, ref, from, to)
				if err != nil {
					return err
				}
				var rs [][]string
				for _, d := range ds {
					rs = append(rs, []string{d.Op, d.Path, string(d.Old), string(d.New)})
				}
				return cl.out(listOf(ds, ""), []string{"OP", "PATH", "OLD", "NEW"}, rs)
			})
		},
	}
	history := &cobra.Command{
		Use:   "history TYPE/ID [-n NS]",
		Short: "Every spec version with who changed it, when, the diff and its audit entry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				hs, err := cl.c.ResourceHistory(cl.ctx, org, ref)
				if err != nil {
					return err
				}
				var rs [][]string
				for _, h := range hs {
					changes := make([]string, 0, len(h.Diff))
					for _, d := range h.Diff {
						changes = append(changes, d.Op+" "+d.Path)
					}
					audit := "-"
					if h.Audit != nil {
						audit = fmt.Sprintf("#%d %s %s", h.Audit.Seq, h.Audit.Action, h.Audit.Result)
					}
					rs = append(rs, []string{strconv.FormatUint(h.Version, 10), h.Author, admTime(h.CreatedAt),
						strings.Join(changes, ", "), audit})
				}
				return cl.out(listOf(hs, ""), []string{"VERSION", "AUTHOR", "CREATED", "CHANGES", "AUDIT"}, rs)
			})
		},
	}
	diff.Flags().Uint64Var(&from, "from", 0, "the older version")
	diff.Flags().Uint64Var(&to, "to", 0, "the newer version")
	lo.register(versions)
	for _, c := range []*cobra.Command{get, del, versions, diff, history} {
		c.PreRunE = readRef
		addNamespaceFlag(c, &ns, "", "namespace (default \"default\")")
	}
	return a.group("resource", "Manage resources, their versions and diffs", create, list, get, update, del, versions, diff, history)
}

// resourceLine is what create and update print for r.
func resourceLine(verb string, r client.Resource) string {
	return fmt.Sprintf("%s %s/%s in %s (version %d)", verb, r.Type, r.ID, r.Namespace, r.Version)
}

// outSpec prints v as JSON, or the table rows followed by the spec.
func (cl *call) outSpec(v any, header []string, rows [][]string, spec json.RawMessage) error {
	if err := cl.out(v, header, rows); err != nil || cl.machine() {
		return err
	}
	printSpec(cl, spec)
	return nil
}

func printSpec(cl *call, spec json.RawMessage) {
	if len(spec) == 0 {
		return
	}
	var v any
	if json.Unmarshal(spec, &v) != nil {
		return
	}
	fmt.Fprintln(cl.a.e.stdout, "spec:")
	b, _ := json.MarshalIndent(v, "  ", "  ")
	fmt.Fprintln(cl.a.e.stdout, "  "+string(b))
}

// policyCmds are `policy get|put|validate`, against the server (the other
// policy verbs work on files).
func (a *adm) policyCmds() []*cobra.Command {
	var force bool
	var src []byte
	// readSrc is the PreRunE of put and validate: the text to send.
	readSrc := func(_ *cobra.Command, args []string) (err error) {
		_, src, err = readPolicy(a.e, args[0])
		return err
	}
	get := &cobra.Command{
		Use: "get", Short: "Print the org's policy text (from the server)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				p, err := cl.c.GetPolicy(cl.ctx, org)
				if err != nil {
					return err
				}
				if cl.machine() {
					return cl.emit(p)
				}
				fmt.Fprint(a.e.stdout, p.Text)
				fmt.Fprintf(a.e.stderr, "# policy version %d of %s by %s at %s\n", p.Version, org, p.Author, admTime(p.CreatedAt))
				return nil
			})
		},
	}
	put := writeCmd(a, "put FILE|-|template:NAME [--force]", "Replace the org's policy on the server (positioned errors if it does not compile)", 1, func(cl *call, org string, _ []string) (wrote, error) {
		ap, err := cl.c.ApplyPolicy(cl.ctx, org, string(src), force)
		if err != nil {
			return wrote{}, err
		}
		// Warnings that need the org's members (a quorum no one can
		// reach): on stderr, the write is done.
		for _, d := range ap.Warnings {
			fmt.Fprintln(a.e.stderr, d.String())
		}
		w := wrote{rev: ap.Revision, line: "replaced the policy of " + org}
		if len(ap.Warnings) > 0 {
			// What the policy stopped (ap.WriteWarnings, recorded by
			// ApplyPolicy) is the document's "warnings", as every write's.
			ap.WriteWarnings = nil
			w.item = ap
		}
		return w, nil
	})
	put.PreRunE = readSrc
	put.Flags().BoolVar(&force, "force", false, "drop bindings and agents of roles the new text removes instead of refusing")
	validate := &cobra.Command{
		Use: "validate FILE|-|template:NAME", Short: "Compile and lint a policy on the server without storing it", Args: cobra.ExactArgs(1),
		PreRunE: readSrc,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				v, err := cl.c.ValidatePolicy(cl.ctx, org, string(src))
				if err != nil {
					return err
				}
				return cl.answer(v, v.Valid, ExitBadInput, func(w io.Writer) {
					for _, d := range v.Diagnostics {
						fmt.Fprintln(w, d.String())
					}
				})
			})
		},
	}
	return []*cobra.Command{get, put, validate, a.policyImpactCmd()}
}
