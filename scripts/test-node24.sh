#!/usr/bin/env bash
# The README's test command again, on Node.js 24 LTS (`.ci/run` runs it after `npm test`, which
# runs on the machine's Node 20): the node of scripts/provision-node24.sh goes first on PATH, so
# vitest, tsc, every child process the tests spawn (process.execPath, npx, tsx) and the
# acgs-test/node image that provisioning rebuilds from the host's node all run Node 24. The
# node_modules of `npm ci` are used as they are. Extra arguments go to vitest, as for `npm test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

node24_bin=$(bash scripts/provision-node24.sh)
export PATH="$node24_bin:$PATH"
printf '\n==> the suite on Node.js %s (%s)\n' "$(node --version)" "$(command -v node)"
exec bash scripts/test.sh "$@"
