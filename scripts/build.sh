#!/bin/sh
# Builds the gatehouse binary the one way the Dockerfile, scripts/release.sh
# and CI (.ci/run) build it: static (CGO_ENABLED=0; the SQLite driver is
# pure Go), -trimpath, stripped, the version stamped into internal/cli.
#
#   scripts/build.sh [OUT]            (default ./gatehouse)
#
# VERSION, COMMIT and DATE override what git says (the Docker build has no
# .git); GOOS and GOARCH cross-compile.
set -eu
out=${1:-gatehouse}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}
date=${DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
pkg=github.com/gatehouse-dev/gatehouse/internal/cli
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit -X $pkg.Date=$date" \
  -o "$out" ./cmd/gatehouse
