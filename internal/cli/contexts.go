package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
)

// Contexts, like kubectl's: `gatehouse login` stores a server, an org and
// a credential under a name in a config file only its owner may read
// (0600, in a 0700 directory), and makes it current; `context use`
// switches. Every command's flags, then the GATEHOUSE_* variables, win
// over the current context (admFlags.client). The file is
// $GATEHOUSE_CLI_CONFIG, else <os.UserConfigDir>/gatehouse/config.json.

// configEnv names the config file; contextEnv selects a context.
const (
	configEnv  = "GATEHOUSE_CLI_CONFIG"
	contextEnv = "GATEHOUSE_CONTEXT"
)

// cliConfig is the config file.
type cliConfig struct {
	Current  string       `json:"current_context,omitempty"`
	Contexts []cliContext `json:"contexts"`
}

// cliContext is one stored context. Token is the credential, never
// printed.
type cliContext struct {
	Name      string `json:"name"`
	Server    string `json:"server"`
	Org       string `json:"org,omitempty"`
	Principal string `json:"principal,omitempty"`
	Token     string `json:"token,omitempty"`
}

// configPath is where the config file is.
func configPath() (string, error) {
	if p := os.Getenv(configEnv); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory (set %s): %w", configEnv, err)
	}
	return filepath.Join(dir, "gatehouse", "config.json"), nil
}

// loadConfig reads the config file; a missing file is an empty config.
// A file others may read is refused: it holds credentials.
func loadConfig() (*cliConfig, string, error) {
	path, err := configPath()
	if err != nil {
		return nil, "", badInput("%v", err)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &cliConfig{}, path, nil
	}
	if err != nil {
		return nil, path, badInput("config %s: %v", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, path, badInput("config %s is readable by others (mode %04o): it holds credentials; chmod 600 it", path, fi.Mode().Perm())
	}
	var c cliConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, path, badInput("config %s: %v", path, err)
	}
	return &c, path, nil
}

func (c *cliConfig) save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return &exitError{code: ExitInternal, err: err}
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return &exitError{code: ExitInternal, err: err}
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return &exitError{code: ExitInternal, err: err}
	}
	return nil
}

func (c *cliConfig) find(name string) (int, bool) {
	i := slices.IndexFunc(c.Contexts, func(x cliContext) bool { return x.Name == name })
	return i, i >= 0
}

// active is the context a command uses: --context, else
// $GATEHOUSE_CONTEXT, else the current one; nil when there is none. A
// named context that does not exist is bad input.
func activeContext(name string) (*cliContext, error) {
	name = firstNonEmpty(name, os.Getenv(contextEnv))
	c, _, err := loadConfig()
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = c.Current
		if name == "" {
			return nil, nil
		}
	}
	i, ok := c.find(name)
	if !ok {
		return nil, badInput("no context %q (gatehouse context list)", name)
	}
	return &c.Contexts[i], nil
}

func newLoginCmd(e *env) *cobra.Command {
	var (
		server, org, name, tokenFile string
		out                          output
	)
	cmd := &cobra.Command{
		Use:   "login --server URL [--org ORG] [--name NAME]",
		Short: "Check a credential against a server and store it as the current context",
		Long: `Store a context — a server, an org and a credential — under a name and make it
current, like a kubectl context. The credential (an API key or a session
token) is read from stdin, --token-file or $GATEHOUSE_TOKEN, never from an
argument; it is checked against the server (GET /v1/me) before it is stored.

The config file is $GATEHOUSE_CLI_CONFIG, else <user config dir>/gatehouse/config.json
(on Linux ~/.config/gatehouse/config.json), mode 0600. Flags and the
GATEHOUSE_* environment variables still win over the stored context.`,
		Example: `  printf %s "$KEY" | gatehouse login --server https://gatehouse.example.com --org acme
  gatehouse login --server http://127.0.0.1:8080 --token-file ~/.gatehouse-key --name local`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			server = firstNonEmpty(server, os.Getenv("GATEHOUSE_SERVER"), os.Getenv("GATEHOUSE_URL"))
			if server == "" {
				return badInput("--server is required")
			}
			u, err := url.Parse(server)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return badInput("--server %q is not an http(s) URL", server)
			}
			token, err := loginToken(e, tokenFile)
			if err != nil {
				return err
			}
			if u.Scheme == "http" && !isLoopback(u.Hostname()) {
				fmt.Fprintf(e.stderr, "gatehouse: warning: %s is plain http: the credential crosses the network unencrypted on every command\n", server)
			}
			a := &adm{e: e}
			a.f.server, a.f.org, a.f.timeout, a.f.output, a.f.noContext = server, org, defaultTimeout, out, true
			a.f.token = token
			return a.run(cmd, func(cl *call) error {
				me, err := cl.c.Me(cl.ctx, "")
				if err != nil {
					return err
				}
				if org == "" {
					if org, err = cl.org(); err != nil && me.Org == "" && len(me.Orgs) > 1 {
						return err // several orgs: say which
					}
				}
				if name == "" {
					name = firstNonEmpty(org, u.Host)
				}
				c, path, err := loadConfig()
				if err != nil {
					return err
				}
				ctx := cliContext{Name: name, Server: strings.TrimRight(server, "/"), Org: org, Principal: me.Principal, Token: token}
				if i, ok := c.find(name); ok {
					c.Contexts[i] = ctx
				} else {
					c.Contexts = append(c.Contexts, ctx)
				}
				c.Current = name
				if err := c.save(path); err != nil {
					return err
				}
				return cl.say(contextRow(ctx, true), "logged in to %s as %s; context %q (org %s) is current, stored in %s",
					ctx.Server, me.Principal, name, firstNonEmpty(org, "-"), path)
			})
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "server URL (default $GATEHOUSE_SERVER, else $GATEHOUSE_URL)")
	cmd.Flags().StringVar(&org, "org", "", "org the context works in (default: your only org)")
	cmd.Flags().StringVar(&name, "name", "", "context name (default: the org, else the server's host)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the credential from this file (default: stdin, else $GATEHOUSE_TOKEN)")
	addOutputFlag(cmd, &out)
	return cmd
}

