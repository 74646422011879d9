package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// The secret commands talk to a running server through the SDK (package
// client), as the caller ($GATEHOUSE_TOKEN, an API key or session token;
// --server, $GATEHOUSE_SERVER or $GATEHOUSE_URL; --org or $GATEHOUSE_ORG).
// A value is read from stdin or a file, never from an argument, so it stays out of shell history and ps;
// `secret get` prints it only to stdout. Exit codes: 0 success, 1 refused
// (401, 403, 404), 2 bad input (400, 409, 410, 413, 415, 422), 3 anything else.
// Each is built by secretCmd.
//
// The vault commands (status, rotate-master, retire-key) work on the
// database directly with the master keyring, like the audit commands: an
// operator's maintenance tools, not an API.

// loadServeKeyring reads the master keyring serve runs with, from
// GATEHOUSE_MASTER_KEY_FILE / GATEHOUSE_MASTER_KEY; with --dev (only), a
// generated key file in the data directory, with a loud warning. A
// production start without a key is refused (exit 2) with a message that
// says how to make one; it runs before anything is created or written.
func loadServeKeyring(dev bool, data string, stderr io.Writer) (*vault.Keyring, error) {
	keys, err := vault.LoadKeyring(vault.KeyringOptions{Dev: dev, DataDir: data, Warn: stderr})
	if errors.Is(err, vault.ErrNoMasterKey) && !dev {
		return nil, &exitError{code: ExitBadInput, err: fmt.Errorf("refusing to start without a master key: %w "+
			"(docs/secrets.md, \"The master keyring\")", err)}
	}
	if err != nil {
		return nil, &exitError{code: ExitInternal, err: fmt.Errorf("secrets vault: %w", err)}
	}
	return keys, nil
}

// openServeVault opens the vault serve runs with, on keys: a wrong or
// missing key for the database's secrets fails the start (vault.Open's
// start-up checks).
func openServeVault(ctx context.Context, st store.Store, dir *directory.Directory, rec audit.Recorder, keys *vault.Keyring,
	log *slog.Logger) (*vault.Vault, error) {
	v, err := vault.Open(ctx, vault.Options{Store: st, Directory: dir, Keyring: keys, Audit: rec, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("secrets vault: %w", err)
	}
	log.Info("secrets vault ready", "keyring", keys.String())
	return v, nil
}

func readToken(file, env string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", badInput("--token-file: %v", errors.Unwrap(err))
		}
		return strings.TrimSpace(string(b)), nil
	}
	if t := strings.TrimSpace(os.Getenv(env)); t != "" {
		return t, nil
	}
	return "", badInput("no credential: set %s (an API key) or pass --token-file", env)
}

// allPages reads every page of a list.
func allPages[T any](page func(o *client.ListOptions) (client.List[T], error)) ([]T, error) {
	var all []T
	o := &client.ListOptions{PageSize: 1000}
	for {
		p, err := page(o)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			return all, nil
		}
		o.Cursor = p.NextCursor
	}
}

// secretMeta is the metadata secret list prints (-o json).
type secretMeta struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Version     uint64    `json:"version"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"` // unset fields are absent, as in the API
	ReferableBy []string  `json:"referable_by,omitempty"`
	UpdatedBy   string    `json:"updated_by"`
	UpdatedAt   time.Time `json:"updated_at"`
	RotatedAt   time.Time `json:"rotated_at,omitzero"`
	LastUsedAt  time.Time `json:"last_used_at,omitzero"`
}

func metaOf(s client.Secret) secretMeta {
	return secretMeta{Namespace: s.Namespace, Name: s.Name, Description: s.Description, Version: s.Version, ExpiresAt: s.ExpiresAt,
		ReferableBy: s.ReferableBy, UpdatedBy: s.UpdatedBy, UpdatedAt: s.UpdatedAt, RotatedAt: s.RotatedAt, LastUsedAt: s.LastUsedAt}
}

// wroteSecret is what a write (set, rotated) that answered s prints.
func wroteSecret(verb string, s client.Secret, rev uint64) wrote {
	return wrote{metaOf(s), rev, fmt.Sprintf("%s %s/%s: version %d", verb, s.Namespace, s.Name, s.Version)}
}

