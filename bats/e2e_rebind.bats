#!/usr/bin/env bats
# Drill 2, the namespace is deleted: back up PostgreSQL, label the content as the
# controller's sync does (seeded through the API), delete the namespace (the content is
# Retain and stays), recreate it, list-contents --orphaned, rebind, restore-pvc,
# dump-restore from the restored PVC: the rows are byte-equal. kubesim binds only a new
# pre-provisioned content, like the real snapshot-controller.

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

pg_sum() {
  db_psql "$1" <<<"COPY (SELECT * FROM items ORDER BY id) TO STDOUT" | sha256sum
}

@test "drill 2, namespace deleted: rebind the retained content, restore-pvc, dump-restore: rows byte-equal" {
  kubectl apply -f - >/dev/null <<'EOF'
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: retain-class}
driver: hostpath.csi.k8s.io
deletionPolicy: Retain
EOF
  db_psql <<<"DROP DATABASE IF EXISTS rbshop WITH (FORCE); CREATE DATABASE rbshop;"
  db_psql rbshop <<<"CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'row ' || g || ' ü' FROM generate_series(1, 200) g;"
  local before vs=data-2026-05-04-100000-e2e001 content
  before=$(pg_sum rbshop)
  e2e_seed_volumes rb-shop data
  e2e_seed_postgres rb-shop data /var/lib/postgresql/data rbshop
  bns create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  content=$(kubectl -n rb-shop get volumesnapshot "$vs" -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  # What the controller's sync copies: the backup-ns.sh/ labels and annotations.
  kubectl label vsc "$content" backup-ns.sh/pvc=data backup-ns.sh/type=adhoc backup-ns.sh/daily=2026-05-04 >/dev/null
  # shellcheck disable=SC2016 # a Go template, not a shell expansion
  kubectl -n rb-shop get volumesnapshot "$vs" -o go-template='{{range $k, $v := .metadata.annotations}}{{$k}}={{$v}}{{"\n"}}{{end}}' |
    grep '^backup-ns.sh/dump-' | xargs kubectl annotate vsc "$content" >/dev/null
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
  [[ $output == *"rebind: deleted the old content object $content (deletionPolicy Retain: the data stays with backup-ns-rebound-"* ]]
  run kubectl get vsc "$content"
  [[ $status -ne 0 ]]
  bns list
  [[ $output =~ $vs\ +true\ .*\ yes\ +yes\ +- ]]

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
