#!/usr/bin/env bats
# End to end: pre/post hooks (hooks.pre / hooks.post in backupns.yaml). The rendered
# script runs with real bash and the real kubectl against kubesim; each hook's
# `kubectl exec deployment/app` runs real local processes: a real redis-server (on
# loopback, its data dir inside the PVC's directory) saved by a pre hook, failing,
# slow and hostile hooks, post hooks after failures and after SIGTERM.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  e2e_setup_file backupns_yaml
}

# backupns_yaml: this file's config (e2e_setup_file writes and renders it).
backupns_yaml() {
  cat <<'YAML'
defaults:
  timeZone: UTC
  flock: {enabled: false}
  waitUntilReady: {enabled: true, timeout: 1m}
  hooks:
    post:
      - {exec: deployment/app, container: app, command: [sh, -c, 'echo thawed > /data/state']}
namespaces:
  hk-redis:
    pvcs: [data]
    hooks:
      pre:
        # BGSAVE, then wait until the save is done and check that it succeeded.
        - exec: deployment/app
          container: app
          command:
            - sh
            - -c
            - |
              redis-cli -e -p "$REDIS_PORT" BGSAVE
              until redis-cli -e -p "$REDIS_PORT" INFO persistence | grep -q '^rdb_bgsave_in_progress:0'; do sleep 0.1; done
              redis-cli -e -p "$REDIS_PORT" INFO persistence | grep -q '^rdb_last_bgsave_status:ok'
          timeout: 1m
  hk-fail:
    pvcs: [data]
    hooks:
      pre:
        - {exec: deployment/app, container: app, command: [sh, -c, 'echo frozen > /data/state; echo entering maintenance; echo "maintenance: lock held by pid 42" >&2; exit 3']}
        - {exec: deployment/app, container: app, command: [touch, /data/second-pre-hook]}
  hk-continue:
    pvcs: [data]
    hooks:
      pre:
        - {exec: deployment/app, container: app, onError: continue, command: [sh, -c, 'echo "maintenance: lock held by pid 42" >&2; exit 3']}
  hk-snapfail:
    pvcs: [data]
    hooks:
      pre:
        - {exec: deployment/app, container: app, command: [sh, -c, 'echo frozen > /data/state']}
  hk-term:
    pvcs: [data]
    hooks:
      pre:
        - {exec: deployment/app, container: app, command: [sh, -c, 'echo frozen > /data/state; exec sleep 613']}
  hk-timeout:
    pvcs: [data]
    hooks:
      pre:
        - exec: deployment/app
          container: app
          timeout: 2s
          command: [sh, -c, "echo frozen > /data/state; trap 'echo TERM > /data/got-term; exit 1' TERM; sleep 617 & wait"]
  hk-dry:
    pvcs: [data]
    hooks:
      pre:
        - {exec: deployment/app, container: app, command: [touch, /data/pre-ran], timeout: 90s}
  hk-hostile:
    pvcs: [data, other]
    hooks:
      pre:
        - exec: deployment/app
          container: app
          command: [sh, -c, 'printf "[%s]\n" "$@" > /data/args', sh, '$(touch /data/pwned1)', '`touch /data/pwned2`', "'; touch /data/pwned3; '", '${HOME}', "two\nlines", '', ' -n', '*']
        - {exec: deployment/app, container: app, command: [touch, /data/other-only], pvcs: [other]}
YAML
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

# create NS [VAR=value...]: run NS's rendered script `create` with the given settings.
create() {
  local ns=$1
  shift
  run --separate-stderr env BAK_NOW=2026-05-04T10:00:00Z BAK_VS_RAND=e2e001 "$@" \
    bash "$(e2e_script "$ns")" create
}

# seed NS [VAR=value...]: PVC data and Deployment app mounting it at /data.
seed() {
  local ns=$1
  shift
  e2e_seed_volumes "$ns" data
  e2e_seed_app "$ns" data /data "$@"
}

# no_process PATTERN: no process's argv is exactly PATTERN (waits up to 10 s).
no_process() {
  local i
  for ((i = 0; i < 100; i++)); do
    pgrep -fx "$1" >/dev/null || return 0
    sleep 0.1
  done
  return 1
}

@test "redis: a pre hook saves (BGSAVE) into the PVC; a fresh redis-server loads the snapshot's dump.rdb" {
  seed hk-redis
  local vol vs=data-2026-05-04-100000-e2e001 p='[backup-ns] hk-redis:'
  vol=$(e2e_volume_dir hk-redis data)
  db_start_redis "$vol/redis"
  # The pod's env names the server; its password travels in REDISCLI_AUTH, never in argv.
  e2e_seed_app hk-redis data /data REDIS_PORT="$REDIS_PORT" REDISCLI_AUTH="$REDIS_PASSWORD"
  db_redis MSET user:1 alice user:2 "bob 'quoted' ü" >/dev/null
  db_redis RPUSH queue a b c >/dev/null
  [[ ! -e $vol/redis/dump.rdb ]]
  e2e_argv_watch_start "$REDIS_PASSWORD"
  create hk-redis
  local report
  report=$(e2e_argv_watch_stop)
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ -z $stderr ]]
  [[ $output == *$'\n'"$p hooks: exec target deployment/app exists"$'\n'* ]]
  [[ $output =~ $'\n'"$p hooks: pre hook 1/1 done in "[0-9]+"s (deployment/app container app: sh -c redis-cli -e -p \"\$REDIS_PORT\" BGSAVE until "[^$'\n']*"...)"$'\n'"$p labels for $vs: "[^$'\n']*$'\n'"$p snapshot: created VolumeSnapshot $vs" ]]
  [[ $output =~ $'\n'"$p snapshot: cut by the storage: $vs ("[0-9]+"s)"$'\n'"$p hooks: post hook 1/1 done in "[0-9]+"s (deployment/app container app: sh -c echo thawed > /data/state)"$'\n' ]]
  [[ ${lines[-1]} == "$p done: created $vs" ]]
  [[ $report != *HIT* ]] || { printf '%s\n' "$report"; false; }
  [[ $output$stderr != *"$REDIS_PASSWORD"* ]]
  run e2e_vs_annotation hk-redis "$vs" backup-ns.sh/hooks
  [[ $output =~ ^"pre hook 1/1 ok "[0-9]+"s: deployment/app container app: sh -c redis-cli "[^$'\n']*$'\n'"post hook 1/1 after the cut (see the job's log): deployment/app container app: sh -c echo thawed > /data/state"$ ]]
  run e2e_vs_annotation hk-redis "$vs" backup-ns.sh/env-config
  [[ $output == *$'\nBAK_HOOKS=true\n'* ]]

  # The post hook ran after the cut: its marker is on the volume, not in the snapshot.
  local dir
  dir=$(e2e_vs_dir hk-redis "$vs")
  [[ $(cat "$vol/state") == thawed ]]
  [[ ! -e $dir/state ]]
  [[ -s $dir/redis/dump.rdb ]]
  # Later writes are not in the snapshot; a fresh server on a copy of it has the old keys.
  db_redis SET user:1 changed >/dev/null
  mkdir "$BATS_TEST_TMPDIR/restore"
  cp "$dir/redis/dump.rdb" "$BATS_TEST_TMPDIR/restore/"
  db_start_redis "$BATS_TEST_TMPDIR/restore"
  [[ $(db_redis GET user:1) == alice ]]
  [[ $(db_redis GET user:2) == "bob 'quoted' ü" ]]
  [[ $(db_redis LRANGE queue 0 -1) == $'a\nb\nc' ]]
  [[ $(db_redis DBSIZE) == 3 ]]
}

