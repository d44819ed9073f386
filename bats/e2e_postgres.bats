#!/usr/bin/env bats
# End to end with a real PostgreSQL 15: the rendered script (backupns-gen render) runs
# with real bash and the real kubectl against kubesim; `kubectl exec deployment/app-base`
# runs psql/pg_dump as real processes that reach the test server with the password from
# the container's env. Covers dump → snapshot → restore, several PVCs and the dump-*
# annotations, no password in any argv (defect 4), failing dumps, the used-space
# threshold and dry runs.

bats_require_minimum_version 1.5.0

PG_NAMESPACES=(pg-modes pg-restore pg-multi pg-argv pg-baddb pg-locked pg-nospace pg-cut pg-killed pg-full pg-dry pg-missing pg-revoked pg-rls)

setup_file() {
  load helpers/e2e
  e2e_setup_file --postgres backupns_yaml
}

# backupns_yaml: this file's config (e2e_setup_file writes and renders it once the
# databases listen, so $PG_PORT is set).
backupns_yaml() {
  local ns pvcs
  printf 'defaults:\n  timeZone: UTC\n  flock: {enabled: false}\n'
  printf '  waitUntilReady: {enabled: true, timeout: 1m}\nnamespaces:\n'
  for ns in "${PG_NAMESPACES[@]}"; do
    pvcs='[data]'
    [[ $ns != pg-multi ]] || pvcs='[data, uploads, cache]'
    printf '  %s:\n    pvcs: %s\n    database:\n      postgres:\n' "$ns" "$pvcs"
    printf '        exec: deployment/app-base\n        container: postgres\n'
    printf '        host: 127.0.0.1\n        port: %s\n' "$PG_PORT"
    printf '        dumpFile: /var/lib/postgresql/data/dump.sql.gz\n'
  done
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
}

teardown() {
  kubesim_clear_faults
}

# create NS [VAR=value...]: run NS's rendered script `create` with the given settings
# (TMPDIR private to the test: the script's work directory must be gone afterwards).
create() {
  local ns=$1
  shift
  mkdir -p "$BATS_TEST_TMPDIR/tmp"
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_NOW=2026-05-04T10:00:00Z \
    BAK_VS_RAND=e2e001 "$@" bash "$(e2e_script "$ns")" create
}

# no_leftovers: the script removed its work directory (on success and on failure).
no_leftovers() {
  [[ -z $(ls -A "$BATS_TEST_TMPDIR/tmp") ]]
}

# shop_db NAME [ROWS]: a database with two tables (numbers, text with quotes and UTF-8).
shop_db() {
  db_psql <<<"DROP DATABASE IF EXISTS $1 WITH (FORCE); CREATE DATABASE $1;"
  db_psql "$1" <<SQL
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2));
INSERT INTO items SELECT g, 'item ' || g || E' \\'quoted\\' ü', g * 1.25 FROM generate_series(1, ${2:-500}) g;
CREATE TABLE notes (k text PRIMARY KEY, body text);
INSERT INTO notes VALUES ('tab', E'a\\tb'), ('newline', E'line1\\nline2'), ('empty', '');
SQL
}

# fingerprint DB: one line that changes with any row of DB.
fingerprint() {
  db_psql "$1" <<<"SELECT (SELECT count(*) || ':' || sum(id) || ':' || md5(string_agg(name || price, ',' ORDER BY id)) FROM items) || '/' || (SELECT md5(string_agg(k || body, ',' ORDER BY k)) FROM notes)"
}

# restore NS ARGS...: run NS's rendered script `dump-restore ARGS` (no terminal).
restore() {
  local ns=$1
  shift
  mkdir -p "$BATS_TEST_TMPDIR/tmp"
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" bash "$(e2e_script "$ns")" dump-restore "$@" </dev/null
}

# databases: the names of the server's databases (sorted, one a line).
databases() {
  db_psql <<<"SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1"
}

# hold_session DB SQL: a session on DB running SQL in the background (its pid in HELD).
hold_session() {
  PGPASSWORD=$PG_PASSWORD psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$1" <<<"$2" >/dev/null 2>&1 &
  HELD=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(db_psql <<<"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()") == 1 ]] && return 0
    sleep 0.1
  done
  return 1
}

