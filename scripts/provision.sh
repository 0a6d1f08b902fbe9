#!/usr/bin/env bash
# Makes sure the real components the tests use are there and answering (../DESIGN.md section 5):
#
#   postgres  PostgreSQL on 127.0.0.1:5432 (the Debian cluster is started if it is down; nothing
#             is installed)
#   redis     Redis on 127.0.0.1:6379 (started without persistence if it is down)
#   opa       OPA CLI v1.22.3 on PATH (installed with `go install` into /usr/local/bin if missing)
#   docker    a Docker Engine (Debian's docker.io, docker-compose, runsc and busybox-static are
#             installed with apt-get when missing; runsc is registered as runtime "runsc";
#             dockerd is started in the background, logging to /var/log/acgs-dockerd.log, on
#             the overlay2 storage driver where the kernel allows it, else vfs)
#   images    the local test images (scripts/build-test-images.sh, build-prometheus-images.sh)
#   chromium  Debian's chromium at /usr/bin/chromium, for the console's browser test (installed
#             with apt-get when missing; playwright-core drives it, it downloads no browser)
#   prometheus    Debian's prometheus (prometheus, promtool) and prometheus-alertmanager
#   alertmanager  (prometheus-alertmanager, amtool) for the alert tests, installed with apt-get
#                 when missing; their services are never started (the tests run their own)
#
# Idempotent and quick when everything is already there. Prints one line per component; any
# failure exits non-zero with a message naming the component. Needs root only for what it has
# to start or install. Concurrent runs are serialized with a lock file.
set -euo pipefail

OPA_VERSION=1.22.3
DOCKERD_LOG=/var/log/acgs-dockerd.log
APT_LOG=/var/log/acgs-provision-apt.log
DOCKER_DAEMON_JSON=/etc/docker/daemon.json
LOCK_FILE=/tmp/acgs-provision.lock

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# dockerd lives in /usr/sbin and go in /usr/local/go/bin: non-login shells may miss them.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin"
export DEBIAN_FRONTEND=noninteractive

started_at=$(date +%s%N)
say() { printf 'provision: %-9s %s\n' "$1" "$2"; }
die() {
  printf 'provision: %-9s FAILED: %s\n' "$1" "$2" >&2
  exit 1
}
# wait_for <seconds> <command...>: retries the command every 0.5 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# Daemons started below must not inherit fd 9 (9>&-), or they would hold the lock forever.
exec 9>"$LOCK_FILE"
flock -w 300 9 || die lock "another provisioning run holds $LOCK_FILE for more than 300 s"

# --- PostgreSQL -------------------------------------------------------------------------------
postgres_answers() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432 -t 2
  else
    timeout 2 bash -c '</dev/tcp/127.0.0.1/5432'
  fi
}
if postgres_answers; then
  say postgres "ok (127.0.0.1:5432)"
else
  command -v pg_ctlcluster >/dev/null 2>&1 ||
    die postgres "nothing answers on 127.0.0.1:5432 and no PostgreSQL cluster is installed (pg_ctlcluster missing)"
  pg_version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$pg_version" ] || die postgres "nothing answers on 127.0.0.1:5432 and /etc/postgresql has no cluster"
  pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start </dev/null >/dev/null 2>&1 9>&- || true
  wait_for 30 postgres_answers ||
    die postgres "cluster $pg_version/main did not answer on 127.0.0.1:5432 within 30 s (see /var/log/postgresql/postgresql-$pg_version-main.log)"
  say postgres "ok (127.0.0.1:5432, started cluster $pg_version/main)"
fi

# --- Redis ------------------------------------------------------------------------------------
redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(timeout 2 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]
  else
    timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379 && printf "PING\r\n" >&3 && read -r line <&3 && [[ $line == +PONG* ]]'
  fi
}
if redis_answers; then
  say redis "ok (127.0.0.1:6379)"
else
  command -v redis-server >/dev/null 2>&1 || die redis "nothing answers on 127.0.0.1:6379 and redis-server is not installed"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log </dev/null >/dev/null 9>&- ||
    die redis "redis-server failed to start (see /var/log/redis/ci.log)"
  wait_for 15 redis_answers || die redis "started but does not answer PING on 127.0.0.1:6379 within 15 s (see /var/log/redis/ci.log)"
  say redis "ok (127.0.0.1:6379, started)"
