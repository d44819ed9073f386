# shellcheck shell=bash
# End-to-end helpers for bats/e2e_*.bats: render a config with backupns-gen, seed
# objects through the real kubectl into kubesim, run the rendered script, look at the
# snapshots it made. In setup(), load after helpers/kubesim (and helpers/db when a test
# needs one); e2e_setup_file and e2e_teardown_file load both themselves.
#
#   e2e_setup_file [--postgres] [--mariadb] [--tls] [--no-kubesim] CONFIG_FN
#                                      a file's setup_file: databases, kubesim, its config
#                                      rendered into $E2E_OUT
#   e2e_teardown_file                  a file's teardown_file: stop what that started
#   e2e_render CONFIG OUT              backupns-gen render --no-lint (lint has its own tests)
#   e2e_seed_volumes NS PVC...         Namespace + PVCs (kubectl apply)
#   e2e_seed_postgres NS PVC MOUNT DB [VAR=value...]
#                                      Deployment app-base, container postgres, env POSTGRES_*
#   e2e_seed_mysql NS PVC MOUNT DB [VAR=value...]
#                                      StatefulSet wordpress-db, container mariadb, env MYSQL_*
#   e2e_seed_app NS PVC MOUNT [VAR=value...]
#                                      Deployment app, container app (hook tests)
#   e2e_script NS                      path of the rendered script of NS
#   e2e_vs_names NS                    the VolumeSnapshots of NS, one name a line (sorted)
#   e2e_vs_labels NS VS                "key=value" lines (sorted) of backup-ns.sh/* labels
#   e2e_vs_table NS                    "name key=value..." per snapshot of NS (one kubectl call)
#   e2e_vs_annotation NS VS KEY        one annotation's value
#   e2e_vs_annotations NS VS           all but env-config as key=value lines (+ env-config: present)
#   e2e_vs_dir NS VS                   the directory holding the snapshot's stored copy
#   e2e_vs_state NS VS                 a snapshot's and its content's state and data checksum
#   e2e_argv_watch_start NEEDLE...     poll /proc/*/cmdline in the background
#   e2e_argv_watch_stop                stop it; print its report
#
# No secret is put on any command line here: seeds go to kubectl on stdin.

# shellcheck disable=SC2034 # used by the .bats files that load this helper
E2E_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)

# e2e_setup_file [--postgres] [--mariadb] [--tls] [--no-kubesim] CONFIG_FN: what an
# e2e file's setup_file does. Starts the databases named (exporting PG_* / MY_*), then
# kubesim (snapshots ready at once; --tls: tokens and RBAC; none with --no-kubesim), then
# writes what CONFIG_FN prints to $BATS_FILE_TMPDIR/backupns.yaml and renders it into
# E2E_OUT=$BATS_FILE_TMPDIR/out (exported). CONFIG_FN runs after the databases are up, so
# it may use $PG_PORT / $MY_PORT.
e2e_setup_file() {
  local postgres=0 mariadb=0 kubesim=1 sim=() config
  while [[ ${1:-} == --* ]]; do
    case $1 in
      --postgres) postgres=1 ;;
      --mariadb) mariadb=1 ;;
      --tls) sim+=(--tls) ;;
      --no-kubesim) kubesim=0 ;;
      *)
        printf 'e2e_setup_file: unknown option %s\n' "$1" >&2
        return 1
        ;;
    esac
    shift
  done
  if (($# != 1)); then
    printf 'e2e_setup_file: want one CONFIG_FN after the options, got %d arguments\n' "$#" >&2
    return 1
  fi
  load helpers/db
  load helpers/kubesim
  ((!postgres)) || db_start_postgres || return 1
  ((!mariadb)) || db_start_mariadb || return 1
  ((!kubesim)) || kubesim_start "${sim[@]}" --snapshot-ready-delay 0 || return 1
  config=$BATS_FILE_TMPDIR/backupns.yaml
  "$1" >"$config" || {
    printf 'e2e_setup_file: %s failed to write the config\n' "$1" >&2
    return 1
  }
  export E2E_OUT=$BATS_FILE_TMPDIR/out
  e2e_render "$config" "$E2E_OUT"
}

# e2e_teardown_file: stop what e2e_setup_file started: kubesim, and every database this
# file started (db_stop_all: also those its tests started).
e2e_teardown_file() {
  load helpers/db
  load helpers/kubesim
  kubesim_stop
  db_stop_all
}

# e2e_render CONFIG OUT: render CONFIG into OUT, fail loudly.
e2e_render() {
  local out
  if ! out=$(backupns-gen render --no-lint -c "$1" -o "$2" 2>&1); then
    printf 'e2e_render %s failed:\n%s\n' "$1" "$out" >&2
    return 1
  fi
}

# e2e_script NS: the rendered script of namespace NS.
e2e_script() {
  # shellcheck disable=SC2153 # E2E_OUT is set by the test file (setup_file)
  printf '%s/namespaces/%s/backup-ns.sh\n' "$E2E_OUT" "$1"
}

_e2e_apply() {
  local out
  if ! out=$(kubectl apply -f - 2>&1); then
    printf 'kubectl apply failed:\n%s\n' "$out" >&2
    return 1
  fi
}

# e2e_seed_volumes NS PVC...: the namespace and its PVCs.
e2e_seed_volumes() {
  local ns=$1 pvc
  shift
  {
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$ns"
    for pvc in "$@"; do
      printf -- '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s, namespace: %s}\n' \
        "$pvc" "$ns"
      printf 'spec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n'
    done
  } | _e2e_apply
}

# _e2e_workload KIND NAME NS CONTAINER PVC MOUNT ENV-YAML: a one-replica workload
# whose container mounts PVC at MOUNT and carries ENV-YAML (list items).
_e2e_workload() {
  local kind=$1 name=$2 ns=$3 container=$4 pvc=$5 mount=$6 env=$7 extra=''
  [[ $kind != StatefulSet ]] || extra="  serviceName: $name"$'\n'
  _e2e_apply <<EOF
apiVersion: apps/v1
kind: $kind
metadata: {name: $name, namespace: $ns}
spec:
${extra}  replicas: 1
  selector: {matchLabels: {app: $name}}
  template:
    metadata: {labels: {app: $name}}
    spec:
      containers:
      - name: $container
        image: docker.io/library/$container:latest
        env:
$env
        volumeMounts:
        - {name: data, mountPath: $mount}
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: $pvc}
EOF
}