# release_when_pg_dump_waits DB: once pg_dump waits for a lock in DB, wait 0.5 s more,
# then cancel the session holding it (its pg_sleep) so the dump goes on.
release_when_pg_dump_waits() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ $(db_psql <<<"SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND application_name = 'pg_dump' AND wait_event_type = 'Lock'") == 1 ]] && break
    sleep 0.1
  done
  sleep 0.5
  db_psql <<<"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = '$1' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null
}

@test "postgres: dump, snapshot ready; the snapshot's dump restores into a fresh database" {
  shop_db shop 500
  local before
  before=$(fingerprint shop)
  e2e_seed_volumes pg-restore data
  e2e_seed_postgres pg-restore data /var/lib/postgresql/data shop
  local vs=data-2026-05-04-100000-e2e001 p='[backup-ns] pg-restore:'
  create pg-restore
  [[ $status -eq 0 ]]
  [[ -z $stderr ]]
  [[ ${lines[0]} == "$p backup-ns "*" (postgres): create in namespace pg-restore (PVCs: data, database: postgres)" ]]
  [[ $output == *$'\n'"$p database: PostgreSQL check passed in deployment/app-base container postgres (pg_dump (PostgreSQL) 15."* ]]
  [[ $output =~ $'\n'"$p database: /var/lib/postgresql/data is "[0-9]+"% used (limit 90%)"$'\n' ]]
  [[ $output == *$'\n'"$p database: dumping PostgreSQL to /var/lib/postgresql/data/dump.sql.gz"$'\n'* ]]
  [[ $output =~ $'\n'"$p database: dump verified: /var/lib/postgresql/data/dump.sql.gz, "([0-9]+)" bytes, sha256 "([0-9a-f]{64})", "[0-9]+"s"$'\n' ]]
  local size=${BASH_REMATCH[1]} sha=${BASH_REMATCH[2]}
  [[ $output =~ $'\n'"$p result: VolumeSnapshot $vs of PVC data: readyToUse=true restoreSize=1Gi content=snapcontent-"[0-9a-f-]+$'\n' ]]
  [[ ${lines[-1]} == "$p done: created $vs" ]]
  no_leftovers
  # The one write of the run: the VolumeSnapshot (the dry-run test relies on this check).
  run e2e_mutating_requests pg-restore
  [[ $output == *'"method":"POST","path":"/apis/snapshot.storage.k8s.io/v1/namespaces/pg-restore/volumesnapshots"'* ]]
  [[ $(grep -c '"method":"POST","path":"/apis/snapshot' <<<"$output") -eq 1 ]]

  # The database changes after the backup; the restore must show the backup's rows.
  db_psql shop <<<"DELETE FROM items WHERE id > 100; UPDATE notes SET body = 'changed';"
  [[ $(fingerprint shop) != "$before" ]]

  local dir
  dir=$(e2e_vs_dir pg-restore "$vs")
  [[ $(ls -A "$dir") == $'dump.sql.gz\ndump.sql.gz.info\ndump.sql.gz.tables' ]]
  [[ $(stat -c %s "$dir/dump.sql.gz") == "$size" ]]
  [[ $(sha256sum <"$dir/dump.sql.gz") == "$sha  -" ]]
  db_psql <<<"DROP DATABASE IF EXISTS restored WITH (FORCE); CREATE DATABASE restored;"
  gunzip -c "$dir/dump.sql.gz" | db_psql restored >/dev/null
  [[ $(fingerprint restored) == "$before" ]]
}

