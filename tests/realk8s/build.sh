#!/usr/bin/env bash
# Build the real control plane tier from the Go module proxy, with pinned
# versions, into a cache outside the checkout:
#
#   ~/.cache/backupns/realk8s/<versions-hash>/bin/   upstream binaries
#   ~/.cache/backupns/realk8s/csidriver-<src-hash>/  our CSI driver
#
#   bash tests/realk8s/build.sh           build what is missing (a warm cache builds nothing)
#   bash tests/realk8s/build.sh --print   print NAME=PATH per binary, build nothing;
#                                         exit 1 when one is missing
#
# No upstream source is copied into this repository: every upstream binary is
# built from its module at a pinned version, through a throw-away wrapper
# module generated in a temp dir (go.mod with the upstream module's
# replace/godebug lines resolved against the proxy).
#
# Env: BACKUPNS_REALK8S_CACHE overrides ~/.cache/backupns/realk8s; GO the go binary.
set -Eeuo pipefail

K8S_VERSION=v1.33.13        # kube-apiserver, kube-controller-manager (kubectl dispatcher picks 1.33)
ETCD_VERSION=v3.5.21        # the etcd pin in Kubernetes 1.33's go.mod
SNAPSHOTTER_VERSION=v8.7.0  # snapshot-controller, csi-snapshotter (+ client/v8 CRDs)
PROVISIONER_VERSION=v6.4.0  # csi-provisioner
CSI_TEST_VERSION=v5.6.0     # csi-sanity
RECIPE=1                    # bump when the way a binary is built changes

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
ROOT=${BACKUPNS_REALK8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backupns/realk8s}

UPSTREAM=(etcd kube-apiserver kube-controller-manager snapshot-controller csi-snapshotter csi-provisioner csi-sanity)

log() { printf 'realk8s-build: %s\n' "$*" >&2; }
die() { printf 'realk8s-build: ERROR: %s\n' "$*" >&2; exit 1; }

[[ -x $GO ]] || die "go not found (set GO=/path/to/go); the tier is built from the Go module proxy"
go_version=$("$GO" env GOVERSION)
versions="k8s=$K8S_VERSION etcd=$ETCD_VERSION snapshotter=$SNAPSHOTTER_VERSION provisioner=$PROVISIONER_VERSION csi-test=$CSI_TEST_VERSION recipe=$RECIPE $go_version"
vhash=$(printf '%s' "$versions" | sha256sum | cut -c1-12)
BIN="$ROOT/$vhash/bin"
# The driver is keyed by its own sources, so editing it never rebuilds upstream.
shash=$(cd "$HERE/csidriver" 2>/dev/null && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 \
  | sort -z | xargs -0 sha256sum | { cat; printf '%s' "$go_version"; } | sha256sum | cut -c1-12) || shash=none
DRIVER="$ROOT/csidriver-$shash/backupns-csi"

print_paths() {
  local name missing=0
  for name in "${UPSTREAM[@]}"; do
    printf '%s=%s\n' "$name" "$BIN/$name"
    [[ -x $BIN/$name ]] || missing=1
  done
  printf 'backupns-csi=%s\n' "$DRIVER"
  [[ -x $DRIVER ]] || missing=1
  printf 'crds=%s\n' "$ROOT/$vhash/crd"
  compgen -G "$ROOT/$vhash/crd/*.yaml" >/dev/null || missing=1
  printf 'group-crds=%s\n' "$ROOT/$vhash/group-crd"
  compgen -G "$ROOT/$vhash/group-crd/*.yaml" >/dev/null || missing=1
  return "$missing"
}

if [[ ${1:-} == --print ]]; then
  print_paths || exit 1
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: build.sh [--print]"

# One build at a time per cache (parallel CI jobs or helpers wait, then find it warm).
mkdir -p "$ROOT"
exec 9>"$ROOT/.build.lock"
flock 9

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-p=2 -trimpath -buildvcs=false"
LDFLAGS_BASE="-s -w"
mkdir -p "$BIN"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"  # go commands run outside any module (and outside the checkout)

