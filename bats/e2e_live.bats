#!/usr/bin/env bats
# The live-database commands end to end, with a real PostgreSQL and MariaDB behind
# `kubectl exec` (kubesim): dump (create's dump path onto the live volume, no snapshot),
# info (the dump file, the server, the newest snapshot; -o json) and dump-download
# --live (a fresh dump streamed to this machine, verified on arrival). The rendered
# script runs with real bash and the real kubectl.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  e2e_setup_file --postgres --mariadb backupns_yaml
}

# backupns_yaml: this file's config (written once the databases listen).
backupns_yaml() {
  printf 'defaults:\n  timeZone: UTC\n  flock: {enabled: false}\n'
  printf '  waitUntilReady: {enabled: true, timeout: 1m}\nnamespaces:\n'
  printf '  live-pg:\n    pvcs: [data]\n    database:\n      postgres:\n'
  printf '        exec: deployment/app-base\n        container: postgres\n'
  printf '        host: 127.0.0.1\n        port: %s\n' "$PG_PORT"
  printf '        dumpFile: /var/lib/postgresql/data/dump.sql.gz\n'
  printf '  live-my:\n    pvcs: [data]\n    database:\n      mysql:\n'
  printf '        exec: statefulset/wordpress-db\n        container: mariadb\n'
  printf '        host: 127.0.0.1\n        port: %s\n' "$MY_PORT"
  printf '        dumpFile: /var/lib/mysql/dump.sql.gz\n'
  printf '  live-none:\n    pvcs: [www]\n    database: none\n'
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

# bns NS ARGS...: run NS's rendered script without a terminal (private TMPDIR).
bns() {
  local ns=$1
  shift
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_NOW=2026-05-04T10:00:00Z \
    BAK_VS_RAND=live01 bash "$(e2e_script "$ns")" "$@" </dev/null
}

# shop_db NAME ROWS: a PostgreSQL database with rows of numbers and awkward text.
shop_db() {
  db_psql <<<"DROP DATABASE IF EXISTS $1 WITH (FORCE); CREATE DATABASE $1;"
  db_psql "$1" <<SQL
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2));
INSERT INTO items SELECT g, 'item ' || g || E' \\'quoted\\' ü', g * 1.25 FROM generate_series(1, $2) g;
SQL
}

# pg_rows DB: every row of items, in order (COPY text: byte-equal rows).
pg_rows() {
  db_psql "$1" <<<"COPY (SELECT * FROM items ORDER BY id) TO STDOUT" | sha256sum
}

# pg_load FILE DB: a fresh database DB holding the gzipped dump FILE.
pg_load() {
  db_psql <<<"DROP DATABASE IF EXISTS $2 WITH (FORCE); CREATE DATABASE $2;"
  gzip -dc "$1" | db_psql "$2" >/dev/null
}

