//go:build !wip

// Package cli is the gatehouse command tree. (Being assembled: the real
// files carry the wip build tag until the packages they call exist.)
package cli

import "io"

// Main runs the CLI.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 3 }
