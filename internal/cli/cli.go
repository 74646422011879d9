// Package cli is the gatehouse command tree (spf13/cobra). Commands parse
// flags, call the domain packages and render; they hold no logic of their
// own.
//
// Exit codes, output formats, the namespace and org flags and the error
// line are part of the interface; conventions.go defines them once and
// docs/cli.md documents them.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// exitError carries an exit code through cobra. A nil err means the
// command already printed what it had to say.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// badInput reports a usage or input error (exit 2).
func badInput(format string, args ...any) error {
	return &exitError{code: ExitBadInput, err: fmt.Errorf(format, args...)}
}

// silentExit ends the command with a code after it printed its own output.
func silentExit(code int) error { return &exitError{code: code} }

// Main runs the CLI with the given arguments and streams and returns the
// process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "gatehouse:", ee.err)
		}
		return ee.code
	}
	// Cobra's own errors (unknown command or flag) are usage errors.
	fmt.Fprintln(stderr, "gatehouse:", err)
	return ExitBadInput
}

type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse decides who can run what on AI agent platforms",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newPolicyCmd(e))
	root.AddCommand(newServeCmd(e))
	root.AddCommand(newInitCmd(e))
	root.AddCommand(newAuditCmd(e))
	root.AddCommand(newSecretCmd(e), newRunCmd(e), newVaultCmd(e))
	root.AddCommand(newApprovalCmd(e))
	addAdminCommands(root, e) // org, ns, member, ..., check, explain, who-can, what-can; policy get|put|validate
	root.AddCommand(newLoginCmd(e), newContextCmd(e), newVersionCmd(e), newHealthCmd(e))
	root.Version = versionLine()
	root.SetVersionTemplate("{{.Version}}\n")
	registerCompletions(root)
	showUsageOnArgErrors(root)
	return root
}

// showUsageOnArgErrors makes a wrong number of arguments say how the
// command is called: cobra's own "accepts 1 arg(s), received 2" names
// neither the command nor its arguments.
func showUsageOnArgErrors(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return badInput("%v; usage: %s", err, strings.TrimSuffix(cmd.UseLine(), " [flags]"))
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		showUsageOnArgErrors(sub)
	}
}

// unknownSubcommand is the RunE of command groups: cobra would otherwise
// print help and succeed for `gatehouse policy frobnicate`.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	return badInput("unknown command %q for %q; see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
}
