#!/usr/bin/env bats
# The restore toolbox end to end: the rendered script's list, restore-pvc, verify,
# dump-restore, dump-download, delete and keep run with real bash and the real kubectl
# against kubesim, with a real PostgreSQL and MariaDB behind `kubectl exec`. Helper pods
# are `sleep` pods that the checks are exec'd into (kubesim mounts their volumes).
# The drills: point in time (PostgreSQL and MySQL) and verify of a good vs a corrupted
# dump. The namespace-deleted drill (rebind) is in e2e_rebind.bats; the interactive
# paths (confirmations, db-shell) in tests/toolbox/test_tty.py.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  e2e_setup_file --postgres --mariadb backupns_yaml
}

# backupns_yaml: this file's config (e2e_setup_file writes and renders it once the
# databases listen, so $PG_PORT and $MY_PORT are set).
backupns_yaml() {
  local ns
  printf 'defaults:\n  timeZone: UTC\n  flock: {enabled: false}\n'
  printf '  waitUntilReady: {enabled: true, timeout: 1m}\n  verify: {timeout: 1m}\nnamespaces:\n'
  for ns in tb-pg tb-verify; do
    printf '  %s:\n    pvcs: [data]\n    database:\n      postgres:\n' "$ns"
    printf '        exec: deployment/app-base\n        container: postgres\n'
    printf '        host: 127.0.0.1\n        port: %s\n' "$PG_PORT"
    printf '        dumpFile: /var/lib/postgresql/data/dump.sql.gz\n'
  done
  # the drill pod runs as the database's uid (this machine's postgres user)
  printf '    verify: {runAsUser: %s, timeout: 1m}\n' "$(id -u postgres)"
  printf '  tb-after:\n    pvcs: [data]\n    database: none\n    verify: {afterBackup: true, timeout: 1m}\n'
  printf '  tb-my:\n    pvcs: [data]\n    database:\n      mysql:\n'
  printf '        exec: statefulset/wordpress-db\n        container: mariadb\n'
  printf '        host: 127.0.0.1\n        port: %s\n' "$MY_PORT"
  printf '        dumpFile: /var/lib/mysql/dump.sql.gz\n'
  printf '  tb-files:\n    pvcs: [www]\n    database: none\n'
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

teardown() {
  kubesim_clear_faults
}

# bns NS ARGS...: run NS's rendered script (private TMPDIR, fixed clock for create).
bns() {
  local ns=$1
  shift
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_NOW=2026-05-04T10:00:00Z \
    BAK_VS_RAND="${RAND:-e2e001}" bash "$(e2e_script "$ns")" "$@" </dev/null
}

# toolbox_leftovers NS: helper pods and scratch PVCs still there (should be none).
toolbox_leftovers() {
  kubectl -n "$1" get pods,pvc -l app.kubernetes.io/component=toolbox -o name
}

shop_db() {
  db_psql <<<"DROP DATABASE IF EXISTS $1 WITH (FORCE); CREATE DATABASE $1;"
  db_psql "$1" <<SQL
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2));
INSERT INTO items SELECT g, 'item ' || g || E' \\'quoted\\' ü', g * 1.25 FROM generate_series(1, ${2:-300}) g;
SQL
}

# pg_sum DB: checksum of the table's COPY TO STDOUT (byte-equal rows).
pg_sum() {
  db_psql "$1" <<<"COPY (SELECT * FROM items ORDER BY id) TO STDOUT" | sha256sum
}

my_sum() {
  db_mysql "$1" <<<"SELECT id, name, price FROM items ORDER BY id" | sha256sum
}

