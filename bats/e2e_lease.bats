#!/usr/bin/env bats
# End to end, the default lock (lock.mode lease): per-node backup slots on
# coordination.k8s.io Leases in the controller namespace, taken, renewed and released
# by the rendered scripts with the real kubectl against kubesim. Each test uses its own
# node name, so its slots are its own.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  e2e_setup_file backupns_yaml
}

# backupns_yaml: this file's config (e2e_setup_file writes and renders it).
backupns_yaml() {
  cat <<EOF
defaults:
  timeZone: UTC
  lock: {mode: lease, slots: 1, timeout: 1m}
  waitUntilReady: {enabled: true, timeout: 1m}
  database: none
  image: registry.example.com/backup-ns-runtime:1.33.5-1
namespaces:
  lease-a: {pvcs: [data]}
  lease-b: {pvcs: [data]}
  lease-two: {pvcs: [data], lock: {slots: 2}}
controller:
  namespace: backup-ns
  image: registry.example.com/backup-ns-runtime:1.33.5-1
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
  e2e_seed_volumes backup-ns
  e2e_seed_volumes lease-a data
  e2e_seed_volumes lease-b data
  e2e_seed_volumes lease-two data
  NODE=node-$BATS_TEST_NUMBER
  LOG=$BATS_TEST_TMPDIR/runs.log
}

teardown() {
  kubesim_clear_faults
}

# create NS [VAR=value...]: `run` NS's script (create) on node NODE.
create() {
  local ns=$1
  shift
  run --separate-stderr env BAK_LOCK_NODE="$NODE" NO_COLOR=1 "$@" bash "$(e2e_script "$ns")" create
}

# start NS [VAR=value...]: run NS's script on NODE in the background, output to LOG;
# prints nothing, sets PID.
start() {
  local ns=$1
  shift
  env BAK_LOCK_NODE="$NODE" NO_COLOR=1 "$@" bash "$(e2e_script "$ns")" create >>"$LOG" 2>&1 &
  PID=$!
}

# wait_for_line REGEX: until LOG has a line matching REGEX (grep -E), at most 60 s.
wait_for_line() {
  local i
  for ((i = 0; i < 1200; i++)); do
    grep -qE "$1" "$LOG" 2>/dev/null && return 0
    sleep 0.05
  done
  printf 'no line matching %s in:\n' "$1" >&2
  cat "$LOG" >&2
  return 1
}

# lease NAME: "holder|acquireTime|renewTime|leaseDurationSeconds|leaseTransitions".
lease() {
  kubectl -n backup-ns get lease "$1" -o \
    jsonpath='{.spec.holderIdentity}|{.spec.acquireTime}|{.spec.renewTime}|{.spec.leaseDurationSeconds}|{.spec.leaseTransitions}'
}

# seed_lease NAME HOLDER ACQUIRE RENEW DURATION TRANSITIONS: a slot held by someone else.
seed_lease() {
  kubectl create -f - >/dev/null <<EOF
{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
 "metadata": {"name": "$1", "namespace": "backup-ns"},
 "spec": {"holderIdentity": "$2", "acquireTime": "$3", "renewTime": "$4",
          "leaseDurationSeconds": $5, "leaseTransitions": $6}}
EOF
}

# line_no REGEX: the number of LOG's first line matching REGEX.
line_no() {
  grep -nE "$1" "$LOG" | head -n 1 | cut -d: -f1
}

micro_now() {
  date -u +%Y-%m-%dT%H:%M:%S.%6NZ
}

