#!/usr/bin/env bash
# Builds the local images the sandbox controller and the stack tests run, without any registry:
#
#   acgs-test/busybox:latest  static busybox (+ applet symlinks), /tmp, /etc/passwd with nobody
#                             (65534). The sandbox controller runs submitted code in it as `sh`.
#   acgs-test/node:latest     the host's node binary and the shared libraries it links, at the
#                             same paths, plus busybox: `docker run --network host acgs-test/node
#                             node -e '...'` runs the repo's code with the host's Node.
#   acgs-test/node-npm:latest acgs-test/node plus the host's npm (/usr/lib/node_modules/npm, `npm`
#                             and `npx` on PATH) and a `node` user (uid/gid 1000): a stand-in for
#                             node:24-slim, so the repository's Dockerfile builds here with
#                             --build-arg NODE_IMAGE=acgs-test/node-npm. Build containers on
#                             this machine's engine reach no network (not even with host
#                             networking), so the image carries an npm cache with the production
#                             dependencies of this checkout's package-lock.json, fetched here
#                             by the host, and npm prefers it: the Dockerfile's `npm ci` runs
#                             offline for any release with the same dependencies.
#   acgs-test/responder:1, :2, :broken
#                             busybox plus test/fixtures/stack/responder.sh (a tiny HTTP health
#                             responder) as CMD; the tags differ only in their ENV defaults
#                             (RESPONDER_VERSION 1 / 2; :broken never serves /health), so the
#                             stack tests can recreate a service onto another tag.
#
# Images are made with `docker import` of a tarball assembled here. Each image carries a label
# `acgs.recipe` (a digest of this script and its inputs: busybox/node versions); an image is
# rebuilt when it is missing, when that digest changed, or with --force.
#
# Usage: scripts/build-test-images.sh [--force] [--quiet]
set -euo pipefail

BUSYBOX_IMAGE=acgs-test/busybox:latest
NODE_IMAGE=acgs-test/node:latest
NODE_NPM_IMAGE=acgs-test/node-npm:latest
RESPONDER_REPO=acgs-test/responder

force=0
quiet=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --quiet) quiet=1 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "build-test-images: unknown argument '$arg' (expected --force or --quiet)" >&2; exit 2 ;;
  esac
done

say() { [ "$quiet" = 1 ] || echo "build-test-images: $*"; }
die() { echo "build-test-images: ERROR: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI not found (run scripts/provision.sh)"
docker info >/dev/null 2>&1 || die "Docker Engine does not answer (run scripts/provision.sh)"

# A static busybox: Debian's busybox-static installs it at /bin/busybox.
busybox_bin=""
for candidate in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null || true)"; do
  [ -n "$candidate" ] && [ -x "$candidate" ] || continue
  if ! ldd "$candidate" >/dev/null 2>&1; then busybox_bin=$candidate; break; fi
done
[ -n "$busybox_bin" ] || die "no statically linked busybox found (apt-get install busybox-static)"

node_bin=$(command -v node 2>/dev/null) || die "node not found on PATH"
node_real=$(readlink -f "$node_bin")
npm_dir=/usr/lib/node_modules/npm
[ -f "$npm_dir/package.json" ] || die "npm not found at $npm_dir (apt-get install npm, or the node package that ships it)"
npm_version=$(node -p "require('$npm_dir/package.json').version")
repo_root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$repo_root/package-lock.json" ] || die "missing $repo_root/package-lock.json"

responder_script=$(cd "$(dirname "$0")/.." && pwd)/test/fixtures/stack/responder.sh
[ -f "$responder_script" ] || die "missing $responder_script"
script_digest=$(sha256sum "$0" | cut -c1-16)
# awk reads all of busybox's help text: `head -1` would make busybox die of SIGPIPE under pipefail.
busybox_version=$("$busybox_bin" 2>&1 | awk 'NR == 1 { print $2 }')
node_version=$("$node_bin" --version)
busybox_recipe="$script_digest-busybox-$busybox_version"
# Size and mtime stand in for the node binary's content: hashing 100 MB on every warm run is slow.
responder_recipe="$script_digest-responder-$(sha256sum "$responder_script" | cut -c1-16)-busybox-$busybox_version"
node_recipe="$script_digest-node-$node_version-$(stat -c %s-%Y "$node_real")-busybox-$busybox_version"
node_npm_recipe="$node_recipe-npm-$npm_version-lock-$(sha256sum "$repo_root/package-lock.json" | cut -c1-16)"