func newSecretCmd(e *env) *cobra.Command {
	a := &adm{e: e}
	return a.group("secret", "Manage the secrets vault (values from stdin or a file, never arguments)",
		newSecretSetCmd(a), newSecretGetCmd(a), newSecretListCmd(a), newSecretRotateCmd(a),
		newSecretDeleteCmd(a), newSecretHistoryCmd(a))
}

// valueFlags read a value from stdin or --from-file.
type valueFlags struct {
	file        string
	keepNewline bool
}

func (f *valueFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.file, "from-file", "", "read the value from this file (exact bytes) instead of stdin")
	cmd.Flags().BoolVar(&f.keepNewline, "keep-newline", false, "keep a trailing newline read from stdin (dropped by default)")
}

func (f *valueFlags) read(e *env) (string, error) {
	var b []byte
	var err error
	if f.file != "" {
		b, err = os.ReadFile(f.file)
		if err != nil {
			return "", badInput("--from-file: %v", errors.Unwrap(err))
		}
	} else {
		if fi, ok := e.stdin.(*os.File); ok {
			if st, err := fi.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				return "", badInput("the value is read from stdin or --from-file, never typed into a terminal: " +
					"pipe it in (e.g. `pbpaste | gatehouse secret set NAME`) or use --from-file")
			}
		}
		b, err = io.ReadAll(io.LimitReader(e.stdin, vault.MaxValueBytes+2))
		if err != nil {
			return "", badInput("reading the value from stdin: %v", err)
		}
		if !f.keepNewline {
			b = bytes.TrimSuffix(b, []byte("\n"))
			b = bytes.TrimSuffix(b, []byte("\r"))
		}
	}
	if len(b) > vault.MaxValueBytes {
		return "", badInput("the value is larger than %d bytes", vault.MaxValueBytes)
	}
	if err := vault.CheckValue(b); err != nil {
		var ve *vault.Error
		if errors.As(err, &ve) {
			return "", badInput("%s", ve.Msg)
		}
		return "", badInput("%v", err)
	}
	return string(b), nil
}

// secretCall is one secret command's run against the server.
type secretCall struct {
	*call
	org   string
	ns    string // -n
	value string // set, rotate: from stdin or --from-file
}

// secretCmd builds a secret command: cmd with -n and, with value, the
// value flags (the value is read before anything is sent); the group adds
// the shared flags. run gets the call and the arguments.
func secretCmd(a *adm, cmd *cobra.Command, value bool, run func(sc *secretCall, args []string) error) *cobra.Command {
	var (
		vf valueFlags
		sc secretCall
	)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if value {
			var err error
			if sc.value, err = vf.read(a.e); err != nil {
				return err
			}
		}
		return a.inOrg(cmd, func(cl *call, org string) error {
			sc.call, sc.org = cl, org
			return run(&sc, args)
		})
	}
	if value {
		vf.register(cmd)
	}
	addNamespaceFlag(cmd, &sc.ns, "default", "namespace")
	return cmd
}

// tabulate prints a header and a row for each item through a tabwriter,
// the cells as they are.
func tabulate[T any](w io.Writer, header string, items []T, row func(T) string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, it := range items {
		fmt.Fprintln(tw, row(it))
	}
	return tw.Flush()
}

func newSecretSetCmd(a *adm) *cobra.Command {
	var (
		desc, expires string
		referableBy   []string
		createOnly    bool
	)
	cmd := secretCmd(a, &cobra.Command{
		Use:   "set NAME",
		Short: "Create a secret, or give it a new value (a new version), from stdin or --from-file",
		Long: `Create a secret, or give an existing one a new value (a new version).

The value is read from stdin (one trailing newline dropped unless
--keep-newline) or from --from-file (exact bytes); never from an argument,
so it stays out of shell history and process listings:

    printf %s "$KEY" | gatehouse secret set OPENAI_API_KEY -n prod
    gatehouse secret set DB_PASSWORD -n prod --from-file ./db-password`,
		Args: cobra.ExactArgs(1),
	}, true, func(sc *secretCall, args []string) error {
		spec := client.SecretSpec{Name: args[0], Value: &sc.value, Description: desc, ReferableBy: referableBy}
		if expires != "" {
			t, err := time.Parse(time.RFC3339, expires)
			if err != nil {
				return badInput("--expires %q is not an RFC 3339 time", expires)
			}
			spec.ExpiresAt = &t
		}
		sec, rev, err := sc.c.CreateSecret(sc.ctx, sc.org, sc.ns, spec)
		if client.IsConflict(err) && !createOnly {
			patch := client.SecretPatch{Value: &sc.value, ExpiresAt: spec.ExpiresAt}
			if desc != "" {
				patch.Description = &desc
			}
			if len(referableBy) > 0 {
				patch.ReferableBy = &referableBy
			}
			sec, rev, err = sc.c.UpdateSecret(sc.ctx, sc.org, sc.ns, args[0], patch)
		}
		if err != nil {
			return err
		}
		return sc.report(wroteSecret("set", sec, rev))
	})
	cmd.Flags().StringVar(&desc, "description", "", "description")
	cmd.Flags().StringVar(&expires, "expires", "", "expiry time (RFC 3339)")
	cmd.Flags().StringSliceVar(&referableBy, "referable-by", nil, "who may reference it from a resource spec (user:bob, team:x, role:builder); default anyone with secrets:list")
	cmd.Flags().BoolVar(&createOnly, "create-only", false, "fail if the secret exists instead of adding a version")
	return cmd
}

