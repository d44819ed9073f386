#!/usr/bin/env bats
# End to end with a real MariaDB: the rendered script runs with real bash and the real
# kubectl against kubesim; `kubectl exec statefulset/wordpress-db -c mariadb` runs the
# real mariadb/mysqldump clients, which reach the test server with MYSQL_ROOT_PASSWORD
# from the container's env. Dump → snapshot → restore, no password in argv, a failing dump.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  e2e_setup_file --mariadb backupns_yaml
}

# backupns_yaml: this file's config (e2e_setup_file writes and renders it once the
# databases listen, so $MY_PORT is set).
backupns_yaml() {
  local ns
  printf 'defaults:\n  timeZone: UTC\n  flock: {enabled: false}\n'
  printf '  waitUntilReady: {enabled: true, timeout: 1m}\nnamespaces:\n'
  for ns in my-modes my-restore my-argv my-baddb my-revoked; do
    printf '  %s:\n    pvcs: [data, uploads]\n    database:\n      mysql:\n' "$ns"
    printf '        exec: statefulset/wordpress-db\n        container: mariadb\n        pvc: data\n'
    printf '        host: 127.0.0.1\n        port: %s\n' "$MY_PORT"
    printf '        dumpFile: /var/lib/mysql/dump.sql.gz\n'
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

# wp_db NAME ROWS: a database with a table of numbers and awkward text.
wp_db() {
  db_mysql <<SQL
DROP DATABASE IF EXISTS \`$1\`;
CREATE DATABASE \`$1\` CHARACTER SET utf8mb4;
USE \`$1\`;
CREATE TABLE posts (id int PRIMARY KEY, title varchar(100) NOT NULL, body text) ENGINE=InnoDB;
INSERT INTO posts SELECT seq, CONCAT('post ', seq, ' \'quoted\' ü €'), REPEAT(CONCAT('x', seq), 5) FROM seq_1_to_$2;
CREATE TABLE options (name varchar(50) PRIMARY KEY, value text);
INSERT INTO options VALUES ('tab', 'a\tb'), ('newline', 'line1\nline2'), ('empty', '');
SQL
}

# fingerprint DB: one line that changes with any row of DB.
fingerprint() {
  db_mysql "$1" <<<"SELECT CONCAT((SELECT CONCAT(COUNT(*), ':', SUM(id), ':', MD5(GROUP_CONCAT(title, body ORDER BY id SEPARATOR ','))) FROM posts), '/', (SELECT MD5(GROUP_CONCAT(name, value ORDER BY name)) FROM options))"
}

# restore NS ARGS...: run NS's rendered script `dump-restore ARGS` (no terminal).
restore() {
  local ns=$1
  shift
  mkdir -p "$BATS_TEST_TMPDIR/tmp"
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" bash "$(e2e_script "$ns")" dump-restore "$@" </dev/null
}

# hold_session [DB] SQL: a client running SQL in the background (its pid in HELD),
# connected to DB (none: no default database).
hold_session() {
  local db=''
  (($# == 1)) || { db=$1; shift; }
  MYSQL_PWD=$MY_PASSWORD mariadb --no-defaults -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" ${db:+"$db"} <<<"$1" >/dev/null 2>&1 &
  HELD=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(db_mysql <<<"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(60)%'") == 1 ]] && return 0
    sleep 0.1
  done
  return 1
}

# release_held: end the SLEEP(60) session.
release_held() {
  db_mysql <<<"SELECT CONCAT('KILL ', ID, ';') FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(60)%'" | db_mysql || true
  wait "$HELD" || true
}

# release_when_mysqldump_waits: once a LOCK TABLES waits for the lock that SLEEP(30)'s
# session holds, wait 0.5 s more, then interrupt the SLEEP (the session then unlocks).
release_when_mysqldump_waits() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ $(db_mysql <<<"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOCK TABLES%' AND STATE LIKE 'Waiting for table%'") == 1 ]] && break
    sleep 0.1
  done
  sleep 0.5
  db_mysql <<<"SELECT CONCAT('KILL QUERY ', ID, ';') FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(30)'" | db_mysql
}

@test "mysql: dump, snapshot ready; the snapshot's dump restores into a fresh database" {
  wp_db wordpress 300
  local before
  before=$(fingerprint wordpress)
  e2e_seed_volumes my-restore data uploads
  e2e_seed_mysql my-restore data /var/lib/mysql wordpress
  printf 'image\n' >"$(e2e_volume_dir my-restore uploads)/logo.png"
  local d=data-2026-05-04-100000-e2e001 u=uploads-2026-05-04-100000-e2e001 p='[backup-ns] my-restore:'
  create my-restore
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ -z $stderr ]]
  [[ ${lines[0]} == "$p backup-ns "*" (group mysql): create in namespace my-restore (PVCs: data uploads, database: mysql)" ]]
  [[ $output =~ $'\n'"$p database: MySQL check passed in statefulset/wordpress-db container mariadb ("[^$'\n']*"MariaDB"[^$'\n']*")"$'\n' ]]
  [[ $output == *$'\n'"$p database: dumping MySQL to /var/lib/mysql/dump.sql.gz"$'\n'* ]]
  [[ $output =~ $'\n'"$p database: dump verified: /var/lib/mysql/dump.sql.gz, "([0-9]+)" bytes, sha256 "([0-9a-f]{64})", "([0-9]+)"s"$'\n' ]]
  local size=${BASH_REMATCH[1]} sha=${BASH_REMATCH[2]} dur=${BASH_REMATCH[3]}
  [[ $output == *$'\n'"$p result: VolumeSnapshot $d of PVC data: readyToUse=true"* ]]
  [[ $output == *$'\n'"$p result: VolumeSnapshot $u of PVC uploads: readyToUse=true"* ]]
  [[ ${lines[-1]} == "$p done: created $d $u" ]]
  no_leftovers
  run e2e_vs_annotations my-restore "$d"
  [[ $output == "backup-ns.sh/cut-at=2026-05-04T10:00:00Z
backup-ns.sh/dump-duration=$dur
backup-ns.sh/dump-file=/var/lib/mysql/dump.sql.gz
backup-ns.sh/dump-sha256=$sha
backup-ns.sh/dump-size=$size
backup-ns.sh/pvc-namespace=my-restore
backup-ns.sh/pvc-size=1Gi
env-config: present" ]]
  run e2e_vs_annotations my-restore "$u"
  [[ $output == $'backup-ns.sh/cut-at=2026-05-04T10:00:00Z\nbackup-ns.sh/pvc-namespace=my-restore\nbackup-ns.sh/pvc-size=1Gi\nenv-config: present' ]]

  db_mysql wordpress <<<"DELETE FROM posts WHERE id > 10; UPDATE options SET value = 'changed';"
  [[ $(fingerprint wordpress) != "$before" ]]

  local dir
  dir=$(e2e_vs_dir my-restore "$d")
  [[ $(ls -A "$dir") == $'dump.sql.gz\ndump.sql.gz.info\ndump.sql.gz.tables' ]]
  [[ $(sha256sum <"$dir/dump.sql.gz") == "$sha  -" ]]
  [[ $(cat "$(e2e_vs_dir my-restore "$u")/logo.png") == image ]]
  db_mysql <<<'DROP DATABASE IF EXISTS restored; CREATE DATABASE restored CHARACTER SET utf8mb4;'
  gunzip -c "$dir/dump.sql.gz" | db_mysql restored
  [[ $(fingerprint restored) == "$before" ]]
}

@test "defect 4 (mysql): the password is in no process's argv while mysqldump runs, nor in output, annotations, request log" {
  wp_db argv 100
  e2e_seed_volumes my-argv data uploads
  e2e_seed_mysql my-argv data /var/lib/mysql argv
  e2e_argv_watch_start "$MY_PASSWORD"
  # A write lock keeps mysqldump (which wants a read lock) waiting until it is released.
  db_mysql argv <<<"LOCK TABLES posts WRITE; SELECT SLEEP(30); UNLOCK TABLES;" >/dev/null 2>&1 &
  local holder=$!
  release_when_mysqldump_waits &
  local releaser=$!
  create my-argv BAK_DEBUG=true
  local report
  report=$(e2e_argv_watch_stop)
  wait "$releaser"
  wait "$holder" || true
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  # The watcher ran while the dump did (the blocked mysqldump and its kubectl exec).
  [[ $report == *$'\nseen= '*' mysqldump '* && $report == *' kubectl '* ]] ||
    { printf '%s\n' "$report"; false; }
  [[ $report != *HIT* ]]
  [[ $stderr == *'+ '* ]]
  [[ $output$stderr != *"$MY_PASSWORD"* ]]
  run kubectl -n my-argv get volumesnapshots -o yaml
  [[ $output == *backup-ns.sh/dump-sha256* && $output != *"$MY_PASSWORD"* ]]
  run grep -cF "$MY_PASSWORD" "$KUBESIM_STATE/requests.jsonl" "$KUBESIM_STATE/stdout" "$KUBESIM_STATE/stderr"
  [[ $output == *:0$'\n'*:0$'\n'*:0 ]]
}

@test "failing dump (mysql): an unknown database fails with one line; no dump file, no snapshot" {
  e2e_seed_volumes my-baddb data uploads
  e2e_seed_mysql my-baddb data /var/lib/mysql nosuchdb
  create my-baddb
  [[ $status -eq 1 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr == "ERROR: MySQL check failed in statefulset/wordpress-db container mariadb in namespace my-baddb: SELECT 1 failed: "*"Unknown database 'nosuchdb'. Check BAK_DB_MYSQL_EXEC_CONTAINER, the database user and password settings, and that the database is running" ]]
  no_leftovers
  [[ -z $(ls -A "$(e2e_volume_dir my-baddb data)") ]]
  [[ -z $(e2e_vs_names my-baddb) ]]
}

@test "mysql: a missing SELECT grant: the error line carries mysqldump's reason" {
  wp_db revoked 10
  db_mysql <<'SQL'
CREATE TABLE revoked.secret (id int);
DROP USER IF EXISTS 'reader'@'%';
CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-pw';
GRANT LOCK TABLES, SHOW VIEW ON revoked.* TO 'reader'@'%';
GRANT SELECT ON revoked.posts TO 'reader'@'%';
GRANT SELECT ON revoked.options TO 'reader'@'%';
SQL
  e2e_seed_volumes my-revoked data uploads
  e2e_seed_mysql my-revoked data /var/lib/mysql revoked READER_PW=reader-pw
  # shellcheck disable=SC2016 # a ${VAR} reference for the container, not a shell expansion
  create my-revoked BAK_DB_MYSQL_USER=reader 'BAK_DB_MYSQL_PASSWORD=${READER_PW}'
  [[ $status -eq 1 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${#stderr_lines[@]} -eq 1 ]] || { printf "%s\n" "$stderr"; false; }
  [[ $stderr =~ ^"ERROR: MySQL dump failed in statefulset/wordpress-db container mariadb in namespace my-revoked: dump | gzip into /var/lib/mysql/dump.sql.gz.tmp."[A-Za-z0-9]+"/dump failed: "(mysqldump|mariadb-dump)": Got error: 1142: \"SELECT command denied to user 'reader'@'"[^\']+"' for table \`revoked\`.\`secret\`\" when using LOCK TABLES. No snapshot was made"* ]]
  no_leftovers
  [[ -z $(e2e_vs_names my-revoked) ]]
}

@test "dump-restore (mysql) replaces the database with its charset: a later table is gone; refused while a connection uses it unless --terminate-sessions" {
  db_mysql <<<"DROP DATABASE IF EXISTS modes; CREATE DATABASE modes CHARACTER SET latin1 COLLATE latin1_swedish_ci;"
  db_mysql modes <<<"CREATE TABLE posts (id int PRIMARY KEY, title varchar(20)); INSERT INTO posts VALUES (1, 'one'), (2, 'two');"
  local vs=data-2026-05-04-100000-e2e001
  e2e_seed_volumes my-modes data uploads
  e2e_seed_mysql my-modes data /var/lib/mysql modes
  create my-modes
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  db_mysql modes <<<"DELETE FROM posts WHERE id = 2; CREATE TABLE later (x int);"

  hold_session modes "SELECT SLEEP(60)"
  restore my-modes "$vs" --force
  [[ $status -eq 1 ]]
  [[ $stderr == 'ERROR: dump-restore refused in namespace my-modes: 1 other session(s) are connected to MySQL database modes. Stop the application (scale it to 0), pass --terminate-sessions to end them, or restore beside it with --into NEWDB; nothing was restored' ]] ||
    { printf '%s\n' "$output" "$stderr"; false; }
  [[ $(db_mysql modes <<<"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'modes'") == 2 ]]

  restore my-modes "$vs" --force --terminate-sessions
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"dump-restore: dropping and recreating MySQL database modes (waiting at most 30s for locks)"* ]]
  [[ ${lines[-1]} =~ ^"[backup-ns] my-modes: dump-restore: done: MySQL database modes replaced by the dump of snapshot $vs (taken "[^\)]+") in "[0-9]+s$ ]] ||
    { printf '%s\n' "$output"; false; }
  wait "$HELD" || true
  [[ $(db_mysql <<<"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'modes' ORDER BY 1") == posts ]]
  [[ $(db_mysql modes <<<"SELECT GROUP_CONCAT(title ORDER BY id) FROM posts") == one,two ]]
  [[ $(db_mysql <<<"SELECT CONCAT(DEFAULT_CHARACTER_SET_NAME, ' ', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'modes'") == 'latin1 latin1_swedish_ci' ]]
}

@test "dump-restore (mysql) --into NEWDB: a new database with the rows, the live one untouched; a held lock times out with one line, nothing dropped" {
  local vs=data-2026-05-04-100000-e2e001
  db_mysql <<<"DROP DATABASE IF EXISTS modes_copy;"
  db_mysql modes <<<"UPDATE posts SET title = 'changed'; CREATE TABLE later2 (x int);"
  restore my-modes "$vs" --force --into modes_copy
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${lines[-1]} =~ ^"[backup-ns] my-modes: dump-restore: done: MySQL database modes_copy created from snapshot $vs (taken "[^\)]+") in "[0-9]+s"; modes is untouched"$ ]] ||
    { printf '%s\n' "$output"; false; }
  [[ $(db_mysql modes_copy <<<"SELECT GROUP_CONCAT(title ORDER BY id) FROM posts") == one,two ]]
  [[ $(db_mysql modes <<<"SELECT GROUP_CONCAT(title ORDER BY id) FROM posts") == changed,changed ]]
  [[ $(db_mysql <<<"SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'modes_copy'") == latin1 ]]

  # A client without a default database holds a table lock: DROP DATABASE waits for
  # its metadata lock and gives up after --lock-timeout; nothing is dropped.
  hold_session "LOCK TABLES modes.posts READ; SELECT SLEEP(60);"
  restore my-modes "$vs" --force --lock-timeout 2s
  release_held
  [[ $status -eq 1 ]]
  [[ $stderr =~ ^"ERROR: MySQL restore failed in statefulset/wordpress-db container mariadb in namespace my-modes: database modes could not be dropped and recreated: another session held a lock for longer than the lock timeout (2s); it is unchanged. " ]] ||
    { printf '%s\n' "$output" "$stderr"; false; }
  [[ $(db_mysql modes <<<"SELECT GROUP_CONCAT(title ORDER BY id) FROM posts") == changed,changed ]]
  [[ $(db_mysql modes <<<"SELECT COUNT(*) FROM later2") == 0 ]]
}
