#!/usr/bin/env bats
# Drill 2, the namespace is deleted: back up PostgreSQL, the controller's sync labels
# the content, delete the namespace (the content is Retain and stays), recreate it,
# list-contents --orphaned, rebind, restore-pvc, dump-restore from the restored PVC: the
# rows are byte-equal, and the rebound snapshot still says when it was taken. kubesim
# binds only a new pre-provisioned content, like the real snapshot-controller. Then:
# rebind never touches a live snapshot, and restore-pvc sizes a rebound one by the PVC
# size recorded at create.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  e2e_setup_file --postgres backupns_yaml
}

# backupns_yaml: this file's config (e2e_setup_file writes and renders it once the
# databases listen, so $PG_PORT is set).
backupns_yaml() {
  printf 'defaults:\n  timeZone: UTC\n  flock: {enabled: false}\n  snapshotClass: retain-class\n'
  printf '  waitUntilReady: {enabled: true, timeout: 1m}\n  verify: {timeout: 1m}\nnamespaces:\n'
  printf '  rb-shop:\n    pvcs: [data]\n    database:\n      postgres:\n'
  printf '        exec: deployment/app-base\n        container: postgres\n'
  printf '        host: 127.0.0.1\n        port: %s\n' "$PG_PORT"
  printf '        dumpFile: /var/lib/postgresql/data/dump.sql.gz\n'
  printf '  rb-live:\n    pvcs: [data]\n    database: none\n'
  printf 'controller:\n  namespace: backup-ns\n'
}

teardown_file() {
  load helpers/e2e
  e2e_teardown_file
}

setup() {
  load helpers/db
  load helpers/kubesim
  load helpers/e2e
  kubesim_env
  mkdir -p "$BATS_TEST_TMPDIR/tmp"
}

ctl() {
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" bash "$E2E_OUT/controller/backup-ns-controller.sh" "$@" </dev/null
}

bns() {
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_NOW=2026-05-04T10:00:00Z \
    BAK_VS_RAND=e2e001 bash "$(e2e_script rb-shop)" "$@" </dev/null
}

# live NS ARGS...: NS's rendered script, BAK_VS_RAND from $RAND, the clock ${NOW:-...}.
live() {
  local ns=$1
  shift
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_NOW="${NOW:-2026-05-04T10:00:00Z}" \
    BAK_VS_RAND="$RAND" bash "$(e2e_script "$ns")" "$@" </dev/null
}

# recorded KIND NAME [-n NS]: the cut-at, pvc-size and pvc-namespace annotations.
recorded() {
  kubectl get "$@" -o jsonpath='{.metadata.annotations.backup-ns\.sh/cut-at} {.metadata.annotations.backup-ns\.sh/pvc-size} {.metadata.annotations.backup-ns\.sh/pvc-namespace}'
}

retain_class() {
  kubectl apply -f - >/dev/null <<'EOF'
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: retain-class}
driver: hostpath.csi.k8s.io
deletionPolicy: Retain
EOF
}

# holders HANDLE: the contents whose snapshotHandle (status or spec.source) is HANDLE.
holders() {
  kubectl get vsc -o jsonpath='{range .items[*]}{.metadata.name} {.status.snapshotHandle} {.spec.source.snapshotHandle}{"\n"}{end}' |
    awk -v h="$1" '$2 == h || $3 == h { print $1 }'
}

pg_sum() {
  db_psql "$1" <<<"COPY (SELECT * FROM items ORDER BY id) TO STDOUT" | sha256sum
}

