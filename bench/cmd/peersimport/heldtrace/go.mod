module heldtrace

go 1.26.0

require golang.org/x/exp v0.0.0-20261109185158-a52e3aef5920
