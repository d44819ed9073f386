#!/usr/bin/env bats
# backup-ns.sh: pure functions (durations, names, quoting, escaping, env-config).
# shellcheck disable=SC2016,SC1003 # literal $, backticks, quotes and backslashes are the test data

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/script
  script_path postgres,flock >/dev/null
}

setup() {
  load helpers/script
  S=$(script_path postgres,flock)
}

@test "duration_to_seconds: plain seconds and Go-style durations" {
  local pair
  for pair in 900=900 0=0 007=7 90s=90 15m=900 1h=3600 1h30m=5400 2h5m10s=7510 90m=5400; do
    run --separate-stderr in_script "$S" -- duration_to_seconds "${pair%%=*}"
    [[ $status -eq 0 && $output == "${pair#*=}" && -z $stderr ]] || {
      echo "duration ${pair%%=*}: status=$status output=$output stderr=$stderr"
      return 1
    }
  done
}

@test "duration_to_seconds: anything else fails with no output" {
  local bad
  for bad in '' 15x m 1m1h -5 1.5h ' 15m' 1d 15M 1h-30m 1234567890; do
    run --separate-stderr in_script "$S" -- duration_to_seconds "$bad"
    [[ $status -eq 1 && -z $output && -z $stderr ]] || {
      echo "duration '$bad': status=$status output=$output"
      return 1
    }
  done
}

@test "render_vs_name: every placeholder, repeated, replacement text taken literally" {
  run --separate-stderr in_script "$S" -- render_vs_name '{pvc}-{date}-{rand}' shop data \
    2026-11-26-010203 abc123 cronjob
  [[ $status -eq 0 && $output == 'data-2026-11-26-010203-abc123' && -z $stderr ]]
  run --separate-stderr in_script "$S" -- render_vs_name '{namespace}.{type}.{pvc}-{pvc}' shop \
    data d r adhoc
  [[ $status -eq 0 && $output == 'shop.adhoc.data-data' && -z $stderr ]]
  # bash 5.2 expands & in a replacement unless it is quoted; \1 must stay as is too
  run --separate-stderr in_script "$S" -- render_vs_name 'x-{pvc}-{type}' ns 'a&b' '\1' r t
  [[ $status -eq 0 && $output == 'x-a&b-t' && -z $stderr ]]
  run --separate-stderr in_script "$S" -- render_vs_name '{unknown}-{pvc}' ns data d r t
  [[ $status -eq 0 && $output == '{unknown}-data' && -z $stderr ]]
}