@test "a failing pre hook (onError fail): no snapshot, exit 1, the hook's own error line; the post hooks ran" {
  seed hk-fail
  local vol
  vol=$(e2e_volume_dir hk-fail data)
  create hk-fail
  [[ $status -eq 1 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr =~ ^"ERROR: pre hook 1/2 in deployment/app container app failed in namespace hk-fail: maintenance: lock held by pid 42 (after "[0-9]+"s). No snapshot was made; the post hooks ran. Check the hook's command and its container, or set onError: continue"$ ]]
  [[ $output == *'[backup-ns] hk-fail: hooks: post hook 1/1 done in '* ]]
  [[ $output != *'snapshot: created'* && $output != *'pre hook 2/2'* ]]
  [[ $(cat "$vol/state") == thawed ]]
  [[ ! -e $vol/second-pre-hook ]]
  [[ -z $(e2e_vs_names hk-fail) ]]
}

@test "a failing pre hook with onError continue: a warning, the snapshot is made and records the failure" {
  seed hk-continue
  local vs=data-2026-05-04-100000-e2e001
  create hk-continue
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $stderr =~ ^"[backup-ns] hk-continue: WARNING: pre hook 1/1 failed (onError continue; deployment/app container app: sh -c echo \"maintenance: lock held by pid 42\" >&2; exit 3): maintenance: lock held by pid 42 (after "[0-9]+"s)"$ ]]
  [[ $output == *"snapshot: created VolumeSnapshot $vs"* ]]
  run e2e_vs_annotation hk-continue "$vs" backup-ns.sh/hooks
  [[ $output =~ ^"pre hook 1/1 failed "[0-9]+"s (onError continue): deployment/app container app: sh -c" ]]
  [[ $(cat "$(e2e_volume_dir hk-continue data)/state") == thawed ]]
}