moddir() { "$GO" mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'; }

# wrapper NAME MODULE VERSION [LOCAL_VERSION]: a module in $work/NAME whose
# go.mod keeps MODULE's go/godebug lines and replace directives; a replace by
# a local path (./staging/..., ../api, ./client) becomes the same module from
# the proxy, at LOCAL_VERSION or else at the version MODULE's go.mod requires.
wrapper() {
  local name=$1 mod=$2 ver=$3 localver=${4:-} dir src
  dir="$work/$name"; mkdir -p "$dir"
  src=$(moddir "$mod@$ver") || die "go mod download $mod@$ver failed"
  [[ -f $src/go.mod ]] || die "no go.mod in $mod@$ver"
  awk -v localver="$localver" '
    function trim(s) { gsub(/^[[:space:]]+|[[:space:]]+$/, "", s); return s }
    function fix(line,   parts, m) {
      if (line !~ /=>[[:space:]]*\.\.?\//) return line
      split(line, parts, "=>"); m = trim(parts[1]); sub(/ .*$/, "", m)
      return m " => " m " " (localver != "" ? localver : req[m])
    }
    NR == FNR {                           # pass 1: the versions it requires
      if ($1 == "require" && NF >= 3 && $2 != "(") req[$2] = $3
      else if (inreq && $1 != ")") req[$1] = $2
      if ($0 ~ /^require \(/) inreq = 1; else if ($0 ~ /^\)/) inreq = 0
      next
    }
    FNR == 1 { print "module backupns.local/realk8s-wrapper" }
    /^go [0-9]/ || /^godebug [^(]/ { print; next }
    /^godebug \(/ { inblk = "godebug"; print; next }
    /^replace \(/ { inblk = "replace"; print; next }
    inblk != "" && /^\)/ { print; inblk = ""; next }
    inblk == "godebug" { print; next }
    /FORBIDDEN_DEPENDENCY/ { next }       # etcd: "must never be imported" markers
    inblk == "replace" { print "\t" fix($0); next }
    /^replace / { sub(/^replace /, ""); print "replace " fix($0); next }
  ' "$src/go.mod" "$src/go.mod" >"$dir/go.mod"
  printf '%s\n' "$dir"
}

# gobuild DIR LDFLAGS PKG@VER...: go get -tool, then go build each into $BIN.
gobuild() {
  local dir=$1 ldflags=$2; shift 2
  local pkg out
  (cd "$dir" && "$GO" get -tool "$@" >/dev/null) || die "go get in $dir failed"
  for pkg in "$@"; do
    out=${pkg%@*}; out=${out##*/}
    case $out in v3) out=etcd ;; esac
    log "go build ${pkg%@*} -> $BIN/$out"
    (cd "$dir" && nice "$GO" build -ldflags "$LDFLAGS_BASE $ldflags" -o "$BIN/$out.tmp" "${pkg%@*}") || die "go build ${pkg%@*} failed"
    mv "$BIN/$out.tmp" "$BIN/$out"
  done
}

need() { local n; for n; do [[ -x $BIN/$n ]] || return 0; done; return 1; }
start=$SECONDS
built=()

if need csi-sanity; then
  d=$(wrapper csi-test github.com/kubernetes-csi/csi-test/v5 "$CSI_TEST_VERSION" "$CSI_TEST_VERSION")
  gobuild "$d" "" "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$CSI_TEST_VERSION"
  built+=(csi-sanity)
fi

if need etcd; then
  d=$(wrapper etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION")
  gobuild "$d" "" "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  built+=(etcd)
fi

if need kube-apiserver kube-controller-manager; then
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  d=$(wrapper kubernetes k8s.io/kubernetes "$K8S_VERSION" "v0.${K8S_VERSION#v1.}")
  ld=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  gobuild "$d" "$ld" "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION"
  built+=(kube-apiserver kube-controller-manager)
fi

if need snapshot-controller csi-snapshotter || ! compgen -G "$ROOT/$vhash/crd/*.yaml" >/dev/null; then
  d=$(wrapper snapshotter github.com/kubernetes-csi/external-snapshotter/v8 "$SNAPSHOTTER_VERSION" "$SNAPSHOTTER_VERSION")
  ld="-X main.version=$SNAPSHOTTER_VERSION"
  gobuild "$d" "$ld" \
    "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller@$SNAPSHOTTER_VERSION" \
    "github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter@$SNAPSHOTTER_VERSION"
  c=$(moddir "github.com/kubernetes-csi/external-snapshotter/client/v8@$SNAPSHOTTER_VERSION")
  mkdir -p "$ROOT/$vhash/crd"
  cp "$c"/config/crd/snapshot.storage.k8s.io_volumesnapshot*.yaml "$ROOT/$vhash/crd/"
  chmod u+w "$ROOT/$vhash/crd/"*.yaml
  built+=(snapshot-controller csi-snapshotter crds)
fi

# The group snapshot CRDs (groupsnapshot.storage.k8s.io, v1 since client/v8 v8.6.0) of the
# same release, in a directory of their own (a cache built before they were added gets
# them here, without a rebuild).
if ! compgen -G "$ROOT/$vhash/group-crd/*.yaml" >/dev/null; then
  c=$(moddir "github.com/kubernetes-csi/external-snapshotter/client/v8@$SNAPSHOTTER_VERSION")
  mkdir -p "$ROOT/$vhash/group-crd"
  cp "$c"/config/crd/groupsnapshot.storage.k8s.io_volumegroupsnapshot*.yaml "$ROOT/$vhash/group-crd/"
  chmod u+w "$ROOT/$vhash/group-crd/"*.yaml
  built+=(group-crds)
fi

if need csi-provisioner; then
  d=$(wrapper provisioner github.com/kubernetes-csi/external-provisioner/v6 "$PROVISIONER_VERSION" "$PROVISIONER_VERSION")
  gobuild "$d" "-X main.version=$PROVISIONER_VERSION" "github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner@$PROVISIONER_VERSION"
  built+=(csi-provisioner)
fi

if [[ ! -x $DRIVER && -d $HERE/csidriver ]]; then
  log "go build our CSI driver -> $DRIVER"
  mkdir -p "${DRIVER%/*}"
  (cd "$HERE/csidriver" && nice "$GO" build -ldflags "$LDFLAGS_BASE" -o "$DRIVER.tmp" .) || die "building tests/realk8s/csidriver failed"
  mv "$DRIVER.tmp" "$DRIVER"
  built+=(backupns-csi)
fi

if ((${#built[@]})); then
  log "built ${built[*]} in $((SECONDS - start)) s"
else
  log "cache warm, nothing built ($versions)"
fi
log "binaries in $BIN"
print_paths >/dev/null || die "some binaries are still missing after the build: $(print_paths | grep -v '^crds' || true)"
