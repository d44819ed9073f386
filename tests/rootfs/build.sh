#!/usr/bin/env bash
# Build a root filesystem with the userland of the default job image,
# registry.k8s.io/kubectl (kubernetes/kubernetes build/server-image/kubectl/Dockerfile:
# debian-base bookworm plus bash grep sed gawk coreutils jq diffutils; debian-base
# purges tzdata and a few other packages), into a cache outside the checkout:
#
#   ~/.cache/backupns/rootfs/<recipe-hash>/   the root filesystem (bin/kubectl included)
#
#   bash tests/rootfs/build.sh           build it when missing (warm: a check, builds nothing)
#   bash tests/rootfs/build.sh --print   print the path, build nothing; exit 1 when missing
#
# Needs root and mmdebstrap (apt-get install mmdebstrap); the packages come from the
# Debian mirror of this machine's apt sources (deb.debian.org).
# Env: BACKUPNS_ROOTFS_CACHE overrides ~/.cache/backupns/rootfs; KUBECTL_BIN the kubectl
# binary copied in (default: the suite's 1.33 build, see the default image's tag).
set -Eeuo pipefail

SUITE=bookworm
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security
# The kubectl image's `apt install` line.
PACKAGES=(bash grep sed gawk coreutils jq diffutils)
# debian-base's `dpkg --purge --force-remove-essential` line, less bash (the kubectl image
# installs it again).
PURGE=(e2fsprogs libss2 libcom-err2 libext2fs2 logsave ncurses-base ncurses-bin tzdata)
# debian-base's clean-up (the parts that matter to a script: no zone files, no docs).
REMOVE=(/usr/share/doc /usr/share/man /usr/share/info /usr/share/locale /var/lib/apt/lists
  /usr/share/bash-completion /root/.bashrc /root/.profile /usr/share/zoneinfo)
RECIPE=1 # bump when the way the tree is built changes

KUBECTL_BIN=${KUBECTL_BIN:-/usr/lib/google-cloud-sdk/bin/kubectl.1.33}
CACHE=${BACKUPNS_ROOTFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backupns/rootfs}
recipe="suite=$SUITE mirror=$MIRROR security=$SECURITY packages=${PACKAGES[*]} purge=${PURGE[*]} remove=${REMOVE[*]} recipe=$RECIPE"
DIR="$CACHE/$(printf '%s' "$recipe" | sha256sum | cut -c1-12)"

log() { printf 'rootfs-build: %s\n' "$*" >&2; }
die() { printf 'rootfs-build: ERROR: %s\n' "$*" >&2; exit 1; }

complete() { [[ -f $DIR/.complete && -x $DIR/bin/kubectl ]] && cmp -s "$KUBECTL_BIN" "$DIR/bin/kubectl"; }

if [[ ${1:-} == --print ]]; then
  printf '%s\n' "$DIR"
  complete
  exit
fi
[[ $# -eq 0 ]] || die "usage: build.sh [--print]"
[[ -x $KUBECTL_BIN ]] || die "no kubectl at $KUBECTL_BIN (set KUBECTL_BIN)"

mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9 # one build at a time; a waiting build then finds it warm
if complete; then
  log "warm: $DIR"
  exit 0
fi

if [[ ! -f $DIR/.complete ]]; then
  ((EUID == 0)) || die "building the root filesystem needs root (mmdebstrap in root mode)"
  command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap)"
  start=$SECONDS
  tmp="$DIR.tmp.$$"
  rm -rf "$tmp" "$DIR"
  trap 'rm -rf "$tmp"' EXIT
  log "mmdebstrap --variant=minbase $SUITE + ${PACKAGES[*]} -> $DIR"
  # shellcheck disable=SC2016 # $1 is mmdebstrap's, expanded by its hook shell
  mmdebstrap --quiet --variant=minbase --include="$(IFS=,; printf '%s' "${PACKAGES[*]}")" \
    --customize-hook='chroot "$1" dpkg --purge --force-remove-essential '"${PURGE[*]}"' >/dev/null 2>&1' \
    --customize-hook='chroot "$1" apt-get autoremove --purge -y -qq >/dev/null' \
    --customize-hook='chroot "$1" apt-get clean' \
    --customize-hook='cd "$1" && rm -rf '"${REMOVE[*]/#\//.\/}" \
    "$SUITE" "$tmp" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY $SUITE-security main" ||
    die "mmdebstrap failed (see above)"
  [[ ! -e $tmp/usr/share/zoneinfo ]] || die "the tree has zone files; it must not (the image has none)"
  touch "$tmp/.complete"
  mv "$tmp" "$DIR"
  trap - EXIT
  log "built in $((SECONDS - start)) s: $DIR"
fi
install -m 0755 "$KUBECTL_BIN" "$DIR/bin/kubectl"
log "kubectl: $("$DIR/bin/kubectl" version --client | head -1)"
