package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// `gatehouse run` is use without reveal from the command line (like
// `doppler run` or `infisical run`): it asks the server for a run token for
// a resource, as the caller ($GATEHOUSE_TOKEN, who needs <type>:run on the
// resource), exchanges it as the runtime ($GATEHOUSE_RUNTIME_TOKEN, a
// service principal's API key that may run the resource; default the same
// credential), and executes the command with the released secrets added to
// its environment. The values go only into the child's environment: never
// to stdout, stderr, a file or an argument. Signals are passed to the
// child, and its exit status is gatehouse's (128+n when a signal n killed
// it).

// forwarded are the signals passed on to the child.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

func newRunCmd(e *env) *cobra.Command {
	a := &adm{e: e}
	var (
		ns       string
		resource string
		runtime  string
		ttl      int
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "run --resource TYPE/ID [-n NAMESPACE] -- COMMAND [ARGS...]",
		Short: "Run a command with a resource's secrets injected as environment variables, without revealing them",
		Long: `Run a command with the secrets a resource's spec references injected as
environment variables, like 'doppler run':

    gatehouse run --resource chains/escalation-triage -n prod -- ./triage.sh

The caller ($GATEHOUSE_TOKEN) needs <type>:run on the resource (for a chain:
chains:run); it obtains a single-use run token, which the runtime
($GATEHOUSE_RUNTIME_TOKEN: the API key of a service principal that may run
the resource; default $GATEHOUSE_TOKEN) exchanges for the values. An operator
can thereby run a chain whose secrets it can never read. Values are put only
into the child's environment, never printed. Signals are passed to the
child; the exit status is the child's (128+n if signal n killed it).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 0 || len(args) == 0 {
				return badInput("give the command after --: gatehouse run --resource TYPE/ID -- COMMAND [ARGS...]")
			}
			typ, id, ok := strings.Cut(resource, "/")
			if !ok || typ == "" || id == "" {
				return badInput("--resource %q: want TYPE/ID, e.g. chains/escalation-triage", resource)
			}
			if ttl < 0 {
				return badInput("--ttl must not be negative")
			}
			path, err := exec.LookPath(args[0])
			if err != nil {
				return badInput("command %q: %v", args[0], errors.Unwrap(err))
			}
			var (
				g   client.RunGrant
				rel client.Release
			)
			err = a.inOrg(cmd, func(cl *call, org string) error {
				rt := cl.c
				if os.Getenv("GATEHOUSE_RUNTIME_TOKEN") != "" {
					tok, err := readToken("", "GATEHOUSE_RUNTIME_TOKEN")
					if err != nil {
						return err
					}
					rt = cl.c.WithToken(tok)
				}
				if g, err = cl.c.RunToken(cl.ctx, org, client.ResourceRef{Namespace: ns, Type: typ, ID: id}, client.RunRequest{Runtime: runtime, TTLSeconds: ttl}); err != nil {
					return err
				}
				rel, err = rt.ExchangeRunToken(cl.ctx, org, g.Token)
				g.Token = ""
				return err
			})
			if err != nil {
				return err
			}
			env := os.Environ()
			names := make([]string, 0, len(rel.Secrets))
			for _, s := range rel.Secrets {
				env = append(env, s.Name+"="+s.Value)
				names = append(names, s.Name)
			}
			rel.Secrets = nil
			if !quiet {
				fmt.Fprintf(e.stderr, "gatehouse: running %s with %d secret(s) of %s/%s version %d (run token %s)\n",
					args[0], len(names), typ, id, rel.ResourceVersion, g.TokenID)
			}
			return runChild(e, path, args, env)
		},
	}
	a.leaf(cmd)
	addNamespaceFlag(cmd, &ns, "default", "the resource's namespace")
	cmd.Flags().StringVar(&resource, "resource", "", "the resource to run, TYPE/ID (chains/escalation-triage)")
	cmd.Flags().StringVar(&runtime, "runtime", "", "only this service principal may exchange the token (service:runner)")
	cmd.Flags().IntVar(&ttl, "ttl", 0, "run token lifetime in seconds (default and maximum: the server's)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing of gatehouse's own")
	_ = cmd.MarkFlagRequired("resource")
	return cmd
}

// runChild executes the command with env, passing signals to it, and ends
// with its exit status.
func runChild(e *env, path string, args, env []string) error {
	child := exec.Command(path, args[1:]...)
	child.Env = env
	child.Stdin, child.Stdout, child.Stderr = e.stdin, e.stdout, e.stderr
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := child.Start(); err != nil {
		return &exitError{code: ExitInternal, err: fmt.Errorf("start %s: %w", args[0], err)}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = child.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := child.Wait()
	close(done)
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return &exitError{code: ExitInternal, err: fmt.Errorf("%s: %w", args[0], err)}
	}
	code := ee.ExitCode()
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	return silentExit(code)
}