// loginToken reads the credential to store: --token-file, else stdin
// when it is not a terminal, else $GATEHOUSE_TOKEN.
func loginToken(e *env, file string) (string, error) {
	if file != "" {
		return readToken(file, "")
	}
	isTerminal := false
	if f, ok := e.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			isTerminal = true
		}
	}
	if !isTerminal {
		b, err := readAllLimited(e.stdin, 4096)
		if err != nil {
			return "", badInput("reading the credential from stdin: %v", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	}
	if t := strings.TrimSpace(os.Getenv("GATEHOUSE_TOKEN")); t != "" {
		return t, nil
	}
	return "", badInput("no credential: pipe it to stdin, pass --token-file or set GATEHOUSE_TOKEN")
}

// contextOut is a context as `context list` prints it: never the token.
type contextOut struct {
	Current   bool   `json:"current"`
	Name      string `json:"name"`
	Server    string `json:"server"`
	Org       string `json:"org,omitempty"`
	Principal string `json:"principal,omitempty"`
}

func contextRow(c cliContext, current bool) contextOut {
	return contextOut{Current: current, Name: c.Name, Server: c.Server, Org: c.Org, Principal: c.Principal}
}

func newContextCmd(e *env) *cobra.Command {
	var out output
	list := &cobra.Command{
		Use: "list", Short: "List the stored contexts (never their credentials)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			c, _, err := loadConfig()
			if err != nil {
				return err
			}
			items := []contextOut{}
			var rows [][]string
			for _, x := range c.Contexts {
				r := contextRow(x, x.Name == c.Current)
				items = append(items, r)
				mark := ""
				if r.Current {
					mark = "*"
				}
				rows = append(rows, []string{mark, r.Name, r.Server, r.Org, r.Principal})
			}
			if out.machine() {
				return out.emit(e.stdout, listOf(items, ""))
			}
			printTable(e.stdout, []string{"CURRENT", "NAME", "SERVER", "ORG", "PRINCIPAL"}, rows)
			return nil
		},
	}
	addOutputFlag(list, &out)
	use := &cobra.Command{
		Use: "use NAME", Short: "Make a stored context current", Args: cobra.ExactArgs(1),
		ValidArgsFunction: completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			return editConfig(e, &out, args[0], func(c *cliConfig, i int) string {
				c.Current = args[0]
				return "switched to context " + args[0]
			})
		},
	}
	addOutputFlag(use, &out)
	del := &cobra.Command{
		Use: "delete NAME", Short: "Forget a stored context and its credential (the credential stays valid on the server)", Args: cobra.ExactArgs(1),
		ValidArgsFunction: completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			return editConfig(e, &out, args[0], func(c *cliConfig, i int) string {
				c.Contexts = slices.Delete(c.Contexts, i, i+1)
				if c.Current == args[0] {
					c.Current = ""
				}
				return "deleted context " + args[0]
			})
		},
	}
	addOutputFlag(del, &out)
	cmd := &cobra.Command{
		Use:   "context",
		Short: "List, switch and delete the contexts `gatehouse login` stored",
		Args:  cobra.ArbitraryArgs,
		RunE:  unknownSubcommand,
	}
	cmd.AddCommand(list, use, del)
	return cmd
}

// editConfig changes the context name with fn and saves the file.
func editConfig(e *env, out *output, name string, fn func(c *cliConfig, i int) string) error {
	if err := out.check(); err != nil {
		return err
	}
	c, path, err := loadConfig()
	if err != nil {
		return err
	}
	i, ok := c.find(name)
	if !ok {
		return &exitError{code: ExitNotAllowed, err: fmt.Errorf("no context %q (gatehouse context list)", name)}
	}
	line := fn(c, i)
	if err := c.save(path); err != nil {
		return err
	}
	if out.machine() {
		return out.emit(e.stdout, map[string]string{"current_context": c.Current})
	}
	fmt.Fprintln(e.stdout, line)
	return nil
}

// completeContexts completes a stored context's name.
func completeContexts(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, _, err := loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var names []string
	for _, x := range c.Contexts {
		names = append(names, x.Name)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// isLoopback reports a host name or address of this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
