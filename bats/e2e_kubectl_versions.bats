#!/usr/bin/env bats
# End to end across kubectl versions: the machine's kubectl dispatcher runs the kubectl
# build that matches the server's minor version, so a kubesim answering /version with
# another minor drives the rendered script through that kubectl (exec included).
# 1.32 is what every other e2e file uses. Below 1.30 kubectl execs over SPDY, which
# kubesim does not speak (real clusters do), so the range starts at 1.30.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  e2e_setup_file --postgres --no-kubesim backupns_yaml
}

# backupns_yaml: this file's config (e2e_setup_file writes and renders it once the
# databases listen, so $PG_PORT is set).
backupns_yaml() {
  cat <<EOF
defaults:
  timeZone: UTC
  flock: {enabled: false}
namespaces:
  app:
    pvcs: [data]
    database:
      postgres:
        exec: deployment/app-base
        container: postgres
        host: 127.0.0.1
        port: $PG_PORT
        dumpFile: /var/lib/postgresql/data/dump.sql.gz
controller:
  namespace: backup-ns
EOF
}

teardown_file() {
  load helpers/e2e
  e2e_teardown_file
}

setup() {
  load helpers/db
  load helpers/kubesim
  load helpers/e2e
}

teardown() {
  kubesim_stop
}

# dump_and_snapshot_with MINOR: a kubesim of version 1.MINOR (state in this test's dir),
# then the postgres namespace's create; checks the kubectl build that really ran.
dump_and_snapshot_with() {
  BATS_FILE_TMPDIR=$BATS_TEST_TMPDIR kubesim_start --snapshot-ready-delay 0 --version "1.$1"
  kubesim_env
  run kubectl version
  [[ $output == *"Client Version: v1.$1."* && $output == *"Server Version: v1.$1."* ]]
  db_psql <<<"DROP DATABASE IF EXISTS app WITH (FORCE); CREATE DATABASE app;"
  db_psql app <<<"CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 5);"
  e2e_seed_volumes app data
  e2e_seed_postgres app data /var/lib/postgresql/data app
  run --separate-stderr env BAK_NOW=2026-05-04T10:00:00Z BAK_VS_RAND="kubectl1$1" \
    bash "$(e2e_script app)" create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ -z $stderr ]]
  local vs=data-2026-05-04-100000-kubectl1$1
  [[ $output == *"[backup-ns] app: database: dump verified: /var/lib/postgresql/data/dump.sql.gz, "* ]]
  [[ $output == *"[backup-ns] app: result: VolumeSnapshot $vs of PVC data: readyToUse=true "* ]]
  [[ ${lines[-1]} == "[backup-ns] app: done: created $vs" ]]
  gzip -t "$(e2e_vs_dir app "$vs")/dump.sql.gz"
}

@test "kubectl 1.30: dump and ready snapshot" {
  dump_and_snapshot_with 30
}

@test "kubectl 1.31: dump and ready snapshot" {
  dump_and_snapshot_with 31
}

@test "kubectl 1.33: dump and ready snapshot" {
  dump_and_snapshot_with 33
}
