#!/usr/bin/env bash
# Run a command in the default image's userland (the tree tests/rootfs/build.sh made):
#
#   bash tests/rootfs/run.sh [-v HOSTDIR:DIR]... [VAR=value]... -- COMMAND [ARGS...]
#
# As in the job's pod: uid and gid 65532, a read-only root, a fresh writable /tmp
# (HOME=/tmp/home, an empty directory), only the given environment (plus HOME and the
# image's PATH). New mount and PID namespaces; the network namespace is this machine's,
# so 127.0.0.1 reaches kubesim and the databases. -v binds HOSTDIR read-only at DIR, an
# existing directory of the tree (/opt, /srv, /mnt, /media, /home). Needs root.
# Env: BACKUPNS_ROOTFS the tree (default: build.sh --print, which depends on HOME).
# Exit status: COMMAND's; 125 when the tree is missing or a mount fails.
set -Eeuo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
RUN_UID=65532

die() {
  printf 'rootfs-run: ERROR: %s\n' "$*" >&2
  exit 125
}

if [[ ${1:-} != --inside ]]; then
  ((EUID == 0)) || die "needs root (mount and PID namespaces, chroot)"
  if [[ -n ${BACKUPNS_ROOTFS:-} ]]; then
    root=$BACKUPNS_ROOTFS
    [[ -f $root/.complete ]] || die "BACKUPNS_ROOTFS=$root is not a built tree"
  else
    root=$(bash "$HERE/build.sh" --print) ||
      die "the root filesystem is not built ($root): run bash tests/rootfs/build.sh"
  fi
  exec unshare --mount --pid --fork --kill-child --propagation private -- \
    bash "${BASH_SOURCE[0]}" --inside "$root" "$@"
fi

root=$2
shift 2
binds=()
vars=()
while (($#)); do
  case $1 in
    -v)
      binds+=("$2")
      shift 2
      ;;
    --)
      shift
      break
      ;;
    *=*)
      vars+=("$1")
      shift
      ;;
    *) die "usage: run.sh [-v HOSTDIR:DIR]... [VAR=value]... -- COMMAND [ARGS...] (got \"$1\")" ;;
  esac
done
(($#)) || die "no command given"

{
  mount --bind "$root" "$root"
  mount -o remount,bind,ro "$root"
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
  mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
  mount --rbind /dev "$root/dev"
  for bind in "${binds[@]}"; do
    [[ -d $root/${bind#*:} ]] || die "no directory ${bind#*:} in the tree to bind ${bind%%:*} at"
    mount --bind "${bind%%:*}" "$root/${bind#*:}"
    mount -o remount,bind,ro "$root/${bind#*:}"
  done
  install -d -o "$RUN_UID" -g "$RUN_UID" "$root/tmp/home"
} || die "a mount failed (see above)"

exec chroot --userspec="$RUN_UID:$RUN_UID" "$root" /usr/bin/env -i HOME=/tmp/home \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${vars[@]}" "$@"