@test "lease: one slot, two namespaces at once: the second takes the slot when the first released it" {
  # lease-a's snapshot create answers slowly, so it holds the only slot a while.
  kubesim_fault '{"type":"http","match":{"method":"POST","path":"/apis/snapshot\\.storage\\.k8s\\.io/v1/namespaces/lease-a/volumesnapshots"},"delay":3,"times":1}'
  local pid_a pid_b rc_a=0 rc_b=0 slot=backup-ns-slot-$NODE-1
  start lease-a
  pid_a=$PID
  wait_for_line '^\[backup-ns\] lease-a: lock: took backup slot 1 of 1'
  start lease-b
  pid_b=$PID
  wait "$pid_a" || rc_a=$?
  wait "$pid_b" || rc_b=$?
  [[ $rc_a -eq 0 && $rc_b -eq 0 ]] || { cat "$LOG"; false; }
  local a_took a_done a_rel b_wait b_took b_rel
  a_took=$(line_no "^\[backup-ns\] lease-a: lock: took backup slot 1 of 1 on node $NODE \(lease $slot\) after [0-9]+s$")
  b_wait=$(line_no "^\[backup-ns\] lease-b: lock: waiting for one of 1 backup slots of node $NODE \(leases $slot\.\.1 in namespace backup-ns, limit 1m\)$")
  a_done=$(line_no '^\[backup-ns\] lease-a: done: created data-')
  a_rel=$(line_no "^\[backup-ns\] lease-a: lock: released backup slot $slot$")
  b_took=$(line_no "^\[backup-ns\] lease-b: lock: took backup slot 1 of 1 on node $NODE \(lease $slot\) after [0-9]+s$")
  b_rel=$(line_no "^\[backup-ns\] lease-b: lock: released backup slot $slot$")
  ((a_took < b_wait && b_wait < a_done && a_done < a_rel && a_rel < b_took && b_took < b_rel)) ||
    { cat "$LOG"; false; }
  # Released: no holder; one change of holder (lease-a created it, lease-b took it).
  run lease "$slot"
  [[ $output =~ ^\|[-0-9T:.]+Z\|[-0-9T:.]+Z\|1\|1$ ]]
  [[ $(e2e_vs_names lease-a | wc -l) -eq 1 && $(e2e_vs_names lease-b | wc -l) -eq 1 ]]
}

@test "lease: a slot held and renewed by another job: wait with a progress line, then one clear error" {
  local slot=backup-ns-slot-$NODE-1 acquired=2026-03-10T11:00:00.000000Z before
  seed_lease "$slot" other-ns/backup-ns-29000000-xyz12 "$acquired" "$(micro_now)" 3600 2
  before=$(kubectl -n backup-ns get lease "$slot" -o jsonpath='{.metadata.resourceVersion}')
  kubesim_reset_requests
  create lease-a BAK_LOCK_TIMEOUT_SEC=21
  [[ $status -eq 1 ]]
  [[ $stderr == "ERROR: timed out waiting for a backup slot in namespace lease-a: no backup slot free on node $NODE after 21s: held by other-ns/backup-ns-29000000-xyz12 since $acquired. Other backups hold all 1 slots of the node (kubectl -n backup-ns get leases -l app.kubernetes.io/component=slot-lock); raise lock.slots or lock.timeout" ]]
  [[ ${lines[-2]} == "[backup-ns] lease-a: lock: waiting for one of 1 backup slots of node $NODE (leases $slot..1 in namespace backup-ns, limit 21s)" ]]
  [[ ${lines[-1]} =~ ^"[backup-ns] lease-a: lock: waiting for a backup slot on node $NODE ... 2"[0-9]"s/21s (held by other-ns/backup-ns-29000000-xyz12 since $acquired)"$ ]]
  # The other job's slot is untouched, and nothing but slot reads happened.
  [[ $(kubectl -n backup-ns get lease "$slot" -o jsonpath='{.metadata.resourceVersion}') == "$before" ]]
  # (discovery and OpenAPI reads and the run's BackupFailed Event left out)
  run python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] not in ("/api", "/apis") and not r["path"].startswith("/openapi/") \
            and not r["path"].endswith("/events"):
        print(r["method"], r["path"], r["status"])