@test "post hooks run when the snapshot cannot be created, and when the storage fails it" {
  seed hk-snapfail
  local vol
  vol=$(e2e_volume_dir hk-snapfail data)
  kubesim_fault '{"type":"http","match":{"method":"POST","path":"/apis/snapshot\\.storage\\.k8s\\.io/v1/namespaces/hk-snapfail/volumesnapshots"},"status":500,"message":"etcd is gone","times":1}'
  create hk-snapfail
  [[ $status -eq 1 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $stderr == 'ERROR: cannot create VolumeSnapshot data-2026-05-04-100000-e2e001 of PVC data in namespace hk-snapfail: '*'etcd is gone'* ]]
  [[ $output == *'hooks: the run stops early; running the post hooks now'$'\n''[backup-ns] hk-snapfail: hooks: post hook 1/1 done in '* ]]
  [[ $(cat "$vol/state") == thawed ]]
  [[ -z $(e2e_vs_names hk-snapfail) ]]

  printf 'x\n' >"$vol/state"
  kubesim_fault '{"type":"snapshot","match":{"namespace":"hk-snapfail","name":".*"},"mode":"error","message":"the disk array is full","times":1}'
  create hk-snapfail
  [[ $status -eq 1 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $stderr == 'ERROR: VolumeSnapshot data-2026-05-04-100000-e2e001 failed in namespace hk-snapfail: the disk array is full. '* ]]
  [[ $(cat "$vol/state") == thawed ]]
}

@test "post hooks run once the snapshot is cut, not when it is ready (a snapshot that never gets ready)" {
  seed hk-snapfail
  local vol
  vol=$(e2e_volume_dir hk-snapfail data)
  kubesim_fault '{"type":"snapshot","match":{"namespace":"hk-snapfail","name":".*"},"mode":"never-ready","times":1}'
  create hk-snapfail BAK_VS_RAND=e2e002 BAK_VS_WAIT_UNTIL_READY_TIMEOUT=3s
  [[ $status -eq 1 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *'hooks: post hook 1/1 done in '*'snapshot: waiting until ready'* ]]
  [[ $stderr == 'ERROR: VolumeSnapshot data-2026-05-04-100000-e2e002 not ready in namespace hk-snapfail: '* ]]
  [[ $output != *'the run stops early'* ]]
  [[ $(cat "$vol/state") == thawed ]]
}

@test "SIGTERM while a pre hook runs: the post hooks run, the remote command ends, no snapshot" {
  seed hk-term
  local vol log=$BATS_TEST_TMPDIR/run.log i pid
  vol=$(e2e_volume_dir hk-term data)
  BAK_NOW=2026-05-04T10:00:00Z bash "$(e2e_script hk-term)" create >"$log" 2>&1 &
  pid=$!
  for ((i = 0; i < 300; i++)); do
    [[ $(cat "$vol/state" 2>/dev/null) != frozen ]] || break
    sleep 0.1
  done
  [[ $(cat "$vol/state") == frozen ]] || { cat "$log"; false; }
  pgrep -fx 'sleep 613' >/dev/null
  # Like the kubelet stopping the job's pod: SIGTERM to the script (PID 1 there) only.
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [[ $rc -eq 143 ]] || { cat "$log"; false; }
  [[ $(cat "$vol/state") == thawed ]]
  grep -q 'hooks: post hook 1/1 done in ' "$log"
  no_process 'sleep 613'
  [[ -z $(e2e_vs_names hk-term) ]]
}

