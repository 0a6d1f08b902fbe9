#!/usr/bin/env bash
# Builds the Policy Engine's constitutional policy (services/policy-engine/policy, Rego) into
# services/policy-engine/policy.wasm, which is committed and loaded by the service with
# @open-policy-agent/opa-wasm.
#
#   bash scripts/build-policy.sh          lint, build, write services/policy-engine/policy.wasm
#   bash scripts/build-policy.sh --check  lint, build into a temp dir, fail when the committed
#                                         policy.wasm differs from the fresh build
#
# Lint = `opa fmt --list` (any file listed fails) and `opa check --strict`.
#
# Determinism: two builds of the same sources with the same OPA version give byte-identical
# policy.wasm (checked with repeated builds), so --check compares the wasm bytes themselves.
# Two inputs do change the bytes and are therefore pinned here:
#   - the OPA version (the compiler and its wasm runtime are part of the module): the script
#     requires OPA_VERSION, the same version scripts/provision.sh installs;
#   - the path the sources are loaded from: the module embeds file names for its error
#     locations, so the build always runs from the repository root with the relative path.
set -euo pipefail

OPA_VERSION=1.22.3
POLICY_DIR=services/policy-engine/policy
WASM_OUT=services/policy-engine/policy.wasm
ENTRYPOINTS=(acgs/main/decision acgs/main/allow acgs/main/health)

die() {
  printf 'build-policy: %s\n' "$*" >&2
  exit 1
}

mode=build
case "${1:-}" in
  '') ;;
  --check) mode=check ;;
  -h | --help)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (usage: build-policy.sh [--check])" ;;
esac

# Find opa: PATH first, then where `go install` puts it.
opa_bin=$(command -v opa || true)
if [ -z "$opa_bin" ] && command -v go >/dev/null 2>&1; then
  gobin="$(go env GOPATH 2>/dev/null)/bin/opa"
  [ -x "$gobin" ] && opa_bin=$gobin
fi
[ -n "$opa_bin" ] || die "the OPA CLI was not found on PATH or in \$(go env GOPATH)/bin;" \
  "install it with: GOBIN=/usr/local/bin go install github.com/open-policy-agent/opa@v$OPA_VERSION" \
  "(or run: bash scripts/provision.sh)"

found_version=$("$opa_bin" version 2>/dev/null | sed -n 's/^Version: *//p')
[ "$found_version" = "$OPA_VERSION" ] || die "$opa_bin is OPA ${found_version:-of unknown version};" \
  "the committed policy.wasm is built with OPA $OPA_VERSION, and another version compiles" \
  "different bytes. Install it with: GOBIN=/usr/local/bin go install github.com/open-policy-agent/opa@v$OPA_VERSION"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d "$POLICY_DIR" ] || die "$POLICY_DIR not found"

# Lint.
unformatted=$("$opa_bin" fmt --list "$POLICY_DIR")
if [ -n "$unformatted" ]; then
  printf '%s\n' "$unformatted" >&2
  die "the Rego files above are not formatted: run opa fmt -w $POLICY_DIR"
fi
"$opa_bin" check --strict "$POLICY_DIR" || die "opa check --strict failed (see above)"

# Build. Tests (*_test.rego and the fixtures, a _test package) stay out of the module. The
# policy reads no data files: the wasm carries no data, and the host sets the whole data
# document ({runtime: ...}) with setData.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
entrypoint_args=()
for e in "${ENTRYPOINTS[@]}"; do entrypoint_args+=(-e "$e"); done
"$opa_bin" build -t wasm "${entrypoint_args[@]}" \
  --ignore '*_test.rego' \
  -o "$tmp/bundle.tar.gz" "$POLICY_DIR" || die "opa build failed (see above)"
# The bundle stores the module as /policy.wasm; tar drops the leading slash on extraction
# (GNU tar says so on stderr, which is kept out of the output).
tar -xzf "$tmp/bundle.tar.gz" -C "$tmp" /policy.wasm 2>"$tmp/tar.log" ||
  die "could not extract /policy.wasm from the bundle: $(cat "$tmp/tar.log")"
[ -s "$tmp/policy.wasm" ] || die "the bundle built by opa has an empty /policy.wasm"

if [ "$mode" = check ]; then
  [ -f "$WASM_OUT" ] || die "$WASM_OUT is missing: run npm run policy:build"
  cmp -s "$tmp/policy.wasm" "$WASM_OUT" || die "policy.wasm is stale: run npm run policy:build"
  echo "build-policy: $WASM_OUT is up to date (OPA $OPA_VERSION, $(wc -c <"$WASM_OUT") bytes)"
else
  cp "$tmp/policy.wasm" "$WASM_OUT.tmp"
  chmod 644 "$WASM_OUT.tmp"
  mv "$WASM_OUT.tmp" "$WASM_OUT"
  echo "build-policy: wrote $WASM_OUT (OPA $OPA_VERSION, $(wc -c <"$WASM_OUT") bytes)"
fi
