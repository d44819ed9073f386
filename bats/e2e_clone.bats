#!/usr/bin/env bats
# clone (the controller script): a backup of one namespace as a PVC in another, on
# kubesim (which binds a new pre-provisioned content like the real snapshot-controller).
# The PVC holds the backup's data; the source snapshot, its content and data stay as
# they were; retention ignores the clone; deleting either side keeps the data the other
# holds. Then each refusal: one line, nothing created.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  e2e_setup_file backupns_yaml
}

backupns_yaml() {
  printf 'defaults:\n  timeZone: UTC\n  flock: {enabled: false}\n  snapshotClass: retain-class\n'
  printf '  waitUntilReady: {enabled: true, timeout: 1m}\nnamespaces:\n'
  printf '  cl-prod: {pvcs: [data], database: none}\n'
  printf '  cl-stage: {pvcs: [data], database: none}\n'
  printf '  cl-absent: {pvcs: [data], database: none}\n'
  printf 'controller:\n  namespace: backup-ns\n'
}

teardown_file() {
  load helpers/e2e
  e2e_teardown_file
}

setup() {
  load helpers/kubesim
  load helpers/e2e
  kubesim_env
  mkdir -p "$BATS_TEST_TMPDIR/tmp"
}

ctl() {
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" \
    bash "$E2E_OUT/controller/backup-ns-controller.sh" "$@" </dev/null
}

# ns_run NS ARGS...: NS's rendered script, BAK_VS_RAND from $RAND.
ns_run() {
  local ns=$1
  shift
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_NOW=2026-05-04T10:00:00Z \
    BAK_VS_RAND="${RAND:-cl0001}" bash "$(e2e_script "$ns")" "$@" </dev/null
}

# backup: the namespaces, the class, one backup of cl-prod/data (its name in VS).
backup() {
  kubectl apply -f - >/dev/null <<'EOF'
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: retain-class}
driver: hostpath.csi.k8s.io
deletionPolicy: Retain
EOF
  kubectl create namespace backup-ns >/dev/null 2>&1 || true
  e2e_seed_volumes cl-prod data
  e2e_seed_volumes cl-stage data
  printf 'prod rows\n' >"$(e2e_volume_dir cl-prod data)/index.html"
  VS=data-2026-05-04-100000-${RAND:-cl0001}
  ns_run cl-prod create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
}

# objects: every content, and the snapshots and PVCs of cl-stage (what a refusal must
# leave as it was).
objects() {
  kubectl get vsc -o name
  kubectl get volumesnapshot,pvc -n cl-stage -o name
}

