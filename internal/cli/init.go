package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// masterKeyringFile is where init creates the master keyring when none is
// configured.
func masterKeyringFile(data string) string { return filepath.Join(data, "master-keyring") }

// initResult is what init prints with -o json or yaml.
type initResult struct {
	User  string            `json:"user"`
	Org   string            `json:"org,omitempty"`
	Store string            `json:"store"`
	Token string            `json:"token"`
	Files map[string]string `json:"files"`
	// Env is what serve needs in its environment to find the keys.
	Env map[string]string `json:"env,omitempty"`
}

func newInitCmd(e *env) *cobra.Command {
	var (
		sf       storeFlags
		userID   string
		email    string
		org      string
		template string
		keyFile  string
		ifEmpty  bool
		out      output
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Set up an empty store: the keys serve needs, the first user, its API key",
		Long: `Set up a new deployment in one command (SQLite in --data, or PostgreSQL with
--database or GATEHOUSE_DATABASE_URL). It refuses a store that already has
data. It creates, unless they exist or are configured:

  the master keyring    <data>/master-keyring      (unless GATEHOUSE_MASTER_KEY_FILE or
                                                    GATEHOUSE_MASTER_KEY is set)
  the session keys      <data>/session-keys.json   (--session-keys; unless GATEHOUSE_SESSION_KEYS)
  the audit signing key <data>/audit-key.pem       (unless GATEHOUSE_AUDIT_KEY)

each mode 0600 and never overwritten, then the first user with a personal
API key (printed once) and, with --org, an org it owns. It prints where each
file is and the serve command that uses them. Every replica of a PostgreSQL
deployment needs the same three files (or variables); keep them out of the
database's backups.`,
		Example: `  gatehouse init --database postgres://gatehouse@db/gatehouse --data /var/lib/gatehouse --org acme`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			if org != "" {
				if _, err := templates.Source(template); err != nil {
					return badInput("--template: %v", err)
				}
			}
			data, err := filepath.Abs(sf.data)
			if err != nil {
				return badInput("--data: %v", err)
			}
			sf.data = data
			st, where, err := sf.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			isFresh, err := fresh(ctx, st)
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			if !isFresh {
				if ifEmpty {
					fmt.Fprintf(e.stderr, "gatehouse: the store %s already has data: nothing to do (--if-empty)\n", where)
					return nil
				}
				return badInput("the store %s already has data; init only sets up an empty one", where)
			}
			res := initResult{Store: where, Files: map[string]string{}, Env: map[string]string{}}
			if err := initMasterKeyring(data, &res); err != nil {
				return err
			}
			if keyFile == "" {
				keyFile = filepath.Join(data, "session-keys.json")
			}
			keys, err := sessionKeys(keyFile, true, log)
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			if os.Getenv("GATEHOUSE_SESSION_KEYS") == "" {
				res.Files["session_keys"] = keyFile
				if keyFile != filepath.Join(data, "session-keys.json") {
					res.Env[envName("session-keys")] = keyFile
				}
			}
			if _, err := loadAuditSigner(data, ""); errors.Is(err, audit.ErrNoKey) {
				if _, err := audit.WriteNewKey(auditKeyFile(data)); err != nil {
					return &exitError{code: ExitInternal, err: err}
				}
			} else if err != nil {
				return badInput("audit key: %v", err)
			}
			if os.Getenv(audit.KeyEnv) == "" {
				res.Files["audit_key"] = auditKeyFile(data)
			}
			// Its entries carry MACs and are checkpointed, as serve's: the
			// checkpointer signs nothing it cannot authenticate.
			alog, err := openAuditLog(st, data, false, log)
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			dir, err := directory.Open(ctx, st, authz.New(), directory.Options{Logger: log, Audit: alog})
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			defer dir.Close()
			as := auth.New(st, dir, keys, auth.Options{Logger: log})
			defer as.Close()
			u, key, err := as.Bootstrap(ctx, store.User{ID: userID, Email: email}, "init")
			if err != nil {
				if errors.Is(err, directory.ErrInvalid) {
					return badInput("%v", err)
				}
				return &exitError{code: ExitInternal, err: err}
			}
			res.User, res.Token = u.ID, key
			if org != "" {
				actor := directory.Actor{Principal: authz.KindUser + ":" + u.ID}
				if _, _, err := dir.CreateOrg(ctx, actor, directory.OrgSpec{ID: org, Template: template}); err != nil {
					return badInput("create org: %v", err)
				}
				res.Org = org
			}
			if out.machine() {
				return out.emit(e.stdout, res)
			}
			printInit(e, res, template, data, sf.postgresURL() != "")
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&userID, "user", "admin", "the first user's id")
	cmd.Flags().StringVar(&email, "email", "", "the first user's email")
	cmd.Flags().StringVar(&org, "org", "", "also create this org, owned by the user")
	cmd.Flags().StringVar(&template, "template", templates.Default, "template of --org")
	cmd.Flags().StringVar(&keyFile, "session-keys", "", "session signing key file to create (default <data>/session-keys.json)")
	cmd.Flags().BoolVar(&ifEmpty, "if-empty", false, "succeed doing nothing when the store already has data (a container's init step)")
	addOutputFlag(cmd, &out)
	return cmd
}

