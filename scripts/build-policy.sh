#!/usr/bin/env bash
# Builds both policy sets from Rego into committed wasm modules loaded in-process with
# @open-policy-agent/opa-wasm:
#   - the Policy Engine's constitution: services/policy-engine/policy -> services/policy-engine/policy.wasm
#   - the bot's authorization:          bot/authorization/policy      -> bot/authorization/policy.wasm
#
#   bash scripts/build-policy.sh          lint, build, write both policy.wasm files
#   bash scripts/build-policy.sh --check  lint, build into a temp dir, fail when a committed
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
# One line per policy set: source directory, wasm output, entrypoints (space-separated).
POLICY_SETS=(
  "services/policy-engine/policy|services/policy-engine/policy.wasm|acgs/main/decision acgs/main/allow acgs/main/health"
  "bot/authorization/policy|bot/authorization/policy.wasm|acgs/chatops/decision"
)

die() {
  printf 'build-policy: %s\n' "$*" >&2
  exit 1
}

mode=build
case "${1:-}" in
  '') ;;
  --check) mode=check ;;
  -h | --help)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Lints and builds one policy set; in check mode compares, otherwise writes its wasm.
build_set() {
  local policy_dir=$1 wasm_out=$2 entrypoints=$3 work
  [ -d "$policy_dir" ] || die "$policy_dir not found"

  # Lint.
  local unformatted
  unformatted=$("$opa_bin" fmt --list "$policy_dir")
  if [ -n "$unformatted" ]; then
    printf '%s\n' "$unformatted" >&2
    die "the Rego files above are not formatted: run opa fmt -w $policy_dir"
  fi
  "$opa_bin" check --strict "$policy_dir" || die "opa check --strict $policy_dir failed (see above)"

  # Build. Tests (*_test.rego and fixtures in _test packages) stay out of the module. Neither
  # policy reads data files at build time: the wasm carries no data, and the host sets the
  # whole data document with setData ({runtime: ...} for the constitution, {authorization:
  # ...} for the bot, from bot/authorization/defaults.json and the config file).
  work="$tmp/$(printf '%s' "$policy_dir" | tr '/' '_')"
  mkdir -p "$work"
  local entrypoint_args=() e
  for e in $entrypoints; do entrypoint_args+=(-e "$e"); done
  "$opa_bin" build -t wasm "${entrypoint_args[@]}" \
    --ignore '*_test.rego' \
    -o "$work/bundle.tar.gz" "$policy_dir" || die "opa build $policy_dir failed (see above)"
  # The bundle stores the module as /policy.wasm; tar drops the leading slash on extraction
  # (GNU tar says so on stderr, which is kept out of the output).
  tar -xzf "$work/bundle.tar.gz" -C "$work" /policy.wasm 2>"$work/tar.log" ||
    die "could not extract /policy.wasm from the bundle of $policy_dir: $(cat "$work/tar.log")"
  [ -s "$work/policy.wasm" ] || die "the bundle built by opa from $policy_dir has an empty /policy.wasm"

  if [ "$mode" = check ]; then
    [ -f "$wasm_out" ] || die "$wasm_out is missing: run npm run policy:build"
    cmp -s "$work/policy.wasm" "$wasm_out" || die "$wasm_out is stale: run npm run policy:build"
    echo "build-policy: $wasm_out is up to date (OPA $OPA_VERSION, $(wc -c <"$wasm_out") bytes)"
  else
    cp "$work/policy.wasm" "$wasm_out.tmp"
    chmod 644 "$wasm_out.tmp"
    mv "$wasm_out.tmp" "$wasm_out"
    echo "build-policy: wrote $wasm_out (OPA $OPA_VERSION, $(wc -c <"$wasm_out") bytes)"
  fi
}

for set in "${POLICY_SETS[@]}"; do
  IFS='|' read -r policy_dir wasm_out entrypoints <<<"$set"
  build_set "$policy_dir" "$wasm_out" "$entrypoints"
done