# wp_db NAME ROWS: a MariaDB database with rows of numbers and awkward text.
wp_db() {
  db_mysql <<SQL
DROP DATABASE IF EXISTS \`$1\`;
CREATE DATABASE \`$1\` CHARACTER SET utf8mb4;
USE \`$1\`;
CREATE TABLE posts (id int PRIMARY KEY, title varchar(100) NOT NULL) ENGINE=InnoDB;
INSERT INTO posts SELECT seq, CONCAT('post ', seq, ' \'quoted\' ü €') FROM seq_1_to_$2;
SQL
}

my_rows() {
  db_mysql "$1" <<<"SELECT id, title FROM posts ORDER BY id" | sha256sum
}

# pg_hold DB: lock items in DB until pg_dump has waited for the lock 0.5 s, then let it
# go on (keeps pg_dump alive long enough for /proc and the volume to be looked at).
# Pids in HOLDER and RELEASER.
pg_hold() {
  db_psql "$1" <<<"BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT;" \
    >/dev/null 2>&1 &
  HOLDER=$!
  (
    for ((i = 0; i < 300; i++)); do
      [[ $(db_psql <<<"SELECT count(*) FROM pg_stat_activity WHERE datname = '$1' AND application_name = 'pg_dump' AND wait_event_type = 'Lock'") == 1 ]] && break
      sleep 0.1
    done
    # While pg_dump waits, the dump file on the volume is still the previous one, whole.
    if [[ -n ${WATCH_FILE:-} ]]; then
      { sha256sum <"$WATCH_FILE" && ls -A "${WATCH_FILE%/*}"; } >"$BATS_TEST_TMPDIR/during" 2>&1
    fi
    sleep 0.5
    db_psql <<<"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = '$1' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null
  ) &
  RELEASER=$!
}

# pg_kill_dump DB: lock items in DB; once pg_dump waits for that lock, the server
# terminates pg_dump's connection (a dump that fails midway). Pids in HOLDER and KILLER.
pg_kill_dump() {
  db_psql "$1" <<<"BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30); COMMIT;" \
    >/dev/null 2>&1 &
  HOLDER=$!
  (
    for ((i = 0; i < 300; i++)); do
      [[ $(db_psql <<<"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$1' AND application_name = 'pg_dump' AND wait_event_type = 'Lock'") == t ]] && break
      sleep 0.1
    done
    db_psql <<<"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$1' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null
  ) &
  KILLER=$!
}

@test "dump (postgres): the dump file replaced in one rename, recorded in .info, no snapshot; asks before replacing a file no snapshot holds" {
  shop_db livepg 300
  e2e_seed_volumes live-pg data
  e2e_seed_postgres live-pg data /var/lib/postgresql/data livepg
  local vol p='[backup-ns] live-pg:' size sha first old
  vol=$(e2e_volume_dir live-pg data)
  kubesim_reset_requests
  bns live-pg dump
  [[ $status -eq 0 && -z $stderr ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"$p database: dumping PostgreSQL to /var/lib/postgresql/data/dump.sql.gz"$'\n'* ]]
  [[ $output =~ $'\n'"$p database: dump verified: /var/lib/postgresql/data/dump.sql.gz, "([0-9]+)" bytes, sha256 "([0-9a-f]{64})", "[0-9]+"s"$'\n' ]]
  size=${BASH_REMATCH[1]} sha=${BASH_REMATCH[2]}
  [[ ${lines[-1]} == "$p done: /var/lib/postgresql/data/dump.sql.gz on PVC data replaced (record: /var/lib/postgresql/data/dump.sql.gz.info; no snapshot was made)" ]]
  [[ $(ls -A "$vol") == $'dump.sql.gz\ndump.sql.gz.info\ndump.sql.gz.tables' ]]
  [[ $(stat -c %s "$vol/dump.sql.gz") == "$size" && $(sha256sum <"$vol/dump.sql.gz") == "$sha  -" ]]
  run cat "$vol/dump.sql.gz.info"
  [[ $output =~ ^"size=$size"$'\n'"sha256=$sha"$'\n'"duration="[0-9]+$'\n'"finished=2"[0-9-]+T[0-9:]+Z$ ]]
  [[ -z $(e2e_vs_names live-pg) ]]
  run ! grep -q volumesnapshots <(e2e_mutating_requests live-pg)
  pg_load "$vol/dump.sql.gz" livepg_copy
  [[ $(pg_rows livepg_copy) == "$(pg_rows livepg)" ]]
  [[ -z $(ls -A "$BATS_TEST_TMPDIR/tmp") ]]

  # The file is held by no snapshot: without a terminal, dump refuses to replace it.
  db_psql livepg <<<"DELETE FROM items WHERE id > 100"
  bns live-pg dump
  [[ $status -eq 1 ]]
  [[ $stderr == 'ERROR: dump refused in namespace live-pg: stdin is not a terminal, so nobody can confirm. Run it in a terminal, or pass --force to skip the question' ]]
  [[ $(sha256sum <"$vol/dump.sql.gz") == "$sha  -" ]]

  # --force: while pg_dump waits, the path still holds the previous file, whole; then one
  # rename puts the new dump (another inode) in its place.
  first=$(stat -c %i "$vol/dump.sql.gz")
  old=$(sha256sum <"$vol/dump.sql.gz")
  WATCH_FILE=$vol/dump.sql.gz pg_hold livepg
  bns live-pg dump --force
  wait "$RELEASER"
  wait "$HOLDER" || true
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"$p dump: the dump file /var/lib/postgresql/data/dump.sql.gz on PVC data (written "*") is held by no snapshot; replacing it (--force)"* ]]
  run cat "$BATS_TEST_TMPDIR/during"
  [[ ${lines[0]} == "$old" && ${lines[1]} == dump.sql.gz && ${lines[2]} == dump.sql.gz.info && ${lines[3]} == dump.sql.gz.tables && ${lines[4]} == dump.sql.gz.tmp.* ]] ||
    { printf '%s\n' "$output"; false; }
  [[ $(stat -c %i "$vol/dump.sql.gz") != "$first" && $(ls -A "$vol") == $'dump.sql.gz\ndump.sql.gz.info\ndump.sql.gz.tables' ]]
  pg_load "$vol/dump.sql.gz" livepg_copy
  [[ $(db_psql livepg_copy <<<"SELECT count(*) FROM items") == 100 ]]

  # After a snapshot holds the file, dump replaces it without asking.
  bns live-pg create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  bns live-pg dump
  [[ $status -eq 0 && $output != *'held by no snapshot'* ]] || { printf '%s\n' "$output" "$stderr"; false; }
}

@test "info (postgres): the dump file, its record, the server and the newest snapshot; -o json" {
  local vol sha size vs=data-2026-05-04-100000-live01
  vol=$(e2e_volume_dir live-pg data)
  # The file on the volume: a dump of other rows than the snapshot's.
  db_psql livepg <<<"DELETE FROM items WHERE id > 90"
  bns live-pg dump --force
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  sha=$(sha256sum <"$vol/dump.sql.gz")
  sha=${sha%% *}
  size=$(stat -c %s "$vol/dump.sql.gz")
  bns live-pg info
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${lines[0]} == 'Namespace:        live-pg' ]]
  [[ ${lines[1]} == 'Database:         PostgreSQL database livepg (deployment/app-base, container postgres)' ]]
  [[ ${lines[2]} =~ ^"Server version:   "1[0-9]\.[0-9]+ ]]
  [[ ${lines[3]} =~ ^'Database size:    '[0-9.]+' '(KiB|MiB)' ('[0-9]+' bytes)'$ ]]
  [[ ${lines[4]} == 'Dump file:        /var/lib/postgresql/data/dump.sql.gz (PVC data)' ]]
  [[ ${lines[5]} =~ ^'  written:        '[0-9-]+T[0-9:]+Z' ('[0-9]+[smhd]' ago)'$ ]]
  [[ ${lines[6]} =~ ^'  size:           '.*" ($size bytes)"$ ]]
  [[ ${lines[7]} == "  sha256:         $sha" ]]
  [[ ${lines[8]} =~ ^'  dump took:      '[0-9]+'s (finished '[0-9-]+T[0-9:]+Z')'$ ]]
  [[ ${lines[9]} =~ ^"Newest snapshot:  $vs ("[0-9smhd]+" old, created "[0-9-]+T[0-9:]+Z", holds another dump or none)"$ ]]
  [[ ${#lines[@]} -eq 10 ]]
  [[ $stderr == *'database: PostgreSQL answers in deployment/app-base container postgres'* ]]

  # The snapshot holds the dump it was made with: restore the file create wrote.
  cp "$(e2e_vs_dir live-pg "$vs")/dump.sql.gz" "$vol/dump.sql.gz"
  cp "$(e2e_vs_dir live-pg "$vs")/dump.sql.gz.info" "$vol/dump.sql.gz.info"
  bns live-pg info -o json
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  run python3 -c '
import json, sys
doc = json.loads(sys.stdin.read())
assert set(doc) == {"namespace", "database", "dumpFile", "newestSnapshot"}, doc
db, f, s = doc["database"], doc["dumpFile"], doc["newestSnapshot"]
assert db["kind"] == "postgres" and db["name"] == "livepg" and db["resource"] == "deployment/app-base", db
assert db["container"] == "postgres" and db["serverVersion"][:1].isdigit() and db["sizeBytes"] > 0, db
assert set(f) == {"path", "exists", "modified", "sizeBytes", "sha256", "durationSeconds", "finished"}, f
assert f["path"] == "/var/lib/postgresql/data/dump.sql.gz" and f["exists"] is True, f
assert len(f["sha256"]) == 64 and f["sizeBytes"] > 0 and f["durationSeconds"] >= 0, f
assert s["name"] == sys.argv[1] and s["pvc"] == "data" and s["holdsDump"] is True, s
assert s["ageSeconds"] >= 0 and s["created"].endswith("Z"), s
print("ok")' "$vs" <<<"$output"
  [[ $output == ok ]] || { echo "$output"; false; }

  # A record that describes another file is not shown; without a file, no values.
  printf 'size=1\nsha256=%064d\n' 0 >"$vol/dump.sql.gz.info"
  bns live-pg info
  [[ $output == *$'\n  sha256:         not recorded (no matching dump.sql.gz.info)\n'* ]]
  rm -f "$vol/dump.sql.gz" "$vol/dump.sql.gz.info"
  bns live-pg info -o json
  [[ $status -eq 0 ]]
  [[ $output == *'"dumpFile": {"path": "/var/lib/postgresql/data/dump.sql.gz", "exists": false, "modified": null, "sizeBytes": null, "sha256": null, "durationSeconds": null, "finished": null},'* ]]
  bns live-pg info
  [[ $output == *$'\n  written:        never (no file; make one with: backup-ns.sh dump)\n'* ]]
}

@test "dump (postgres): a failed dump and a dry run leave the previous file and its record as they were" {
  local vol before
  vol=$(e2e_volume_dir live-pg data)
  bns live-pg dump --force
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  before=$(sha256sum "$vol/dump.sql.gz" "$vol/dump.sql.gz.info")
  # The server ends pg_dump's connection midway (while it waits for a lock).
  pg_kill_dump livepg
  bns live-pg dump --force
  wait "$KILLER"
  wait "$HOLDER" || true
  [[ $status -eq 1 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${stderr_lines[0]} == 'ERROR: PostgreSQL dump failed in deployment/app-base container postgres in namespace live-pg: dump | gzip into /var/lib/postgresql/data/dump.sql.gz.tmp.'*'/dump failed: pg_dump: error: '* ]]
  [[ $(sha256sum "$vol/dump.sql.gz" "$vol/dump.sql.gz.info") == "$before" ]]
  [[ $(ls -A "$vol") == $'dump.sql.gz\ndump.sql.gz.info\ndump.sql.gz.tables' ]]

  db_psql livepg <<<"DELETE FROM items WHERE id > 50"
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_DRY_RUN=true bash "$(e2e_script live-pg)" dump </dev/null
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *'database: dry run, not dumping to /var/lib/postgresql/data/dump.sql.gz'* ]]
  [[ $output == *'held by no snapshot; a real run asks before replacing it (or --force)'* ]]
  [[ ${lines[-1]} == '[backup-ns] live-pg: done (dry run): nothing was dumped' ]]
  [[ $(sha256sum "$vol/dump.sql.gz" "$vol/dump.sql.gz.info") == "$before" ]]
}

@test "dump-download --live (postgres): a fresh dump here, rows equal, 0600, the volume untouched, no password in any argv; never overwrites" {
  shop_db livepg 400
  local vol before out=$BATS_TEST_TMPDIR/work/copy.sql.gz report
  vol=$(e2e_volume_dir live-pg data)
  before=$(ls -l --time-style=+%s.%N "$vol"; sha256sum "$vol"/*)
  mkdir "$BATS_TEST_TMPDIR/work"
  e2e_argv_watch_start "$PG_PASSWORD"
  pg_hold livepg
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_DEBUG=true bash "$(e2e_script live-pg)" \
    dump-download --live -o "$out" </dev/null
  report=$(e2e_argv_watch_stop)
  wait "$RELEASER"
  wait "$HOLDER" || true
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"download: streaming a fresh dump of PostgreSQL database livepg from deployment/app-base container postgres to $out"* ]]
  [[ $output =~ $'\n'"[backup-ns] live-pg: download: "[0-9.]+\ (B|KiB|MiB)" ("[0-9]+" bytes) in "[0-9]+"s, "[0-9.]+\ (B|KiB|MiB)"/s"$'\n' ]]
  [[ $output =~ "downloaded $out: "([0-9]+)" bytes, sha256 "([0-9a-f]{64})" (matches the sha256 computed in the container), gzip -t passed, mode 0600" ]]
  [[ $(stat -c %s "$out") == "${BASH_REMATCH[1]}" && $(sha256sum <"$out") == "${BASH_REMATCH[2]}  -" ]]
  [[ $(stat -c %a "$out") == 600 && ! -e $out.part ]]
  pg_load "$out" livepg_copy
  [[ $(pg_rows livepg_copy) == "$(pg_rows livepg)" ]]
  [[ $(db_psql livepg_copy <<<"SELECT count(*) FROM items") == 400 ]]
  # Never through the volume: the dump file there is untouched.
  [[ $(ls -l --time-style=+%s.%N "$vol"; sha256sum "$vol"/*) == "$before" ]]
  # The watcher saw pg_dump and kubectl run, and the password in no argv, output or log.
  [[ $report == *$'\nseen= '*' pg_dump '* && $report == *' kubectl '* ]] || { printf '%s\n' "$report"; false; }
  [[ $report != *HIT* && $stderr == *'+ '* && $output$stderr != *"$PG_PASSWORD"* ]]
  run grep -cF "$PG_PASSWORD" "$KUBESIM_STATE/requests.jsonl" "$KUBESIM_STATE/stdout" "$KUBESIM_STATE/stderr"
  [[ $output == *:0$'\n'*:0$'\n'*:0 ]]

  bns live-pg dump-download --live -o "$out"
  [[ $status -eq 1 && $stderr == "ERROR: $out exists: dump-download never overwrites a file. Remove it or pass -o PATH" ]]
  cd "$BATS_TEST_TMPDIR/work"
  bns live-pg dump-download --live
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  run ls
  [[ ${#lines[@]} -eq 2 && ${lines[0]} == copy.sql.gz && ${lines[1]} =~ ^live-pg-live-[0-9]{8}T[0-9]{6}Z-dump\.sql\.gz$ ]]
  [[ -z $(ls -A "$BATS_TEST_TMPDIR/tmp") ]]
}

@test "dump-download --live (postgres): a dump that fails midway leaves no file" {
  local out=$BATS_TEST_TMPDIR/failed.sql.gz
  pg_kill_dump livepg
  bns live-pg dump-download --live -o "$out"
  wait "$KILLER"
  wait "$HOLDER" || true
  [[ $status -eq 1 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${stderr_lines[0]} == 'ERROR: PostgreSQL dump stream from deployment/app-base container postgres failed in namespace live-pg: pg_dump: error: '*'. No file was left; run dump-download --live again' ]]
  [[ ! -e $out && ! -e $out.part ]]
  [[ -z $(ls -A "$BATS_TEST_TMPDIR/tmp") ]]
}

@test "mysql: dump records the file, info shows it, dump-download --live has the live rows; a failed dump keeps the previous file; no password in argv" {
  wp_db livemy 200
  e2e_seed_volumes live-my data
  e2e_seed_mysql live-my data /var/lib/mysql livemy READER_PW=reader-pw
  local vol sha out=$BATS_TEST_TMPDIR/my.sql.gz report before
  vol=$(e2e_volume_dir live-my data)
  bns live-my dump
  [[ $status -eq 0 && -z $stderr ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output =~ "database: dump verified: /var/lib/mysql/dump.sql.gz, "[0-9]+" bytes, sha256 "([0-9a-f]{64}) ]]
  sha=${BASH_REMATCH[1]}
  [[ $(sed -n 2p "$vol/dump.sql.gz.info") == "sha256=$sha" ]]
  bns live-my info
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${lines[1]} == 'Database:         MySQL database livemy (statefulset/wordpress-db, container mariadb)' ]]
  [[ ${lines[2]} == *MariaDB* && ${lines[7]} == "  sha256:         $sha" && ${lines[9]} == 'Newest snapshot:  none ready (of PVC data)' ]]
  bns live-my info -o json
  run python3 -c '
import json, sys
doc = json.loads(sys.stdin.read())
assert doc["database"]["kind"] == "mysql" and "MariaDB" in doc["database"]["serverVersion"], doc
assert doc["database"]["sizeBytes"] > 0 and doc["dumpFile"]["sha256"] == sys.argv[1], doc
assert doc["newestSnapshot"] is None, doc
print("ok")' "$sha" <<<"$output"
  [[ $output == ok ]] || { echo "$output"; false; }

  # A live download while mysqldump waits for a table lock: the password in no argv.
  db_mysql livemy <<<"UPDATE posts SET title = 'changed' WHERE id = 1"
  e2e_argv_watch_start "$MY_PASSWORD"
  db_mysql livemy <<<"LOCK TABLES posts WRITE; SELECT SLEEP(30); UNLOCK TABLES;" >/dev/null 2>&1 &
  local holder=$!
  (
    for ((i = 0; i < 300; i++)); do
      [[ $(db_mysql <<<"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOCK TABLES%' AND STATE LIKE 'Waiting for table%'") == 1 ]] && break
      sleep 0.1
    done
    sleep 0.5
    db_mysql <<<"SELECT CONCAT('KILL QUERY ', ID, ';') FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(30)'" | db_mysql
  ) &
  local releaser=$!
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_DEBUG=true bash "$(e2e_script live-my)" \
    dump-download --live -o "$out" </dev/null
  report=$(e2e_argv_watch_stop)
  wait "$releaser"
  wait "$holder" || true
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $report == *' kubectl '* && $report =~ \ (mysqldump|mariadb-dump)\  ]] || { printf '%s\n' "$report"; false; }
  [[ $report != *HIT* && $output$stderr != *"$MY_PASSWORD"* ]]
  [[ $(stat -c %a "$out") == 600 ]]
  db_mysql <<<'DROP DATABASE IF EXISTS livemy_copy; CREATE DATABASE livemy_copy CHARACTER SET utf8mb4;'
  gzip -dc "$out" | db_mysql livemy_copy
  [[ $(my_rows livemy_copy) == "$(my_rows livemy)" ]]
  [[ $(db_mysql livemy_copy <<<"SELECT title FROM posts WHERE id = 1") == changed ]]
  [[ $(sed -n 2p "$vol/dump.sql.gz.info") == "sha256=$sha" ]] # the volume untouched

  # A missing SELECT grant fails the dump midway: the previous file and record stay.
  before=$(sha256sum "$vol/dump.sql.gz" "$vol/dump.sql.gz.info")
  db_mysql <<'SQL'
CREATE TABLE livemy.secret (id int);
DROP USER IF EXISTS 'reader'@'%';
CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-pw';
GRANT LOCK TABLES, SHOW VIEW ON livemy.* TO 'reader'@'%';
GRANT SELECT ON livemy.posts TO 'reader'@'%';
SQL
  # shellcheck disable=SC2016 # a ${VAR} reference for the container, not a shell expansion
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_DB_MYSQL_USER=reader 'BAK_DB_MYSQL_PASSWORD=${READER_PW}' \
    bash "$(e2e_script live-my)" dump --force </dev/null
  db_mysql <<<"DROP TABLE livemy.secret; DROP USER 'reader'@'%';"
  [[ $status -eq 1 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $stderr =~ ^"ERROR: MySQL dump failed in statefulset/wordpress-db container mariadb in namespace live-my: dump | gzip into /var/lib/mysql/dump.sql.gz.tmp."[A-Za-z0-9]+"/dump failed: "(mysqldump|mariadb-dump)": Got error: 1142: " ]] ||
    { printf '%s\n' "$stderr"; false; }
  [[ $(sha256sum "$vol/dump.sql.gz" "$vol/dump.sql.gz.info") == "$before" ]]
  [[ $(ls -A "$vol") == $'dump.sql.gz\ndump.sql.gz.info\ndump.sql.gz.tables' ]]
}

@test "refusals: no database configured (no such commands), BAK_DB_SKIP, wrong arguments; --help of each" {
  bns live-none dump
  [[ $status -eq 2 && $stderr == 'ERROR: unknown command "dump". Run "backup-ns.sh --help" for usage.' ]]
  bns live-none info
  [[ $status -eq 2 && $stderr == 'ERROR: unknown command "info". Run "backup-ns.sh --help" for usage.' ]]
  bns live-none dump-download --live
  [[ $status -eq 2 && $stderr == 'ERROR: unknown command "dump-download". Run "backup-ns.sh --help" for usage.' ]]
  run ! grep -q 'command_dump\b\|remote_stream_body\|command_info' "$(e2e_script live-none)"

  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" BAK_DB_SKIP=true bash "$(e2e_script live-pg)" dump </dev/null
  [[ $status -eq 1 && $stderr == 'ERROR: no database in namespace live-pg: this run has no database (BAK_DB_SKIP=true). Set BAK_DB_SKIP=false' ]]
  bns live-pg dump-download --live data-2026-05-04-100000-live01
  [[ $status -eq 2 && $stderr == 'ERROR: dump-download --live dumps the live database: it takes no SNAPSHOT. Run "backup-ns.sh dump-download --help" for usage.' ]]
  bns live-pg dump-download --live --retries 3
  [[ $status -eq 2 && $stderr == *'--retries is for a snapshot'* ]]
  bns live-pg info -o yaml
  [[ $status -eq 2 && $stderr == 'ERROR: info: -o takes json (the text is the default). Run "backup-ns.sh info --help" for usage.' ]]
  bns live-pg dump --yes
  [[ $status -eq 2 && $stderr == 'ERROR: dump: unknown argument "--yes". Run "backup-ns.sh dump --help" for usage.' ]]
  local c
  for c in dump info dump-download; do
    bns live-my "$c" --help
    [[ $status -eq 0 && ${lines[0]} == "Usage: backup-ns.sh $c"* ]] || { echo "$c: $output"; false; }
  done
  bns live-my dump-download --help
  [[ ${lines[1]} == '       backup-ns.sh dump-download --live [-o PATH]' ]]
}