@test "postgres, several PVCs: one dump, one snapshot per PVC, dump-* annotations only on the dump PVC's" {
  shop_db multi 50
  e2e_seed_volumes pg-multi data uploads cache
  e2e_seed_postgres pg-multi data /var/lib/postgresql/data multi
  printf 'picture\n' >"$(e2e_volume_dir pg-multi uploads)/cat.jpg"
  create pg-multi
  [[ $status -eq 0 ]]
  [[ -z $stderr ]]
  local log=$output
  [[ $(grep -c 'database: dumping PostgreSQL' <<<"$output") -eq 1 ]]
  [[ $(grep -c 'snapshot: created VolumeSnapshot' <<<"$output") -eq 3 ]]
  local d=data-2026-05-04-100000-e2e001 u=uploads-2026-05-04-100000-e2e001 c=cache-2026-05-04-100000-e2e001
  [[ $(e2e_vs_names pg-multi) == "$c"$'\n'"$d"$'\n'"$u" ]]
  # The dump PVC's snapshot: annotations that describe the stored file exactly.
  local dir size sha
  dir=$(e2e_vs_dir pg-multi "$d")
  size=$(stat -c %s "$dir/dump.sql.gz")
  sha=$(sha256sum <"$dir/dump.sql.gz")
  sha=${sha%% *}
  run e2e_vs_annotations pg-multi "$d"
  local recorded=$'backup-ns.sh/pvc-namespace=pg-multi\nbackup-ns.sh/pvc-size=1Gi\nenv-config: present'
  [[ $output =~ ^"backup-ns.sh/cut-at=2026-05-04T10:00:00Z"$'\n'"backup-ns.sh/dump-duration="([0-9]+)$'\n'"backup-ns.sh/dump-file=/var/lib/postgresql/data/dump.sql.gz"$'\n'"backup-ns.sh/dump-sha256=$sha"$'\n'"backup-ns.sh/dump-size=$size"$'\n'"$recorded"$ ]]
  local dur=${BASH_REMATCH[1]}
  [[ $log == *"dump verified: /var/lib/postgresql/data/dump.sql.gz, $size bytes, sha256 $sha, ${dur}s"$'\n'* ]]
  # The other snapshots: env-config only, and their own data.
  local vs
  for vs in "$u" "$c"; do
    run e2e_vs_annotations pg-multi "$vs"
    [[ $output == "backup-ns.sh/cut-at=2026-05-04T10:00:00Z"$'\n'"$recorded" ]]
  done
  [[ $(cat "$(e2e_vs_dir pg-multi "$u")/cat.jpg") == picture ]]
  [[ -z $(ls -A "$(e2e_vs_dir pg-multi "$c")") ]]
  run e2e_vs_annotation pg-multi "$d" backup-ns.sh/env-config
  [[ $output == *$'\nBAK_PVC_NAMES=data uploads cache\nBAK_DUMP_PVC=data\n'* ]]
  [[ $output == *$'\nBAK_DB_POSTGRES_PASSWORD=${POSTGRES_PASSWORD}\n'* ]]
}

@test "defect 4: the password is in no process's argv while the dump runs, nor in output, annotations, request log" {
  shop_db argv 200
  e2e_seed_volumes pg-argv data
  e2e_seed_postgres pg-argv data /var/lib/postgresql/data argv
  e2e_argv_watch_start "$PG_PASSWORD"
  # Hold a lock on items until pg_dump has waited for it a while, so it is alive
  # (and visible in /proc) long enough; then cancel the holder and let it finish.
  db_psql argv <<<"BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT;" \
    >/dev/null 2>&1 &
  local holder=$!
  release_when_pg_dump_waits argv &
  local releaser=$!
  create pg-argv BAK_DEBUG=true
  local report
  report=$(e2e_argv_watch_stop)
  wait "$releaser"
  wait "$holder" || true
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  # The watcher ran while the dump did (the blocked pg_dump and its kubectl exec).
  [[ $report == *$'\nseen= '*' pg_dump '* && $report == *' kubectl '* ]] || { printf '%s\n' "$report"; false; }
  [[ $report != *HIT* ]]
  # Debug mode traces every command to stderr: no password there either.
  [[ $stderr == *'+ '* ]]
  [[ $output$stderr != *"$PG_PASSWORD"* ]]
  run kubectl -n pg-argv get volumesnapshots -o yaml
  [[ $output == *backup-ns.sh/env-config* && $output != *"$PG_PASSWORD"* ]]
  run grep -cF "$PG_PASSWORD" "$KUBESIM_STATE/requests.jsonl" "$KUBESIM_STATE/stdout" "$KUBESIM_STATE/stderr"
  [[ $output == *:0$'\n'*:0$'\n'*:0 ]]
}

