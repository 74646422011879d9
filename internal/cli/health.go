package cli

import (
	"github.com/spf13/cobra"
)

// newHealthCmd is `gatehouse health`: GET /healthz (or /readyz with
// --ready), exit 0 when the server answers ok, 3 otherwise. The container
// image's HEALTHCHECK runs it (the image has no shell or curl).
func newHealthCmd(e *env) *cobra.Command {
	a := &adm{e: e}
	var ready bool
	cmd := &cobra.Command{
		Use:   "health [--ready]",
		Short: "Ask a server whether it is live (/healthz) or ready (/readyz); exit 0 yes, 3 no",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd, func(cl *call) error {
				ask := cl.c.Healthz
				if ready {
					ask = cl.c.Readyz
				}
				h, err := ask(cl.ctx)
				if err != nil {
					return err
				}
				return cl.say(h, "%s (version %s, engine revision %d)", h.Status, firstNonEmpty(h.Version, "-"), h.EngineRevision)
			})
		},
	}
	cmd.Flags().BoolVar(&ready, "ready", false, "ask /readyz (caught up with the store) instead of /healthz")
	return a.leaf(cmd)
}