@test "is_dns_subdomain / is_dns_label / is_label_value: accept and reject" {
  local long253 long254 long63 long64
  printf -v long253 '%*s' 253 ''
  long253=${long253// /a}
  long254=${long253}a
  long63=${long253:0:63}
  long64=${long253:0:64}
  in_script "$S" -- is_dns_subdomain data-2026-11-26-010203-abc123
  in_script "$S" -- is_dns_subdomain a.b-c.d
  in_script "$S" -- is_dns_subdomain "$long253"
  run -1 in_script "$S" -- is_dns_subdomain "$long254"
  run -1 in_script "$S" -- is_dns_subdomain Data
  run -1 in_script "$S" -- is_dns_subdomain -data
  run -1 in_script "$S" -- is_dns_subdomain data.
  run -1 in_script "$S" -- is_dns_subdomain 'da_ta'
  run -1 in_script "$S" -- is_dns_subdomain ''
  in_script "$S" -- is_dns_label "$long63"
  run -1 in_script "$S" -- is_dns_label "$long64"
  run -1 in_script "$S" -- is_dns_label a.b
  in_script "$S" -- is_label_value ''
  in_script "$S" -- is_label_value Job_1.x-Y
  run -1 in_script "$S" -- is_label_value _x
  run -1 in_script "$S" -- is_label_value "$long64"
  run -1 in_script "$S" -- is_label_value 'a b'
}

# each_is FUNCTION STATUS VALUE...: FUNCTION VALUE returns STATUS for every VALUE.
# each_is FUNCTION STATUS VALUE...: FUNCTION VALUE returns STATUS for every VALUE.
each_is() {
  local fn=$1 want=$2 v rc
  shift 2
  for v in "$@"; do
    rc=0
    in_script "$S" -- "$fn" "$v" || rc=$?
    ((rc == want)) || { echo "$fn '$v': status $rc, want $want"; return 1; }
  done
}

@test "is_abs_path / is_byte_count / is_sha256 / is_quantity: what a snapshot's values may be" {
  local sha=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  each_is is_abs_path 0 /var/lib/postgresql/data/dump.sql.gz /a/b.c/d..e/x@y+z=1,3 /a/.hidden
  each_is is_abs_path 1 '' / /a:b /a//b /a/ relative/dump.gz /x/../../tmp/evil.sql.gz /a/.. /a/./b /.. /a//../b \
    '/a b' '/a|b' $'/a\nb' '/a$(id)' /a/b\\c
  each_is is_byte_count 0 0 47 999999999999999999
  each_is is_byte_count 1 '' 1000000000000000000 12a -1 ' 1' 1.5
  each_is is_sha256 0 "$sha"
  each_is is_sha256 1 '' "${sha^^}" "${sha}0" "${sha:1}" "${sha:1}g"
  each_is is_quantity 0 1Gi 1073741824 500M 1.5Gi 1e9 100m 8Ei
  each_is is_quantity 1 '' Gi 1GB 1gi -1Gi '1 Gi' '1Gi|x'
}

@test "quantity_bytes: units, the largest sizes bash counts, and no wrap-around beyond them" {
  local pair
  for pair in 0=0 1=1 1Ki=1024 1Gi=1073741824 500M=500000000 20Gi=21474836480 7Ei=8070450532247928832 \
    8191Pi=9222246136947933184 9223P=9223000000000000000 9E=9000000000000000000 \
    9223372036854775807=9223372036854775807 0000000000000000001Ki=1024; do
    run --separate-stderr in_script "$S" -- quantity_bytes "${pair%%=*}"
    [[ $status -eq 0 && $output == "${pair#*=}" && -z $stderr ]] ||
      { echo "${pair%%=*}: status=$status output=$output stderr=$stderr"; return 1; }
  done
  for pair in 8Ei 8192Pi 16384Pi 9224P 10E 100000000000000P 9223372036854775808 9999999999999999999 \
    999999999999999999Ki 10000000000000000000 000000000000000000000000000000000000000099999999999999999999; do
    run --separate-stderr in_script "$S" -- quantity_bytes "$pair"
    [[ $status -eq 2 && -z $output && -z $stderr ]] || { echo "$pair: status=$status output=$output"; return 1; }
  done
  for pair in '' Gi 1.5Gi -1 1GB 1gi ' 1Gi' 1e9; do
    run --separate-stderr in_script "$S" -- quantity_bytes "$pair"
    [[ $status -eq 1 && -z $output && -z $stderr ]] || { echo "'$pair': status=$status output=$output"; return 1; }
  done
}

@test "sq: nasty strings survive a round trip through bash -c" {
  local s quoted
  local nasty=("it's" "'" "''" '$HOME' '${HOME}' '`id`' '$(id)' $'two\nlines' '\' '\\'"'"'' '"' \
    '*' '-n' ' lead and trail ' $'tab\there' 'ümlaut €' '!event' '&;|<>' '%s %d')
  for s in "${nasty[@]}"; do
    quoted=$(in_script "$S" -- sq "$s")
    run --separate-stderr bash -c "printf '%s' $quoted"
    [[ $status -eq 0 && $output == "$s" && -z $stderr ]] || {
      echo "sq round trip failed for [$s]: quoted=[$quoted] got=[$output]"
      return 1
    }
  done
  run --separate-stderr in_script "$S" -- sq "foo'bar"
  [[ $output == "'foo'\\''bar'" ]]
}

@test "remote_assign: values embedded literally, \${ENVVAR} expanded in the container's shell" {
  local s code
  for s in "it's" '$(touch /tmp/pwned)' '`id`' '${HOME' '$HOME' $'a\nb' 'p@ss w0rd"'; do
    code=$(in_script "$S" -- remote_assign v "$s")
    run --separate-stderr bash -c "fail() { echo \"FAIL \$*\"; exit 3; }; $code; printf '%s' \"\$v\""
    [[ $status -eq 0 && $output == "$s" && -z $stderr ]] || {
      echo "remote_assign [$s]: code=[$code] got=[$output]"
      return 1
    }
  done
  code=$(in_script "$S" -- remote_assign pw '${DB_PASS}')
  [[ $code == *'pw="${DB_PASS}"'* ]]
  DB_PASS='s3cr$t `x` $(y)' run --separate-stderr bash -c "fail() { echo \"FAIL \$*\"; exit 3; }; $code; printf '%s' \"\$pw\""
  [[ $status -eq 0 && $output == 's3cr$t `x` $(y)' ]]
  run --separate-stderr env -u DB_PASS bash -c "fail() { echo \"FAIL \$*\"; exit 3; }; $code; printf '%s' \"\$pw\""
  [[ $status -eq 3 && $output == 'FAIL environment variable DB_PASS is not set in the container' ]]
}

@test "postgres_remote_vars: the password is only a reference, exported as PGPASSWORD" {
  run --separate-stderr in_script "$S" BAK_DB_POSTGRES_PASSWORD='${PG_SECRET}' -- postgres_remote_vars
  [[ $status -eq 0 && -z $stderr ]]
  [[ $output == *'PGPASSWORD="${PG_SECRET}"'$'\n''export PGPASSWORD'* ]]
  [[ $output == *"dump_file='/var/lib/postgresql/data/dump.sql.gz'"* ]]
  # no password configured: PGPASSWORD is left alone
  run --separate-stderr in_script "$S" BAK_DB_POSTGRES_PASSWORD= -- postgres_remote_vars
  [[ $status -eq 0 && $output != *PGPASSWORD* ]]
}

@test "json_str: quotes, backslashes and control characters are escaped" {
  run --separate-stderr in_script "$S" -- json_str $'a"b\\c\nd\te\r\x01f\x1fg\x7fh'
  [[ $status -eq 0 && -z $stderr ]]
  [[ $output == '"a\"b\\c\nd\te\r\u0001f\u001fg\u007fh"' ]]
  run --separate-stderr in_script "$S" -- json_str ''
  [[ $output == '""' ]]
  local s=$'BAK_X=1\nBAK_Y=it\'s "q" \\ $HOME'
  run --separate-stderr in_script "$S" -- json_str "$s"
  run --separate-stderr python3 -c 'import json,sys; sys.stdout.write(json.loads(sys.argv[1]))' "$output"
  [[ $status -eq 0 && $output == "$s" ]]
}

@test "url_query_value: every byte but an unreserved one is percent-encoded, as a URL query needs" {
  run --separate-stderr in_script "$S" -- url_query_value 'backup-ns.sh/pvc in (data,www-1)'
  [[ $status -eq 0 && -z $stderr ]]
  [[ $output == 'backup-ns.sh%2Fpvc%20in%20%28data%2Cwww-1%29' ]]
  local token='eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzNH0+/=&?~_.-'
  run --separate-stderr in_script "$S" -- url_query_value "$token"
  run --separate-stderr python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-._~") == sys.argv[2])' "$token" "$output"
  [[ $output == True ]]
}

@test "env_config_serialize: KEY=value lines, a password value never appears" {
  run --separate-stderr in_script "$S" BAK_NAMESPACE=shop BAK_DB_POSTGRES_PASSWORD=hunter2 \
    BAK_DB_MYSQL_PASSWORD='${MYSQL_ROOT_PASSWORD}' -- \
    env_config_serialize BAK_NAMESPACE BAK_DB_POSTGRES_PASSWORD BAK_DB_MYSQL_PASSWORD BAK_UNSET_X
  [[ $status -eq 0 && -z $stderr ]]
  [[ $output == $'BAK_NAMESPACE=shop\nBAK_DB_MYSQL_PASSWORD=${MYSQL_ROOT_PASSWORD}' ]]
  [[ $output != *hunter2* ]]
}

@test "err_detail: our marker wins, kubectl's exit-code line is skipped" {
  local f=$BATS_TEST_TMPDIR/err
  printf '%s\n' 'pg_dump: error: x' 'backup-ns-error: the dump is empty' 'df output' \
    'command terminated with exit code 3' >"$f"
  run --separate-stderr in_script "$S" -- err_detail "$f"
  [[ $status -eq 0 && $output == 'the dump is empty' ]]
  printf '%s\n' 'Error from server (NotFound): persistentvolumeclaims "x" not found' '' >"$f"
  run --separate-stderr in_script "$S" -- err_detail "$f"
  [[ $output == 'Error from server (NotFound): persistentvolumeclaims "x" not found' ]]
  : >"$f"
  run --separate-stderr in_script "$S" -- err_detail "$f"
  [[ $output == 'no error output' ]]
}

# record_stubs: the database's record functions and values, for the remote dump body.
record_stubs() {
  printf '%s\n' "namespace=shop db=app count_limit=5" \
    'db_record_begin() { :; }' 'db_record_abort() { :; }' "db_record_end() { printf 'table 2 2 public.t\\n' >\"\$1\"; }"
}

@test "remote dump body: a failing dump leaves no partial file and reports one reason" {
  local dir=$BATS_TEST_TMPDIR/vol code
  mkdir -p "$dir"
  echo old >"$dir/dump.sql.gz"
  code="$(in_script "$S" -- remote_prologue)
$(in_script "$S" -- remote_assign dump_file "$dir/dump.sql.gz")
$(record_stubs)
db_dump() { echo 'CREATE TABLE t();'; echo 'pg_dump: error: connection lost' >&2; return 1; }
$(in_script "$S" -- remote_dump_body)"
  run --separate-stderr bash -s <<<"$code"
  [[ $status -eq 3 && -z $output ]]
  [[ $stderr == 'backup-ns-error: dump | gzip into '"$dir"'/dump.sql.gz.tmp.'*' failed: pg_dump: error: connection lost' ]]
  run ls -A "$dir"
  [[ $output == 'dump.sql.gz' ]]
  [[ $(cat "$dir/dump.sql.gz") == old ]]
}

@test "remote dump body: an empty dump is rejected, a good one is verified and renamed" {
  local dir=$BATS_TEST_TMPDIR/vol code
  mkdir -p "$dir"
  code="$(in_script "$S" -- remote_prologue)
$(in_script "$S" -- remote_assign dump_file "$dir/dump.sql.gz")
$(record_stubs)
db_dump() { :; }
$(in_script "$S" -- remote_dump_body)"
  run --separate-stderr bash -s <<<"$code"
  [[ $status -eq 3 && $stderr == 'backup-ns-error: the dump is empty' ]]
  run ls -A "$dir"
  [[ -z $output ]]
  code=${code/'db_dump() { :; }'/'db_dump() { printf "SELECT 1;\n"; }'}
  run --separate-stderr bash -s <<<"$code"
  [[ $status -eq 0 && -z $stderr ]]
  local sum size
  size=$(wc -c <"$dir/dump.sql.gz")
  sum=$(sha256sum <"$dir/dump.sql.gz")
  [[ $output == "dump-size=$size"$'\n'"dump-sha256=${sum%% *}"$'\n''dump-duration='[0-9]* ]]
  [[ $(gzip -dc "$dir/dump.sql.gz") == 'SELECT 1;' ]]
  # beside the dump, what info reads: its size and sha256 (renamed into place after it)
  grep -qx "size=$size" "$dir/dump.sql.gz.info"
  grep -qx "sha256=${sum%% *}" "$dir/dump.sql.gz.info"
  # and the table record the drill compares with: namespace, database, the dump's sha256
  [[ $(<"$dir/dump.sql.gz.tables") == "backup-ns-record 1"$'\n'"namespace shop"$'\n'"database app"$'\n'"sha256 ${sum%% *}"$'\n'"limit 5"$'\n'"table 2 2 public.t" ]]
  run ls -A "$dir"
  [[ $output == 'dump.sql.gz'$'\n''dump.sql.gz.info'$'\n''dump.sql.gz.tables' ]]
}

@test "vs_manifest: valid JSON with every label and annotation, class omitted when empty" {
  local code
  code='VS_LABELS=("backup-ns.sh/pvc=data" "backup-ns.sh/weekly=2026-w53")
VS_ANNOTATIONS=("backup-ns.sh/env-config=$(printf "A=1\nB=it'\''s \"x\"")" "backup-ns.sh/dump-size=42")
vs_manifest "$1" data "$2"'
  run --separate-stderr env -i PATH="$PATH" BAK_NAMESPACE=shop bash -c \
    'source "$1" && shift && '"$code" _ "$S" snap-1 ''
  [[ $status -eq 0 && -z $stderr ]]
  run --separate-stderr python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read()), sort_keys=True))' <<<"$output"
  [[ $status -eq 0 ]]
  [[ $output == '{"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": {"annotations": {"backup-ns.sh/dump-size": "42", "backup-ns.sh/env-config": "A=1\nB=it'\''s \"x\""}, "labels": {"backup-ns.sh/pvc": "data", "backup-ns.sh/weekly": "2026-w53"}, "name": "snap-1", "namespace": "shop"}, "spec": {"source": {"persistentVolumeClaimName": "data"}}}' ]]
  run --separate-stderr env -i PATH="$PATH" BAK_NAMESPACE=shop bash -c \
    'source "$1" && shift && '"$code" _ "$S" snap-1 fast-class
  [[ $status -eq 0 && $output == *$'\n    "volumeSnapshotClassName": "fast-class",\n'* ]]
}