fi

# --- OPA CLI ----------------------------------------------------------------------------------
opa_version() { opa version 2>/dev/null | awk '/^Version:/ { print $2 }'; }
if [ "$(opa_version)" = "$OPA_VERSION" ]; then
  say opa "ok (v$OPA_VERSION, $(command -v opa))"
else
  command -v go >/dev/null 2>&1 || die opa "OPA v$OPA_VERSION is not on PATH and there is no Go toolchain to install it"
  echo "provision: opa       installing v$OPA_VERSION with go install (takes a few minutes) ..." >&2
  GOBIN=/usr/local/bin go install "github.com/open-policy-agent/opa@v$OPA_VERSION" </dev/null >&2 ||
    die opa "go install github.com/open-policy-agent/opa@v$OPA_VERSION failed"
  hash -r
  [ "$(opa_version)" = "$OPA_VERSION" ] ||
    die opa "installed into /usr/local/bin but \`opa version\` on PATH reports '$(opa_version)' ($(command -v opa || echo 'not on PATH'))"
  say opa "ok (v$OPA_VERSION, installed into /usr/local/bin)"
fi

# --- Docker Engine ----------------------------------------------------------------------------
docker_answers() { timeout 10 docker info >/dev/null 2>&1; }
docker_runtimes() { timeout 10 docker info --format '{{ range $name, $_ := .Runtimes }}{{ $name }} {{ end }}' 2>/dev/null; }