@test "clone: a PVC in another namespace with the backup's data; the source unchanged; retention ignores the clone; deleting either side keeps the other's data" {
  backup
  local before content handle clone_content dir
  before=$(e2e_vs_state cl-prod "$VS")
  content=$(kubectl -n cl-prod get volumesnapshot "$VS" -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  handle=$(kubectl get vsc "$content" -o jsonpath='{.status.snapshotHandle}')

  ctl clone "cl-prod/$VS" --to-namespace cl-stage --pvc copy --wait
  [[ $status -eq 0 && $stderr == '' ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"clone: created PVC cl-stage/copy from the clone of cl-prod/$VS (1Gi = the size of PVC cl-prod/data when the backup was taken, StorageClass csi-hostpath-sc, ReadWriteOnce)"* ]] ||
    { printf '%s\n' "$output"; false; }
  [[ $output == *"clone: PVC cl-stage/copy is Bound"* ]]
  [[ $(cat "$(e2e_volume_dir cl-stage copy)/index.html") == 'prod rows' ]]
  [[ $(e2e_vs_state cl-prod "$VS") == "$before" ]]
  clone_content=$(kubectl -n cl-stage get volumesnapshot copy -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  [[ $clone_content == backup-ns-clone-* ]]
  [[ $(kubectl get vsc "$clone_content" -o jsonpath='{.spec.deletionPolicy} {.spec.source.snapshotHandle} {.metadata.labels}') == \
    "Retain $handle {\"backup-ns.sh/clone-of\":\"cl-prod\"}" ]]
  [[ $(kubectl -n cl-stage get volumesnapshot copy -o jsonpath='{.metadata.labels} {.metadata.annotations.backup-ns\.sh/cloned-from}') == \
    "{\"backup-ns.sh/clone-of\":\"cl-prod\"} cl-prod/$VS" ]]

  # Retention: the clone is no backup of cl-stage (plan, list and status leave it out).
  ctl plan
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output != *cl-stage* && $output != *"$clone_content"* ]] || { printf '%s\n' "$output"; false; }
  ns_run cl-stage list
  [[ $status -eq 0 && $output != *copy* ]] || { printf '%s\n' "$output" "$stderr"; false; }

  # Deleting the clone (the namespace script's delete) keeps the source's data.
  ns_run cl-stage delete copy --yes
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"deleted VolumeSnapshot copy and its content $clone_content; the data stays with content $content"* ]] ||
    { printf '%s\n' "$output"; false; }
  run kubectl get vsc "$clone_content"
  [[ $status -ne 0 ]]
  [[ $(e2e_vs_state cl-prod "$VS") == "$before" ]]

  # A second clone, then the source is deleted: the clone keeps the data.
  ctl clone "$VS" -n cl-prod --to-namespace cl-stage --pvc copy2
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  dir=$(e2e_vs_dir cl-prod "$VS")
  ns_run cl-prod delete "$VS" --yes
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"the data stays with content backup-ns-clone-"* ]] || { printf '%s\n' "$output"; false; }
  [[ -d $dir && $(cat "$dir/index.html") == 'prod rows' ]]
  [[ $(cat "$(e2e_vs_dir cl-stage copy2)/index.html") == 'prod rows' ]]
}

@test "clone refuses, in one line and changing nothing: no namespace, an existing PVC or snapshot, a source not ready or no backup, a namespace not configured or the same" {
  RAND=cl0002 backup
  local before objs
  kubectl apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: taken, namespace: cl-stage}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: snap-taken, namespace: cl-stage}