@test "drill 2, namespace deleted: rebind the retained content, restore-pvc, dump-restore: rows byte-equal" {
  retain_class
  db_psql <<<"DROP DATABASE IF EXISTS rbshop WITH (FORCE); CREATE DATABASE rbshop;"
  db_psql rbshop <<<"CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'row ' || g || ' ü' FROM generate_series(1, 200) g;"
  local before vs=data-2026-05-04-100000-e2e001 content
  before=$(pg_sum rbshop)
  e2e_seed_volumes rb-shop data
  e2e_seed_postgres rb-shop data /var/lib/postgresql/data rbshop
  bns create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  content=$(kubectl -n rb-shop get volumesnapshot "$vs" -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  # create recorded when it was taken and the PVC's size; sync copies them to the content.
  [[ $(recorded volumesnapshot "$vs" -n rb-shop) == '2026-05-04T10:00:00Z 1Gi rb-shop' ]]
  kubectl create namespace backup-ns >/dev/null 2>&1 || true # the controller's Lease
  ctl sync
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $(recorded vsc "$content") == '2026-05-04T10:00:00Z 1Gi rb-shop' ]]
  ctl list-contents
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output =~ $content\ +rb-shop\ +$vs\ +data\ +2026-05-04\ +true\ +Retain\ +yes ]]

  # The disaster: the namespace is gone, and the database with it.
  kubectl delete namespace rb-shop --wait=true >/dev/null
  db_psql <<<"DROP DATABASE rbshop WITH (FORCE); CREATE DATABASE rbshop;"
  ctl list-contents --orphaned
  [[ $output =~ $content\ +rb-shop\ +$vs\ +data\ +2026-05-04\ +true\ +Retain\ +no\ \(namespace\ gone\) ]]
  e2e_seed_volumes rb-shop data
  e2e_seed_postgres rb-shop data /var/lib/postgresql/data rbshop

  ctl rebind "$content"
  [[ $status -eq 2 && $stderr == 'ERROR: rebind needs --namespace NS. Run "backup-ns-controller.sh rebind --help" for usage.' ]]
  ctl rebind "$content" --namespace rb-shop
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"rebind: VolumeSnapshot rb-shop/$vs is ready (labelled backup-ns.sh/keep=true)"* ]]
  # The next step names the namespace script where it is beside the controller run.
  [[ ${lines[-1]} == "[backup-ns-controller] next: $E2E_OUT/namespaces/rb-shop/backup-ns.sh restore-pvc $vs --to NEW_PVC, or dump-restore $vs" ]] ||
    { printf '%s\n' "$output"; false; }
  [[ $output == *"rebind: deleted the old content object $content (deletionPolicy Retain: the data stays with backup-ns-rebound-"* ]]
  [[ $output == *"rebind: its backup was taken 2026-05-04T10:00:00Z in namespace rb-shop (backup-ns.sh/cut-at)"* ]]
  run kubectl get vsc "$content"
  [[ $status -ne 0 ]]
  [[ $(recorded volumesnapshot "$vs" -n rb-shop) == '2026-05-04T10:00:00Z 1Gi rb-shop' ]]
  # Its age is that of the backup (months), not of the rebind (seconds).
  bns list
  [[ $output =~ $vs\ +true\ +([0-9]+)d[0-9]+h\ .*\ yes\ +yes\ +- ]] || { printf '%s\n' "$output" "$stderr"; false; }
  ((BASH_REMATCH[1] >= 200))
  bns dump-restore "$vs" --dry-run
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *" of snapshot $vs (taken 2026-05-04T10:00:00Z) ("*" bytes, sha256 "*") passed its checks"* ]] ||
    { printf '%s\n' "$output" "$stderr"; false; }

  bns restore-pvc "$vs" --to data-restored --wait
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  bns dump-restore --from-pvc data-restored --force
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $(pg_sum rbshop) == "$before" ]]
  # The rebound snapshot restores its dump directly, too (annotations carried over).
  db_psql rbshop <<<"DELETE FROM items"
  bns dump-restore "$vs" --force
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $(pg_sum rbshop) == "$before" ]]
}

