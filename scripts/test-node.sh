#!/usr/bin/env bash
# The README's test command again, on another Node.js LTS line (`.ci/run` runs it for 22 and 24
# after `npm test`, which runs on the machine's Node 20): the node of scripts/provision-node.sh
# goes first on PATH, so vitest, tsc, every child process the tests spawn (process.execPath, npx,
# tsx) and the acgs-test/node image that provisioning rebuilds from the host's node all run that
# line. The node_modules of `npm ci` are used as they are. Extra arguments go to vitest, as for
# `npm test`.
#
# Usage: scripts/test-node.sh 22|24 [vitest arguments...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

line="${1:-}"
shift || true
node_bin=$(bash scripts/provision-node.sh "$line")
export PATH="$node_bin:$PATH"
printf '\n==> the suite on Node.js %s (%s)\n' "$(node --version)" "$(command -v node)"
# Release image builds are Docker's work (about two minutes each on this machine, three per run):
# they run once per CI, on the machine's Node line in `npm test`, not again on every line. So do
# the deploy and rollback runbooks' rollouts (several minutes of services started and replaced,
# one after another); the local stack's own deploy suite still runs on every line. The runbooks on
# the Docker stack do both: three release builds, then containers replaced on vfs for minutes.
# Every deploy runbook suite is one of these (runbooks/deploy/deploy-*.test.ts, rollback.test.ts, rollback-re*.test.ts);
# the runbooks' pure parts (plans, records, the watch) still run on every line.
exec bash scripts/test.sh --exclude test/stack/releases-docker.test.ts --exclude 'runbooks/deploy/deploy-*.test.ts' --exclude runbooks/deploy/rollback.test.ts --exclude 'runbooks/deploy/rollback-re*.test.ts' "$@"
