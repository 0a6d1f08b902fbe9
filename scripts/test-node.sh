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
# What this line leaves to the machine's line (`npm test`, once per CI), because its subject is not
# Node's but the Docker Engine's or a long rollout's, and a Node line changes nothing there:
# - the suites on the Docker Engine: every test file using its harnesses (test/testing/docker*.ts,
#   the sandbox controller's docker-kit), found by their imports so a new one is left out too.
#   Release image builds (about two minutes each) and containers replaced on vfs are most of it;
# - the deploy and rollback runbooks' rollouts (several minutes of services started and replaced,
#   one after another): runbooks/deploy/deploy-*.test.ts, rollback.test.ts, rollback-re*.test.ts,
#   abort-during-*.test.ts, and the same in Slack (test/commands/commands-deploy-slack.test.ts).
#   The local stack's own deploy suite and the runbooks' pure parts (plans, records, the watch)
#   still run on a newer line, as does everything else (below);
# - the backup, restore and DR test runbooks' suites on the local stack (backup-embedded,
#   restore-embedded, dr-test): each starts its own stacks and spends minutes in pg_dump, PGlite
#   and the services' restarts, the same on every line; npm start's end-to-end suite, which every
#   line runs, backs up and restores its embedded databases through the console itself;
# - the local stack's own suites beyond npm start's end-to-end one: its supervision after a kill,
#   crash alerts, the monitor and Level 1 on it, its deploy and releases, the CLI against it, PGlite
#   dumps and data-directory swaps, the run engine's SIGKILL recovery, the high-latency runbook's
#   scale-up, the emergency runbooks (on the local stack and through npm start's console), and the
#   suites on Debian's Prometheus and Alertmanager binaries. They spend minutes
#   starting stacks and waiting on timers that are the same on every line, while npm start's
#   end-to-end suite, which every line runs, starts the same processes on it;
# - the static checks (ACGS_TEST_SUITE_ONLY, scripts/test.sh).
mapfile -t docker_suites < <(grep -rlE "testing/(docker|docker-target|docker-releases|docker-kit)\.js" --include='*.test.ts' bot commands runbooks services test | sort)
left_to_machine_line=("${docker_suites[@]}" 'runbooks/deploy/deploy-*.test.ts' runbooks/deploy/rollback.test.ts 'runbooks/deploy/rollback-re*.test.ts' 'runbooks/deploy/abort-during-*.test.ts' test/commands/commands-deploy-slack.test.ts runbooks/backup/backup-embedded.test.ts runbooks/backup/restore-embedded.test.ts runbooks/dr-test/dr-test.test.ts \
  test/start/start-kill-resume.test.ts 'test/alerts/*-local-stack.test.ts' test/stack/stack-local-deploy.test.ts test/stack/releases-local.test.ts \
  test/cli/cli-local-stack.test.ts services/stack/local/embedded-postgres-swap.test.ts services/stack/backup/pglite-dump.test.ts \
  runbooks/engine/crash.test.ts test/runbooks/high-latency-scale.test.ts 'test/prometheus/*.test.ts' \
  test/runbooks/emergency-runbooks.test.ts test/start/start-emergency-console.test.ts)
# The newer lines share the rest: in path order, every other suite runs on Node 22 and the others
# on Node 24, so each suite runs on the machine's line and on one newer line, and CI pays for one
# newer line's run instead of two (about 8 minutes on the 2-core machine). npm start's end-to-end
# suite, a new user's first contact and the likeliest to meet a Node difference (the loader, tsx,
# PGlite, child processes), runs on both.
every_line=(test/start/start-local.test.ts)
excluded=()
for suite in "${left_to_machine_line[@]}"; do excluded+=(--exclude "$suite"); done
shared=()
while IFS= read -r file; do
  for pattern in "${left_to_machine_line[@]}" "${every_line[@]}"; do
    # shellcheck disable=SC2053 # the pattern is a glob on purpose
    [[ $file == $pattern ]] && continue 2
  done
  shared+=("$file")
done < <(find bot commands runbooks services test -name '*.test.ts' | sort)
# Run by hand with vitest arguments (`npm run test:node22 -- bot/slack`), or on a line CI does not
# run, a line takes the whole share: the arguments choose.
half=-1
if [ "$#" -eq 0 ]; then
  case "$line" in
    22) half=0 ;;
    24) half=1 ;;
  esac
fi
for index in "${!shared[@]}"; do
  if [ "$half" -ge 0 ] && [ $((index % 2)) -ne "$half" ]; then excluded+=(--exclude "${shared[$index]}"); fi
done
printf "==> left to npm test on the machine's Node line: %d Docker Engine suites, the rollout suites and the local stack's own long suites\n" "${#docker_suites[@]}"
[ "$half" -ge 0 ] && printf '==> Node %s runs %d of the %d suites the newer lines share, and %s\n' "$line" $(( (${#shared[@]} + 1 - half) / 2 )) "${#shared[@]}" "${every_line[*]}"
ACGS_TEST_SUITE_ONLY=1 exec bash scripts/test.sh "${excluded[@]}" "$@"