' "$KUBESIM_STATE/requests.jsonl"
  [[ ${lines[0]} == "POST /apis/coordination.k8s.io/v1/namespaces/backup-ns/leases 409" ]]
  [[ $(printf '%s\n' "${lines[@]:1}" | sort -u) == "GET /apis/coordination.k8s.io/v1/namespaces/backup-ns/leases/$slot 200" ]]
  # about one GET per round, a round every 5 s: a handful in 21 s, never a busy loop; fewer on a
  # loaded machine, where a round takes longer than its 5 s pause
  [[ ${#lines[@]} -ge 2 && ${#lines[@]} -le 12 ]]
}

@test "lease: a slot whose holder stopped renewing it (a killed job) is taken over" {
  local slot=backup-ns-slot-$NODE-1 renewed
  renewed=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S.%6NZ)
  seed_lease "$slot" gone-ns/backup-ns-28000000-dead1 2026-03-10T11:00:00.000000Z "$renewed" 60 4
  create lease-a
  [[ $status -eq 0 && -z $stderr ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *$'\n'"[backup-ns] lease-a: lock: $slot was held by gone-ns/backup-ns-28000000-dead1, not renewed since $renewed (60s lease): taken over"$'\n'"[backup-ns] lease-a: lock: took backup slot 1 of 1 on node $NODE (lease $slot) after "[0-9]"s"$'\n'* ]]
  [[ ${lines[-1]} == "[backup-ns] lease-a: lock: released backup slot $slot" ]]
  run lease "$slot"
  [[ $output =~ ^\|[-0-9T:.]+Z\|[-0-9T:.]+Z\|1\|5$ ]]
}

@test "lease: with two slots and one held, a run takes the other at once" {
  local acquired=2026-03-10T11:00:00.000000Z
  seed_lease "backup-ns-slot-$NODE-1" other-ns/job-1 "$acquired" "$(micro_now)" 3600 0
  create lease-two
  [[ $status -eq 0 && -z $stderr ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *$'\n'"[backup-ns] lease-two: lock: took backup slot 2 of 2 on node $NODE (lease backup-ns-slot-$NODE-2) after "[0-9]"s"$'\n'* ]]
  run lease "backup-ns-slot-$NODE-1"
  [[ $output == "other-ns/job-1|$acquired|"*"|3600|0" ]]
}

@test "lease: the slot is released when a later step fails" {
  kubesim_fault '{"type":"http","match":{"method":"GET","path":"/api/v1/namespaces/lease-a/persistentvolumeclaims/data"},"status":500,"message":"etcd unavailable"}'
  create lease-a
  [[ $status -eq 1 ]]
  [[ $stderr == "ERROR: cannot read PVC data in namespace lease-a: "*"etcd unavailable"* ]]
  run lease "backup-ns-slot-$NODE-1"
  [[ $output == "|"*"|1|0" ]]
}

@test "lease: SIGTERM (Kubernetes stopping the pod) releases the slot" {
  kubesim_fault '{"type":"snapshot","match":{"namespace":"lease-a","name":".*"},"mode":"never-ready"}'
  local rc=0
  start lease-a
  wait_for_line '^\[backup-ns\] lease-a: snapshot: waiting until ready'
  [[ $(lease "backup-ns-slot-$NODE-1") == "lease-a/"* ]]
  kill -TERM "$PID"
  wait "$PID" || rc=$?
  [[ $rc -eq 143 ]] || { cat "$LOG"; false; }
  run lease "backup-ns-slot-$NODE-1"
  [[ $output == "|"*"|1|0" ]]
}

@test "lease: a SIGTERM while waiting for a slot exits at once and leaves the holder's slot alone" {
  local slot=backup-ns-slot-$NODE-1 rc=0 before
  seed_lease "$slot" other-ns/job-1 2026-03-10T11:00:00.000000Z "$(micro_now)" 3600 0
  before=$(lease "$slot")
  start lease-a
  wait_for_line '^\[backup-ns\] lease-a: lock: waiting for one of 1'
  sleep 1
  kill -TERM "$PID"
  wait "$PID" || rc=$?
  [[ $rc -eq 143 ]]
  [[ $(grep -c 'lock: released' "$LOG") -eq 0 ]]
  [[ $(lease "$slot") == "$before" ]]
}

@test "lease: a long run keeps its slot by renewing it; a second job cannot take it meanwhile" {
  local slot=backup-ns-slot-$NODE-1 i renewals=() seen pid_a rc_a=0
  # lease-a holds the slot (a snapshot that never gets ready) with a 4 s lease until it
  # is stopped.
  kubesim_fault '{"type":"snapshot","match":{"namespace":"lease-a","name":".*"},"mode":"never-ready"}'
  start lease-a BAK_LOCK_LEASE_DURATION_SEC=4 BAK_VS_WAIT_UNTIL_READY_TIMEOUT=5m
  pid_a=$PID
  wait_for_line '^\[backup-ns\] lease-a: lock: took backup slot'
  for ((i = 0; i < 3; i++)); do
    seen=$(lease "$slot")
    renewals+=("${seen#*|*|}")
    sleep 1.5
  done
  # lease-b waits 6 s: longer than the lease, so only renewals keep lease-a's hold.
  create lease-b BAK_LOCK_TIMEOUT_SEC=6
  [[ $status -eq 1 ]]
  [[ $stderr == "ERROR: timed out waiting for a backup slot in namespace lease-b: no backup slot free on node $NODE after 6s: held by lease-a/"* ]]
  kill -TERM "$pid_a"
  wait "$pid_a" || rc_a=$?
  [[ $rc_a -eq 143 ]]
  [[ ${renewals[0]} != "${renewals[1]}" && ${renewals[1]} != "${renewals[2]}" ]] ||
    { printf '%s\n' "${renewals[@]}"; false; }
  [[ ${renewals[2]} == *"|4|0" ]]
  run ! grep -q 'lost backup slot\|cannot renew' "$LOG"
  run lease "$slot"
  [[ $output == "|"*"|1|0" ]]
}

@test "lease: a run killed outright (SIGKILL, no traps) has its renewal loop release the slot" {
  local slot=backup-ns-slot-$NODE-1 i
  kubesim_fault '{"type":"snapshot","match":{"namespace":"lease-a","name":".*"},"mode":"never-ready"}'
  start lease-a BAK_LOCK_LEASE_DURATION_SEC=3
  wait_for_line '^\[backup-ns\] lease-a: snapshot: waiting until ready'
  kill -KILL "$PID"
  wait "$PID" || true
  for ((i = 0; i < 100; i++)); do
    [[ $(lease "$slot") != "|"* ]] || break
    sleep 0.1
  done
  run lease "$slot"
  [[ $output == "|"*"|1|0" ]] || { cat "$LOG"; false; }
  [[ $(tail -n 1 "$LOG") == "[backup-ns] lease-a: lock: released backup slot $slot" ]]
}

@test "lease: a dry run without a node (a hand run) takes no slot and needs none" {
  kubesim_reset_requests
  run --separate-stderr env NO_COLOR=1 BAK_DRY_RUN=true bash "$(e2e_script lease-a)" create
  [[ $status -eq 0 ]] || { echo "$stderr"; false; }
  [[ $output == *$'\n''[backup-ns] lease-a: lock: dry run, not taking a backup slot (BAK_LOCK_NODE is empty: a real run takes one of 1 slots of the node of the pod that mounts its PVCs)'$'\n'* ]]
  [[ ${lines[-1]} == '[backup-ns] lease-a: done (dry run): nothing was dumped or created' ]]
  run ! grep -q leases "$KUBESIM_STATE/requests.jsonl"
}

@test "lease: a hand run without a node takes a slot of the node where a pod mounts its PVC" {
  local i
  e2e_seed_app lease-b data /data
  for ((i = 0; i < 600; i++)); do
    [[ $(kubectl -n lease-b get pods -l app=app -o jsonpath='{.items[*].status.phase}') != Running ]] || break
    sleep 0.1
  done
  run --separate-stderr env NO_COLOR=1 bash "$(e2e_script lease-b)" create
  [[ $status -eq 0 ]] || { echo "$stderr"; false; }
  [[ $output == *$'\n''[backup-ns] lease-b: lock: BAK_LOCK_NODE is empty: using node kubesim-node, where pod app-'*' mounts PVC data (set BAK_LOCK_NODE to choose)'$'\n''[backup-ns] lease-b: lock: waiting for one of 1 backup slots of node kubesim-node '* ]]
  [[ $output == *$'\n''[backup-ns] lease-b: lock: took backup slot 1 of 1 on node kubesim-node (lease backup-ns-slot-kubesim-node-1) after '* ]]
  kubectl -n lease-b delete deployment app >/dev/null
}

@test "lease: a hand run without a node and no pod mounting its PVC says what to set" {
  run --separate-stderr env NO_COLOR=1 bash "$(e2e_script lease-two)" create
  [[ $status -eq 1 && ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr == "ERROR: no node for the backup slot in namespace lease-two: BAK_LOCK_NODE is empty (the CronJob sets it from the pod's spec.nodeName) and no running pod mounts PVC data. Set BAK_LOCK_NODE to the node whose disks the backup loads (kubectl -n lease-two get pods -o wide), or BAK_LOCK=none" ]]
}

@test "lease: a dry run takes no slot" {
  kubesim_reset_requests
  create lease-a BAK_DRY_RUN=true
  [[ $status -eq 0 ]]
  [[ $output == *$'\n'"[backup-ns] lease-a: lock: dry run, not taking one of 1 backup slots of node $NODE (leases backup-ns-slot-$NODE-1..1 in namespace backup-ns)"$'\n'* ]]
  run ! grep -q leases "$KUBESIM_STATE/requests.jsonl"
}