image_recipe() { docker image inspect -f '{{ index .Config.Labels "acgs.recipe" }}' "$1" 2>/dev/null || true; }

workdir=$(mktemp -d /tmp/acgs-images.XXXXXX)
trap 'rm -rf "$workdir"' EXIT

# Lays out busybox, its applet symlinks and a minimal /etc in the root directory $1.
populate_busybox_root() {
  local root=$1 applet
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,proc,sys,dev,var/tmp,run,work}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 0700 "$root/root"
  install -m 0755 "$busybox_bin" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] && continue
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  # Scripts start with `#!/usr/bin/env <interpreter>` (npm, npx, tsx).
  ln -s ../../bin/busybox "$root/usr/bin/env"
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
  echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
}

# Streams the directory $1 as a root-owned tarball into `docker import` as image $2.
import_root() {
  local root=$1 image=$2 recipe=$3
  shift 3
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . |
    docker import \
      --change "LABEL acgs.recipe=$recipe" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      "$@" - "$image" >/dev/null
}

build_busybox() {
  local root=$workdir/busybox
  populate_busybox_root "$root"
  import_root "$root" "$BUSYBOX_IMAGE" "$busybox_recipe" \
    --change 'WORKDIR /tmp' --change 'CMD ["sh"]'
}

# One busybox root with the responder, imported once per tag with that tag's ENV defaults.
build_responder() {
  local root=$workdir/responder
  populate_busybox_root "$root"
  mkdir -p "$root/usr/local/bin"
  install -m 0755 "$responder_script" "$root/usr/local/bin/responder"
  import_root "$root" "$RESPONDER_REPO:1" "$responder_recipe" --change 'ENV RESPONDER_VERSION=1' --change 'CMD ["/usr/local/bin/responder"]'
  import_root "$root" "$RESPONDER_REPO:2" "$responder_recipe" --change 'ENV RESPONDER_VERSION=2' --change 'CMD ["/usr/local/bin/responder"]'
  import_root "$root" "$RESPONDER_REPO:broken" "$responder_recipe" --change 'ENV RESPONDER_VERSION=broken' \
    --change 'ENV RESPONDER_HEALTH=fail' --change 'CMD ["/usr/local/bin/responder"]'
}

