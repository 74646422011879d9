// Command gatehouse is the Gatehouse CLI and server. It is thin: the
// command tree and all logic live in internal/cli and the packages below.
package main

import (
	"os"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