# apt_install <component> <package...>: installs Debian packages, refreshing the package lists
# only when apt cannot see them yet (fresh images ship none). The packages' init scripts are kept
# from starting their daemons: dockerd is started below with our flags, and the alert tests run
# Prometheus and Alertmanager themselves on spare ports.
apt_install() {
  local component=$1 added_policy=0 rc=0
  shift
  [ "$(id -u)" = 0 ] || die "$component" "$* missing and installing needs root"
  if ! apt-cache show "$@" >/dev/null 2>&1; then
    apt-get update </dev/null >>"$APT_LOG" 2>&1 || die "$component" "apt-get update failed (see $APT_LOG)"
  fi
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  NEEDRESTART_SUSPEND=1 apt-get install -y --no-install-recommends "$@" </dev/null >>"$APT_LOG" 2>&1 || rc=$?
  [ "$added_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "$component" "apt-get install $* failed (exit $rc, see $APT_LOG)"
  hash -r
}

# Writes daemon.json registering gVisor's runsc (and nothing else); prints "changed" when it did.
write_daemon_json() {
  local runsc_path wanted
  runsc_path=$(command -v runsc 2>/dev/null) || return 0
  wanted=$(printf '{\n  "runtimes": {\n    "runsc": {\n      "path": "%s",\n      "runtimeArgs": ["--network=none"]\n    }\n  }\n}\n' "$runsc_path")
  if [ "$(cat "$DOCKER_DAEMON_JSON" 2>/dev/null)" != "$wanted" ]; then
    mkdir -p "$(dirname "$DOCKER_DAEMON_JSON")"
    printf '%s\n' "$wanted" >"$DOCKER_DAEMON_JSON"
    echo changed
  fi
}

# overlay2 when this kernel mounts overlayfs on the filesystem that holds /var/lib/docker, vfs
# otherwise. vfs copies the whole image for every layer and every container (15-20 s apiece for
# the stack's image under load): the release and deploy suites ran 3-5 times longer on it.
storage_driver() {
  local probe driver=vfs
  mkdir -p /var/lib/docker
  probe=$(mktemp -d -p /var/lib/docker acgs-overlay-probe.XXXXXX) || { echo vfs; return; }
  mkdir -p "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
    umount "$probe/merged" && driver=overlay2
  fi
  rm -rf "$probe"
  echo "$driver"
}

docker_note=""
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1 ||
  ! command -v docker-compose >/dev/null 2>&1 || ! command -v runsc >/dev/null 2>&1 ||
  ! { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }; then
  apt_install docker docker.io docker-compose runsc busybox-static
  docker_note=", installed packages"
fi
daemon_json_changed=$(write_daemon_json)

if docker_answers; then
  # A running engine picks up a new runtimes section on SIGHUP.
  if [ -n "$daemon_json_changed" ] && [ -s /var/run/docker.pid ]; then
    kill -HUP "$(cat /var/run/docker.pid)" 2>/dev/null || true
    sleep 1
    docker_note="$docker_note, reloaded $DOCKER_DAEMON_JSON"
  fi
else
  [ "$(id -u)" = 0 ] || die docker "the Docker Engine does not answer and starting dockerd needs root"
  dockerd_pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    docker_note="$docker_note, waited for running dockerd $dockerd_pid"
  else
    # setsid: the engine outlives this script and the job or terminal that ran it.
    setsid -f dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver="$(storage_driver)" \
      </dev/null >>"$DOCKERD_LOG" 2>&1 9>&-
    docker_note="$docker_note, started dockerd (log $DOCKERD_LOG)"
  fi
  wait_for 60 docker_answers ||
    die docker "dockerd did not answer \`docker info\` within 60 s; last log lines: $(tail -n 5 "$DOCKERD_LOG" 2>/dev/null | tr '\n' ' ')"
fi
runtimes=$(docker_runtimes || true)
if command -v runsc >/dev/null 2>&1 && ! grep -qw runsc <<<"$runtimes"; then
  die docker "runsc is installed but the running engine does not list it as a runtime (check $DOCKER_DAEMON_JSON, restart dockerd)"
fi
say docker "ok (server $(timeout 10 docker version --format '{{ .Server.Version }}' 2>/dev/null || echo unknown), storage $(timeout 10 docker info --format '{{ .Driver }}' 2>/dev/null || echo unknown), runtimes: ${runtimes% }$docker_note)"

# --- Chromium (the local Slack console's browser test) -----------------------------------------
if [ -x /usr/bin/chromium ]; then
  say chromium "ok ($(/usr/bin/chromium --version 2>/dev/null | head -n 1 || echo 'version unknown'))"
else
  apt_install chromium chromium
  [ -x /usr/bin/chromium ] || die chromium "installed, but /usr/bin/chromium is not there"
  say chromium "ok ($(/usr/bin/chromium --version 2>/dev/null | head -n 1), installed)"
fi

# --- Prometheus and Alertmanager (the alert tests run the binaries themselves) ---------------------
# debian_tool <component> <package> <command>: installs the package when the command is missing.
debian_tool() {
  local component=$1 package=$2 command=$3 note=""
  if ! command -v "$command" >/dev/null 2>&1; then
    apt_install "$component" "$package"
    command -v "$command" >/dev/null 2>&1 || die "$component" "installed $package, but $command is not on PATH"
    note=", installed"
  fi
  say "$component" "ok ($("$command" --version 2>&1 | head -n 1)$note)"
}
debian_tool prometheus prometheus promtool
debian_tool alertmanager prometheus-alertmanager amtool

# --- Test images ------------------------------------------------------------------------------
images_rc=0
images_out=$(bash "$here/build-test-images.sh" 2>&1 9>&-) || images_rc=$?
[ "$images_rc" = 0 ] || die images "scripts/build-test-images.sh exited $images_rc: $(tail -n 3 <<<"$images_out" | tr '\n' ' ')"
say images "${images_out##*build-test-images: }"
# The gVisor check runs when images are (re)built; pass on its verdict.
gvisor_line=$(grep -i gvisor <<<"$images_out" | sed 's/^build-test-images: //' || true)
[ -z "$gvisor_line" ] || say gvisor "$gvisor_line"
# Prometheus and Alertmanager as images, from the Debian binaries installed above (the compose
# stack's own services in test/prometheus/prometheus-level-one-docker.test.ts).
prom_images_rc=0
prom_images_out=$(bash "$here/build-prometheus-images.sh" 2>&1 9>&-) || prom_images_rc=$?
[ "$prom_images_rc" = 0 ] || die images "scripts/build-prometheus-images.sh exited $prom_images_rc: $(tail -n 3 <<<"$prom_images_out" | tr '\n' ' ')"
say images "${prom_images_out##*build-prometheus-images: }"

say done "in $(((($(date +%s%N) - started_at) / 1000000)))ms"
