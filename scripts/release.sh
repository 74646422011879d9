#!/bin/sh
# Builds release binaries for linux and darwin on amd64 and arm64 into
# dist/ (or $DIST), with SHA256SUMS, each built by scripts/build.sh:
#
#   VERSION=v1.2.3 scripts/release.sh
#
# Check a download with: sha256sum -c --ignore-missing SHA256SUMS
set -eu
cd "$(dirname "$0")/.."
dist=${DIST:-dist}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}
DATE=${DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
export VERSION COMMIT DATE
rm -rf "$dist"
mkdir -p "$dist"
for os in linux darwin; do
  for arch in amd64 arm64; do
    name="gatehouse_${VERSION}_${os}_${arch}"
    echo "building $name"
    GOOS=$os GOARCH=$arch scripts/build.sh "$dist/$name"
  done
done
cd "$dist"
if command -v sha256sum >/dev/null 2>&1; then
  sha256sum gatehouse_* > SHA256SUMS
else
  shasum -a 256 gatehouse_* > SHA256SUMS
fi
cat SHA256SUMS
