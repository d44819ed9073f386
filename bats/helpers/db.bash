# shellcheck shell=bash
# Real PostgreSQL / MariaDB / Redis servers for BATS tests (one implementation: tests/dbs.py).
#
#   setup_file()    { load helpers/db; db_start_postgres; db_start_mariadb; }
#   teardown_file() { db_stop_all; }
#
# db_start_postgres exports PG_HOST PG_PORT PG_USER PG_PASSWORD PG_DIR PG_SOCKET PG_LOG,
# db_start_mariadb  exports MY_HOST MY_PORT MY_USER MY_PASSWORD MY_DIR MY_SOCKET MY_LOG,
# db_start_redis [DATA_DIR] exports REDIS_HOST REDIS_PORT REDIS_PASSWORD REDIS_DIR
#                   REDIS_DATA REDIS_LOG (dump.rdb goes to DATA_DIR, e.g. a PVC's directory).
# Servers listen on 127.0.0.1 (free port) and need the password. Passwords never
# appear in argv: db_psql / db_mysql pass them in the environment and read SQL on stdin.

DB_HELPER_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)

_db_py() {
  PYTHONPATH="$DB_HELPER_ROOT${PYTHONPATH:+:$PYTHONPATH}" python3 -m tests.dbs "$@"
}

# _db_start KIND [DATA_DIR]: start a server, export its KEY=value lines.
_db_start() {
  local kind=$1 out line
  # $$ is the bats process running this file: if it is killed, a watchdog stops the server.
  if ! out=$(_db_py start "$kind" "$$" ${2:+"$2"}); then
    echo "db_start_$kind: could not start $kind (see the error above)" >&2
    return 1
  fi
  while IFS= read -r line; do
    [[ $line == [A-Z]*=* ]] || continue
    export "${line%%=*}=${line#*=}"
  done <<<"$out"
  # Remember it for db_stop_all (the file-level teardown may run in another subshell).
  printf '%s\n' "${out}" | grep -E '^(PG|MY|REDIS)_DIR=' | cut -d= -f2- >>"${BATS_FILE_TMPDIR:-/tmp}/.db-servers"
}

db_start_postgres() { _db_start postgres; }
db_start_mariadb() { _db_start mariadb; }
db_start_redis() { _db_start redis "$@"; }

# db_stop_all: stop every server this file started (clean shutdown, dirs removed).
db_stop_all() {
  local list="${BATS_FILE_TMPDIR:-/tmp}/.db-servers" dir rc=0
  [[ -f $list ]] || return 0
  while IFS= read -r dir; do
    [[ -n $dir ]] || continue
    _db_py stop "$dir" || rc=1
  done <"$list"
  rm -f "$list"
  return "$rc"
}

# db_psql [DB]: run SQL from stdin as the superuser; unaligned, tuples only.
db_psql() {
  PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -At -F $'\t' \
    -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "${1:-postgres}"
}

# db_redis [ARGS...]: redis-cli against the last server db_start_redis started (commands
# as arguments or on stdin; the password travels in REDISCLI_AUTH).
db_redis() {
  REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -e -h "$REDIS_HOST" -p "$REDIS_PORT" "$@"
}

# db_mysql [DB]: run SQL from stdin as root; batch mode, no column names.
db_mysql() {
  MYSQL_PWD=$MY_PASSWORD mariadb --no-defaults --batch --skip-column-names \
    -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" ${1:+"$1"}
}