func newSecretGetCmd(a *adm) *cobra.Command {
	var version uint64
	cmd := secretCmd(a, &cobra.Command{
		Use:   "get NAME",
		Short: "Print a secret's value to stdout (needs secrets:read; audited)",
		Long: `Print a secret's value to stdout: exactly the value, with no newline added
(-o json or yaml prints {"namespace","name","version","value"}). Needs
secrets:read; every reveal is in the audit log.`,
		Args: cobra.ExactArgs(1),
	}, false, func(sc *secretCall, args []string) error {
		v, err := sc.c.RevealSecret(sc.ctx, sc.org, sc.ns, args[0], version)
		if err != nil {
			return err
		}
		if sc.machine() {
			return sc.emit(v)
		}
		_, err = io.WriteString(sc.a.e.stdout, v.Value)
		return err
	})
	cmd.Flags().Uint64Var(&version, "version", 0, "a version (default: the current one)")
	cmd.PreRun = func(*cobra.Command, []string) {
		if a.f.output == "value" { // its old name of the default
			a.f.output = "table"
		}
	}
	return cmd
}

func newSecretListCmd(a *adm) *cobra.Command {
	var all bool
	cmd := secretCmd(a, &cobra.Command{
		Use:   "list",
		Short: "List secrets' names and metadata, never values (needs secrets:list)",
		Args:  cobra.NoArgs,
	}, false, func(sc *secretCall, _ []string) error {
		secrets, err := allPages(func(o *client.ListOptions) (client.List[client.Secret], error) {
			if all {
				return sc.c.ListAllSecrets(sc.ctx, sc.org, o)
			}
			return sc.c.ListSecrets(sc.ctx, sc.org, sc.ns, o)
		})
		if err != nil {
			return err
		}
		var items []secretMeta
		var rows [][]string
		for _, s := range secrets {
			m := metaOf(s)
			items = append(items, m)
			rows = append(rows, []string{m.Namespace, m.Name, strconv.FormatUint(m.Version, 10), admTime(m.UpdatedAt), admTime(m.LastUsedAt), admTime(m.ExpiresAt), m.Description})
		}
		return sc.out(listOf(items, ""), []string{"NAMESPACE", "NAME", "VERSION", "UPDATED", "LAST USED", "EXPIRES", "DESCRIPTION"}, rows)
	})
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "every namespace where you hold secrets:list")
	return cmd
}

func newSecretRotateCmd(a *adm) *cobra.Command {
	var ifVersion uint64
	cmd := secretCmd(a, &cobra.Command{
		Use:   "rotate NAME",
		Short: "Replace a secret's value with a new version from stdin or --from-file (needs secrets:rotate)",
		Args:  cobra.ExactArgs(1),
	}, true, func(sc *secretCall, args []string) error {
		sec, rev, err := sc.c.RotateSecret(sc.ctx, sc.org, sc.ns, args[0], sc.value, ifVersion)
		if err != nil {
			return err
		}
		return sc.report(wroteSecret("rotated", sec, rev))
	})
	cmd.Flags().Uint64Var(&ifVersion, "if-version", 0, "fail unless the current version is this one")
	return cmd
}