@test "a pre hook over its timeout is killed in the container (its whole tree) and counts as failed" {
  seed hk-timeout
  local vol
  vol=$(e2e_volume_dir hk-timeout data)
  create hk-timeout
  [[ $status -eq 1 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  # The container's watchdog ended it (its "timed out after 2s" line), not the local guard.
  [[ $stderr =~ ^"ERROR: pre hook 1/1 in deployment/app container app failed in namespace hk-timeout: timed out after 2s; the command and its processes were killed (after "[0-9]+"s). No snapshot was made; the post hooks ran."* ]]
  [[ $(cat "$vol/got-term") == TERM ]]
  no_process 'sleep 617'
  [[ $(cat "$vol/state") == thawed ]]
  [[ -z $(e2e_vs_names hk-timeout) ]]
}

@test "dry run: the hooks are listed, none runs, nothing is created" {
  seed hk-dry
  local vol p='[backup-ns] hk-dry:'
  vol=$(e2e_volume_dir hk-dry data)
  kubesim_reset_requests
  create hk-dry BAK_DRY_RUN=true
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *$'\n'"$p hooks: dry run, would run pre hook 1/1 (deployment/app container app: touch /data/pre-ran; timeout 90s, onError fail)"$'\n'* ]]
  [[ $output == *$'\n'"$p hooks: dry run, would run post hook 1/1 (deployment/app container app: sh -c echo thawed > /data/state; timeout 300s, onError continue)"$'\n'* ]]
  [[ -z $(ls -A "$vol") ]]
  [[ -z $(e2e_mutating_requests hk-dry) ]]
  run grep -c '/exec' "$KUBESIM_STATE/requests.jsonl"
  [[ $output == 0 ]]
}

@test "help settings lists the hooks of the script" {
  run --separate-stderr bash "$(e2e_script hk-hostile)" help settings
  [[ $status -eq 0 ]]
  [[ $output == *$'\nHooks (backupns.yaml hooks.pre / hooks.post; BAK_HOOKS=false skips them):\n  pre hook 1/2: deployment/app container app: sh -c printf '*$'\n      timeout 300s, onError fail\n  pre hook 2/2: deployment/app container app: touch /data/other-only\n      timeout 300s, onError fail, only with PVC other\n  post hook 1/1: deployment/app container app: sh -c echo thawed > /data/state\n      timeout 300s, onError continue\n'* ]]
  [[ $output == *"  BAK_HOOKS='true'"$'\n''      true: run the pre/post hooks of backupns.yaml around the snapshots'* ]]
}

@test "hostile command values reach the container as exact arguments and run nothing; pvcs limits a hook" {
  e2e_seed_volumes hk-hostile data other
  e2e_seed_app hk-hostile data /data
  local vol
  vol=$(e2e_volume_dir hk-hostile data)
  create hk-hostile BAK_PVC_NAME=data
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $(cat "$vol/args") == "[\$(touch /data/pwned1)]"$'\n'"[\`touch /data/pwned2\`]"$'\n'"['; touch /data/pwned3; ']"$'\n'"[\${HOME}]"$'\n'"[two"$'\n'"lines]"$'\n'"[]"$'\n'"[ -n]"$'\n'"[*]" ]]
  [[ -z $(compgen -G "$vol/pwned*") ]]
  [[ $output == *'hooks: pre hook 2/2 skipped: it brackets only PVC other'* ]]
  [[ ! -e $vol/other-only ]]
  run e2e_vs_annotation hk-hostile data-2026-05-04-100000-e2e001 backup-ns.sh/hooks
  # shellcheck disable=SC2016 # the expected text holds $(...) and ${...} literally
  [[ ${lines[0]} == 'pre hook 1/2 ok '*'s: deployment/app container app: sh -c printf "[%s]\n" "$@" > /data/args sh $(touch /data/pwned1) `touch /data/pwned2` '"'; touch /data/pwned3; '"' ${HOME...' ]]
  [[ ${#lines[@]} -eq 2 && ${lines[1]} == 'post hook 1/1 after the cut '* ]]
}