@test "missing pieces: no PVC, no exec target: one line each, nothing dumped or created" {
  e2e_seed_volumes pg-missing
  create pg-missing
  [[ $status -eq 1 ]]
  [[ $stderr == 'ERROR: cannot read PVC data in namespace pg-missing: Error from server (NotFound): persistentvolumeclaims "data" not found. Check BAK_PVC_NAMES (kubectl -n pg-missing get pvc) and that the ServiceAccount may get persistentvolumeclaims' ]]
  e2e_seed_volumes pg-missing data
  create pg-missing
  [[ $status -eq 1 ]]
  [[ $output == *'[backup-ns] pg-missing: pvc: data exists' ]]
  [[ $stderr == 'ERROR: PostgreSQL exec target deployment/app-base not found in namespace pg-missing: Error from server (NotFound): deployments.apps "app-base" not found. Check BAK_DB_POSTGRES_EXEC_RESOURCE and that the workload exists' ]]
  [[ -z $(ls -A "$(e2e_volume_dir pg-missing data)") ]]
  [[ -z $(e2e_vs_names pg-missing) ]]
}

@test "failing dump: a wrong database name stops before the dump; no dump file, no snapshot" {
  e2e_seed_volumes pg-baddb data
  e2e_seed_postgres pg-baddb data /var/lib/postgresql/data nosuchdb
  create pg-baddb
  [[ $status -eq 1 ]] || { printf "%s\n" "$output" "$stderr"; false; }
  [[ ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr == "ERROR: PostgreSQL check failed in deployment/app-base container postgres in namespace pg-baddb: SELECT 1 failed: "*'database "nosuchdb" does not exist. Check BAK_DB_POSTGRES_EXEC_CONTAINER, the database user and password settings, and that the database is running' ]]
  [[ $output != *'snapshot: created'* ]]
  no_leftovers
  [[ -z $(ls -A "$(e2e_volume_dir pg-baddb data)") ]]
  [[ -z $(e2e_vs_names pg-baddb) ]]
}

@test "failing dump: the database drops pg_dump midway; partial file removed, previous dump kept, no snapshot" {
  shop_db locked 50
  e2e_seed_volumes pg-locked data
  e2e_seed_postgres pg-locked data /var/lib/postgresql/data locked
  local vol old
  vol=$(e2e_volume_dir pg-locked data)
  printf 'previous dump\n' | gzip >"$vol/dump.sql.gz"
  old=$(sha256sum <"$vol/dump.sql.gz")
  # Another session locks items; once pg_dump waits for that lock (its gzip output file
  # exists by then), the server terminates pg_dump's connection.
  db_psql locked <<<"BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT;" \
    >/dev/null 2>&1 &
  local holder=$!
  (
    for ((i = 0; i < 300; i++)); do
      [[ $(db_psql <<<"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'locked' AND application_name = 'pg_dump' AND wait_event_type = 'Lock'") == t ]] && break
      sleep 0.1
    done
    db_psql <<<"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'locked' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null
  ) &
  local killer=$!
  create pg-locked
  wait "$killer"
  wait "$holder" || true
  [[ $status -eq 1 ]] || { printf "%s\n" "$output" "$stderr"; false; }
  [[ $output == *'database: dumping PostgreSQL to /var/lib/postgresql/data/dump.sql.gz' ]]
  # The error line carries pg_dump's error line; its detail lines follow, indented.
  [[ ${stderr_lines[0]} =~ ^"ERROR: PostgreSQL dump failed in deployment/app-base container postgres in namespace pg-locked: dump | gzip into /var/lib/postgresql/data/dump.sql.gz.tmp."[A-Za-z0-9]+"/dump failed: pg_dump: error: "[^$'\n']*". No snapshot was made and no unfinished dump file is left; check the database, the connection and the free space on PVC data"$ ]]
  [[ ${stderr_lines[-1]} == '  pg_dump: detail: Query was: '* ]] || { printf '%s\n' "$stderr"; false; }
  [[ $(ls -A "$vol") == dump.sql.gz ]]
  [[ $(sha256sum <"$vol/dump.sql.gz") == "$old" ]]
  [[ -z $(e2e_vs_names pg-locked) ]]
}