func newSecretDeleteCmd(a *adm) *cobra.Command {
	var force bool
	cmd := secretCmd(a, &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a secret and every version (needs secrets:delete)",
		Long: `Delete a secret and every version (needs secrets:delete). A secret that a
resource spec of its namespace references is not deleted: the server answers
409 naming the resources (exit 6), since their runs would fail. --force
deletes it anyway; the audit entry records that the delete was forced and
what referenced the secret.`,
		Args: cobra.ExactArgs(1),
	}, false, func(sc *secretCall, args []string) error {
		del := sc.c.DeleteSecret
		if force {
			del = sc.c.ForceDeleteSecret
		}
		rev, err := del(sc.ctx, sc.org, sc.ns, args[0])
		if err != nil {
			return err
		}
		return sc.report(wrote{rev: rev, line: fmt.Sprintf("deleted %s/%s", sc.ns, args[0])})
	})
	cmd.Flags().BoolVar(&force, "force", false, "delete even if resource specs reference the secret (their runs will fail; audited as forced)")
	return cmd
}

func newSecretHistoryCmd(a *adm) *cobra.Command {
	type version struct {
		Version   uint64    `json:"version"`
		KeyID     uint32    `json:"key_id"`
		CreatedBy string    `json:"created_by"`
		CreatedAt time.Time `json:"created_at"`
	}
	return secretCmd(a, &cobra.Command{
		Use:   "history NAME",
		Short: "List a secret's versions: number, master key id, author, time (needs secrets:list)",
		Args:  cobra.ExactArgs(1),
	}, false, func(sc *secretCall, args []string) error {
		vs, err := allPages(func(o *client.ListOptions) (client.List[client.SecretVersion], error) {
			return sc.c.ListSecretVersions(sc.ctx, sc.org, sc.ns, args[0], o)
		})
		if err != nil {
			return err
		}
		all := make([]version, 0, len(vs))
		var rows [][]string
		for _, v := range vs {
			all = append(all, version{Version: v.Version, KeyID: v.KeyID, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt})
			rows = append(rows, []string{strconv.FormatUint(v.Version, 10), strconv.FormatUint(uint64(v.KeyID), 10), v.CreatedBy, admTime(v.CreatedAt)})
		}
		return sc.out(listOf(all, ""), []string{"VERSION", "MASTER KEY", "BY", "AT"}, rows)
	})
}

// --- vault maintenance (on the database, with the keyring)

func newVaultCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vault",
		Short: "Master keyring maintenance on the database: status, rotate-master, retire-key",
		Args:  cobra.ArbitraryArgs,
		RunE:  unknownSubcommand,
	}
	cmd.AddCommand(newVaultStatusCmd(e), newVaultRotateCmd(e), newVaultRetireCmd(e))
	return cmd
}

// openMaintenanceVault opens the store and a key-maintenance vault: the
// keyring is checked against the database exactly as serve checks it.
func openMaintenanceVault(ctx context.Context, sf *storeFlags, e *env) (*vault.Vault, store.Store, error) {
	keys, err := vault.LoadKeyring(vault.KeyringOptions{Warn: e.stderr})
	if err != nil {
		return nil, nil, &exitError{code: ExitBadInput, err: err}
	}
	st, _, err := sf.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Its entries carry MACs, as serve's (the key as serve finds it).
	alog, err := openAuditLog(st, sf.data, sf.postgresURL() == "", log)
	if err != nil {
		st.Close()
		return nil, nil, &exitError{code: ExitInternal, err: err}
	}
	v, err := vault.Open(ctx, vault.Options{Store: st, Keyring: keys, Audit: alog, Logger: log})
	if err != nil {
		st.Close()
		return nil, nil, &exitError{code: ExitInternal, err: err}
	}
	return v, st, nil
}

// withVault runs fn on the maintenance vault, in a context bounded by
// timeout.
func withVault(cmd *cobra.Command, sf *storeFlags, e *env, timeout time.Duration, fn func(ctx context.Context, v *vault.Vault) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	v, st, err := openMaintenanceVault(ctx, sf, e)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(ctx, v)
}

