# shellcheck shell=bash
# kubesim (kubesim, a Kubernetes API simulator) for BATS tests, driven by the real kubectl.
#
#   setup_file()    { load helpers/kubesim; kubesim_start [--tls] [--snapshot-ready-delay 0]; }
#   teardown_file() { load helpers/kubesim; kubesim_stop; }
#   setup()         { load helpers/kubesim; kubesim_env; }   # fresh HOME, KUBECONFIG, KUBECACHEDIR
#
# kubesim_start exports KUBESIM_URL KUBESIM_STATE KUBESIM_KUBECONFIG KUBESIM_PID.
# PVC data lives in $KUBESIM_STATE/volumes/<ns>/<pvc>, snapshots in $KUBESIM_STATE/snapshots/<handle>.

KUBESIM_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=bats/helpers/kubectl_env.bash
source "$KUBESIM_ROOT/bats/helpers/kubectl_env.bash"

_kubesim_py() {
  PYTHONPATH="$KUBESIM_ROOT${PYTHONPATH:+:$PYTHONPATH}" python3 "$@"
}

# kubesim_start [ARGS...]: start a server (state under BATS_FILE_TMPDIR), wait for it to listen.
kubesim_start() {
  local state="${BATS_FILE_TMPDIR:-$(mktemp -d)}/kubesim" i line=""
  mkdir -p "$state"
  (
    cd "$KUBESIM_ROOT" || exit 1
    exec env PYTHONPATH="$KUBESIM_ROOT${PYTHONPATH:+:$PYTHONPATH}" python3 -m kubesim \
      --state-dir "$state" --kubeconfig "$state/kubeconfig" "$@" \
      >"$state/stdout" 2>"$state/stderr" 3>&- </dev/null
  ) &
  KUBESIM_PID=$!
  for ((i = 0; i < 200; i++)); do
    line=$(head -n 1 "$state/stdout" 2>/dev/null || true)
    [[ $line == "kubesim ready "* ]] && break
    if ! kill -0 "$KUBESIM_PID" 2>/dev/null; then
      break
    fi
    sleep 0.05
  done
  if [[ $line != "kubesim ready "* ]]; then
    echo "kubesim_start: the simulator did not start; its stderr:" >&2
    cat "$state/stderr" >&2
    kill "$KUBESIM_PID" 2>/dev/null || true
    return 1
  fi
  export KUBESIM_URL=${line#kubesim ready }
  export KUBESIM_STATE=$state
  export KUBESIM_KUBECONFIG=$state/kubeconfig
  export KUBESIM_PID
}

# kubesim_stop: SIGTERM the server started by kubesim_start and wait for it.
kubesim_stop() {
  local i
  [[ -n ${KUBESIM_PID:-} ]] || return 0
  kill -TERM "$KUBESIM_PID" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$KUBESIM_PID" 2>/dev/null || return 0
    sleep 0.05
  done
  kill -KILL "$KUBESIM_PID" 2>/dev/null || true
}

# kubesim_env: fresh HOME, KUBECONFIG (a copy) and KUBECACHEDIR under BATS_TEST_TMPDIR.
kubesim_env() { kubectl_fresh_env "$KUBESIM_KUBECONFIG"; }

# _kubesim_control METHOD PATH [BODY]: call the control API, print the JSON answer.
_kubesim_control() {
  _kubesim_py - "$KUBESIM_URL" "$@" <<'PY'
import json, ssl, sys, urllib.request
url, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(url + path, data=body, method=method,
                             headers={"Content-Type": "application/json"})
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    with urllib.request.urlopen(req, timeout=10, context=ctx if url.startswith("https") else None) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    sys.stderr.write(f"kubesim control {method} {path}: {e.code} {e.read().decode()}\n")
    sys.exit(1)
PY
}

# kubesim_fault '<json>': inject a fault (shapes: kubesim/README.md); prints {"id": ...}.
kubesim_fault() { _kubesim_control POST /_kubesim/faults "$1"; }

# kubesim_clear_faults: remove every fault.
kubesim_clear_faults() { _kubesim_control DELETE /_kubesim/faults >/dev/null; }

# kubesim_requests: print the request log (JSON lines: method path query status user duration_ms command).
kubesim_requests() { cat "$KUBESIM_STATE/requests.jsonl"; }

# kubesim_reset_requests: empty the request log.
kubesim_reset_requests() { _kubesim_control DELETE /_kubesim/requests >/dev/null; }

# kubesim_seed FILE...: preload objects from YAML/JSON files as given (status kept, namespaces made).
kubesim_seed() {
  local f body
  for f in "$@"; do
    body=$(_kubesim_py -c 'import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))' "$f") || return 1
    _kubesim_control POST /_kubesim/objects "$body" >/dev/null || return 1
  done
}

# kubesim_clock [advance SECONDS|DURATION | set RFC3339]: read or move kubesim's clock (the
# CronJob controller's now); prints {"now": ..., "jobs": [Jobs the move created]}.
kubesim_clock() {
  case ${1:-} in
    '') _kubesim_control GET /_kubesim/clock ;;
    advance) _kubesim_control POST /_kubesim/clock "{\"advance\": \"$2\"}" ;;
    set) _kubesim_control POST /_kubesim/clock "{\"set\": \"$2\"}" ;;
    *) echo "kubesim_clock: advance DURATION or set TIME" >&2; return 2 ;;
  esac
}

# kubesim_sa_kubeconfig NS SA DEST: (--tls) write a kubeconfig for ServiceAccount NS/SA to DEST.
kubesim_sa_kubeconfig() {
  _kubesim_control GET "/_kubesim/kubeconfig?namespace=$1&serviceAccount=$2" >"$3"
}
