#!/usr/bin/env bats
# End to end, no database: rendered scripts (backupns-gen render) run with real bash and
# the real kubectl against kubesim. Example config smoke test, period labels per
# namespace and PVC (defect 1), snapshots that never get ready or fail (defect 3),
# node lock slots shared by two namespaces.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  export E2E_EXAMPLE_OUT=$BATS_FILE_TMPDIR/example-out
  e2e_render "$E2E_ROOT/examples/backupns.yaml" "$E2E_EXAMPLE_OUT"
  export E2E_LOCKS=$BATS_FILE_TMPDIR/locks
  mkdir -p "$E2E_LOCKS"
  e2e_setup_file backupns_yaml
}

# backupns_yaml: this file's config (e2e_setup_file writes and renders it).
backupns_yaml() {
  cat <<EOF
defaults:
  timeZone: Europe/Vienna
  lock: {mode: none}
  waitUntilReady: {enabled: true, timeout: 1m}
namespaces:
  periods-1: {pvcs: [data, uploads], database: none}
  periods-2: {pvcs: [data], database: none}
  never-ready: {pvcs: [data], database: none, waitUntilReady: {enabled: true, timeout: 3s}}
  snap-error: {pvcs: [data], database: none}
  rerun: {pvcs: [data, uploads], database: none, timeZone: UTC, waitUntilReady: {enabled: true, timeout: 3s}}
  unready: {pvcs: [data], database: none, timeZone: UTC}
  requests: {pvcs: [data], database: none}
  rewatch: {pvcs: [data], database: none, timeZone: UTC}
  vs-gone: {pvcs: [data], database: none, timeZone: UTC}
  killed: {pvcs: [data], database: none, timeZone: UTC}
  flock-a: {pvcs: [data], database: none, lock: {mode: flock, slots: 1, dir: /mnt/e2e-locks, timeout: 1m}}
  flock-b: {pvcs: [data], database: none, lock: {mode: flock, slots: 1, dir: /mnt/e2e-locks, timeout: 1m}}
controller:
  namespace: backup-ns
EOF
}

teardown_file() {
  load helpers/e2e
  e2e_teardown_file
}

setup() {
  load helpers/kubesim
  load helpers/e2e
  kubesim_env
}

teardown() {
  kubesim_clear_faults
}

# create SCRIPT [VAR=value...]: run `SCRIPT create` with only the given BAK_* settings.
create() {
  local script=$1
  shift
  run --separate-stderr env "$@" bash "$script" create
}

# create_bg SCRIPT [VAR=value...]: start `SCRIPT create` in the background (output in
# $BATS_TEST_TMPDIR/bg.out and bg.err); create_bg_wait sets status, output, stderr.
create_bg() {
  local script=$1
  shift
  env "$@" bash "$script" create >"$BATS_TEST_TMPDIR/bg.out" 2>"$BATS_TEST_TMPDIR/bg.err" &
  CREATE_BG_PID=$!
}

create_bg_wait() {
  status=0
  wait "$CREATE_BG_PID" || status=$?
  output=$(<"$BATS_TEST_TMPDIR/bg.out")
  stderr=$(<"$BATS_TEST_TMPDIR/bg.err")
}

# e2e_request_lines: the request log as "METHOD PATH [QUERY]" lines: watches as
# "GET PATH watch", lists with their label selector, other queries left out.
e2e_request_lines() {
  python3 -c '
import json, sys, urllib.parse
for line in open(sys.argv[1]):
    r = json.loads(line)
    q = r.get("query", "")
    if "watch=true" in q:
        q = "watch"
    else:
        q = urllib.parse.unquote_plus(q)
        q = "&".join(p for p in q.split("&") if not p.startswith("resourceVersion"))
    print(r["method"], r["path"], q) if q else print(r["method"], r["path"])
' "$KUBESIM_STATE/requests.jsonl"
}

