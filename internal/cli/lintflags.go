package cli

import (
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/spf13/cobra"
)

// lintFlags are the naming-convention and suppression flags of `policy lint`.
type lintFlags struct {
	roleNames, resourceNames, actionNames string
	disable                               []string
}

func (f *lintFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.roleNames, "role-names", "auto", "role naming convention: auto, pascal, pascal-role, lower or off")
	cmd.Flags().StringVar(&f.resourceNames, "resource-names", "auto", "resource naming convention: auto, lower, plural or off")
	cmd.Flags().StringVar(&f.actionNames, "action-names", "auto", "action naming convention: auto, lower or off")
	cmd.Flags().StringSliceVar(&f.disable, "disable", nil, "warning codes to suppress (comma-separated)")
}

func (f *lintFlags) options() (policy.LintOptions, error) {
	var o policy.LintOptions
	for _, s := range []struct {
		flag, val string
		dst       *policy.NameStyle
	}{
		{"--role-names", f.roleNames, &o.RoleNames},
		{"--resource-names", f.resourceNames, &o.ResourceNames},
		{"--action-names", f.actionNames, &o.ActionNames},
	} {
		st, err := policy.ParseNameStyle(strings.TrimSpace(s.val))
		if err != nil {
			return o, badInput("%s: %v", s.flag, err)
		}
		*s.dst = st
	}
	o.Disable = f.disable
	return o, nil
}
