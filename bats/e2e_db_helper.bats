#!/usr/bin/env bats
# Smoke test of bats/helpers/db.bash: real servers, real passwords, clean stop.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/db
  db_start_postgres
  db_start_mariadb
}

teardown_file() {
  load helpers/db
  db_stop_all
}

setup() {
  load helpers/db
}

@test "db.bash: postgres on loopback answers with the password, refuses without" {
  [[ $PG_HOST == 127.0.0.1 && $PG_PORT =~ ^[0-9]+$ && $PG_USER == postgres ]]
  run db_psql <<<"SELECT 40 + 2, current_setting('server_version_num')::int / 10000"
  [[ $status -eq 0 && $output == $'42\t15' ]]
  PGPASSWORD=wrong run -2 psql -X -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -c 'SELECT 1' postgres
  [[ $output == *'password authentication failed for user "postgres"'* ]]
}

@test "db.bash: mariadb on loopback answers with the password, refuses without" {
  [[ $MY_HOST == 127.0.0.1 && $MY_PORT =~ ^[0-9]+$ && $MY_USER == root ]]
  run db_mysql <<<"SELECT 40 + 2"
  [[ $status -eq 0 && $output == 42 ]]
  run -1 mariadb --no-defaults -h "$MY_HOST" -P "$MY_PORT" -u root -e 'SELECT 1'
  [[ $output == *"Access denied for user 'root'@'127.0.0.1' (using password: NO)"* ]]
}

@test "db.bash: passwords are not in any process argv" {
  local all
  all=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ')
  [[ $all == *mariadbd* && $all == *postgres* ]]
  [[ $all != *"$PG_PASSWORD"* && $all != *"$MY_PASSWORD"* ]]
}

@test "e2e.bash: the argv watcher reports a process whose argv holds the needle (and only that)" {
  load helpers/e2e
  local needle
  needle="needle-$RANDOM$RANDOM"
  e2e_argv_watch_start "$needle"
  sleep 0.3
  # (two commands, so bash stays alive with the needle in its argv instead of exec'ing sleep)
  bash -c 'sleep 0.5; :' "x-$needle-y" &
  local pid=$!
  bash -c 'sleep 0.5; :' innocent &
  wait "$pid" $!
  run e2e_argv_watch_stop
  [[ ${lines[0]} =~ ^scans=[1-9][0-9]*$ ]]
  [[ ${lines[1]} == 'seen= '*' bash '*' sleep '* ]]
  [[ $(grep -c '^HIT ' <<<"$output") -eq 1 ]] || { printf '%s\n' "$output"; false; }
  [[ $output == *$'\n'"HIT bash -c sleep 0.5; : x-$needle-y"* ]]
}
