#!/usr/bin/env bash
# Install every test dependency, then run every check and test suite.
#
#   bash .ci/test-all.sh            # what CI runs (via .ci/run)
#   SKIP_INSTALL=1 bash .ci/test-all.sh   # re-run on a machine already set up
#
# Each runner prints its own summary line; the last line sums them up.
# Exit status: 0 only if every step passed.
set -Euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

log() { printf '==> %s\n' "$*"; }

install_deps() {
  local need_apt=()
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)
  command -v mariadbd >/dev/null 2>&1 || need_apt+=(mariadb-server mariadb-client)
  command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
  command -v unshare >/dev/null 2>&1 || need_apt+=(util-linux)
  command -v flock >/dev/null 2>&1 || need_apt+=(util-linux)
  command -v mmdebstrap >/dev/null 2>&1 || need_apt+=(mmdebstrap)
  if ((${#need_apt[@]})); then
    log "apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
  log "pip install -e .[test]"
  python3 -m pip install -q --disable-pip-version-check -e '.[test]'
  log "npm ci (bats-core)"
  npm ci --silent --no-audit --no-fund >/dev/null
  command -v kubectl >/dev/null 2>&1 || { echo "ERROR: kubectl is not on PATH; the behaviour tests drive the real kubectl" >&2; return 1; }
  command -v go >/dev/null 2>&1 || { echo "ERROR: go is not on PATH (nor in /usr/local/go/bin); the real control plane tier (tests/realk8s) is built from the Go module proxy" >&2; return 1; }
  # The default image's userland (bats/e2e_rootfs.bats): a Debian bookworm tree from
  # mmdebstrap into ~/.cache/backupns/rootfs (cold 1-2 min; warm: a check). A failed build
  # fails the run.
  log "root filesystem of the default image (tests/rootfs/build.sh)"
  bash tests/rootfs/build.sh || { echo "ERROR: building the root filesystem failed (tests/rootfs/build.sh)" >&2; return 1; }
}

[[ -x /usr/local/go/bin/go ]] && PATH=$PATH:/usr/local/go/bin

if [[ -z ${SKIP_INSTALL:-} ]]; then
  install_deps || { echo "ERROR: installing test dependencies failed" >&2; exit 1; }
fi

BATS="$ROOT/node_modules/bats/bin/bats"
failed=()
step() {  # step NAME CMD...: run one check, remember failures
  local name=$1 start=$SECONDS rc=0; shift
  log "$name"
  "$@" || rc=$?
  echo "step '$name': $((SECONDS - start)) s, exit $rc"
  ((rc == 0)) && return 0
  failed+=("$name")
}

# Fresh, private kubectl state for anything that forgets to set its own.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export KUBECONFIG="$scratch/kubeconfig-unset" KUBECACHEDIR="$scratch/kubecache"
unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS

step "ruff" ruff check src kubesim tests bench
step "mypy (strict) src/backupns_gen" mypy
# shellcheck disable=SC2016 # the single-quoted script is expanded by the inner bash
step "shellcheck bats/, out/ and the CI scripts" bash -c 'shopt -s globstar nullglob; files=(bats/**/*.bats bats/**/*.bash out/**/*.sh .ci/run .ci/test-all.sh tests/realk8s/build.sh tests/rootfs/*.sh tests/monitoring/build.sh); shellcheck -x -s bash "${files[@]}" && echo "shellcheck: ${#files[@]} files, 0 findings"'
step "out/ matches examples/backupns.yaml" backupns-gen render -c examples/backupns.yaml -o out --check

# The real control plane tier: built from the Go module proxy into
# ~/.cache/backupns/realk8s (cold ~20-35 min on 2 cores, warm: a check of a few seconds).
# A failed build fails the run; its tests (pytest marker realk8s, bats/e2e_realk8s.bats)
# then error instead of skipping.
step "real control plane tier (tests/realk8s/build.sh)" bash tests/realk8s/build.sh
# The monitoring tier: promtool and kube-state-metrics from the Go module proxy, and
# prometheus-operator's PrometheusRule CRD, into ~/.cache/backupns/monitoring (cold: ~6
# CPU-minutes for both, 351 s measured: small next to the tier's; warm: a check). A failed
# build fails the run; the tests that need them (tests/monitoring/) then error.
step "monitoring tier: promtool, kube-state-metrics (tests/monitoring/build.sh)" bash tests/monitoring/build.sh

# pytest on BACKUPNS_PYTEST_WORKERS (default 3) pytest-xdist workers, a test module per
# worker and every module of the real tier on one (tests/conftest.py); 1: one process. Most
# tests wait on servers (or on ShellCheck), so three workers beside the second lane use the
# 2 cores better than two did.
run_pytest() {
  local parallel=() workers=${BACKUPNS_PYTEST_WORKERS:-3}
  ((workers > 1)) && parallel=(-n "$workers" --dist loadfile)
  python3 -m pytest -q -p no:cacheprovider --durations=15 "${parallel[@]}" tests kubesim/tests
  local rc=$?
  # pytest exits 5 when it collected nothing: that is a failure here.
  ((rc == 0))
}

run_bats() {
  local out rc passed failed_n
  shopt -s globstar nullglob
  local files=(bats/**/*.bats)
  if ((${#files[@]} == 0)); then echo "bats: no test files" >&2; return 1; fi
  out=$(mktemp)
  "$BATS" --tap --jobs 1 "${files[@]}" | tee "$out"
  rc=${PIPESTATUS[0]}
  passed=$(grep -c '^ok ' "$out" || true)
  failed_n=$(grep -c '^not ok ' "$out" || true)
  rm -f "$out"
  echo "bats: ${passed} passed, ${failed_n} failed"
  ((rc == 0 && passed > 0))
}

# The demo and the speed benchmarks' smoke runs (they are not tests: no wall-clock
# asserts; the smokes keep them working).
demo_and_bench_smokes() {
  step "demo (python -m tests.demo, as in the README)" python3 -m tests.demo
  # A 20 MB database for the dump path, one create per ready delay.
  step "bench smoke: dump.py" python3 bench/dump.py --smoke
  step "bench smoke: create.py" python3 bench/create.py --repeat 1
  # The restore drill of a 20 MB dump beside a bare gunzip | psql (full size: drop --smoke).
  step "bench smoke: drill.py" python3 bench/drill.py --smoke
  step "bench smoke: render.py" python3 bench/render.py --sizes 20 --validate 20 --repeat 1
  # What a tenant costs in a real etcd (the example's namespaces; the real tier, ~30 s).
  step "bench smoke: tenant.py" python3 bench/tenant.py
  # The controller on kubesim (--server real|both: also the real kube-apiserver, ~60 s more).
  step "bench smoke: controller.py" python3 bench/controller.py --namespaces 20 --snapshots 5 --changes 40 --repeat 1
  # Requests and tool CPU per create, retention change and idle run, cold kubectl cache,
  # on kubesim (--server real|both: also the real tier; full size: drop --smoke).
  step "bench smoke: cost.py" python3 bench/cost.py --smoke
}

# pytest is the long lane; bats, the demo and the bench smokes mostly wait too (on kubectl,
# servers, databases), so on 2 cores they run beside it, one after the other, in a second
# lane (a quiet run: pytest ~11 min; bats ~8 min and the smokes ~1.5 min beside it). Every
# test uses its own ports, state dirs and kubectl environment. The second lane's output is
# printed after pytest's. BACKUPNS_CI_SERIAL=1 runs everything one after the other.
second_lane() {  # runs in the background: its failed steps go to a file
  failed=()
  step "bats" run_bats
  demo_and_bench_smokes
  printf '%s\n' "${failed[@]}" >"$scratch/lane.failed"
}

if [[ -n ${BACKUPNS_CI_SERIAL:-} ]]; then
  step "pytest" run_pytest
  step "bats" run_bats
  demo_and_bench_smokes
else
  log "bats, the demo and the bench smokes (started now, beside pytest; their output follows pytest's)"
  second_lane >"$scratch/lane.log" 2>&1 </dev/null &
  lane_pid=$!
  step "pytest" run_pytest
  wait "$lane_pid" || true
  log "the second lane (ran beside pytest): bats, the demo, the bench smokes"
  cat "$scratch/lane.log"
  if [[ -f $scratch/lane.failed ]]; then
    mapfile -t lane_failed <"$scratch/lane.failed"
    for name in "${lane_failed[@]}"; do [[ -n $name ]] && failed+=("$name"); done
  else
    failed+=("the second lane (it ended before recording its result)")
  fi
fi

if ((${#failed[@]})); then
  echo "FAILED steps: ${failed[*]}"
  exit 1
fi
echo "all steps passed"
