#!/usr/bin/env bash
# Builds local stand-ins for the prom/prometheus and prom/alertmanager images docker-compose.yml
# names, from Debian's prometheus and prometheus-alertmanager (scripts/provision.sh installs them),
# without any registry:
#
#   acgs-test/prometheus:latest    /bin/prometheus (the entrypoint) and the libraries it links
#   acgs-test/alertmanager:latest  /bin/alertmanager (the entrypoint) and /bin/sh (the compose
#                                  service's entrypoint is a shell that writes the token file)
#
# Laid out as the prom/* images are: static busybox for /bin/sh, /prometheus and /alertmanager
# owned by nobody (65534), who runs them; plus Debian's /usr/share/prometheus/alertmanager (the
# notification templates Debian's Alertmanager reads from there) and /usr/share/prometheus/web.
# test/fixtures/compose/host-prometheus.yml runs the compose file's `prometheus` and `alertmanager` services on them.
#
# Its own script (not build-test-images.sh): that script's recipe is a digest of itself, and a
# change there rebuilds every image, the npm cache of acgs-test/node-npm included. Each image
# carries a label `acgs.recipe` (this script's digest, the binary's size and mtime); an image is
# rebuilt when it is missing, when that changed, or with --force.
#
# Usage: scripts/build-prometheus-images.sh [--force] [--quiet]
set -euo pipefail

PROMETHEUS_IMAGE=acgs-test/prometheus:latest
ALERTMANAGER_IMAGE=acgs-test/alertmanager:latest

force=0
quiet=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --quiet) quiet=1 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "build-prometheus-images: unknown argument '$arg' (expected --force or --quiet)" >&2; exit 2 ;;
  esac
done

say() { [ "$quiet" = 1 ] || echo "build-prometheus-images: $*"; }
die() { echo "build-prometheus-images: ERROR: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI not found (run scripts/provision.sh)"
docker info >/dev/null 2>&1 || die "Docker Engine does not answer (run scripts/provision.sh)"
busybox_bin=""
for candidate in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null || true)"; do
  [ -n "$candidate" ] && [ -x "$candidate" ] || continue
  if ! ldd "$candidate" >/dev/null 2>&1; then busybox_bin=$candidate; break; fi
done
[ -n "$busybox_bin" ] || die "no statically linked busybox found (apt-get install busybox-static)"

script_digest=$(sha256sum "$0" | cut -c1-16)
image_recipe() { docker image inspect -f '{{ index .Config.Labels "acgs.recipe" }}' "$1" 2>/dev/null || true; }

workdir=$(mktemp -d /tmp/acgs-prometheus-images.XXXXXX)
trap 'rm -rf "$workdir"' EXIT

# Builds image $2 from the binary $1 at /bin/$3 with the data directory $4 and Debian's files under
# $6 (its templates and web assets, where Debian's build looks for them); the rest are --change options.
build_tool() {
  local binary=$1 image=$2 name=$3 data=$4 recipe=$5 share=$6 lib applet fixup
  shift 6
  local root=$workdir/$name
  mkdir -p "$root"/{bin,etc,tmp,"${data#/}"}
  chmod 1777 "$root/tmp"
  install -m 0755 "$busybox_bin" "$root/bin/busybox"
  for applet in sh chown id stat cat ls; do ln -s busybox "$root/bin/$applet"; done
  install -m 0755 "$binary" "$root/bin/$name"
  if [ -d "$share" ]; then
    mkdir -p "$root$(dirname "$share")"
    cp -a "$share" "$root$share"
  fi
  # Every library ldd lists, and the dynamic loader, at the listed path (symlinks resolved).
  while read -r lib; do
    [ -n "$lib" ] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . | docker import --change 'ENV PATH=/bin' - "$image" >/dev/null
  # The import is root-owned throughout; the data directory is nobody's, as in prom/*.
  fixup=$(docker create --user 0 --entrypoint /bin/chown "$image" 65534:65534 "$data")
  docker start -a "$fixup" >/dev/null
  docker commit --change "LABEL acgs.recipe=$recipe" --change 'USER 65534' "$@" "$fixup" "$image" >/dev/null
  docker rm "$fixup" >/dev/null
  local owner
  owner=$(docker run --rm --network none --entrypoint /bin/stat "$image" -c %u "$data") || die "$image does not start"
  [ "$owner" = 65534 ] || die "$image: $data is owned by $owner, expected nobody (65534)"
  docker run --rm --network none "$image" --version >/dev/null 2>&1 || die "$image does not run $name --version"
}

built=()
for tool in prometheus alertmanager; do
  if [ "$tool" = prometheus ]; then binary=$(command -v prometheus || true) image=$PROMETHEUS_IMAGE; else binary=$(command -v prometheus-alertmanager || true) image=$ALERTMANAGER_IMAGE; fi
  [ -n "$binary" ] || die "Debian's $tool is not installed (scripts/provision.sh installs it)"
  # Size and mtime stand in for the binary's content.
  recipe="$script_digest-$tool-$(stat -L -c %s-%Y "$binary")"
  [ "$force" = 1 ] || [ "$(image_recipe "$image")" != "$recipe" ] || continue
  say "building $image"
  if [ "$tool" = prometheus ]; then
    build_tool "$binary" "$image" prometheus /prometheus "$recipe" /usr/share/prometheus/web \
      --change 'WORKDIR /prometheus' --change 'ENTRYPOINT ["/bin/prometheus"]' \
      --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]'
  else
    build_tool "$binary" "$image" alertmanager /alertmanager "$recipe" /usr/share/prometheus/alertmanager \
      --change 'WORKDIR /alertmanager' --change 'ENTRYPOINT ["/bin/alertmanager"]' \
      --change 'CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]'
  fi
  built+=("$image")
done
say "ok: $PROMETHEUS_IMAGE, $ALERTMANAGER_IMAGE${built[*]:+ (built: ${built[*]})}"