func newVaultStatusCmd(e *env) *cobra.Command {
	var (
		sf  storeFlags
		out output
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the master key ids: in the keyring, active, retired, and how many secret versions each wraps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			return withVault(cmd, &sf, e, 5*time.Minute, func(ctx context.Context, v *vault.Vault) error {
				ks, err := v.Keys(ctx)
				if err != nil {
					return &exitError{code: ExitInternal, err: err}
				}
				if out.machine() {
					return out.emit(e.stdout, listOf(ks, ""))
				}
				_ = tabulate(e.stdout, "KEY\tIN KEYRING\tACTIVE\tRETIRED\tVERSIONS", ks, func(k vault.KeyStatus) string {
					return fmt.Sprintf("%d\t%v\t%v\t%v\t%d", k.ID, k.InKeyring, k.Active, k.Retired, k.Versions)
				})
				return nil
			})
		},
	}
	sf.register(cmd)
	addOutputFlag(cmd, &out)
	return cmd
}

func newVaultRotateCmd(e *env) *cobra.Command {
	var (
		sf       storeFlags
		generate bool
		out      output
	)
	cmd := &cobra.Command{
		Use:   "rotate-master",
		Short: "Re-wrap every data key under the keyring's newest master key (ciphertexts untouched)",
		Long: `Re-wrap every secret version's data key under the keyring's newest (active)
master key. Values are never decrypted and ciphertexts are not touched; only
the wrapped data keys change. Safe to run while servers serve, and again.

To rotate: add a new key to the keyring — with --generate, a new random
key is appended to $GATEHOUSE_MASTER_KEY_FILE as the next id — restart the
servers with the new keyring (so they wrap new secrets with the new key),
run rotate-master, then retire the old key with 'gatehouse vault retire-key'
and remove it from the keyring.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			say := func(format string, args ...any) {
				if !out.machine() {
					fmt.Fprintf(e.stdout, format, args...)
				}
			}
			if generate {
				path := os.Getenv(vault.EnvMasterKeyFile)
				if path == "" {
					return badInput("--generate needs %s (the keyring file to add the key to)", vault.EnvMasterKeyFile)
				}
				id, err := vault.AddKeyToFile(path)
				if err != nil {
					return &exitError{code: ExitInternal, err: err}
				}
				say("added master key %d to %s\n", id, path)
			}
			return withVault(cmd, &sf, e, time.Hour, func(ctx context.Context, v *vault.Vault) error {
				rep, err := v.RotateMaster(ctx, "system:cli")
				if err != nil {
					return &exitError{code: ExitInternal, err: err}
				}
				var n int64
				for _, c := range rep.Rewrapped {
					n += c
				}
				if out.machine() {
					if err := out.emit(e.stdout, map[string]any{"active": rep.Active, "rewrapped": n, "skipped": rep.Skipped, "unused": rep.Unused}); err != nil {
						return err
					}
				}
				say("re-wrapped %d data keys under master key %d\n", n, rep.Active)
				for id, why := range rep.Skipped {
					say("skipped data keys of master key %d: %s\n", id, why)
				}
				for _, id := range rep.Unused {
					say("master key %d wraps nothing now: retire it with 'gatehouse vault retire-key %d', then remove it from the keyring\n", id, id)
				}
				if len(rep.Skipped) > 0 {
					return silentExit(ExitInternal)
				}
				return nil
			})
		},
	}
	sf.register(cmd)
	cmd.Flags().BoolVar(&generate, "generate", false, "first append a new random key to $"+vault.EnvMasterKeyFile)
	addOutputFlag(cmd, &out)
	return cmd
}

func newVaultRetireCmd(e *env) *cobra.Command {
	var sf storeFlags
	var out output
	cmd := &cobra.Command{
		Use:   "retire-key ID",
		Short: "Mark a master key retired once no data key is wrapped by it (then remove it from the keyring)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[0], 10, 32)
			if err != nil || id == 0 {
				return badInput("key id %q is not a number from 1", args[0])
			}
			return withVault(cmd, &sf, e, 5*time.Minute, func(ctx context.Context, v *vault.Vault) error {
				if err := v.RetireKey(ctx, "system:cli", uint32(id)); err != nil {
					switch {
					case errors.Is(err, vault.ErrConflict):
						return &exitError{code: ExitConflict, err: err}
					case errors.Is(err, vault.ErrNotFound):
						return &exitError{code: ExitNotAllowed, err: err}
					}
					return &exitError{code: ExitInternal, err: err}
				}
				if out.machine() {
					return out.emit(e.stdout, map[string]uint64{"retired": id})
				}
				fmt.Fprintf(e.stdout, "retired master key %d; it can be removed from the keyring\n", id)
				return nil
			})
		},
	}
	sf.register(cmd)
	addOutputFlag(cmd, &out)
	return cmd
}