@test "failing dump: a full disk (ENOSPC) fails the dump; no partial file, no snapshot" {
  db_psql <<<"DROP DATABASE IF EXISTS nospace WITH (FORCE); CREATE DATABASE nospace;"
  # ~1.3 MB of random hex: it does not fit into a 512 KiB volume even gzipped.
  db_psql nospace <<<"CREATE TABLE r AS SELECT g AS id, md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 20000) g;"
  e2e_seed_volumes pg-nospace data
  e2e_seed_postgres pg-nospace data /var/lib/postgresql/data nospace
  kubesim_fault '{"type":"disk","match":{"namespace":"pg-nospace","pvc":"data"},"sizeBytes":524288}'
  create pg-nospace
  [[ $status -eq 1 ]] || { printf "%s\n" "$output" "$stderr"; false; }
  [[ $output == *'database: dumping PostgreSQL to /var/lib/postgresql/data/dump.sql.gz' ]]
  [[ ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr =~ ^"ERROR: PostgreSQL dump failed in deployment/app-base container postgres in namespace pg-nospace: "[^$'\n']*"No space left on device"[^$'\n']*". No snapshot was made and no unfinished dump file is left; check the database, the connection and the free space on PVC data"$ ]]
  [[ -z $(ls -A "$(e2e_volume_dir pg-nospace data)") ]]
  [[ -z $(e2e_vs_names pg-nospace) ]]
}

@test "failing dump: the exec stream is cut during the dump; non-zero, one line, no temp file, no snapshot" {
  shop_db cut 50
  e2e_seed_volumes pg-cut data
  e2e_seed_postgres pg-cut data /var/lib/postgresql/data cut
  # The check (~70 bytes) and the space probe (~10 bytes) pass; the dump's report is cut.
  kubesim_fault '{"type":"exec-cut","match":{"namespace":"pg-cut","pod":".*","container":"postgres"},"afterBytes":100}'
  create pg-cut
  [[ $status -ne 0 ]]
  [[ $output == *'database: dumping PostgreSQL to /var/lib/postgresql/data/dump.sql.gz' ]]
  [[ ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr == "ERROR: PostgreSQL dump failed in deployment/app-base container postgres in namespace pg-cut: "*"websocket: close 1006 (abnormal closure)"*". No snapshot was made and no unfinished dump file is left; check the database, the connection and the free space on PVC data" ]]
  local vol i
  vol=$(e2e_volume_dir pg-cut data)
  # The container's script may still be removing its temporary directory.
  for ((i = 0; i < 100; i++)); do
    [[ $(ls -A "$vol") != *.tmp.* ]] && break
    sleep 0.05
  done
  run ls -A "$vol"
  [[ $output != *.tmp.* ]]
  [[ -z $output ]] || gzip -t "$vol/dump.sql.gz"
  [[ -z $(e2e_vs_names pg-cut) ]]
}

