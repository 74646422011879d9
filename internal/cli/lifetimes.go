package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/client"
)

// lifetimeFlags are --for and --until, how long a binding or share lasts.
type lifetimeFlags struct {
	dur   time.Duration
	until string
}

func (l *lifetimeFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&l.dur, "for", 0, "the grant ends this long after it is made (30m, 2h)")
	fs.StringVar(&l.until, "until", "", "the grant ends at this RFC 3339 time (2026-12-31T18:00:00Z)")
}

// lifetime reads the flags (neither: the grant never ends).
func (l *lifetimeFlags) lifetime() (client.Lifetime, error) {
	var out client.Lifetime
	switch {
	case l.dur != 0 && l.until != "":
		return out, badInput("give --for or --until, not both")
	case l.dur < 0:
		return out, badInput("--for must be a positive duration (30m, 2h)")
	case l.dur > 0:
		out.ExpiresIn = l.dur.String()
	case l.until != "":
		t, err := time.Parse(time.RFC3339, l.until)
		if err != nil {
			return out, badInput("--until %q is not an RFC 3339 time (2026-12-31T18:00:00Z)", l.until)
		}
		out.ExpiresAt = t
	}
	return out, nil
}

// untilText says when a grant ends ("" when never).
func untilText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " until " + admTime(t)
}

// attestCmd: `agent attest NAME` — a sponsor vouches for the agent now.
func (a *adm) attestCmd() *cobra.Command {
	return writeCmd(a, "attest NAME", "Attest an agent you sponsor (lifts attestation_due and inactive)", 1,
		func(cl *call, org string, args []string) (wrote, error) {
			g, rev, err := cl.c.AttestAgent(cl.ctx, org, args[0])
			return wrote{g, rev, fmt.Sprintf("attested agent %s at %s (status %s)", g.Name, admTime(g.AttestedAt), g.Status)}, err
		})
}

// lifecycleCmd: `agent lifecycle --inactive-days N --attestation-days N`
// sets the org's suspension rules for agents.
func (a *adm) lifecycleCmd() *cobra.Command {
	var l client.OrgLifecycle
	cmd := writeCmd(a, "lifecycle --inactive-days N --attestation-days N",
		"Set the org's rules: suspend agents unused for N days, and those no sponsor attested for N days (0: off)", 0,
		func(cl *call, org string, _ []string) (wrote, error) {
			o, rev, err := cl.c.SetOrgLifecycle(cl.ctx, org, l)
			return wrote{o, rev, fmt.Sprintf("org %s: agents are suspended after %d days unused (0: never) and %d days unattested (0: never)",
				o.ID, l.InactiveDays, l.AttestationDays)}, err
		})
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if l.InactiveDays < 0 || l.AttestationDays < 0 {
			return badInput("--inactive-days and --attestation-days must not be negative")
		}
		return nil
	}
	cmd.Flags().IntVar(&l.InactiveDays, "inactive-days", 0, "suspend agents unused for this many days (0: off)")
	cmd.Flags().IntVar(&l.AttestationDays, "attestation-days", 0, "suspend agents no sponsor attested for this many days (0: off)")
	return cmd
}