# Lays out the host's node and the libraries it links in the root directory $1 (busybox included).
populate_node_root() {
  local root=$1 lib
  populate_busybox_root "$root"
  # The node binary at the path the host runs it from (and its real path if that is a symlink),
  # and `node` on the image's PATH whatever that path. A node under /tmp (scripts/test-node.sh's)
  # goes to /usr/local/bin/node instead: sandboxes mount a tmpfs over /tmp, which would hide it.
  mkdir -p "$root/usr/local/bin"
  if [[ $node_real == /tmp/* ]]; then
    install -m 0755 "$node_real" "$root/usr/local/bin/node"
  else
    mkdir -p "$root$(dirname "$node_real")"
    install -m 0755 "$node_real" "$root$node_real"
    if [ "$node_bin" != "$node_real" ]; then
      mkdir -p "$root$(dirname "$node_bin")"
      ln -sf "$node_real" "$root$node_bin"
    fi
    [ -e "$root/usr/local/bin/node" ] || ln -s "$node_real" "$root/usr/local/bin/node"
  fi
  # Every library ldd lists, plus the dynamic loader, at the listed path; symlinks are resolved
  # so the image holds real files (merged-/usr hosts list /lib/... which is a symlink there).
  while read -r lib; do
    [ -n "$lib" ] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done < <(ldd "$node_real" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
}

build_node() {
  local root=$workdir/node
  populate_node_root "$root"
  import_root "$root" "$NODE_IMAGE" "$node_recipe" --change 'WORKDIR /work' --change 'CMD ["node"]'
}

# What the Dockerfile expects of node:*-slim: npm and npx on PATH, a `node` user (uid 1000, as in
# the official images) for its `USER node` and `chown node:node`, and a home for npm's cache.
build_node_npm() {
  local root=$workdir/node-npm
  populate_node_root "$root"
  mkdir -p "$root/usr/lib/node_modules" "$root/home/node"
  cp -a "$npm_dir" "$root/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
  echo 'node:x:1000:1000:node:/home/node:/bin/sh' >>"$root/etc/passwd"
  echo 'node:x:1000:' >>"$root/etc/group"
  # The production dependencies, fetched into a cache by the host's npm (package.json is needed
  # beside the lock; versions differ between releases, dependencies mostly do not).
  mkdir -p "$workdir/npm-deps" "$root/usr/local/share/npm-cache"
  cp "$repo_root/package.json" "$repo_root/package-lock.json" "$workdir/npm-deps/"
  (cd "$workdir/npm-deps" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --cache "$root/usr/local/share/npm-cache" >/dev/null 2>&1) ||
    die "npm ci of $repo_root/package-lock.json failed on the host (is the npm registry reachable?)"
  import_root "$root" "$NODE_NPM_IMAGE" "$node_npm_recipe" --change 'WORKDIR /' --change 'CMD ["node"]' \
    --change 'ENV npm_config_cache=/usr/local/share/npm-cache' --change 'ENV npm_config_prefer_offline=true'
  # import_root makes everything root-owned; the node user's home is its own (npm writes there).
  local fixup
  fixup=$(docker create --user 0 "$NODE_NPM_IMAGE" chown 1000:1000 /home/node)
  docker start -a "$fixup" >/dev/null
  docker commit --change "LABEL acgs.recipe=$node_npm_recipe" --change 'CMD ["node"]' "$fixup" "$NODE_NPM_IMAGE" >/dev/null
  docker rm "$fixup" >/dev/null
}

# Runs "$@" and fails with the image's name when its output is not "$expected".
check_run() {
  local what=$1 expected=$2 out
  shift 2
  out=$("$@" 2>&1) || die "$what failed: $out"
  [ "$out" = "$expected" ] || die "$what printed '$out', expected '$expected'"
}

needs_build() { [ "$force" = 1 ] || [ "$(image_recipe "$1")" != "$2" ]; }

# The builders run in if-bodies, not in `&&` lists, so that `set -e` stays in force inside them.
built=()
if needs_build "$BUSYBOX_IMAGE" "$busybox_recipe"; then
  say "building $BUSYBOX_IMAGE"
  build_busybox
  built+=("$BUSYBOX_IMAGE")
fi
if needs_build "$NODE_IMAGE" "$node_recipe"; then
  say "building $NODE_IMAGE"
  build_node
  built+=("$NODE_IMAGE")
fi
if needs_build "$NODE_NPM_IMAGE" "$node_npm_recipe"; then
  say "building $NODE_NPM_IMAGE"
  build_node_npm
  built+=("$NODE_NPM_IMAGE")
fi

responder_built=0
if needs_build "$RESPONDER_REPO:1" "$responder_recipe" || needs_build "$RESPONDER_REPO:2" "$responder_recipe" ||
  needs_build "$RESPONDER_REPO:broken" "$responder_recipe"; then
  say "building $RESPONDER_REPO:1, :2, :broken"
  build_responder
  built+=("$RESPONDER_REPO:1,2,broken")
  responder_built=1
fi

# Verify freshly built images (a warm run trusts the recipe label and stays fast).
if [ ${#built[@]} -gt 0 ]; then
  check_run "$BUSYBOX_IMAGE (runc, as nobody)" "65534 ok" \
    docker run --rm --network none --user 65534:65534 "$BUSYBOX_IMAGE" sh -c 'echo "$(id -u) ok"'
  check_run "$NODE_IMAGE (runc, host network)" "1" \
    docker run --rm --network host "$NODE_IMAGE" node -e 'console.log(1)'
  check_run "$NODE_NPM_IMAGE (npm as the node user)" "1000 $npm_version" \
    docker run --rm --network none --user node "$NODE_NPM_IMAGE" sh -c 'echo "$(id -u) $(npm --version)"'
  if [ "$responder_built" = 1 ]; then
    check_run "$RESPONDER_REPO:2 (ENV default)" "2" docker run --rm --network none "$RESPONDER_REPO:2" sh -c 'echo $RESPONDER_VERSION'
  fi
  if docker info --format '{{ range $name, $_ := .Runtimes }}{{ $name }} {{ end }}' 2>/dev/null | grep -qw runsc; then
    if out=$(docker run --rm --runtime=runsc --network none "$BUSYBOX_IMAGE" sh -c 'dmesg | head -1' 2>&1) &&
      grep -qi gvisor <<<"$out"; then
      say "$BUSYBOX_IMAGE runs under gVisor (runsc)"
    else
      say "WARNING: gVisor (runsc) is registered but cannot run containers here: $(tail -1 <<<"$out")"
    fi
  fi
fi
say "ok: $BUSYBOX_IMAGE, $NODE_IMAGE, $NODE_NPM_IMAGE, $RESPONDER_REPO:1/2/broken${built[*]:+ (built: ${built[*]})}"
