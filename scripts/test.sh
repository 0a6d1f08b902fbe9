#!/usr/bin/env bash
# THE test command (`npm test`; `.ci/run` runs it after `npm ci`): provisions the real components
# the suite uses, then runs every check in order. Extra arguments go to vitest, e.g.
# `npm test -- services/policy-engine`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "provision: PostgreSQL, Redis, OPA, Docker Engine, Chromium, Prometheus, Alertmanager, test images (scripts/provision.sh)"
bash scripts/provision.sh </dev/null

# No suite skips: a test that needs PostgreSQL, Redis or the Docker Engine fails with a message
# naming the component when it is missing (test/testing/*), and provisioning above makes them present.
# The engine and its tools may live in sbin/go directories that non-login shells miss.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin"

# The other Node lines (scripts/test-node.sh) set ACGS_TEST_SUITE_ONLY=1: the static checks below
# give the same answer whichever Node runs them (the compiler, the dependency rules, OPA and
# compose are not Node code or do not depend on its line), so they run once per CI, here.
if [ "${ACGS_TEST_SUITE_ONLY:-0}" != "1" ]; then
step "typecheck (tsc --noEmit)"
npx tsc --noEmit

# bot/ -> runbooks/ -> commands/ -> services/, no Slack outside bot/slack/, no cycles (.dependency-cruiser.cjs).
step "dependency rules (npm run deps:check)"
npm run --silent deps:check

step "both policy wasm modules are built from the committed Rego (scripts/build-policy.sh --check)"
bash scripts/build-policy.sh --check

step "Rego tests (opa test services/policy-engine/policy)"
opa test services/policy-engine/policy

# The authorization tests read the committed defaults as data.authorization, as the bot does.
step "Rego tests (opa test bot/authorization/policy with bot/authorization/defaults.json)"
opa test bot/authorization/policy authorization:bot/authorization/defaults.json

step "compose file is valid (docker-compose -f docker-compose.yml config -q)"
# The compose file requires ACGS_ADMIN_TOKEN and ACGS_SERVICE_TOKEN; validation needs some value,
# not a real secret (compose checks only that they are set; the services check their length).
ACGS_ADMIN_TOKEN="${ACGS_ADMIN_TOKEN:-compose-validation-only}" REDIS_PASSWORD="${REDIS_PASSWORD:-compose-validation-only}" ACGS_SERVICE_TOKEN="${ACGS_SERVICE_TOKEN:-compose-validation-only}" \
  docker-compose -f docker-compose.yml config -q
fi

step "vitest${*:+ ($*)}"
results="$(mktemp -t acgs-vitest-XXXXXX.json)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain closing line that CI reads: how many tests ran and how they ended.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + (r.numTodoTests || 0);
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" || echo "vitest: no results (the run did not complete)"
rm -f "$results"
exit "$status"