@test "list: empty namespace, then the snapshots with their columns, filters, --help" {
  e2e_seed_volumes tb-files www
  bns tb-files list
  [[ $status -eq 0 && $output == 'no snapshots found in tb-files' ]]
  printf 'hello\n' >"$(e2e_volume_dir tb-files www)/index.html"
  bns tb-files create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  RAND=e2e002 bns tb-files create
  [[ $status -eq 0 ]]
  bns tb-files list
  [[ $status -eq 0 ]]
  [[ ${lines[0]} =~ ^NAME\ +READY\ +AGE\ +SIZE\ +PVC\ +TYPE\ +PERIODS\ +DELETE-AFTER\ +KEEP\ +DUMP\ +VERIFIED$ ]]
  [[ ${#lines[@]} -eq 3 ]]
  [[ ${lines[1]} =~ ^www-2026-05-04-100000-e2e00[12]\ +true\ +[0-9]+[smhd][0-9mh]*\ +1Gi\ +www\ +adhoc\ + ]]
  # The first of its day/week/month carries the period labels.
  local re='www-2026-05-04-100000-e2e001 +true +[^ ]+ +1Gi +www +adhoc +2026-05-04 2026-w19 2026-05 +- +- +- +-'
  [[ $output =~ $re ]]
  bns tb-files list --daily
  [[ ${#lines[@]} -eq 2 && ${lines[1]} == www-2026-05-04-100000-e2e001* ]]
  bns tb-files list --type cronjob
  [[ $output == 'no snapshots found in tb-files' ]]
  bns tb-files list --pvc www --type adhoc
  [[ ${#lines[@]} -eq 3 ]]
  bns tb-files list --bogus
  [[ $status -eq 2 && $stderr == 'ERROR: list: unknown argument "--bogus". Run "backup-ns.sh list --help" for usage.' ]]
  bns tb-files list --help
  [[ $status -eq 0 && ${lines[0]} == 'Usage: backup-ns.sh list '* ]]
}

@test "restore-pvc: -o prints and creates nothing; refuses existing and not-ready; creates with the snapshot's size" {
  local vs=www-2026-05-04-100000-e2e001
  bns tb-files restore-pvc "$vs" --to www-back -o json
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *'"name": "www-back"'* && $output == *'"storage": "1Gi"'* && $output == *'"kind": "VolumeSnapshot"'* ]]
  bns tb-files restore-pvc "$vs" --to www-back -o yaml
  [[ $status -eq 0 && $output == *'kind: PersistentVolumeClaim'* && $output == *'name: www-back'* ]]
  run kubectl -n tb-files get pvc www-back
  [[ $status -ne 0 ]]
  bns tb-files restore-pvc "$vs" --to www
  [[ $status -eq 1 && $stderr == 'ERROR: PVC www already exists in namespace tb-files: restore-pvc never overwrites a PVC. Pick another --to name, or delete www first if it is really not needed' ]]
  bns tb-files restore-pvc "$vs" --to www-back --size 1Mi
  [[ $status -eq 1 && $stderr == "ERROR: --size 1Mi is too small in namespace tb-files: snapshot $vs needs at least 1Gi. Pass --size 1Gi or more" ]]
  local big
  for big in 16384Pi 100000000000000P; do
    bns tb-files restore-pvc "$vs" --to www-back --size "$big"
    [[ $status -eq 2 && $stderr == "ERROR: --size \"$big\" is too large (at most 8Ei). Run \"backup-ns.sh restore-pvc --help\" for usage." ]] ||
      { echo "$big: $status $stderr"; false; }
  done
  bns tb-files restore-pvc "$vs" --to www-back --size 8000Pi -o json
  [[ $status -eq 0 && $output == *'"storage": "8000Pi"'* ]]
  bns tb-files restore-pvc nosuch --to www-back
  [[ $status -eq 1 && $stderr == 'ERROR: cannot read VolumeSnapshot nosuch in namespace tb-files: Error from server (NotFound): volumesnapshots.snapshot.storage.k8s.io "nosuch" not found. See the snapshots with: backup-ns.sh list' ]]
  bns tb-files restore-pvc "$vs"
  [[ $status -eq 2 && $stderr == 'ERROR: restore-pvc needs --to NEW_PVC. Run "backup-ns.sh restore-pvc --help" for usage.' ]]
  kubesim_fault '{"type":"snapshot","match":{"namespace":"tb-files","name":".*"},"mode":"never-ready"}' >/dev/null
  BAK_VS_WAIT_UNTIL_READY=false RAND=nready bns tb-files create
  [[ $status -eq 0 ]]
  bns tb-files restore-pvc www-2026-05-04-100000-nready --to www-back
  [[ $status -eq 1 && $stderr == 'ERROR: VolumeSnapshot www-2026-05-04-100000-nready is not ready in namespace tb-files: readyToUse is "false". Wait until it is ready, or pick another snapshot (backup-ns.sh list)' ]]
  bns tb-files restore-pvc "$vs" --to www-back --size 2Gi --wait
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${lines[0]} == "[backup-ns] tb-files: created PVC www-back from VolumeSnapshot $vs (2Gi, StorageClass csi-hostpath-sc, ReadWriteOnce)" ]]
  [[ ${lines[1]} == '[backup-ns] tb-files: PVC www-back is Bound' ]]
  [[ $(cat "$(e2e_volume_dir tb-files www-back)/index.html") == hello ]]
  [[ $(kubectl -n tb-files get pvc www-back -o jsonpath='{.spec.resources.requests.storage}') == 2Gi ]]
}

@test "keep, unkeep and delete: keep=true needs --force; no terminal needs --yes; content policy patched to Delete" {
  local vs=www-2026-05-04-100000-e2e002 content
  bns tb-files keep "$vs"
  [[ $status -eq 0 && $output == *"VolumeSnapshot $vs: backup-ns.sh/keep=true"* ]]
  [[ $(kubectl -n tb-files get volumesnapshot "$vs" -o jsonpath='{.metadata.labels.backup-ns\.sh/keep}') == true ]]
  bns tb-files keep "$vs"
  [[ $status -eq 0 && $output == "[backup-ns] tb-files: VolumeSnapshot $vs is already kept (backup-ns.sh/keep=true); nothing changed" ]]
  # A snapshot that does not exist is named first, terminal or not.
  bns tb-files delete nosuch
  [[ $status -eq 1 && ${#stderr_lines[@]} -eq 1 && $stderr == 'ERROR: cannot read VolumeSnapshot nosuch in namespace tb-files: Error from server (NotFound): volumesnapshots.snapshot.storage.k8s.io "nosuch" not found. '* ]] ||
    { echo "$stderr"; false; }
  bns tb-files verify nosuch
  [[ $status -eq 1 && ${#stderr_lines[@]} -eq 1 && $stderr == 'ERROR: cannot read VolumeSnapshot nosuch in namespace tb-files: Error from server (NotFound): volumesnapshots.snapshot.storage.k8s.io "nosuch" not found. '* ]] ||
    { echo "$stderr"; false; }
  bns tb-files delete "$vs"
  [[ $status -eq 1 && $stderr == "ERROR: delete refused in namespace tb-files: VolumeSnapshot $vs is labelled backup-ns.sh/keep=true. Run backup-ns.sh unkeep $vs first, or pass --force" ]]
  bns tb-files delete "$vs" --yes
  [[ $status -eq 1 && $stderr == "ERROR: delete refused in namespace tb-files: VolumeSnapshot $vs is labelled backup-ns.sh/keep=true. Run backup-ns.sh unkeep $vs first, or pass --force" ]]
  bns tb-files unkeep "$vs"
  [[ $status -eq 0 && $output == "[backup-ns] tb-files: VolumeSnapshot $vs: backup-ns.sh/keep removed (retention applies again)" ]]
  [[ -z $(kubectl -n tb-files get volumesnapshot "$vs" -o jsonpath='{.metadata.labels.backup-ns\.sh/keep}') ]]
  kubesim_reset_requests
  bns tb-files unkeep "$vs"
  [[ $status -eq 0 && $output == "[backup-ns] tb-files: VolumeSnapshot $vs was not kept (no backup-ns.sh/keep=true label); nothing changed" ]]
  [[ -z $(e2e_mutating_requests tb-files) ]]
  bns tb-files delete "$vs"
  [[ $status -eq 1 && $stderr == 'ERROR: delete refused in namespace tb-files: stdin is not a terminal, so nobody can confirm. Run it in a terminal, or pass --yes to skip the question' ]]
  [[ $output != *'will delete'* ]]
  kubectl -n tb-files get volumesnapshot "$vs" >/dev/null
  bns tb-files keep "$vs"
  content=$(kubectl -n tb-files get volumesnapshot "$vs" -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  kubectl patch volumesnapshotcontent "$content" --type merge -p '{"spec":{"deletionPolicy":"Retain"}}' >/dev/null
  kubesim_reset_requests
  bns tb-files delete "$vs" --yes --force
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${lines[0]} == "will delete: VolumeSnapshot tb-files/$vs (PVC www, taken 2026-05-04T10:00:00Z, $content, deletionPolicy Retain, keep=true)" ]]
  [[ ${lines[1]} == 'The snapshot data is deleted for good; it cannot be restored afterwards.' ]]
  [[ ${lines[-1]} == "[backup-ns] tb-files: deleted VolumeSnapshot $vs and its content $content" ]]
  run kubesim_requests
  [[ $output == *'"method":"PATCH","path":"/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/'"$content"'"'* ]]
  run kubectl get volumesnapshotcontent "$content"
  [[ $status -ne 0 ]]
  run kubectl -n tb-files get volumesnapshot "$vs"
  [[ $status -ne 0 ]]
}

@test "drill 1, PostgreSQL point in time: back up, change rows, restore-pvc, dump-restore --from-pvc: rows byte-equal" {
  shop_db pit 300
  local before vs=data-2026-05-04-100000-e2e001
  before=$(pg_sum pit)
  e2e_seed_volumes tb-pg data
  e2e_seed_postgres tb-pg data /var/lib/postgresql/data pit
  bns tb-pg create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  db_psql pit <<<"DELETE FROM items WHERE id > 100; UPDATE items SET name = 'changed' WHERE id < 10; INSERT INTO items VALUES (1000, 'new', 1);"
  [[ $(pg_sum pit) != "$before" ]]
  bns tb-pg restore-pvc "$vs" --to data-yesterday --wait
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  bns tb-pg dump-restore --from-pvc data-yesterday --dry-run
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *'dry run: would REPLACE PostgreSQL database "pit" with the dump of the dump file on PVC data-yesterday (written '*'): everything in it now (tables created after the backup too) is gone (in deployment/app-base container postgres); nothing was restored'* ]] ||
    { printf '%s\n' "$output"; false; }
  [[ $(pg_sum pit) != "$before" ]]
  bns tb-pg dump-restore --from-pvc data-yesterday
  [[ $status -eq 1 && $stderr == 'ERROR: dump-restore refused in namespace tb-pg: stdin is not a terminal, so nobody can confirm. Run it in a terminal, or pass --force to skip the question' ]]
  bns tb-pg dump-restore --from-pvc data-yesterday --force
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ -z $stderr ]]
  [[ $output == *'database: PostgreSQL answers in deployment/app-base container postgres (database pit, pg_dump (PostgreSQL) 15.'* ]]
  [[ ${lines[-1]} =~ ^'[backup-ns] tb-pg: dump-restore: done: PostgreSQL database pit replaced by the dump of the dump file on PVC data-yesterday (written '[0-9TZ:-]+') in '[0-9]+s$ ]] ||
    { printf '%s\n' "$output"; false; }
  [[ $(pg_sum pit) == "$before" ]]
  [[ -z $(toolbox_leftovers tb-pg) ]]
  [[ -z $(ls -A "$BATS_TEST_TMPDIR/tmp") ]]
}

@test "dump-restore refuses a snapshot without a dump and a corrupt dump, and changes nothing" {
  db_psql pit <<<"UPDATE items SET price = 0 WHERE id = 1;"
  local sum vs=data-2026-05-04-100000-e2e001 dir
  sum=$(pg_sum pit)
  BAK_DB_SKIP=true RAND=nodump bns tb-pg create
  [[ $status -eq 0 ]]
  bns tb-pg dump-restore data-2026-05-04-100000-nodump --force
  [[ $status -eq 1 && $stderr == 'ERROR: VolumeSnapshot data-2026-05-04-100000-nodump holds no dump in namespace tb-pg: it has no backup-ns.sh/dump-file and dump-sha256 annotations. Pick the snapshot of the dump PVC data (backup-ns.sh list shows DUMP yes)' ]]
  dir=$(e2e_vs_dir tb-pg "$vs")
  cp "$dir/dump.sql.gz" "$BATS_TEST_TMPDIR/good.gz"
  printf 'garbage' | dd of="$dir/dump.sql.gz" bs=1 seek=100 conv=notrunc 2>/dev/null
  bns tb-pg dump-restore "$vs" --force
  [[ $status -eq 1 ]]
  [[ $stderr =~ ^"ERROR: the dump of snapshot $vs (taken "[^\)]+") failed its check in namespace tb-pg: sha256 mismatch: dump.sql.gz has sha256 "[0-9a-f]{64}", the snapshot's dump-sha256 says "[0-9a-f]{64}". Nothing was restored; pick another snapshot (backup-ns.sh list)"$ ]]
  [[ $(pg_sum pit) == "$sum" ]]
  [[ -z $(toolbox_leftovers tb-pg) ]]
  cp "$BATS_TEST_TMPDIR/good.gz" "$dir/dump.sql.gz"
}

@test "drill 1, MySQL point in time: back up, change rows, dump-restore SNAPSHOT: rows byte-equal" {
  db_mysql <<<"DROP DATABASE IF EXISTS shop; CREATE DATABASE shop;"
  db_mysql shop <<<"CREATE TABLE items (id int PRIMARY KEY, name text, price decimal(10,2)); INSERT INTO items VALUES (1, 'a ''q'' ü', 1.25), (2, 'b\\tc', 2.5), (3, 'x', 3);"
  local before vs=data-2026-05-04-100000-e2e001
  before=$(my_sum shop)
  e2e_seed_volumes tb-my data
  e2e_seed_mysql tb-my data /var/lib/mysql shop
  bns tb-my create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  db_mysql shop <<<"DELETE FROM items WHERE id = 2; UPDATE items SET name = 'changed'; CREATE TABLE later (x int);"
  [[ $(my_sum shop) != "$before" ]]
  bns tb-my dump-restore "$vs" --force
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"dump-restore: the dump var/lib/mysql/dump.sql.gz of snapshot $vs (taken "* ]] || [[ $output == *"dump-restore: the dump dump.sql.gz of snapshot $vs"* ]]
  [[ $(my_sum shop) == "$before" ]]
  [[ -z $(toolbox_leftovers tb-my) ]]
}

@test "drill 3, verify: passes on a good snapshot, fails on a corrupted dump; the annotation says why" {
  shop_db ver 100
  e2e_seed_volumes tb-verify data
  e2e_seed_postgres tb-verify data /var/lib/postgresql/data ver
  bns tb-verify create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  local vs=data-2026-05-04-100000-e2e001 size result dir
  size=$(kubectl -n tb-verify get volumesnapshot "$vs" -o jsonpath='{.metadata.annotations.backup-ns\.sh/dump-size}')
  # the database container writes its dump as its own uid (kubesim's exec runs as root)
  dir=$(e2e_vs_dir tb-verify "$vs")
  chown -R postgres: "$dir"
  bns tb-verify verify "$vs"
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  result="ok: tables=1 rows=100 checks=0 bytes=$size load=[0-9]+s restore=[0-9]+s"
  [[ ${lines[-1]} =~ ^"[backup-ns] tb-verify: verify: VolumeSnapshot $vs "$result$ ]]
  [[ $(e2e_vs_annotation tb-verify "$vs" backup-ns.sh/verified-result) =~ ^$result$ ]]
  [[ $(e2e_vs_annotation tb-verify "$vs" backup-ns.sh/verified-at) =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
  [[ $(e2e_vs_annotation tb-verify "$vs" backup-ns.sh/verified-ok) == true ]]
  [[ -z $(toolbox_leftovers tb-verify) ]]
  bns tb-verify list
  [[ $output =~ $vs\ +true.*\ yes\ +ok\ tables=1\ rows=100 ]]
  # Corrupt the stored dump after the backup (same size, other bytes).
  printf 'XXXXXXXX' | dd of="$dir/dump.sql.gz" bs=1 seek=50 conv=notrunc 2>/dev/null
  bns tb-verify verify "$vs"
  [[ $status -eq 1 ]]
  [[ ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr =~ ^"ERROR: verify of $vs failed: drill in namespace tb-verify: sha256 mismatch: dump.sql.gz has sha256 "[0-9a-f]{64}", the snapshot's dump-sha256 says "[0-9a-f]{64}". The dump does not come back as the backup recorded it: make a new backup, keep an older good snapshot (backup-ns.sh keep), and see docs/runbook.md (reading a drill result)"$ ]]
  result=$(e2e_vs_annotation tb-verify "$vs" backup-ns.sh/verified-result)
  [[ $result =~ ^"failed: drill: sha256 mismatch: dump.sql.gz has sha256 "[0-9a-f]{64}", the snapshot's dump-sha256 says "[0-9a-f]{64}$ ]]
  [[ $(e2e_vs_annotation tb-verify "$vs" backup-ns.sh/verified-ok) == false ]]
  [[ -z $(toolbox_leftovers tb-verify) ]]
  # A snapshot without a dump: the volume must mount and hold something.
  bns tb-files verify www-2026-05-04-100000-e2e001
  [[ $status -eq 0 && ${lines[-1]} =~ 'ok: files=1 bytes='[0-9]+' restore='[0-9]+s$ ]]
}

@test "verify after backup: the CronJob setting verifies each new snapshot; a SIGTERM during verify leaves nothing behind" {
  e2e_seed_volumes tb-after data
  printf 'uploaded\n' >"$(e2e_volume_dir tb-after data)/file"
  bns tb-after create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  local vs=data-2026-05-04-100000-e2e001
  [[ $output == *"verify: VolumeSnapshot $vs ok: files=1 bytes=9 restore="* ]]
  [[ ${lines[-1]} == "[backup-ns] tb-after: done: created $vs" ]]
  [[ $(e2e_vs_annotation tb-after "$vs" backup-ns.sh/verified-result) == 'ok: '* ]]
  # Only this namespace binds the verify role.
  grep -q 'name: "backup-ns-verify"' "$E2E_OUT/namespaces/tb-after/manifests.yaml"
  run ! grep -q 'backup-ns-verify' "$E2E_OUT/namespaces/tb-verify/manifests.yaml"
  # SIGTERM while the helper pod's check hangs: the pod and the PVC are deleted.
  kubesim_fault '{"type":"http","match":{"method":"GET","path":"/api/v1/namespaces/tb-after/pods/backup-ns-verify-.*/exec"},"delay":30}' >/dev/null
  TMPDIR="$BATS_TEST_TMPDIR/tmp" bash "$(e2e_script tb-after)" verify "$vs" >"$BATS_TEST_TMPDIR/out" 2>&1 </dev/null &
  local pid=$! i
  for ((i = 0; i < 200; i++)); do
    grep -q 'helper pod .* runs' "$BATS_TEST_TMPDIR/out" && break
    sleep 0.1
  done
  sleep 0.5
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [[ $rc -eq 143 ]] || { cat "$BATS_TEST_TMPDIR/out"; false; }
  grep -q 'cleanup: deleted pods/backup-ns-verify-' "$BATS_TEST_TMPDIR/out"
  grep -q 'cleanup: deleted persistentvolumeclaims/backup-ns-verify-' "$BATS_TEST_TMPDIR/out"
  [[ -z $(toolbox_leftovers tb-after) ]]
  [[ -z $(ls -A "$BATS_TEST_TMPDIR/tmp") ]]
}

@test "dump-download: resumes after a cut stream, verifies size, sha256 and gzip locally, prints how to import" {
  local vs=data-2026-05-04-100000-e2e001 size
  size=$(kubectl -n tb-pg get volumesnapshot "$vs" -o jsonpath='{.metadata.annotations.backup-ns\.sh/dump-size}')
  kubesim_fault '{"type":"exec-cut","match":{"namespace":"tb-pg","pod":"backup-ns-dump-download-.*","container":"toolbox"},"afterBytes":1000,"times":2}' >/dev/null
  cd "$BATS_TEST_TMPDIR"
  umask 022
  bns tb-pg dump-download
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  # The whole database: readable by its owner only, as on the volume.
  [[ $(stat -c %a "$vs-dump.sql.gz") == 600 ]]
  [[ $output == *'download: retry 1 of 5 from byte '* ]]
  [[ $output == *"downloaded ./$vs-dump.sql.gz: $size bytes, sha256 "*" (matches the snapshot), gzip -t passed"* ]]
  # the size, the time and the rate, in units a person reads
  local re='gzip -t passed; [0-9]+(\.[0-9])? (B|KiB|MiB) in [0-9]+s \([0-9]+(\.[0-9])? (B|KiB|MiB)/s\)'$'\n'
  [[ $output =~ $re ]] || { echo "$output"; false; }
  [[ ${lines[-1]} == "Or restore it into the live database:   backup-ns.sh dump-restore $vs" ]]
  [[ $(stat -c %s "$vs-dump.sql.gz") == "$size" ]]
  gzip -dc "$vs-dump.sql.gz" | grep -q 'CREATE TABLE public.items'
  bns tb-pg dump-download "$vs"
  [[ $status -eq 1 && $stderr == "ERROR: ./$vs-dump.sql.gz exists: dump-download never overwrites a file. Remove it or pass -o PATH" ]]
  [[ -z $(toolbox_leftovers tb-pg) ]]
}

# hostile_refused NS VS WANT: verify, dump-restore --force and dump-download of VS each
# exit 1 with one line matching the glob WANT; the database, the toolbox objects and the
# working directory are unchanged.
# hostile_refused NS VS WANT: verify, dump-restore --force and dump-download of VS each
# exit 1 with one line matching the glob WANT; the database, the toolbox objects and the
# working directory are unchanged.
hostile_refused() {
  local ns=$1 vs=$2 want=$3 sum cmd args rc out err
  sum=$(pg_sum pit)
  for cmd in verify dump-restore dump-download; do
    args=("$cmd" "$vs")
    [[ $cmd != dump-restore ]] || args+=(--force)
    rc=0
    out=$(TMPDIR="$BATS_TEST_TMPDIR/tmp" bash "$(e2e_script "$ns")" "${args[@]}" 2>"$BATS_TEST_TMPDIR/err" </dev/null) || rc=$?
    err=$(<"$BATS_TEST_TMPDIR/err")
    # shellcheck disable=SC2053 # WANT is a glob on purpose
    [[ $rc -eq 1 && $err != *$'\n'* && $err == $want ]] || { printf '%s: exit %s\n%s\n%s\n' "$cmd" "$rc" "$out" "$err"; return 1; }
    [[ $out != *'dump-restore: restoring'* && $out != *'downloaded '* ]] || { printf '%s: %s\n' "$cmd" "$out"; return 1; }
  done
  rm -f "$BATS_TEST_TMPDIR/err"
  [[ $(pg_sum pit) == "$sum" ]]
  [[ $(db_psql pit <<<"SELECT count(*) FROM pg_tables WHERE tablename = 'evil'" | tr -d '[:space:]') == 0 ]]
  [[ -z $(toolbox_leftovers "$ns") ]]
  [[ -z $(ls -A "$BATS_TEST_TMPDIR/work") && -z $(ls -A "$BATS_TEST_TMPDIR/tmp") ]]
}

@test "a hostile snapshot: a dump-file annotation climbing out with .., or a symlink out of the volume, is refused by verify, dump-restore and dump-download" {
  local vs=data-2026-05-04-100000-hostile outside size sha dir
  RAND=hostile bns tb-pg create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  # A dump outside every volume, readable by anyone (the helper pod runs as a non-root uid).
  outside=$(mktemp -d /tmp/bns-outside.XXXXXX)
  chmod 755 "$outside"
  printf 'CREATE TABLE evil (x int);\n' | gzip >"$outside/evil.sql.gz"
  chmod 644 "$outside/evil.sql.gz"
  size=$(stat -c %s "$outside/evil.sql.gz")
  sha=$(sha256sum <"$outside/evil.sql.gz")
  sha=${sha%% *}
  mkdir "$BATS_TEST_TMPDIR/work"
  cd "$BATS_TEST_TMPDIR/work"

  kubectl -n tb-pg annotate --overwrite volumesnapshot "$vs" \
    "backup-ns.sh/dump-file=/x/../../../..$outside/evil.sql.gz" "backup-ns.sh/dump-size=$size" \
    "backup-ns.sh/dump-sha256=$sha" >/dev/null
  kubesim_reset_requests
  hostile_refused tb-pg "$vs" "ERROR: VolumeSnapshot $vs is refused in namespace tb-pg: its annotation backup-ns.sh/dump-file \"/x/../../../..$outside/evil.sql.gz\" is not an absolute path (segments of letters, digits and ._@+=,- ; no '.' or '..' segments, no trailing '/'), which backup-ns.sh never writes. Nothing was read or changed. Someone edited the snapshot: check who may edit VolumeSnapshots in tb-pg, and use another snapshot (backup-ns.sh list)"
  # Refused before any scratch PVC or helper pod was made.
  run ! grep -E '"method": ?"POST"' <(e2e_mutating_requests tb-pg | grep -v '/exec')
  # Nothing recorded on the snapshot either.
  [[ -z $(e2e_vs_annotation tb-pg "$vs" backup-ns.sh/verified-result) ]]

  # Other values backup-ns.sh never writes.
  local keys=(dump-size dump-sha256 dump-file) bad=(12a "${sha^^}" '/var/lib/a|b') good=("$size" "$sha" /var/lib/postgresql/data/dump.sql.gz)
  local why=('is not a number of bytes' 'is not 64 lowercase hex digits' "holds a '|' or a line break") i
  kubectl -n tb-pg annotate --overwrite volumesnapshot "$vs" "backup-ns.sh/dump-file=${good[2]}" >/dev/null
  for i in 0 1 2; do
    kubectl -n tb-pg annotate --overwrite volumesnapshot "$vs" "backup-ns.sh/${keys[i]}=${bad[i]}" >/dev/null
    bns tb-pg verify "$vs"
    [[ $status -eq 1 && ${#stderr_lines[@]} -eq 1 && $stderr == "ERROR: VolumeSnapshot $vs is refused in namespace tb-pg: its "*" ${why[i]}, which backup-ns.sh never writes. "* ]] ||
      { echo "${keys[i]}: $stderr"; false; }
    kubectl -n tb-pg annotate --overwrite volumesnapshot "$vs" "backup-ns.sh/${keys[i]}=${good[i]}" >/dev/null
  done
  [[ -z $(toolbox_leftovers tb-pg) ]]

  # A valid annotation, but the file in the snapshot is a symlink out of the volume.
  dir=$(e2e_vs_dir tb-pg "$vs")
  ln -sf "$outside/evil.sql.gz" "$dir/dump.sql.gz"
  hostile_refused tb-pg "$vs" "ERROR: *dump.sql.gz leads out of the restored volume (it resolves to $outside/evil.sql.gz): a symlink out of the volume is never followed. *"
  # A directory on the way that is a symlink out of the volume.
  rm -f "$dir/dump.sql.gz"
  mkdir -p "$outside/d"
  cp "$outside/evil.sql.gz" "$outside/d/dump.sql.gz"
  chmod -R a+rX "$outside/d"
  mkdir -p "$dir/var/lib/postgresql"
  ln -s "$outside/d" "$dir/var/lib/postgresql/data"
  hostile_refused tb-pg "$vs" "ERROR: *var/lib/postgresql/data/dump.sql.gz leads out of the restored volume (it resolves to $outside/d/dump.sql.gz): a symlink out of the volume is never followed. *"
  rm -rf "$outside"
}

@test "--help of every command; no database commands in a namespace without a database" {
  local c
  for c in list restore-pvc verify dump-restore dump-download db-shell delete keep unkeep; do
    bns tb-pg "$c" --help
    [[ $status -eq 0 && ${lines[0]} == "Usage: backup-ns.sh ${c#un}"* ]] ||
      { echo "$c: $output"; false; }
  done
  bns tb-files dump-restore --help
  [[ $status -eq 2 && $stderr == 'ERROR: unknown command "dump-restore". Run "backup-ns.sh --help" for usage.' ]]
  run ! grep -q 'command_dump_restore\|postgres_remote_restore' "$(e2e_script tb-files)"
  run ! grep -q 'mysql_remote_restore\|mysql scratch' "$(e2e_script tb-pg)"
  grep -q 'postgres_remote_restore' "$(e2e_script tb-pg)"
}

@test "runbook: its first step, run as written, also shows the day's later and ad-hoc snapshots" {
  local S step readme
  readme="$(cd -- "$BATS_TEST_DIRNAME/.." && pwd)/docs/runbook.md"
  S=$(e2e_script tb-files)
  e2e_seed_volumes tb-files www
  printf 'hello\n' >"$(e2e_volume_dir tb-files www)/index.html"
  run env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_NOW=2027-02-01T01:00:00Z BAK_VS_RAND=rb0001 \
    BAK_LABEL_VS_TYPE=cronjob bash "$S" create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output"; false; }
  run env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_NOW=2027-02-01T15:30:00Z BAK_VS_RAND=rb0002 bash "$S" create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output"; false; }
  # The runbook's first command that lists snapshots, exactly as docs/runbook.md writes it.
  # shellcheck disable=SC2016 # the runbook's literal "$S list", not an expansion
  step=$(sed -n '/^## I need yesterday/,/^## The namespace was deleted/p' "$readme" | grep -m 1 '^\$S list')
  step=${step%%#*}
  run --separate-stderr env S="$S" bash -c "$step"
  [[ $status -eq 0 ]] || { printf '%s\n' "$step" "$stderr"; false; }
  [[ ${lines[1]} == www-2027-02-01-153000-rb0002\ * && ${lines[2]} == www-2027-02-01-010000-rb0001\ * ]] ||
    { printf '%s\n' "$step" "$output"; false; }
  [[ ${lines[1]} =~ \ adhoc\ +-\  && ${lines[2]} =~ \ cronjob\ +2027-02-01\ 2027-w05\ 2027-02\  ]]
}

@test "list -o json: one JSON document with the documented fields; no match is an empty list" {
  local S
  S=$(e2e_script tb-files)
  e2e_seed_volumes tb-files www
  printf 'hello\n' >"$(e2e_volume_dir tb-files www)/index.html"
  run env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_NOW=2027-03-01T01:00:00Z BAK_VS_RAND=js0001 \
    BAK_LABEL_VS_TYPE=cronjob bash "$S" create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output"; false; }
  bns tb-files keep www-2027-03-01-010000-js0001
  bns tb-files list --pvc www -o json
  [[ $status -eq 0 && -z $stderr ]]
  run python3 -c '
import json, sys
doc = json.load(sys.stdin)
assert doc["namespace"] == "tb-files", doc
snaps = doc["snapshots"]
assert len(snaps) >= 2, snaps
for s in snaps:
    assert set(s) == {"name", "ready", "taken", "created", "restoreSize", "pvc", "type",
                      "periods", "deleteAfter", "keep", "dump", "verified"}, s
assert [s["taken"] for s in snaps] == sorted((s["taken"] for s in snaps), reverse=True)
s = next(s for s in snaps if s["name"] == "www-2027-03-01-010000-js0001")
assert s == {"name": "www-2027-03-01-010000-js0001", "ready": True,
             "taken": "2027-03-01T01:00:00Z", "created": s["created"],
             "restoreSize": "1Gi", "pvc": "www", "type": "cronjob",
             "periods": ["2027-03-01", "2027-w09", "2027-03"], "deleteAfter": None,
             "keep": True, "dump": False, "verified": None}, s
print("ok")' <<<"$output"
  [[ $status -eq 0 && $output == ok ]] || { echo "$output"; false; }
  bns tb-files list --type nosuch -o json
  [[ $status -eq 0 && $output == '{"namespace": "tb-files", "snapshots": []}' ]]
  bns tb-files list -o yaml
  [[ $status -eq 2 && $stderr == 'ERROR: list: -o takes json (the table is the default). Run "backup-ns.sh list --help" for usage.' ]]
  bns tb-files unkeep www-2027-03-01-010000-js0001
}

@test "list: an annotation with terminal escapes is shown without them; one with a line break cannot make up a row" {
  local vs=www-2026-05-04-100000-e2e001
  kubectl -n tb-files annotate --overwrite volumesnapshot "$vs" $'backup-ns.sh/verified-result=ok\e[2J: x' >/dev/null
  bns tb-files list
  [[ $status -eq 0 && $output != *$'\e'* && $output == *"$vs "*' ok [2J'* ]] || { printf '%q\n' "$output"; false; }
  kubectl -n tb-files annotate --overwrite volumesnapshot "$vs" \
    $'backup-ns.sh/verified-result=ok: x\n2027-01-01T00:00:00Z|www-fake|true|1Gi|www|adhoc||||||||||ok' >/dev/null
  bns tb-files list
  [[ $status -eq 1 && ${#stderr_lines[@]} -eq 1 && $output != *www-fake* ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $stderr == "ERROR: cannot list VolumeSnapshots in namespace tb-files: an annotation of one of them holds a line break, which backup-ns.sh never writes ("*" snapshots, "*" lines). Someone edited a snapshot: find it with kubectl -n tb-files get volumesnapshots -o yaml, and check who may edit VolumeSnapshots" ]]
  bns tb-files list -o json
  [[ $status -eq 1 && $output != *www-fake* ]]
  kubectl -n tb-files annotate volumesnapshot "$vs" backup-ns.sh/verified-result- >/dev/null
  bns tb-files list
  [[ $status -eq 0 ]]
}