@test "example config: static-site (database: none) gets a ready snapshot of www, exit 0" {
  e2e_seed_volumes static-site www
  printf '<h1>hello</h1>\n' >"$(e2e_volume_dir static-site www)/index.html"
  local vs=www-2026-03-10-120000-ex0001
  e2e_seed_volumes backup-ns # the controller namespace: the example's slot Leases live there
  create "$E2E_EXAMPLE_OUT/namespaces/static-site/backup-ns.sh" \
    BAK_LOCK_NODE=kubesim-node BAK_NOW=2026-03-10T11:00:00Z BAK_VS_RAND=ex0001
  [[ $status -eq 0 ]]
  [[ -z $stderr ]]
  local p='[backup-ns] static-site:'
  [[ ${lines[0]} == "$p backup-ns "*": create in namespace static-site (PVCs: www, database: none)" ]]
  [[ ${lines[1]} == "$p config: "*" settings checked, 1 from the environment: BAK_LOCK_NODE=kubesim-node" ]]
  [[ $output != *"$p config BAK_"* ]]
  [[ $output == *$'\n'"$p snapshot names: $vs (periods 2026-03-10 2026-w11 2026-03, time zone Europe/Vienna)"$'\n'* ]]
  [[ $output == *$'\n'"$p pvc: www exists"$'\n'* ]]
  [[ $output == *$'\n'"$p snapshot: created VolumeSnapshot $vs of PVC www (volumesnapshot.snapshot.storage.k8s.io/$vs)"$'\n'* ]]
  [[ $output =~ $'\n'"$p result: VolumeSnapshot $vs of PVC www: readyToUse=true restoreSize=1Gi content=snapcontent-"[0-9a-f-]+$'\n' ]]
  [[ ${lines[-2]} == "$p done: created $vs" ]]
  [[ ${lines[-1]} == "$p lock: released backup slot backup-ns-slot-kubesim-node-1" ]]
  [[ $(e2e_vs_names static-site) == "$vs" ]]
  run kubectl -n static-site get volumesnapshot "$vs" -o jsonpath='{.status.readyToUse}'
  [[ $output == true ]]
  run e2e_vs_labels static-site "$vs"
  [[ $output == "backup-ns.sh/delete-after=2026-04-09
backup-ns.sh/pvc=www
backup-ns.sh/retain-days=30
backup-ns.sh/retain=days
backup-ns.sh/type=adhoc" ]]
  local dir
  dir=$(e2e_vs_dir static-site "$vs")
  [[ $(cat "$dir/index.html") == '<h1>hello</h1>' ]]
}

@test "defect 1: daily/weekly/monthly labels are per namespace and PVC, in the configured zone" {
  e2e_seed_volumes periods-1 data uploads
  e2e_seed_volumes periods-2 data
  local common='backup-ns.sh/retain=daily_weekly_monthly backup-ns.sh/type=adhoc'
  local p1='backup-ns.sh/daily=2026-03-10 backup-ns.sh/monthly=2026-03'
  # Run 1, first of the day, only PVC data: it gets all three period labels.
  create "$(e2e_script periods-1)" BAK_PVC_NAME=data BAK_NOW=2026-03-10T08:00:00Z BAK_VS_RAND=run001
  [[ $status -eq 0 ]]
  # Run 2, same day, both PVCs: data already has today's labels, uploads does not.
  create "$(e2e_script periods-1)" BAK_NOW=2026-03-10T09:00:00Z BAK_VS_RAND=run002
  [[ $status -eq 0 ]]
  [[ -z $stderr ]]
  [[ $output == *"[backup-ns] periods-1: labels for data-2026-03-10-100000-run002: backup-ns.sh/pvc=data backup-ns.sh/type=adhoc backup-ns.sh/retain=daily_weekly_monthly"$'\n'* ]]
  # Run 3, same day again: neither PVC's new snapshot gets a period label.
  create "$(e2e_script periods-1)" BAK_NOW=2026-03-10T22:59:59Z BAK_VS_RAND=run003
  [[ $status -eq 0 ]]
  # Run 4, 23:30 UTC is already the next day in Vienna: a new daily label, same week and month.
  create "$(e2e_script periods-1)" BAK_NOW=2026-03-10T23:30:00Z BAK_VS_RAND=run004
  [[ $status -eq 0 ]]
  [[ $output == *"snapshot names: data-2026-03-11-003000-run004 uploads-2026-03-11-003000-run004 (periods 2026-03-11 2026-w11 2026-03, time zone Europe/Vienna)"* ]]
  run e2e_vs_table periods-1
  [[ $output == "data-2026-03-10-090000-run001 $p1 backup-ns.sh/pvc=data $common backup-ns.sh/weekly=2026-w11
data-2026-03-10-100000-run002 backup-ns.sh/pvc=data $common
data-2026-03-10-235959-run003 backup-ns.sh/pvc=data $common
data-2026-03-11-003000-run004 backup-ns.sh/daily=2026-03-11 backup-ns.sh/pvc=data $common
uploads-2026-03-10-100000-run002 $p1 backup-ns.sh/pvc=uploads $common backup-ns.sh/weekly=2026-w11
uploads-2026-03-10-235959-run003 backup-ns.sh/pvc=uploads $common
uploads-2026-03-11-003000-run004 backup-ns.sh/daily=2026-03-11 backup-ns.sh/pvc=uploads $common" ]]

  # Another namespace with a PVC of the same name: its own first snapshot of the day.
  create "$(e2e_script periods-2)" BAK_NOW=2026-03-10T09:30:00Z BAK_VS_RAND=run005
  [[ $status -eq 0 ]]
  run e2e_vs_table periods-2
  [[ $output == "data-2026-03-10-103000-run005 $p1 backup-ns.sh/pvc=data $common backup-ns.sh/weekly=2026-w11" ]]
}

@test "defect 3: a snapshot that never becomes ready fails the run with one clear line" {
  e2e_seed_volumes never-ready data
  kubesim_fault '{"type":"snapshot","match":{"namespace":"never-ready","name":".*"},"mode":"never-ready"}'
  local vs=data-2026-03-10-120000-nr0001
  create "$(e2e_script never-ready)" BAK_NOW=2026-03-10T11:00:00Z BAK_VS_RAND=nr0001
  [[ $status -eq 1 ]]
  [[ $output == *"[backup-ns] never-ready: snapshot: created VolumeSnapshot $vs of PVC data"* ]]
  [[ $output == *"[backup-ns] never-ready: snapshot: waiting until ready (limit 3s): $vs"$'\n'"[backup-ns] never-ready: snapshot: labelled VolumeSnapshot $vs backup-ns.sh/failed=true (period labels removed)" ]]
  [[ $output != *"done:"* && $output != *"result:"* ]]
  [[ ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr =~ ^"ERROR: VolumeSnapshot $vs not ready in namespace never-ready: readyToUse is not true after "[3-9]"s (limit 3s). Check the CSI driver and the snapshot controller, or raise BAK_VS_WAIT_UNTIL_READY_TIMEOUT; it is labelled backup-ns.sh/failed=true"$ ]]
  run kubectl -n never-ready get volumesnapshot "$vs" -o jsonpath='{.status.readyToUse}'
  [[ $output == false ]]
  run e2e_vs_labels never-ready "$vs"
  [[ $output == "backup-ns.sh/failed=true
backup-ns.sh/pvc=data
backup-ns.sh/retain=daily_weekly_monthly
backup-ns.sh/type=adhoc" ]]
}

@test "defect 3: a snapshot with status.error fails at once (not at the 1m limit)" {
  e2e_seed_volumes snap-error data
  kubesim_fault '{"type":"snapshot","match":{"namespace":"snap-error","name":".*"},"mode":"error","message":"csi: snapshot quota exceeded"}'
  local vs=data-2026-03-10-120000-se0001
  create "$(e2e_script snap-error)" BAK_NOW=2026-03-10T11:00:00Z BAK_VS_RAND=se0001
  [[ $status -eq 1 ]]
  [[ $output == *"[backup-ns] snap-error: snapshot: waiting until ready (limit 60s): $vs"$'\n'"[backup-ns] snap-error: snapshot: VolumeSnapshot $vs failed after "[0-9]"s: csi: snapshot quota exceeded"$'\n'"[backup-ns] snap-error: snapshot: labelled VolumeSnapshot $vs backup-ns.sh/failed=true (period labels removed)" ]]
  [[ ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr == "ERROR: VolumeSnapshot $vs failed in namespace snap-error: csi: snapshot quota exceeded. Check the CSI driver and the snapshot controller (kubectl -n snap-error describe volumesnapshot $vs); it is labelled backup-ns.sh/failed=true" ]]
  [[ $(e2e_vs_labels snap-error "$vs") == *backup-ns.sh/failed=true* ]]
}

@test "a failed snapshot gives up its day/week/month; the rerun gets them (two PVCs)" {
  e2e_seed_volumes rerun data uploads
  local c='backup-ns.sh/retain=daily_weekly_monthly backup-ns.sh/type=adhoc' f='backup-ns.sh/failed=true'
  # Monday 2026-03-02 (first of its day, week and month): data's snapshot fails
  # (status.error); uploads' is ready and keeps all three labels.
  kubesim_fault '{"type":"snapshot","match":{"namespace":"rerun","pvc":"data"},"mode":"error","message":"csi: quota","times":1}'
  create "$(e2e_script rerun)" BAK_NOW=2026-03-02T08:00:00Z BAK_VS_RAND=runa
  [[ $status -eq 1 ]]
  [[ $stderr == "ERROR: VolumeSnapshot data-2026-03-02-080000-runa failed in namespace rerun: csi: quota. "* ]]
  [[ $output == *"snapshot: VolumeSnapshot uploads-2026-03-02-080000-runa is ready after "* ]]
  # The rerun the same day: data's new snapshot is the day's, week's and month's copy.
  create "$(e2e_script rerun)" BAK_NOW=2026-03-02T09:00:00Z BAK_VS_RAND=runb
  [[ $status -eq 0 ]]
  # Tuesday: uploads' snapshot never gets ready within the wait; data's is the day's.
  kubesim_fault '{"type":"snapshot","match":{"namespace":"rerun","pvc":"uploads"},"mode":"never-ready","times":1}'
  create "$(e2e_script rerun)" BAK_NOW=2026-03-03T08:00:00Z BAK_VS_RAND=runc
  [[ $status -eq 1 ]]
  [[ $stderr == "ERROR: VolumeSnapshot uploads-2026-03-03-080000-runc not ready in namespace rerun: "* ]]
  create "$(e2e_script rerun)" BAK_NOW=2026-03-03T09:00:00Z BAK_VS_RAND=rund
  [[ $status -eq 0 ]]
  # Monday of the next week: both fail; the rerun gets the day and the week for both.
  kubesim_fault '{"type":"snapshot","match":{"namespace":"rerun"},"mode":"error","message":"csi: down","times":2}'
  create "$(e2e_script rerun)" BAK_NOW=2026-03-09T08:00:00Z BAK_VS_RAND=rune
  [[ $status -eq 1 ]]
  create "$(e2e_script rerun)" BAK_NOW=2026-03-09T09:00:00Z BAK_VS_RAND=runf
  [[ $status -eq 0 ]]
  # The first of April (a Wednesday, week 14): data fails, the rerun gets the new month.
  kubesim_fault '{"type":"snapshot","match":{"namespace":"rerun","pvc":"data"},"mode":"error","message":"csi: quota","times":1}'
  create "$(e2e_script rerun)" BAK_NOW=2026-04-01T08:00:00Z BAK_VS_RAND=rung
  [[ $status -eq 1 ]]
  create "$(e2e_script rerun)" BAK_NOW=2026-04-01T09:00:00Z BAK_VS_RAND=runh
  [[ $status -eq 0 ]]
  run e2e_vs_table rerun
  [[ $output == "data-2026-03-02-080000-runa $f backup-ns.sh/pvc=data $c
data-2026-03-02-090000-runb backup-ns.sh/daily=2026-03-02 backup-ns.sh/monthly=2026-03 backup-ns.sh/pvc=data $c backup-ns.sh/weekly=2026-w10
data-2026-03-03-080000-runc backup-ns.sh/daily=2026-03-03 backup-ns.sh/pvc=data $c
data-2026-03-03-090000-rund backup-ns.sh/pvc=data $c
data-2026-03-09-080000-rune $f backup-ns.sh/pvc=data $c
data-2026-03-09-090000-runf backup-ns.sh/daily=2026-03-09 backup-ns.sh/pvc=data $c backup-ns.sh/weekly=2026-w11
data-2026-04-01-080000-rung $f backup-ns.sh/pvc=data $c
data-2026-04-01-090000-runh backup-ns.sh/daily=2026-04-01 backup-ns.sh/monthly=2026-04 backup-ns.sh/pvc=data $c backup-ns.sh/weekly=2026-w14
uploads-2026-03-02-080000-runa backup-ns.sh/daily=2026-03-02 backup-ns.sh/monthly=2026-03 backup-ns.sh/pvc=uploads $c backup-ns.sh/weekly=2026-w10
uploads-2026-03-02-090000-runb backup-ns.sh/pvc=uploads $c
uploads-2026-03-03-080000-runc $f backup-ns.sh/pvc=uploads $c
uploads-2026-03-03-090000-rund backup-ns.sh/daily=2026-03-03 backup-ns.sh/pvc=uploads $c
uploads-2026-03-09-080000-rune $f backup-ns.sh/pvc=uploads $c
uploads-2026-03-09-090000-runf backup-ns.sh/daily=2026-03-09 backup-ns.sh/pvc=uploads $c backup-ns.sh/weekly=2026-w11
uploads-2026-04-01-080000-rung backup-ns.sh/daily=2026-04-01 backup-ns.sh/monthly=2026-04 backup-ns.sh/pvc=uploads $c backup-ns.sh/weekly=2026-w14
uploads-2026-04-01-090000-runh backup-ns.sh/pvc=uploads $c" ]] || { printf '%s\n' "$output"; false; }
}

@test "a period label on a snapshot that is not ready (or failed) does not count" {
  e2e_seed_volumes unready data
  # A run that does not wait leaves a snapshot that never gets ready, labelled the day's.
  kubesim_fault '{"type":"snapshot","match":{"namespace":"unready"},"mode":"never-ready","times":1}'
  create "$(e2e_script unready)" BAK_NOW=2026-03-02T08:00:00Z BAK_VS_RAND=runa BAK_VS_WAIT_UNTIL_READY=false
  [[ $status -eq 0 ]]
  [[ $output == *"result: VolumeSnapshot data-2026-03-02-080000-runa of PVC data: readyToUse=false "* ]]
  # Someone labelled another one failed by hand, but left its labels.
  create "$(e2e_script unready)" BAK_NOW=2026-03-02T08:30:00Z BAK_VS_RAND=runb
  [[ $status -eq 0 ]]
  kubectl -n unready label volumesnapshot data-2026-03-02-083000-runb backup-ns.sh/failed=true
  # The next run counts neither of them: it is the day's, week's and month's copy...
  create "$(e2e_script unready)" BAK_NOW=2026-03-02T09:00:00Z BAK_VS_RAND=runc
  [[ $status -eq 0 ]]
  [[ $output == *"labels for data-2026-03-02-090000-runc: backup-ns.sh/pvc=data backup-ns.sh/type=adhoc backup-ns.sh/retain=daily_weekly_monthly backup-ns.sh/daily=2026-03-02 backup-ns.sh/weekly=2026-w10 backup-ns.sh/monthly=2026-03"$'\n'* ]]
  # ...and the one after it is not.
  create "$(e2e_script unready)" BAK_NOW=2026-03-02T10:00:00Z BAK_VS_RAND=rund
  [[ $status -eq 0 ]]
  [[ $output == *"labels for data-2026-03-02-100000-rund: backup-ns.sh/pvc=data backup-ns.sh/type=adhoc backup-ns.sh/retain=daily_weekly_monthly"$'\n'* ]]
}

@test "a database-less create makes 4 API requests (+ its Event) with a cold kubectl cache: no discovery, no OpenAPI" {
  e2e_seed_volumes requests data
  kubesim_reset_requests
  create "$(e2e_script requests)" BAK_NOW=2026-03-02T09:00:00Z BAK_VS_RAND=count1
  [[ $status -eq 0 ]]
  local b=/apis/snapshot.storage.k8s.io/v1/namespaces/requests/volumesnapshots i
  # (the stopped watch is logged once the server sees its connection closed)
  for ((i = 0; i < 100; i++)); do
    run e2e_request_lines
    [[ $output != *" watch"* ]] || break
    sleep 0.1
  done
  # Sorted: the period list, the PVC check, the watch and the create run concurrently.
  [[ $(sort <<<"$output") == "$(sort <<EOF
GET /api/v1/namespaces/requests/persistentvolumeclaims/data
GET $b labelSelector=backup-ns.sh/pvc in (data)
POST $b fieldValidation=Strict
GET $b watch
POST /api/v1/namespaces/requests/events
EOF
)" ]] || { printf '%s\n' "$output"; false; }
}

@test "the readiness watch survives streams that end early (relist)" {
  e2e_seed_volumes rewatch data
  # Every watch stream ends after 0.3s; the snapshot stays unready until the test
  # makes it ready after three watch streams.
  kubesim_fault '{"type":"http","match":{"method":"GET","query":".*watch=true.*"},"watchEndAfter":0.3}'
  kubesim_fault '{"type":"snapshot","match":{"namespace":"rewatch"},"mode":"never-ready","times":1}'
  kubesim_reset_requests
  create_bg "$(e2e_script rewatch)" BAK_NOW=2026-03-02T08:00:00Z BAK_VS_RAND=relist
  local i vs=data-2026-03-02-080000-relist
  for ((i = 0; i < 400; i++)); do
    grep -q 'waiting until ready' "$BATS_TEST_TMPDIR/bg.out" &&
      (($(grep -c 'watch=true' "$KUBESIM_STATE/requests.jsonl") >= 3)) && break
    sleep 0.05
  done
  (($(grep -c 'watch=true' "$KUBESIM_STATE/requests.jsonl") >= 3))
  kubectl -n rewatch patch volumesnapshot "$vs" --subresource=status --type merge \
    -p '{"status":{"readyToUse":true}}' >/dev/null
  create_bg_wait
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *"snapshot: VolumeSnapshot $vs is ready after "* ]]
  [[ -z $stderr ]]
}

@test "a snapshot deleted during the wait fails the run" {
  e2e_seed_volumes vs-gone data
  kubesim_fault '{"type":"snapshot","match":{"namespace":"vs-gone"},"mode":"never-ready","times":1}'
  create_bg "$(e2e_script vs-gone)" BAK_NOW=2026-03-02T08:00:00Z BAK_VS_RAND=gone01
  local vs=data-2026-03-02-080000-gone01 i
  for ((i = 0; i < 400; i++)); do
    grep -q 'waiting until ready' "$BATS_TEST_TMPDIR/bg.out" && break
    sleep 0.05
  done
  kubectl -n vs-gone delete volumesnapshot "$vs" --wait=false >/dev/null
  create_bg_wait
  [[ $status -eq 1 ]]
  [[ $stderr == "ERROR: VolumeSnapshot $vs failed in namespace vs-gone: it was deleted while waiting for it to be ready. "* ]]
}

# watch_pids NS: the pids of the kubectl watches of namespace NS.
watch_pids() {
  pgrep -f -- "(^|/)kubectl --namespace $1 get --raw .*watch=true" || true
}

@test "a create killed with SIGKILL while it waits for readiness leaves no kubectl watch behind" {
  e2e_seed_volumes killed data
  kubesim_fault '{"type":"snapshot","match":{"namespace":"killed"},"mode":"never-ready","times":1}'
  create_bg "$(e2e_script killed)" BAK_NOW=2026-03-02T08:00:00Z BAK_VS_RAND=kill01 BAK_VS_WAIT_UNTIL_READY_TIMEOUT=10m
  local i before left
  for ((i = 0; i < 400; i++)); do
    grep -q 'waiting until ready' "$BATS_TEST_TMPDIR/bg.out" && [[ -n $(watch_pids killed) ]] && break
    sleep 0.05
  done
  before=$(watch_pids killed)
  [[ -n $before ]] || { cat "$BATS_TEST_TMPDIR/bg.out" "$BATS_TEST_TMPDIR/bg.err"; false; }
  kill -KILL "$CREATE_BG_PID"
  wait "$CREATE_BG_PID" || true
  # Gone soon after (the bound is generous; a watch left behind runs for 30 minutes).
  for ((i = 0; i < 600; i++)); do
    [[ -n $(watch_pids killed) ]] || break
    sleep 0.1
  done
  left=$(watch_pids killed)
  # (a watch left behind is stopped here: it would hold bats' output open for 30 minutes)
  [[ -z $left ]] || { ps -o pid,ppid,args -p "${left//$'\n'/,}"; mapfile -t left <<<"$left"; kill "${left[@]}"; false; }
}

@test "flock: two namespaces sharing one slot on a node run one after the other" {
  e2e_seed_volumes flock-a data
  e2e_seed_volumes flock-b data
  # flock-a's snapshot create answers slowly, so it holds the only slot a while.
  kubesim_fault '{"type":"http","match":{"method":"POST","path":"/apis/snapshot\\.storage\\.k8s\\.io/v1/namespaces/flock-a/volumesnapshots"},"delay":2,"times":1}'
  local log=$BATS_TEST_TMPDIR/both.log i pid_a pid_b rc_a=0 rc_b=0
  # The lock dir is a hostPath in the CronJob; here both runs share a test directory.
  BAK_FLOCK_DIR=$E2E_LOCKS bash "$(e2e_script flock-a)" create >>"$log" 2>&1 &
  pid_a=$!
  for ((i = 0; i < 200; i++)); do
    grep -q '^\[backup-ns\] flock-a: lock: took slot' "$log" && break
    sleep 0.05
  done
  BAK_FLOCK_DIR=$E2E_LOCKS bash "$(e2e_script flock-b)" create >>"$log" 2>&1 &
  pid_b=$!
  wait "$pid_a" || rc_a=$?
  wait "$pid_b" || rc_b=$?
  [[ $rc_a -eq 0 && $rc_b -eq 0 ]] || { cat "$log"; false; }
  # A's lock lines come in order, and B's "took" line comes after A finished
  # (A logs "released" right after unlocking, so B's "took" may come before that line).
  local a_wait a_took a_done a_rel b_wait b_took b_rel
  a_wait=$(grep -nFx "[backup-ns] flock-a: lock: waiting for a free slot of 1 in $E2E_LOCKS (limit 60s)" "$log" | cut -d: -f1)
  a_took=$(grep -nFx "[backup-ns] flock-a: lock: took slot 1 of 1 ($E2E_LOCKS/1.lock) after 0s" "$log" | cut -d: -f1)
  a_done=$(grep -nE '^\[backup-ns\] flock-a: done: created data-' "$log" | cut -d: -f1)
  a_rel=$(grep -nFx "[backup-ns] flock-a: lock: released $E2E_LOCKS/1.lock" "$log" | cut -d: -f1)
  b_wait=$(grep -nFx "[backup-ns] flock-b: lock: waiting for a free slot of 1 in $E2E_LOCKS (limit 60s)" "$log" | cut -d: -f1)
  b_took=$(grep -nE "^\[backup-ns\] flock-b: lock: took slot 1 of 1 \($E2E_LOCKS/1\.lock\) after [0-9]+s$" "$log" | cut -d: -f1)
  b_rel=$(grep -nFx "[backup-ns] flock-b: lock: released $E2E_LOCKS/1.lock" "$log" | cut -d: -f1)
  ((a_wait < a_took && a_took < b_wait && b_wait < a_done && a_done < b_took && a_done < a_rel)) ||
    { cat "$log"; false; }
  ((b_took < b_rel))
  [[ $(grep -c ': lock: ' "$log") -eq 6 ]]
  # flock-b made no API call before it had the slot: its first request comes after
  # flock-a's snapshot was created.
  [[ $(e2e_vs_names flock-a | wc -l) -eq 1 && $(e2e_vs_names flock-b | wc -l) -eq 1 ]]
}

@test "flock: a slot held past BAK_LOCK_TIMEOUT_SEC fails with one line, before any API call but its Event" {
  e2e_seed_volumes flock-b data
  # Another job on this node holds the only slot.
  # (own process group, so that flock and its sleep are stopped together)
  setsid flock "$E2E_LOCKS/1.lock" sleep 60 </dev/null >/dev/null 2>&1 &
  local holder=$! i
  for ((i = 0; i < 100; i++)); do
    ! flock --nonblock "$E2E_LOCKS/1.lock" true || { sleep 0.05; continue; }
    break
  done
  kubesim_reset_requests
  create "$(e2e_script flock-b)" BAK_FLOCK_DIR="$E2E_LOCKS" BAK_LOCK_TIMEOUT_SEC=2
  kill -- "-$holder"
  wait "$holder" || true
  [[ $status -eq 1 ]]
  [[ ${lines[-2]} == "[backup-ns] flock-b: lock: waiting for a free slot of 1 in $E2E_LOCKS (limit 2s)" ]]
  [[ ${lines[-1]} =~ ^"[backup-ns] flock-b: waiting for a free lock slot in $E2E_LOCKS ... "[2-9]"s/2s"$ ]]
  [[ ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr =~ ^"ERROR: timed out waiting for the lock in namespace flock-b: all 1 slots in $E2E_LOCKS stayed locked for "[2-9]"s (limit 2s). Other backups on this node hold all 1 slots; raise BAK_LOCK_TIMEOUT_SEC or BAK_LOCK_SLOTS"$ ]]
  # the one request: the run's BackupFailed Event
  run e2e_request_lines
  [[ $output == "POST /api/v1/namespaces/flock-b/events" ]]
}
