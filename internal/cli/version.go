package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version, Commit and Date are stamped at build time:
//
//	go build -ldflags "-X github.com/gatehouse-dev/gatehouse/internal/cli.Version=v1.2.3 \
//	  -X github.com/gatehouse-dev/gatehouse/internal/cli.Commit=$(git rev-parse HEAD) \
//	  -X github.com/gatehouse-dev/gatehouse/internal/cli.Date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
//
// (scripts/release.sh and the Dockerfile do). Unstamped, they come from
// the module and VCS information Go records in the binary (go install
// ./cmd/gatehouse), else "dev". Version is also reported by /healthz.
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// buildInfo is what `gatehouse version` prints.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

func init() {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if Commit == "" {
				Commit = s.Value
			}
		case "vcs.time":
			if Date == "" {
				Date = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
}

// modified: the binary was built from a work tree with changes.
var modified bool

func currentBuild() buildInfo {
	return buildInfo{Version: Version, Commit: Commit, Date: Date, Modified: modified && Commit != "",
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}

// versionLine is the one line --version prints.
func versionLine() string {
	b := currentBuild()
	s := "gatehouse " + b.Version
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if b.Modified {
			c += "-dirty"
		}
		s += " (commit " + c + ")"
	}
	return s + " " + b.GoVersion + " " + b.Platform
}

func newVersionCmd(e *env) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if out.machine() {
				return out.emit(e.stdout, currentBuild())
			}
			_, err := fmt.Fprintln(e.stdout, versionLine())
			return err
		},
	}
	addOutputFlag(cmd, &out)
	return cmd
}
