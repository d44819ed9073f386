# shellcheck shell=bash
# The real control plane tier (tests/realk8s: etcd, kube-apiserver, kube-controller-manager,
# the CSI snapshot stack and our CSI driver) for BATS tests, driven by the real kubectl.
#
#   setup_file()    { load helpers/realk8s; realk8s_start; }
#   teardown_file() { load helpers/realk8s; realk8s_stop; }
#   setup()         { load helpers/realk8s; realk8s_env; }   # fresh HOME, KUBECONFIG, KUBECACHEDIR
#
# realk8s_start exports REALK8S_URL REALK8S_STATE REALK8S_KUBECONFIG REALK8S_PID. It fails
# (never skips) when the binaries are not built: bash tests/realk8s/build.sh.
# A bound PVC's data: "$(realk8s_volume_dir NS PVC)".

REALK8S_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=bats/helpers/kubectl_env.bash
source "$REALK8S_ROOT/bats/helpers/kubectl_env.bash"

# realk8s_start: start a control plane (state under BATS_FILE_TMPDIR), wait until it is ready.
realk8s_start() {
  local state="${BATS_FILE_TMPDIR:-$(mktemp -d)}/realk8s" i line=""
  mkdir -p "$state"
  (
    cd "$REALK8S_ROOT" || exit 1
    exec env PYTHONPATH="$REALK8S_ROOT${PYTHONPATH:+:$PYTHONPATH}" python3 -m tests.realk8s \
      --state-dir "$state" >"$state/stdout" 2>"$state/stderr" 3>&- </dev/null
  ) &
  REALK8S_PID=$!
  for ((i = 0; i < 1200; i++)); do  # up to 2 minutes on a loaded machine
    line=$(head -n 1 "$state/stdout" 2>/dev/null || true)
    [[ $line == "realk8s ready "* ]] && break
    kill -0 "$REALK8S_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ $line != "realk8s ready "* ]]; then
    echo "realk8s_start: the control plane did not start; its stderr:" >&2
    cat "$state/stderr" >&2
    kill "$REALK8S_PID" 2>/dev/null || true
    return 1
  fi
  read -r _ _ REALK8S_URL REALK8S_KUBECONFIG <<<"$line"
  export REALK8S_URL REALK8S_KUBECONFIG REALK8S_PID REALK8S_STATE=$state
}

# realk8s_stop: SIGTERM the control plane started by realk8s_start (it stops its processes).
realk8s_stop() {
  local i
  [[ -n ${REALK8S_PID:-} ]] || return 0
  kill -TERM "$REALK8S_PID" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do
    kill -0 "$REALK8S_PID" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$REALK8S_PID" 2>/dev/null || true
}

# realk8s_env: fresh HOME, KUBECONFIG (a copy of the admin one) and KUBECACHEDIR.
realk8s_env() { kubectl_fresh_env "$REALK8S_KUBECONFIG"; }

# realk8s_volume_dir NS PVC: the CSI driver's directory holding a bound PVC's data.
realk8s_volume_dir() {
  local pv handle
  pv=$(kubectl -n "$1" get pvc "$2" -o jsonpath='{.spec.volumeName}') || return 1
  handle=$(kubectl get pv "$pv" -o jsonpath='{.spec.csi.volumeHandle}') || return 1
  printf '%s/csi-state/volumes/%s/data\n' "$REALK8S_STATE" "$handle"
}

# realk8s_sa_kubeconfig NS SA FILE: a kubeconfig authenticating as the ServiceAccount
# (a TokenRequest token from `kubectl create token`).
realk8s_sa_kubeconfig() {
  local token
  token=$(kubectl -n "$1" create token "$2" --duration=1h) || return 1
  cp "$REALK8S_KUBECONFIG" "$3"
  KUBECONFIG=$3 kubectl config set-credentials user --token="$token" >/dev/null
  KUBECONFIG=$3 kubectl config unset users.user.client-certificate >/dev/null
  KUBECONFIG=$3 kubectl config unset users.user.client-key >/dev/null
  KUBECONFIG=$3 kubectl config set-context realk8s --namespace="$1" >/dev/null
}