# _e2e_env_items NAME=value...: pod-spec env list items (values JSON-quoted).
_e2e_env_items() {
  local kv v
  for kv in "$@"; do
    v=${kv#*=}
    v=${v//\\/\\\\}
    v=${v//\"/\\\"}
    printf '        - {name: %s, value: "%s"}\n' "${kv%%=*}" "$v"
  done
}

# e2e_seed_postgres NS PVC MOUNT DB [NAME=value...]: Deployment app-base (container
# postgres) whose env points at the test server: POSTGRES_USER / POSTGRES_PASSWORD /
# POSTGRES_DB, plus any extra variables.
e2e_seed_postgres() {
  local ns=$1 pvc=$2 mount=$3 db=$4
  shift 4
  _e2e_workload Deployment app-base "$ns" postgres "$pvc" "$mount" "$(
    _e2e_env_items POSTGRES_USER="$PG_USER" POSTGRES_PASSWORD="$PG_PASSWORD" POSTGRES_DB="$db" "$@"
  )"
}

# e2e_seed_mysql NS PVC MOUNT DB [NAME=value...]: StatefulSet wordpress-db (container
# mariadb) with MYSQL_ROOT_PASSWORD / MYSQL_DATABASE of the test server.
e2e_seed_mysql() {
  local ns=$1 pvc=$2 mount=$3 db=$4
  shift 4
  _e2e_workload StatefulSet wordpress-db "$ns" mariadb "$pvc" "$mount" "$(
    _e2e_env_items MYSQL_ROOT_PASSWORD="$MY_PASSWORD" MYSQL_DATABASE="$db" "$@"
  )"
}

# e2e_seed_app NS PVC MOUNT [NAME=value...]: Deployment app (container app) mounting
# PVC at MOUNT, with the given environment (hooks exec into it).
e2e_seed_app() {
  local ns=$1 pvc=$2 mount=$3
  shift 3
  _e2e_workload Deployment app "$ns" app "$pvc" "$mount" "$(_e2e_env_items APP=1 "$@")"
}

# e2e_vs_names NS: names of the VolumeSnapshots in NS, sorted, one a line.
e2e_vs_names() {
  kubectl -n "$1" get volumesnapshots.snapshot.storage.k8s.io \
    -o go-template='{{range .items}}{{.metadata.name}}{{"\n"}}{{end}}' | sort
}

# e2e_vs_labels NS VS: the backup-ns.sh/* labels as sorted key=value lines.
e2e_vs_labels() {
  # shellcheck disable=SC2016 # a Go template, not a shell expansion
  kubectl -n "$1" get volumesnapshots.snapshot.storage.k8s.io "$2" \
    -o go-template='{{range $k, $v := .metadata.labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' |
    grep '^backup-ns\.sh/' | sort
}

# e2e_vs_table NS: one line per VolumeSnapshot of NS (sorted by name): the name, then
# its labels as " key=value" sorted by key. One kubectl call for the whole namespace.
e2e_vs_table() {
  # shellcheck disable=SC2016 # a Go template, not a shell expansion
  kubectl -n "$1" get volumesnapshots.snapshot.storage.k8s.io -o go-template='{{range .items}}{{.metadata.name}}{{range $k, $v := .metadata.labels}} {{$k}}={{$v}}{{end}}{{"\n"}}{{end}}' |
    sort
}

# e2e_vs_annotations NS VS: every annotation but env-config as sorted key=value lines,
# then "env-config: present" or "env-config: missing". One kubectl call.
e2e_vs_annotations() {
  # shellcheck disable=SC2016 # a Go template, not a shell expansion
  kubectl -n "$1" get volumesnapshots.snapshot.storage.k8s.io "$2" -o go-template='{{range $k, $v := .metadata.annotations}}{{if ne $k "backup-ns.sh/env-config"}}{{$k}}={{$v}}{{"\n"}}{{end}}{{end}}env-config: {{if index .metadata.annotations "backup-ns.sh/env-config"}}present{{else}}missing{{end}}{{"\n"}}'
}

# e2e_vs_annotation NS VS KEY: one annotation (empty when missing).
e2e_vs_annotation() {
  kubectl -n "$1" get volumesnapshots.snapshot.storage.k8s.io "$2" \
    -o go-template="{{index .metadata.annotations \"$3\"}}" | sed 's/^<no value>$//'
}

# e2e_vs_dir NS VS: the stored copy of a ready snapshot (via its content's snapshotHandle).
e2e_vs_dir() {
  local content handle
  content=$(kubectl -n "$1" get volumesnapshots.snapshot.storage.k8s.io "$2" \
    -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  [[ -n $content ]] || { echo "e2e_vs_dir: $1/$2 has no bound content" >&2; return 1; }
  handle=$(kubectl get volumesnapshotcontents.snapshot.storage.k8s.io "$content" \
    -o jsonpath='{.status.snapshotHandle}')
  [[ -n $handle && -d $KUBESIM_STATE/snapshots/$handle ]] ||
    { echo "e2e_vs_dir: no stored copy for $content (handle '$handle')" >&2; return 1; }
  printf '%s\n' "$KUBESIM_STATE/snapshots/$handle"
}

# e2e_vs_state NS VS: what no rebind or clone may change about a live snapshot: its and
# its content's resourceVersion, readiness, binding, deletionTimestamp, snapshotHandle and
# deletionPolicy, and a checksum of every file of its data.
e2e_vs_state() {
  local content
  content=$(kubectl -n "$1" get volumesnapshot "$2" -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  kubectl -n "$1" get volumesnapshot "$2" \
    -o jsonpath='vs {.metadata.resourceVersion} {.status.readyToUse} {.status.boundVolumeSnapshotContentName} {.metadata.deletionTimestamp}{"\n"}'
  kubectl get vsc "$content" \
    -o jsonpath='vsc {.metadata.resourceVersion} {.metadata.deletionTimestamp} {.status.snapshotHandle} {.spec.deletionPolicy}{"\n"}'
  (cd "$(e2e_vs_dir "$1" "$2")" && find . -type f -exec sha256sum {} + | sort)
}

# e2e_volume_dir NS PVC: the PVC's data directory in kubesim.
e2e_volume_dir() {
  printf '%s\n' "$KUBESIM_STATE/volumes/$1/$2"
}

# e2e_mutating_requests NS: the create/update/patch/delete requests logged for NS.
e2e_mutating_requests() {
  grep -E '"method": ?"(POST|PUT|PATCH|DELETE)"' "$KUBESIM_STATE/requests.jsonl" |
    grep -F "/namespaces/$1/" || true
}

# e2e_argv_watch_start NEEDLE...: poll every process's argv (/proc/*/cmdline) until
# e2e_argv_watch_stop; remember every argv that contains one of the NEEDLEs. The
# needles are passed on stdin, never in argv.
e2e_argv_watch_start() {
  E2E_WATCH_DIR=$BATS_TEST_TMPDIR/argv-watch
  mkdir -p "$E2E_WATCH_DIR"
  printf '%s\n' "$@" | python3 -c '
import os, sys, time
needles = [n for n in sys.stdin.read().splitlines() if n]
out = sys.argv[1]
hits, seen, scans = set(), set(), 0
while not os.path.exists(out + "/stop"):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if any(n in argv for n in needles):
            hits.add(argv)
        seen.add(os.path.basename(argv.split(" ", 1)[0]))
    scans += 1
    time.sleep(0.005)
with open(out + "/report.tmp", "w") as f:
    f.write(f"scans={scans}\n")
    f.write("seen= " + " ".join(sorted(seen)) + " \n")
    for h in sorted(hits):
        f.write(f"HIT {h}\n")
os.replace(out + "/report.tmp", out + "/report")
' "$E2E_WATCH_DIR" 2>"$E2E_WATCH_DIR/stderr" &
  E2E_WATCH_PID=$!
}

# e2e_argv_watch_stop: stop the watcher, print its report (scans=, seen=, HIT lines).
# Works in a command substitution too (no `wait`: the watcher is not a child there).
e2e_argv_watch_stop() {
  local i
  touch "$E2E_WATCH_DIR/stop"
  for ((i = 0; i < 400; i++)); do
    [[ -e $E2E_WATCH_DIR/report ]] && break
    sleep 0.025
  done
  cat "$E2E_WATCH_DIR/report" "$E2E_WATCH_DIR/stderr"
}
