package cli

import (
	"github.com/spf13/cobra"
)

// accountCmd is the caller's own user: `account delete` is DELETE /v1/me
// (a personal key or a session; 409 while the user is an org's last
// owner). whoami shows the account.
func (a *adm) accountCmd() *cobra.Command {
	var yes bool
	del := &cobra.Command{
		Use:   "delete --yes",
		Short: "Delete your own user and every membership it has (not while you are an org's last owner)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !yes {
				return badInput("deleting your user removes you from every org and ends every key you minted for yourself: pass --yes")
			}
			return a.run(cmd, func(cl *call) error {
				rev, err := cl.c.DeleteMe(cl.ctx)
				if err != nil {
					return err
				}
				return cl.report(wrote{rev: rev, line: "deleted your user"})
			})
		},
	}
	del.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	return a.group("account", "Your own user (whoami shows it)", del)
}
