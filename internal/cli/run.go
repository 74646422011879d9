package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// `gatehouse run` is use without reveal from the command line (like
// `doppler run` or `infisical run`): it starts a run of a resource (a
// recorded <type>:run decision, DESIGN §1.4) as the caller
// ($GATEHOUSE_TOKEN), which issues a run token, exchanges the token as the
// runtime ($GATEHOUSE_RUNTIME_TOKEN, a service principal's API key that may
// run the resource; default the same credential), and executes the command
// with the released secrets added to its environment. The values go only
// into the child's environment: never to stdout, stderr, a file or an
// argument. Signals are passed to the child, and its exit status is
// gatehouse's (128+n when a signal n killed it). When the child ends the
// run is finished with its exit status and the tail of its output (which
// the server redacts of the released values before storing it). A run that
// needs approval exits 7 naming the approval, or with --wait waits for it
// and then runs once.

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
		input    string
		wait     bool
		approval string
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
			var in json.RawMessage
			if input != "" {
				if !json.Valid([]byte(input)) {
					return badInput("--input must be JSON (got %q)", input)
				}
				in = json.RawMessage(input)
			}
			var (
				st       client.RunStarted
				rel      client.Release
				finisher *client.Client
				runOrg   string
			)
			err = a.inOrg(cmd, func(cl *call, org string) error {
				c, rt := cl.c, cl.c
				if os.Getenv("GATEHOUSE_RUNTIME_TOKEN") != "" {
					tok, err := readToken("", "GATEHOUSE_RUNTIME_TOKEN")
					if err != nil {
						return err
					}
					rt = c.WithToken(tok)
				}
				// Only a service exchanges a run token (the runtime is the
				// trust boundary: docs/secrets.md). Refuse before the run
				// is started, so a caller without a runtime credential
				// neither records a failed run nor uses up its approval.
				// (Outside its orgs the server's own answer, 404, stands.)
				me, err := rt.Me(cl.ctx, "")
				if err != nil {
					return err
				}
				if !strings.HasPrefix(me.Principal, "service:") && slices.ContainsFunc(me.Orgs, func(o client.MeOrg) bool { return o.ID == org }) {
					return badInput("the run's secrets are released only to a runtime service, and %s is not one: set GATEHOUSE_RUNTIME_TOKEN to the API key of the service that runs %s (docs/secrets.md, \"gatehouse run\")", me.Principal, resource)
				}
				runOrg, finisher = org, c
				if runtime != "" {
					finisher = rt
				}
				start := client.RunStart{Resource: resource, Namespace: ns, Input: in, ApprovalID: approval, IssueToken: true, Runtime: runtime}
				st, err = c.StartRun(cl.ctx, org, start)
				if err == nil && st.Run == nil && st.Approval != nil && wait {
					fmt.Fprintf(e.stderr, "gatehouse: %s/%s needs approval %s; waiting (gatehouse approval approve %s)\n", typ, id, st.Approval.ID, st.Approval.ID)
					// Waiting for a person is not bounded by --timeout.
					ap, werr := c.WaitForApproval(cmd.Context(), org, st.Approval.ID)
					if werr != nil {
						return werr
					}
					if ap.Status != client.ApprovalGranted {
						fmt.Fprintf(e.stderr, "gatehouse: approval %s is %s\n", ap.ID, ap.Status)
						return silentExit(ExitDeny)
					}
					start.ApprovalID = ap.ID
					st, err = c.StartRun(cl.ctx, org, start)
				}
				if err != nil {
					return err
				}
				if st.Run == nil {
					aid := ""
					if st.Approval != nil {
						aid = st.Approval.ID
					}
					fmt.Fprintf(e.stderr, "gatehouse: %s/%s needs approval %s: wait with 'gatehouse approval wait %s', then run again with --approval %s (or use --wait)\n", typ, id, aid, aid, aid)
					return silentExit(ExitApproval)
				}
				if st.RunToken == nil {
					return &exitError{code: ExitInternal, err: errors.New("the server started the run without a run token")}
				}
				rel, err = rt.ExchangeRunToken(cl.ctx, org, st.RunToken.Token)
				st.RunToken.Token = ""
				if err != nil {
					finishRun(e, a.f.timeout, finisher, org, st.Run.ID, client.RunFinish{Status: "failed", Error: "the run token could not be exchanged"})
				}
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
				fmt.Fprintf(e.stderr, "gatehouse: run %s: %s with %d secret(s) of %s/%s version %d (run token %s)\n",
					st.Run.ID, args[0], len(names), typ, id, rel.ResourceVersion, st.RunToken.TokenID)
			}
			out := &tailBuffer{max: outputTail}
			cerr := runChild(e, path, args, env, out)
			fin := client.RunFinish{Status: "succeeded", Output: string(out.bytes())}
			if cerr != nil {
				fin.Status, fin.Error = "failed", exitText(cerr)
			}
			if r, ok := finishRun(e, a.f.timeout, finisher, runOrg, st.Run.ID, fin); ok && !quiet {
				fmt.Fprintf(e.stderr, "gatehouse: run %s %s in %dms; output tail as recorded:\n%s\n", r.ID, r.Status, r.DurationMS, lastLines(r.OutputSummary, 5))
			}
			return cerr
		},
	}
	a.leaf(cmd)
	addNamespaceFlag(cmd, &ns, "default", "the resource's namespace")
	cmd.Flags().StringVar(&resource, "resource", "", "the resource to run, TYPE/ID (chains/escalation-triage)")
	cmd.Flags().StringVar(&runtime, "runtime", "", "only this service principal may exchange the token (service:runner)")
	cmd.Flags().IntVar(&ttl, "ttl", 0, "run token lifetime in seconds (default and maximum: the server's)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing of gatehouse's own")
	cmd.Flags().StringVar(&input, "input", "", "the run's input, JSON (recorded as a digest and a summary; an approval is bound to it)")
	cmd.Flags().BoolVar(&wait, "wait", false, "when the run needs approval, wait for it and then run")
	cmd.Flags().StringVar(&approval, "approval", "", "a granted approval of this run to present")
	_ = cmd.MarkFlagRequired("resource")
	return cmd
}

// runChild executes the command with env, passing signals to it, and ends
// with its exit status. Its stdout and stderr also go to out.
func runChild(e *env, path string, args, env []string, out io.Writer) error {
	child := exec.Command(path, args[1:]...)
	child.Env = env
	child.Stdin, child.Stdout, child.Stderr = e.stdin, io.MultiWriter(e.stdout, out), io.MultiWriter(e.stderr, out)
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

// outputTail is how much of a child's output is sent when its run is
// finished (the server keeps a redacted summary of the end).
const outputTail = 64 << 10

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.ToValidUTF8(t.b, nil)
}

// finishRun reports how the run ended; a failure is reported on stderr
// and does not change gatehouse's exit status (the child's).
func finishRun(e *env, timeout time.Duration, c *client.Client, org, id string, fin client.RunFinish) (client.Run, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := c.FinishRun(ctx, org, id, fin)
	if err != nil {
		fmt.Fprintf(e.stderr, "gatehouse: run %s could not be finished: %v\n", id, err)
		return r, false
	}
	return r, true
}

// exitText describes how the child ended, for the run's error.
func exitText(err error) string {
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			return ee.err.Error()
		}
		return fmt.Sprintf("exit status %d", ee.code)
	}
	return err.Error()
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