@test "rebind refuses a content whose snapshot exists, whatever --name says, leaving the live snapshot, its content and data as they were; list orders by the time taken; restore-pvc sizes a rebound snapshot by the recorded PVC size" {
  retain_class
  kubectl create namespace backup-ns >/dev/null 2>&1 || true # the controller's Lease
  e2e_seed_volumes rb-live data
  printf 'live rows\n' >"$(e2e_volume_dir rb-live data)/index.html"
  local vs=data-2026-05-04-100000-live01 content handle before refusal args
  RAND=live01 live rb-live create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  content=$(kubectl -n rb-live get volumesnapshot "$vs" -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  handle=$(kubectl get vsc "$content" -o jsonpath='{.status.snapshotHandle}')
  ctl sync
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  ctl list-contents
  [[ $output =~ $content\ +rb-live\ +$vs\ +data\ +2026-05-04\ +true\ +Retain\ +yes ]]
  before=$(e2e_vs_state rb-live "$vs")
  e2e_seed_volumes rb-other data

  refusal="ERROR: rebind refused for $content: it belongs to VolumeSnapshot rb-live/$vs, which exists; a second snapshot of the same snapshotHandle would lose its data when either is deleted. Nothing was changed. Restore from rb-live/$vs itself (backup-ns.sh restore-pvc or dump-restore in namespace rb-live); rebind is for a content whose snapshot is gone (list-contents --orphaned)"
  for args in "--namespace rb-live" "--namespace rb-live --name dup-test" "--namespace rb-other" "--namespace rb-other --name dup-test"; do
    # shellcheck disable=SC2086 # the options are split on purpose
    ctl rebind "$content" $args
    [[ $status -eq 1 && $output == '' && $stderr == "$refusal" ]] || { printf '%s: %s\n%s\n' "$args" "$output" "$stderr"; false; }
    [[ $(e2e_vs_state rb-live "$vs") == "$before" ]]
  done
  run kubectl get volumesnapshot -A -o name
  [[ $output != *dup-test* ]]
  [[ $(holders "$handle") == "$content" ]]

  # A content made by hand with the live snapshot's handle (its own snapshot gone):
  # refused, for the handle is in use.
  kubectl create -f - >/dev/null <<EOF
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata: {name: by-hand, labels: {backup-ns.sh/type: adhoc, backup-ns.sh/pvc: data}}
spec:
  deletionPolicy: Retain
  driver: hostpath.csi.k8s.io
  source: {snapshotHandle: $handle}
  volumeSnapshotRef: {name: gone, namespace: rb-live}
EOF
  ctl rebind by-hand --namespace rb-live --name dup-test
  [[ $status -eq 1 && $stderr == "ERROR: rebind refused for by-hand: VolumeSnapshotContent $content holds the same snapshotHandle $handle and belongs to VolumeSnapshot rb-live/$vs, which exists; a second snapshot of the same snapshotHandle would lose its data when either is deleted. Nothing was changed. Restore from rb-live/$vs itself (backup-ns.sh restore-pvc or dump-restore in namespace rb-live)" ]] ||
    { printf '%s\n%s\n' "$output" "$stderr"; false; }
  kubectl delete vsc by-hand >/dev/null
  [[ $(e2e_vs_state rb-live "$vs") == "$before" ]]

  # An allowed rebind beside it: an older backup's retained content, its snapshot gone.
  printf 'second\n' >"$(e2e_volume_dir rb-live data)/index.html"
  NOW=2026-05-03T10:00:00Z RAND=live02 live rb-live create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  local old new
  old=$(kubectl -n rb-live get volumesnapshot data-2026-05-03-100000-live02 -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  ctl sync
  kubectl -n rb-live delete volumesnapshot data-2026-05-03-100000-live02 --wait=true >/dev/null
  ctl rebind "$old" --namespace rb-live --name second-back
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $(e2e_vs_state rb-live "$vs") == "$before" ]]
  new=$(kubectl -n rb-live get volumesnapshot second-back -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  # ... and the rebound content is in use now: refused too.
  ctl rebind "$new" --namespace rb-live --name third
  [[ $status -eq 1 && $stderr == "ERROR: rebind refused for $new: it belongs to VolumeSnapshot rb-live/second-back, which exists; "* ]] ||
    { printf '%s\n%s\n' "$output" "$stderr"; false; }
  run kubectl -n rb-live get volumesnapshot third
  [[ $status -ne 0 ]]
  [[ $(e2e_vs_state rb-live "$vs") == "$before" ]]

  # A content that sync never annotated (older, or its snapshot deleted first): the
  # time comes from its status.creationTime (the driver's cut), the namespace from its
  # volumeSnapshotRef.
  NOW=2026-05-02T10:00:00Z RAND=live03 live rb-live create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  local cut
  old=$(kubectl -n rb-live get volumesnapshot data-2026-05-02-100000-live03 -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  cut=$(kubectl -n rb-live get volumesnapshot data-2026-05-02-100000-live03 -o jsonpath='{.status.creationTime}')
  kubectl -n rb-live delete volumesnapshot data-2026-05-02-100000-live03 --wait=true >/dev/null
  [[ $(recorded vsc "$old") == '  ' ]]
  ctl rebind "$old" --namespace rb-live --name third-back
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"rebind: its backup was taken $cut in namespace rb-live (backup-ns.sh/cut-at)"* ]]
  [[ $(recorded volumesnapshot third-back -n rb-live) == "$cut  rb-live" ]]
  kubectl -n rb-live delete volumesnapshot third-back --wait=true >/dev/null
  [[ $(e2e_vs_state rb-live "$vs") == "$before" ]]

  # The live snapshot still restores its own data.
  live rb-live restore-pvc "$vs" --to data-check --wait
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $(cat "$(e2e_volume_dir rb-live data-check)/index.html") == 'live rows' ]]

  # list orders by when each was taken: the rebound older backup comes second.
  live rb-live list
  [[ ${lines[1]} == "$vs "* && ${lines[2]} == 'second-back '* && ${#lines[@]} -eq 3 ]] || { printf '%s\n' "$output"; false; }

  # restore-pvc of the rebound snapshot, its source PVC gone: its restoreSize is the
  # bytes held, the PVC had 1Gi when it was taken; the larger wins, and it says so.
  kubectl -n rb-live delete pvc data --wait=true >/dev/null
  local size
  size=$(kubectl -n rb-live get volumesnapshot second-back -o jsonpath='{.status.restoreSize}')
  [[ $size =~ ^[0-9]+$ && $size -lt 1024 ]]
  live rb-live restore-pvc second-back --to second-check --wait
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${lines[0]} == "[backup-ns] rb-live: created PVC second-check from VolumeSnapshot second-back (1Gi = the size of PVC data when the snapshot was taken (backup-ns.sh/pvc-size); restoreSize $size, ReadWriteOnce)" ]] ||
    { printf '%s\n' "$output" "$stderr"; false; }
  [[ $(kubectl -n rb-live get pvc second-check -o jsonpath='{.spec.resources.requests.storage}') == 1Gi ]]
  [[ $(cat "$(e2e_volume_dir rb-live second-check)/index.html") == second ]]

  # What is read back from annotations is checked: a cut-at or pvc-size that create
  # never writes makes the toolbox refuse the snapshot; list falls back to
  # status.creationTime (here the rebind's: the newest).
  kubectl -n rb-live annotate volumesnapshot second-back --overwrite 'backup-ns.sh/cut-at=2026-05-03T10:00:00' >/dev/null
  live rb-live restore-pvc second-back --to unused
  [[ $status -eq 1 && $stderr == 'ERROR: VolumeSnapshot second-back is refused in namespace rb-live: its annotation backup-ns.sh/cut-at "2026-05-03T10:00:00" is not a UTC time (YYYY-MM-DDTHH:MM:SSZ), which backup-ns.sh never writes. Nothing was read or changed. Someone edited the snapshot: check who may edit VolumeSnapshots in rb-live, and use another snapshot (backup-ns.sh list)' ]] ||
    { printf '%s\n%s\n' "$output" "$stderr"; false; }
  live rb-live list
  [[ ${lines[1]} == 'second-back '* ]] || { printf '%s\n' "$output"; false; }
  kubectl -n rb-live annotate volumesnapshot second-back --overwrite 'backup-ns.sh/cut-at=2026-05-03T10:00:00Z' 'backup-ns.sh/pvc-size=1e3Gi' >/dev/null
  live rb-live restore-pvc second-back --to unused
  [[ $status -eq 1 && $stderr == *'its annotation backup-ns.sh/pvc-size "1e3Gi" is not a quantity, which backup-ns.sh never writes.'* ]] ||
    { printf '%s\n%s\n' "$output" "$stderr"; false; }
  run kubectl -n rb-live get pvc unused
  [[ $status -ne 0 ]]
}