@test "killed mid-dump (SIGKILL to the job): pg_dump does not keep running, no temp file, no snapshot" {
  shop_db killed 50
  e2e_seed_volumes pg-killed data
  e2e_seed_postgres pg-killed data /var/lib/postgresql/data killed
  db_psql killed <<<"BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT;" \
    >/dev/null 2>&1 &
  local holder=$! log=$BATS_TEST_TMPDIR/run.log vol i waiting=''
  vol=$(e2e_volume_dir pg-killed data)
  # Its own process group, so the whole job (bash, kubectl) can be killed like a pod.
  setsid bash "$(e2e_script pg-killed)" create >"$log" 2>&1 &
  local job=$!
  for ((i = 0; i < 300; i++)); do
    waiting=$(db_psql <<<"SELECT count(*) FROM pg_stat_activity WHERE datname = 'killed' AND application_name = 'pg_dump' AND wait_event_type = 'Lock'")
    [[ $waiting == 1 ]] && break
    sleep 0.1
  done
  [[ $waiting == 1 ]] || { cat "$log"; false; }
  # pg_dump is blocked, its temporary gzip file exists on the PVC.
  compgen -G "$vol/dump.sql.gz.tmp.*" >/dev/null
  kill -KILL -- "-$job"
  wait "$job" || true
  # kubesim notices the dropped exec stream and ends pg_dump; its trap removes the file
  # (up to a minute: on a loaded machine, beside pytest, 10 s was once not enough).
  local left=1
  for ((i = 0; i < 600; i++)); do
    left=$(db_psql <<<"SELECT count(*) FROM pg_stat_activity WHERE datname = 'killed' AND application_name = 'pg_dump'")
    [[ $left == 0 ]] && ! compgen -G "$vol/dump.sql.gz.tmp.*" >/dev/null && break
    sleep 0.1
  done
  db_psql <<<"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'killed' AND pid <> pg_backend_pid()" >/dev/null
  wait "$holder" || true
  [[ $left == 0 ]] || { echo "pg_dump sessions left: $left"; false; }
  [[ -z $(ls -A "$vol") ]] || { echo "left on the volume after $i polls:"; ls -la "$vol"; false; }
  [[ -z $(e2e_vs_names pg-killed) ]]
}

@test "used-space threshold: a dump disk above the limit is refused before dumping; no snapshot" {
  shop_db fulldisk 10
  e2e_seed_volumes pg-full data
  e2e_seed_postgres pg-full data /var/lib/postgresql/data fulldisk
  kubesim_fault '{"type":"disk","match":{"namespace":"pg-full","pvc":"data"},"usedPercent":95}'
  create pg-full
  [[ $status -eq 1 ]] || { printf "%s\n" "$output" "$stderr"; false; }
  [[ $output != *'database: dumping'* ]]
  [[ ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr =~ ^"ERROR: not enough free space in namespace pg-full: the disk of /var/lib/postgresql/data is "(9[5-9]|100)"% used, the limit is 90%. Free space or grow the PVC data, or raise BAK_THRESHOLD_SPACE_USED_PERCENTAGE"$ ]]
  [[ -z $(e2e_vs_names pg-full) ]]
}

@test "dry run: BAK_DRY_RUN=true dumps nothing and creates nothing" {
  shop_db dry 10
  e2e_seed_volumes pg-dry data
  e2e_seed_postgres pg-dry data /var/lib/postgresql/data dry
  kubesim_reset_requests
  create pg-dry BAK_DRY_RUN=true
  [[ $status -eq 0 ]]
  [[ $stderr == '[backup-ns] pg-dry: WARNING: dry run: nothing is dumped or created (BAK_DRY_RUN=true)' ]]
  [[ $output == *'[backup-ns] pg-dry: database: dry run, not dumping to /var/lib/postgresql/data/dump.sql.gz'* ]]
  [[ $output == *'[backup-ns] pg-dry: snapshot: dry run, would create VolumeSnapshot data-2026-05-04-100000-e2e001 of PVC data'* ]]
  [[ ${lines[-1]} == '[backup-ns] pg-dry: done (dry run): nothing was dumped or created' ]]
  [[ -z $(ls -A "$(e2e_volume_dir pg-dry data)") ]]
  [[ -z $(e2e_vs_names pg-dry) ]]
  [[ -z $(e2e_mutating_requests pg-dry) ]]
}

# reader_db NAME: a database with tables items (readable by role reader) and secret;
# the role reader (password reader-pw; SQL on stdin, never in argv) may log in.
reader_db() {
  db_psql <<<"DROP DATABASE IF EXISTS $1 WITH (FORCE); CREATE DATABASE $1;"
  db_psql <<'SQL'
DO $$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN
    CREATE ROLE reader LOGIN PASSWORD 'reader-pw';
  END IF;
END$$;
SQL
  db_psql "$1" <<<"CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1); GRANT SELECT ON items TO reader;"
}

# create_as_reader NS: create, with the dump made by role reader (password from the
# container's READER_PW).
create_as_reader() {
  # shellcheck disable=SC2016 # a ${VAR} reference for the container, not a shell expansion
  create "$1" BAK_DB_POSTGRES_USER=reader 'BAK_DB_POSTGRES_PASSWORD=${READER_PW}'
}

