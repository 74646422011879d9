package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/console"
)

// consoleBase is where people reach the console: the configured public
// URL, else the listener's.
func consoleBase(publicURL, base string) string {
	if publicURL != "" {
		return strings.TrimRight(publicURL, "/")
	}
	return base
}

// printConsoleLink prints the console's address and, for the owner of the
// demo org, a one-time sign-in link (serve --dev only).
func printConsoleLink(ctx context.Context, w io.Writer, con *console.Console, base, ownerKey string, log *slog.Logger) {
	link, err := con.SignInLink(ctx, ownerKey)
	if err != nil {
		log.Warn("console: no one-time sign-in link", "err", err)
		fmt.Fprintf(w, "The web console: %s%s (sign in with the owner's key)\n\n", base, console.Prefix)
		return
	}
	fmt.Fprintf(w, "The web console: %s%s\nSign in as the owner with this one-time link (one use, 15 minutes):\n\n    %s%s\n\n", base, console.Prefix, base, link)
}