// initMasterKeyring checks the configured master keyring, or creates
// <data>/master-keyring (or reuses the one an interrupted init left).
func initMasterKeyring(data string, res *initResult) error {
	if os.Getenv(vault.EnvMasterKeyFile) != "" || os.Getenv(vault.EnvMasterKey) != "" {
		if _, err := vault.LoadKeyring(vault.KeyringOptions{}); err != nil {
			return badInput("master keyring: %v", err)
		}
		return nil
	}
	path := masterKeyringFile(data)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		k, err := vault.GenerateKey()
		if err != nil {
			return &exitError{code: ExitInternal, err: err}
		}
		text := vault.FormatKeyring(map[uint32][]byte{1: k})
		clear(k)
		if err := atomicfile.Create(path, []byte(text), 0o600); err != nil {
			return &exitError{code: ExitInternal, err: fmt.Errorf("master keyring: %w", err)}
		}
	}
	res.Files["master_keyring"] = path
	res.Env[vault.EnvMasterKeyFile] = path
	return nil
}

func printInit(e *env, res initResult, template, data string, postgres bool) {
	fmt.Fprintf(e.stdout, "Created user %q in %s", res.User, res.Store)
	if res.Org != "" {
		fmt.Fprintf(e.stdout, " as owner of org %q (template %s)", res.Org, template)
	}
	fmt.Fprintln(e.stdout, ".")
	if len(res.Files) > 0 {
		fmt.Fprintln(e.stdout, "\nKeys (mode 0600; keep them out of the database's backups; every replica needs the same ones):")
		for _, k := range []string{"master_keyring", "session_keys", "audit_key"} {
			if p, ok := res.Files[k]; ok {
				fmt.Fprintf(e.stdout, "    %-15s %s\n", k, p)
			}
		}
	}
	fmt.Fprintln(e.stdout, "\nStart the server with:")
	fmt.Fprint(e.stdout, "\n   ")
	for _, k := range []string{vault.EnvMasterKeyFile, envName("session-keys")} {
		if v, ok := res.Env[k]; ok {
			fmt.Fprintf(e.stdout, " %s=%s", k, v)
		}
	}
	fmt.Fprintf(e.stdout, " gatehouse serve --data %s", data)
	if postgres {
		fmt.Fprint(e.stdout, ` --database "$GATEHOUSE_DATABASE_URL"`)
	}
	fmt.Fprintf(e.stdout, "\n\nThe user's API key (shown once, stored only as a hash):\n\n    export GATEHOUSE_TOKEN=%s\n", res.Token)
}
