#!/usr/bin/env bash
# Build the monitoring tier's real components from the Go module proxy, with
# pinned versions, into a cache outside the checkout:
#
#   ~/.cache/backupns/monitoring/<versions-hash>/bin/promtool
#   ~/.cache/backupns/monitoring/<versions-hash>/bin/kube-state-metrics
#   ~/.cache/backupns/monitoring/<versions-hash>/crd/   prometheus-operator's PrometheusRule CRD
#
#   bash tests/monitoring/build.sh           build what is missing (a warm cache builds nothing)
#   bash tests/monitoring/build.sh --print   print NAME=PATH per artefact, build nothing;
#                                            exit 1 when one is missing
#
# Both commands are `go install`ed by module path and version (neither module
# has replace directives). promtool is built with Prometheus' own
# `remove_all_sd` build tag: the rule checker and rule unit tester are
# unchanged, only the service-discovery plugins (AWS, Azure, GCE, ...) that
# `check rules` / `test rules` never touch are left out, which roughly halves
# the cold build. The CRD is read from the prometheus-operator module zip.
#
# Env: BACKUPNS_MONITORING_CACHE overrides ~/.cache/backupns/monitoring; GO the go binary.
set -Eeuo pipefail

PROMETHEUS_VERSION=v0.316.0     # github.com/prometheus/prometheus (Prometheus 3.16.0)
KSM_VERSION=v2.20.0             # k8s.io/kube-state-metrics/v2
PROMOP_VERSION=v0.85.0          # github.com/prometheus-operator/prometheus-operator (CRD only)
RECIPE=1                        # bump when the way a binary is built changes

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
ROOT=${BACKUPNS_MONITORING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backupns/monitoring}

log() { printf 'monitoring-build: %s\n' "$*" >&2; }
die() { printf 'monitoring-build: ERROR: %s\n' "$*" >&2; exit 1; }

[[ -x $GO ]] || die "go not found (set GO=/path/to/go); promtool and kube-state-metrics are built from the Go module proxy"
go_version=$("$GO" env GOVERSION)
versions="prometheus=$PROMETHEUS_VERSION ksm=$KSM_VERSION promop=$PROMOP_VERSION recipe=$RECIPE $go_version"
vhash=$(printf '%s' "$versions" | sha256sum | cut -c1-12)
BIN="$ROOT/$vhash/bin"
CRD="$ROOT/$vhash/crd/monitoring.coreos.com_prometheusrules.yaml"

print_paths() {
  local missing=0
  printf 'promtool=%s\n' "$BIN/promtool"; [[ -x $BIN/promtool ]] || missing=1
  printf 'kube-state-metrics=%s\n' "$BIN/kube-state-metrics"; [[ -x $BIN/kube-state-metrics ]] || missing=1
  printf 'prometheusrule-crd=%s\n' "$CRD"; [[ -f $CRD ]] || missing=1
  return "$missing"
}

if [[ ${1:-} == --print ]]; then
  print_paths || exit 1
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: build.sh [--print]"

mkdir -p "$ROOT"
exec 9>"$ROOT/.build.lock"
flock 9

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-p=2 -trimpath -buildvcs=false"
mkdir -p "$BIN"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"  # go commands run outside any module (and outside the checkout)

# goinstall NAME PKG@VERSION [GO-BUILD-FLAGS...]: go install into a temp GOBIN, then move into $BIN.
goinstall() {
  local name=$1 pkg=$2 t; shift 2
  t=$SECONDS
  log "go install $pkg -> $BIN/$name"
  GOBIN="$work/bin" nice "$GO" install "$@" "$pkg" || die "go install $pkg failed"
  mv "$work/bin/$name" "$BIN/$name"
  log "$name built in $((SECONDS - t)) s"
}

start=$SECONDS
built=()

if [[ ! -x $BIN/promtool ]]; then
  # v0.316.0 is Prometheus 3.16.0: the module's v0.MINOR.PATCH maps to 3.MINOR-300.PATCH.
  m=${PROMETHEUS_VERSION#v0.}; pv="3.$(( ${m%%.*} - 300 )).${m#*.}"
  goinstall promtool "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" \
    -tags remove_all_sd -ldflags "-s -w -X github.com/prometheus/common/version.Version=$pv"
  built+=(promtool)
fi

if [[ ! -x $BIN/kube-state-metrics ]]; then
  goinstall kube-state-metrics "k8s.io/kube-state-metrics/v2@$KSM_VERSION" \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$KSM_VERSION"
  built+=(kube-state-metrics)
fi

if [[ ! -f $CRD ]]; then
  dir=$("$GO" mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMOP_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') || die "go mod download prometheus-operator@$PROMOP_VERSION failed"
  src="$dir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
  [[ -f $src ]] || die "no PrometheusRule CRD at $src"
  mkdir -p "${CRD%/*}"
  cp "$src" "$CRD.tmp" && chmod u+w "$CRD.tmp" && mv "$CRD.tmp" "$CRD"
  built+=(prometheusrule-crd)
fi

if ((${#built[@]})); then
  log "built ${built[*]} in $((SECONDS - start)) s"
else
  log "cache warm, nothing built ($versions)"
fi
print_paths >/dev/null || die "something is still missing after the build: $(print_paths)"