@test "a revoked SELECT: the error line carries pg_dump's reason, its query follows" {
  reader_db revoked
  db_psql revoked <<<"CREATE TABLE secret (id int); REVOKE ALL ON secret FROM reader;"
  e2e_seed_volumes pg-revoked data
  e2e_seed_postgres pg-revoked data /var/lib/postgresql/data revoked READER_PW=reader-pw
  create_as_reader pg-revoked
  [[ $status -eq 1 ]] || { printf "%s\n" "$output" "$stderr"; false; }
  [[ ${#stderr_lines[@]} -eq 2 ]] || { printf "%s\n" "$stderr"; false; }
  [[ ${stderr_lines[0]} =~ ^"ERROR: PostgreSQL dump failed in deployment/app-base container postgres in namespace pg-revoked: dump | gzip into /var/lib/postgresql/data/dump.sql.gz.tmp."[A-Za-z0-9]+"/dump failed: pg_dump: error: query failed: ERROR:  permission denied for table secret. No snapshot was made and no unfinished dump file is left; check the database, the connection and the free space on PVC data"$ ]]
  [[ ${stderr_lines[1]} == '  pg_dump: detail: Query was: LOCK TABLE public.secret IN ACCESS SHARE MODE' ]]
  no_leftovers
  [[ -z $(ls -A "$(e2e_volume_dir pg-revoked data)") ]]
  [[ -z $(e2e_vs_names pg-revoked) ]]
}

@test "a row-level security policy: the error line names the policy problem, the COPY follows" {
  reader_db rls
  db_psql rls <<'SQL'
CREATE TABLE accounts (id int, owner text);
INSERT INTO accounts VALUES (1, 'alice'), (2, 'reader');
GRANT SELECT ON accounts TO reader;
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON accounts USING (owner = current_user);
SQL
  e2e_seed_volumes pg-rls data
  e2e_seed_postgres pg-rls data /var/lib/postgresql/data rls READER_PW=reader-pw
  create_as_reader pg-rls
  [[ $status -eq 1 ]] || { printf "%s\n" "$output" "$stderr"; false; }
  [[ ${#stderr_lines[@]} -eq 2 ]] || { printf "%s\n" "$stderr"; false; }
  [[ ${stderr_lines[0]} =~ ^"ERROR: PostgreSQL dump failed in deployment/app-base container postgres in namespace pg-rls: dump | gzip into /var/lib/postgresql/data/dump.sql.gz.tmp."[A-Za-z0-9]+"/dump failed: pg_dump: error: query failed: ERROR:  query would be affected by row-level security policy for table \"accounts\". No snapshot was made"* ]]
  [[ ${stderr_lines[1]} == '  pg_dump: detail: Query was: COPY public.accounts (id, owner) TO stdout;' ]]
  [[ -z $(e2e_vs_names pg-rls) ]]
}

@test "dump-restore replaces the database: a table made after the backup is gone; refused while a session is connected unless --terminate-sessions" {
  shop_db modes 50
  local before vs=data-2026-05-04-100000-e2e001
  before=$(fingerprint modes)
  e2e_seed_volumes pg-modes data
  e2e_seed_postgres pg-modes data /var/lib/postgresql/data modes
  create pg-modes
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  db_psql modes <<<"DELETE FROM items WHERE id > 10; CREATE TABLE later (x int); INSERT INTO later VALUES (1);"

  # An application session on the database: replace is refused, nothing changes.
  hold_session modes "SELECT pg_sleep(60)"
  restore pg-modes "$vs" --force
  [[ $status -eq 1 ]]
  [[ $stderr == 'ERROR: dump-restore refused in namespace pg-modes: 1 other session(s) are connected to PostgreSQL database modes. Stop the application (scale it to 0), pass --terminate-sessions to end them, or restore beside it with --into NEWDB; nothing was restored' ]] ||
    { printf '%s\n' "$output" "$stderr"; false; }
  [[ $(db_psql modes <<<"SELECT count(*) FROM later") == 1 ]]

  # --terminate-sessions ends it; afterwards the database holds exactly the dump.
  restore pg-modes "$vs" --force --terminate-sessions
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"dump-restore: loading "*" into the temporary database beside PostgreSQL database modes (an interrupt leaves modes unchanged)"* ]]
  [[ $output == *"dump-restore: loaded; replacing PostgreSQL database modes with it (waiting at most 30s for locks)"* ]]
  [[ ${lines[-1]} =~ ^"[backup-ns] pg-modes: dump-restore: done: PostgreSQL database modes replaced by the dump of snapshot $vs (taken "[^\)]+") in "[0-9]+s$ ]] ||
    { printf '%s\n' "$output"; false; }
  wait "$HELD" || true
  [[ $(fingerprint modes) == "$before" ]]
  [[ $(db_psql modes <<<"SELECT count(*) FROM pg_tables WHERE tablename = 'later'") == 0 ]]
  [[ $(databases | grep -c '^modes') == 1 ]] # no temporary or replaced copy left
  [[ -z $(ls -A "$BATS_TEST_TMPDIR/tmp") ]]
}

@test "dump-restore --into NEWDB: a new database with the dump's rows beside the live one, which is untouched; refused when NEWDB exists" {
  local vs=data-2026-05-04-100000-e2e001 live
  db_psql modes <<<"UPDATE items SET price = 0 WHERE id = 1; CREATE TABLE later2 (x int);"
  live=$(fingerprint modes)
  db_psql <<<"DROP DATABASE IF EXISTS modes_copy WITH (FORCE);"
  hold_session modes "SELECT pg_sleep(60)" # sessions of the live database do not matter
  restore pg-modes "$vs" --force --into modes_copy
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${lines[-1]} =~ ^"[backup-ns] pg-modes: dump-restore: done: PostgreSQL database modes_copy created from snapshot $vs (taken "[^\)]+") in "[0-9]+s"; modes is untouched"$ ]] ||
    { printf '%s\n' "$output"; false; }
  [[ $(fingerprint modes) == "$live" ]]
  [[ $(db_psql modes <<<"SELECT count(*) FROM pg_tables WHERE tablename = 'later2'") == 1 ]]
  [[ $(db_psql modes_copy <<<"SELECT count(*) FROM items") == 50 ]]
  [[ $(db_psql modes_copy <<<"SELECT price FROM items WHERE id = 1") == 1.25 ]]
  restore pg-modes "$vs" --force --into modes_copy
  [[ $status -eq 1 && $stderr == 'ERROR: database modes_copy exists in namespace pg-modes: dump-restore --into restores into a new database only. Pick another name, or drop it first; nothing was restored' ]] ||
    { printf '%s\n' "$output" "$stderr"; false; }
  db_psql <<<"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
  wait "$HELD" || true
}