@test "remote space body: df's use of the dump directory, or one reason when it is missing" {
  local code
  code="$(in_script "$S" -- remote_prologue)
$(in_script "$S" -- remote_assign dump_file "$BATS_TEST_TMPDIR/dump.sql.gz")
$(in_script "$S" -- remote_space_body)"
  run --separate-stderr bash -s <<<"$code"
  [[ $status -eq 0 && -z $stderr && $output =~ ^used=[0-9]{1,3}$ ]]
  code=${code//"$BATS_TEST_TMPDIR/dump.sql.gz"/"$BATS_TEST_TMPDIR/missing/dump.sql.gz"}
  run --separate-stderr bash -s <<<"$code"
  [[ $status -eq 3 && -z $output ]]
  [[ $stderr == "backup-ns-error: the dump directory $BATS_TEST_TMPDIR/missing does not exist in the container" ]]
}

@test "remote check body: SELECT 1 must answer 1; the client's error line is the reason" {
  local base code
  base="$(in_script "$S" -- remote_prologue)
db_version() { echo 'pg_dump (PostgreSQL) 15.0'; }"
  code="$base
db_select1() { echo 1; }
$(in_script "$S" -- remote_check_body)"
  run --separate-stderr bash -s <<<"$code"
  [[ $status -eq 0 && -z $stderr && $output == 'version=pg_dump (PostgreSQL) 15.0' ]]
  code="$base
db_select1() { printf 'Password for user x:\npsql: error: connection to server at \"db\", port 5432 failed: FATAL:  password authentication failed for user \"x\"\n' >&2; return 2; }
$(in_script "$S" -- remote_check_body)"
  run --separate-stderr bash -s <<<"$code"
  [[ $status -eq 3 && -z $output ]]
  [[ $stderr == 'backup-ns-error: SELECT 1 failed: psql: error: connection to server at "db", port 5432 failed: FATAL:  password authentication failed for user "x"' ]]
}

@test "err_pick: the tool's own error line, then its detail lines (pg_dump, psql, mysqldump, mysql, kubectl)" {
  local f=$BATS_TEST_TMPDIR/err
  pick() { printf '%s\n' "$@" >"$f"; run --separate-stderr in_script "$S" -- err_pick <"$f"; }
  pick 'pg_dump: error: query failed: ERROR:  permission denied for table secret' \
    'pg_dump: detail: Query was: LOCK TABLE public.secret IN ACCESS SHARE MODE' \
    'command terminated with exit code 1'
  [[ $output == $'pg_dump: error: query failed: ERROR:  permission denied for table secret\npg_dump: detail: Query was: LOCK TABLE public.secret IN ACCESS SHARE MODE' ]]
  # pg_dump <= 14 says "error:" on the query line too: the first one explains.
  pick 'pg_dump: error: query failed: ERROR:  permission denied for table s' 'pg_dump: error: query was: LOCK TABLE s'
  [[ ${lines[0]} == 'pg_dump: error: query failed: ERROR:  permission denied for table s' ]]
  pick 'psql:<stdin>:1: ERROR:  relation "t" does not exist' 'LINE 1: SELECT * FROM t' '                      ^'
  [[ ${lines[0]} == 'psql:<stdin>:1: ERROR:  relation "t" does not exist' && ${#lines[@]} -eq 3 ]]
  pick 'mysqldump: Got error: 1142: "SELECT command denied to user '\''u'\''@'\''h'\'' for table `d`.`s`" when using LOCK TABLES'
  [[ $output == 'mysqldump: Got error: 1142: "SELECT command denied to user '\''u'\''@'\''h'\'' for table `d`.`s`" when using LOCK TABLES' ]]
  pick "mariadb-dump: Couldn't execute 'SHOW CREATE TABLE \`v\`': View 'd.v' references invalid table(s) (1356)" 'Warning: something after'
  [[ ${lines[0]} == "mariadb-dump: Couldn't execute 'SHOW CREATE TABLE \`v\`': View 'd.v' references invalid table(s) (1356)" ]]
  pick '--------------' 'select 1' '--------------' '' 'ERROR 1045 (28000): Access denied for user '\''u'\''@'\''h'\'' (using password: YES)'
  [[ $output == 'ERROR 1045 (28000): Access denied for user '\''u'\''@'\''h'\'' (using password: YES)' ]]
  pick 'E1201 07:25:00.1 1 memcache.go:265] "Unhandled Error" err="couldn'\''t get current server API group list"' \
    'The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?'
  [[ $output == 'The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?' ]]
  pick 'Warning: resource is deprecated' 'Error from server (Forbidden): volumesnapshots.snapshot.storage.k8s.io is forbidden: no'
  [[ $output == 'Error from server (Forbidden): volumesnapshots.snapshot.storage.k8s.io is forbidden: no' ]]
  # Our remote scripts' marker wins; their detail lines follow; nothing matches: the last line.
  pick 'pg_dump: error: x' 'backup-ns-error: the dump failed: y' 'backup-ns-detail: z' 'command terminated with exit code 3'
  [[ $output == $'the dump failed: y\nz' ]]
  pick 'some noise' 'tee: /d/dump: No space left on device'
  [[ $output == 'tee: /d/dump: No space left on device' ]]
}

@test "kube_fail: one error line with the tool's message, its detail lines indented after it" {
  local f=$BATS_TEST_TMPDIR/err
  printf '%s\n' 'pg_dump: error: query failed: ERROR:  permission denied for table secret' \
    'pg_dump: detail: Query was: LOCK TABLE public.secret IN ACCESS SHARE MODE' >"$f"
  # shellcheck disable=SC2016 # expanded by the child bash, not here
  run --separate-stderr env -i PATH="$PATH" BAK_NAMESPACE=shop bash -c \
    'source "$1" && ERR_FILE=$2 && kube_fail "the dump failed" "Check it"' _ "$S" "$f"
  [[ $status -eq 1 ]]
  [[ $stderr == "ERROR: the dump failed in namespace shop: pg_dump: error: query failed: ERROR:  permission denied for table secret. Check it
  pg_dump: detail: Query was: LOCK TABLE public.secret IN ACCESS SHARE MODE" ]]
}

@test "remote dump body: a corrupt compressed stream or a failing checksum is caught (fifo readers' status)" {
  local dir=$BATS_TEST_TMPDIR/vol code
  mkdir -p "$dir"
  echo old >"$dir/dump.sql.gz"
  # gzip -c cut short: the file is a truncated gzip stream, which gzip -dc rejects.
  code="$(in_script "$S" -- remote_prologue)
$(in_script "$S" -- remote_assign dump_file "$dir/dump.sql.gz")
$(record_stubs)
db_dump() { seq 1 20000; }
gzip() { if [ \"\$1\" = -c ]; then command gzip -c | head -c 2000; else command gzip \"\$@\"; fi; }
$(in_script "$S" -- remote_dump_body)"
  run --separate-stderr bash -s <<<"$code"
  [[ $status -eq 3 && -z $output ]]
  [[ $stderr == 'backup-ns-error: gzip -dc found the dump corrupt: gzip: stdin: unexpected end of file' ]]
  [[ $(ls -A "$dir") == dump.sql.gz && $(cat "$dir/dump.sql.gz") == old ]]
  # sha256sum fails (here: at once, without reading): tee dies of SIGPIPE; the reader is named.
  code="$(in_script "$S" -- remote_prologue)
$(in_script "$S" -- remote_assign dump_file "$dir/dump.sql.gz")
$(record_stubs)
db_dump() { seq 1 200000; }
sha256sum() { echo 'sha256sum: read error' >&2; return 1; }
$(in_script "$S" -- remote_dump_body)"
  run --separate-stderr bash -s <<<"$code"
  [[ $status -eq 3 && -z $output ]]
  [[ $stderr == 'backup-ns-error: sha256sum of the dump failed: sha256sum: read error' ]]
  [[ $(ls -A "$dir") == dump.sql.gz && $(cat "$dir/dump.sql.gz") == old ]]
}

@test "is_utc_time: only RFC 3339 UTC to the second" {
  local good bad
  for good in 2026-05-04T10:00:00Z 1999-12-31T23:59:59Z 2026-02-29T00:00:00Z; do
    in_script "$S" -- is_utc_time "$good" || { echo "rejected $good"; return 1; }
  done
  for bad in '' 2026-05-04 2026-05-04T10:00:00 2026-05-04T10:00:00+02:00 2026-05-04T10:00:00.5Z \
    2026-13-01T00:00:00Z 2026-05-32T00:00:00Z 2026-05-04T24:00:00Z 2026-05-04t10:00:00z \
    ' 2026-05-04T10:00:00Z' '2026-05-04T10:00:00Z|x' $'2026-05-04T10:00:00Z\nx' 'now' '@0'; do
    run in_script "$S" -- is_utc_time "$bad"
    [[ $status -eq 1 && -z $output ]] || { echo "accepted '$bad'"; return 1; }
  done
}

@test "taken_at: cut-at, else status.creationTime, else the object's creation unless rebound" {
  local t=2026-05-04T10:00:00Z c=2026-05-04T10:00:03Z m=2026-12-07T15:52:32Z
  local show='taken_at "$A" "$B" "$C" "$D"; printf "[%s]\n" "$REPLY"'
  run in_script "$S" A="$t" B="$c" C="$m" D= -- eval "$show"
  [[ $output == "[$t]" ]]
  # an annotation without the shape of a UTC time is not used
  run in_script "$S" A='yesterday' B="$c" C="$m" D=old -- eval "$show"
  [[ $output == "[$c]" ]]
  run in_script "$S" A= B= C="$m" D= -- eval "$show"
  [[ $output == "[$m]" ]]
  # a rebound object's own creation is the time of the rebind: never used
  run in_script "$S" A= B= C="$m" D=old-content -- eval "$show"
  [[ $output == "[]" ]]
}