spec: {source: {persistentVolumeClaimName: data}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: unmanaged, namespace: cl-prod}
spec: {source: {persistentVolumeClaimName: data}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: never-ready, namespace: cl-prod, labels: {backup-ns.sh/type: adhoc}}
spec: {source: {persistentVolumeClaimName: no-such-pvc}}
EOF
  before=$(e2e_vs_state cl-prod "$VS")
  objs=$(objects)

  ctl clone "cl-prod/$VS" --to-namespace cl-absent
  [[ $status -eq 1 && $output == '' ]]
  [[ $stderr == "ERROR: namespace cl-absent not found: Error from server (NotFound): namespaces \"cl-absent\" not found. Nothing was changed. Create it first (kubectl create namespace cl-absent), or pick another --to-namespace" ]] ||
    { printf '%s\n' "$stderr"; false; }
  ctl clone "cl-prod/$VS" --to-namespace cl-stage --pvc taken
  [[ $status -eq 1 && $stderr == "ERROR: PVC cl-stage/taken already exists: clone never overwrites a PVC. Nothing was changed. Pass --pvc NEW_NAME, or delete cl-stage/taken first if it is really not needed" ]] ||
    { printf '%s\n' "$stderr"; false; }
  ctl clone "cl-prod/$VS" --to-namespace cl-stage --pvc snap-taken
  [[ $status -eq 1 && $stderr == "ERROR: VolumeSnapshot cl-stage/snap-taken already exists: the clone's snapshot takes the PVC's name and clone never replaces a snapshot. Nothing was changed. Pass --pvc NEW_NAME" ]] ||
    { printf '%s\n' "$stderr"; false; }
  ctl clone cl-prod/never-ready --to-namespace cl-stage
  [[ $status -eq 1 && $stderr == 'ERROR: VolumeSnapshot cl-prod/never-ready is not ready: readyToUse is "unset"'* ]] ||
    { printf '%s\n' "$stderr"; false; }
  [[ ${#stderr_lines[@]} -eq 1 ]]
  ctl clone cl-prod/unmanaged --to-namespace cl-stage
  [[ $status -eq 1 && $stderr == "ERROR: clone refused for cl-prod/unmanaged: it has no backup-ns.sh/type label: it is no backup made by backup-ns. Nothing was changed. Clone one of the namespace's backups (backup-ns-controller.sh list -n cl-prod)" ]] ||
    { printf '%s\n' "$stderr"; false; }
  ctl clone cl-prod/no-such --to-namespace cl-stage
  [[ $status -eq 1 && $stderr == 'ERROR: cannot read VolumeSnapshot cl-prod/no-such: Error from server (NotFound): volumesnapshots.snapshot.storage.k8s.io "no-such" not found. Nothing was changed. See backup-ns-controller.sh list -n cl-prod' ]] ||
    { printf '%s\n' "$stderr"; false; }
  ctl clone "cl-prod/$VS" --to-namespace default
  [[ $status -eq 1 && $stderr == "ERROR: clone refused: namespace default is not configured in backupns.yaml. Nothing was changed. Clone only into a namespace the platform manages: add it to backupns.yaml (namespaces) and deploy out/, or pick another --to-namespace" ]] ||
    { printf '%s\n' "$stderr"; false; }
  ctl clone "cl-prod/$VS" --to-namespace cl-prod
  [[ $status -eq 2 && $stderr == "ERROR: clone: $VS is in cl-prod already; restore it there with $E2E_OUT/namespaces/cl-prod/backup-ns.sh restore-pvc $VS --to NEW_PVC. Run \"backup-ns-controller.sh clone --help\" for usage." ]] ||
    { printf '%s\n' "$stderr"; false; }
  ctl clone "$VS" --to-namespace cl-stage
  [[ $status -eq 2 && $stderr == 'ERROR: clone needs the snapshot'"'"'s namespace (NAMESPACE/NAME, or -n NAMESPACE). Run "backup-ns-controller.sh clone --help" for usage.' ]] ||
    { printf '%s\n' "$stderr"; false; }
  ctl clone "cl-prod/$VS"
  [[ $status -eq 2 && $stderr == 'ERROR: clone needs --to-namespace NS. Run "backup-ns-controller.sh clone --help" for usage.' ]]
  ctl clone --help
  [[ $status -eq 0 && ${lines[0]} == 'Usage: backup-ns-controller.sh clone NAMESPACE/SNAPSHOT --to-namespace NS [--pvc NAME] [--wait] [--timeout T]' ]]

  # A failure after the content and snapshot were made (the PVC create refused): both are
  # removed again, the source is as it was.
  kubesim_fault '{"type":"http","match":{"method":"POST","path":"/api/v1/namespaces/cl-stage/persistentvolumeclaims"},"status":500,"message":"etcd is gone","times":1}'
  ctl clone "cl-prod/$VS" --to-namespace cl-stage --pvc failed-copy
  [[ $status -eq 1 && $stderr == "ERROR: cannot create PVC cl-stage/failed-copy: Error from server (InternalError): error when creating \"STDIN\": etcd is gone. The new snapshot and content were removed; cl-prod/$VS is unchanged" ]] ||
    { printf '%s\n' "$stderr"; false; }
  [[ $output == *"clone: VolumeSnapshot cl-stage/failed-copy is ready"* ]]
  local i
  for ((i = 0; i < 60; i++)); do # the deletes do not wait (--wait=false)
    [[ $(objects) != "$objs" ]] || break
    sleep 1
  done

  [[ $(objects) == "$objs" ]]
  [[ $(e2e_vs_state cl-prod "$VS") == "$before" ]]
}