@test "dump-restore: a lock held on the database times out after --lock-timeout with one line; the database is unchanged, no copy left" {
  local vs=data-2026-05-04-100000-e2e001 live
  db_psql modes <<<"CREATE TABLE IF NOT EXISTS later3 (x int);"
  live=$(db_psql modes <<<"SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
  # A session elsewhere (not connected to modes) holds a lock on the database object.
  hold_session postgres "BEGIN; COMMENT ON DATABASE modes IS 'busy'; SELECT pg_sleep(60);"
  restore pg-modes "$vs" --force --lock-timeout 2s
  [[ $status -eq 1 ]]
  [[ $output == *"dump-restore: loaded; replacing PostgreSQL database modes with it (waiting at most 2s for locks)"* ]]
  [[ $stderr =~ ^"ERROR: PostgreSQL restore failed in deployment/app-base container postgres in namespace pg-modes: database modes could not be replaced: another session held a lock on it for longer than the lock timeout (2s); it is unchanged (the loaded copy modes_restore_"[a-z0-9]+" was dropped). "[^$'\n']+$ ]] ||
    { printf '%s\n' "$output" "$stderr"; false; }
  db_psql <<<"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
  wait "$HELD" || true
  [[ $(db_psql modes <<<"SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "$live" ]]
  [[ $(databases | grep -c '^modes_re') == 0 ]]
}
