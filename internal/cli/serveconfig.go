package cli

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	yaml "go.yaml.in/yaml/v3"
)

// Settings of long-running commands (serve, init) come from, highest
// first: the command line, a GATEHOUSE_* environment variable (envName),
// the YAML file --config (or $GATEHOUSE_CONFIG) names, the default. The
// file's keys are the flag names (addr, database, log-level,
// trusted-proxy: [10.0.0.0/8], ...); an unknown key is bad input, so a
// misspelt setting is never silently ignored.

// envExceptions are flags whose variable is not GATEHOUSE_<FLAG>: the
// names existed before, or GATEHOUSE_<FLAG> already means something else
// (GATEHOUSE_SESSION_KEYS holds the keys themselves, not a file name).
var envExceptions = map[string]string{
	"database":     "GATEHOUSE_DATABASE_URL",
	"session-keys": "GATEHOUSE_SESSION_KEYS_FILE",
}

// envName is the variable of a flag: GATEHOUSE_ and the name in upper
// case with - as _.
func envName(flag string) string {
	if v, ok := envExceptions[flag]; ok {
		return v
	}
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// withSettings gives cmd --config and a variable for every flag (named in
// its usage), applied before cmd's own PreRunE.
func withSettings(cmd *cobra.Command) *cobra.Command {
	var file string
	cmd.Flags().StringVar(&file, "config", "", "YAML file of settings, keyed by flag name")
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		f.Usage += " [$" + envName(f.Name) + "]"
	})
	next := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if err := applySettings(c.Flags(), file); err != nil {
			return err
		}
		if next != nil {
			return next(c, args)
		}
		return nil
	}
	return cmd
}

// applySettings sets every flag not given on the command line from its
// variable, else from the config file.
func applySettings(fs *pflag.FlagSet, file string) error {
	if file == "" && !fs.Changed("config") {
		file = os.Getenv(envName("config"))
	}
	conf := map[string]any{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return badInput("--config: %v", err)
		}
		if err := yaml.Unmarshal(b, &conf); err != nil {
			return badInput("--config %s: %v", file, err)
		}
		var unknown []string
		for k := range conf {
			norm := strings.ReplaceAll(k, "_", "-")
			if norm != k {
				conf[norm] = conf[k]
				delete(conf, k)
			}
			if f := fs.Lookup(norm); f == nil || norm == "config" || norm == "help" {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return badInput("--config %s: unknown setting(s) %s; the keys are the flag names (gatehouse serve --help)", file, strings.Join(unknown, ", "))
		}
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		src, val, ok := "$"+envName(f.Name), os.Getenv(envName(f.Name)), false
		if val != "" {
			ok = true
		} else if v, in := conf[f.Name]; in {
			src, val, ok = "--config "+file+": "+f.Name, settingText(v), true
		}
		if !ok {
			return
		}
		if serr := fs.Set(f.Name, val); serr != nil {
			err = badInput("%s: %v", src, serr)
		}
	})
	return err
}

// settingText renders a YAML value as the flag syntax: lists joined by
// commas, the rest as written.
func settingText(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, ",")
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
