#!/usr/bin/env bats
# The namespace script and the retention controller on one kubesim, with real bash and
# the real kubectl: they agree on which snapshot holds a day, week or month. A snapshot
# the controller marked failed because it was not ready in time loses that mark once it
# is ready (and keeps its period labels); keep refuses a failed snapshot unless forced,
# and a kept failed snapshot never counts as its period's copy.

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
  lock: {mode: none}
  waitUntilReady: {enabled: true, timeout: 1m}
namespaces:
  late: {pvcs: [data], database: none}
  kept: {pvcs: [data], database: none, waitUntilReady: {enabled: true, timeout: 2s}}
  kept-late: {pvcs: [data], database: none, waitUntilReady: {enabled: false}}
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
  mkdir -p "$BATS_TEST_TMPDIR/tmp"
}

teardown() {
  kubesim_clear_faults
}

# bns NS ARGS... [-- VAR=value...]: run the namespace script of NS (no terminal).
bns() {
  local ns=$1 args=() envs=()
  shift
  while (($# > 0)) && [[ $1 != -- ]]; do args+=("$1"); shift; done
  (($# == 0)) || { shift; envs=("$@"); }
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" "${envs[@]}" \
    bash "$(e2e_script "$ns")" "${args[@]}" </dev/null
}

# ctl NOW ARGS...: run the controller with its clock at NOW.
ctl() {
  local now=$1
  shift
  run --separate-stderr env TMPDIR="$BATS_TEST_TMPDIR/tmp" CTL_NOW="$now" NO_COLOR=1 \
    bash "$E2E_OUT/controller/backup-ns-controller.sh" "$@" </dev/null
}

# cut_plus NS VS HOURS: the snapshot's status.creationTime plus HOURS, RFC 3339 UTC.
cut_plus() {
  local cut
  cut=$(kubectl -n "$1" get volumesnapshot "$2" -o jsonpath='{.status.creationTime}')
  [[ -n $cut ]] || { echo "cut_plus: $1/$2 has no status.creationTime" >&2; return 1; }
  date -u -d "$cut + $3 hours" +%Y-%m-%dT%H:%M:%SZ
}

# make_ready NS VS: the driver finished late: the snapshot and its content become ready.
make_ready() {
  local content
  content=$(kubectl -n "$1" get volumesnapshot "$2" -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  kubectl patch volumesnapshotcontent "$content" --subresource=status --type=merge \
    -p '{"status":{"readyToUse":true,"restoreSize":1073741824}}' >/dev/null
  kubectl -n "$1" patch volumesnapshot "$2" --subresource=status --type=merge \
    -p '{"status":{"readyToUse":true,"restoreSize":"1Gi"}}' >/dev/null
}

@test "a snapshot ready after the failed limit keeps its week: the mark is withdrawn, nothing deleted" {
  e2e_seed_volumes backup-ns
  e2e_seed_volumes late data
  local n
  # Three good nights: Friday 2026-12-04 (week 49, first of December) to Sunday.
  for n in 04 05 06; do
    bns late create -- BAK_NOW=2026-12-${n}T01:00:00Z BAK_VS_RAND=good$n
    [[ $status -eq 0 ]] || { printf '%s\n%s\n' "$output" "$stderr"; false; }
  done
  # Monday (week 50): the driver does not finish; the run does not wait and labels the
  # snapshot the day's and the week's.
  local vs=data-2026-12-07-010000-late07
  kubesim_fault '{"type":"snapshot","match":{"namespace":"late"},"mode":"never-ready","times":1}'
  bns late create -- BAK_NOW=2026-12-07T01:00:00Z BAK_VS_RAND=late07 BAK_VS_WAIT_UNTIL_READY=false
  [[ $status -eq 0 ]]
  [[ $(e2e_vs_labels late "$vs") == *"backup-ns.sh/weekly=2026-w50"* ]]
  # 25 hours later the controller marks it failed.
  local t25 t49 today
  t25=$(cut_plus late "$vs" 25)
  t49=$(cut_plus late "$vs" 49)
  today=${t25%%T*}
  ctl "$t25" run
  [[ $status -eq 0 ]] || { printf '%s\n%s\n' "$output" "$stderr"; false; }
  [[ $output == *"mark late/$vs : delete-after=$today (failed), failed: not ready after 25h (limit 24h)"* ]]
  # Then the driver finishes: the snapshot is ready, the copy of its day and week.
  make_ready late "$vs"
  # Tuesday's run sees the week held by a ready snapshot: the day's label only.
  bns late create -- BAK_NOW=2026-12-08T01:00:00Z BAK_VS_RAND=next08
  [[ $status -eq 0 ]]
  [[ $(e2e_vs_labels late data-2026-12-08-010000-next08) != *backup-ns.sh/weekly=* ]]
  # The next controller run withdraws the failed mark instead of deleting the week's copy.
  ctl "$t49" run
  [[ $status -eq 0 ]] || { printf '%s\n%s\n' "$output" "$stderr"; false; }
  [[ $output == *"unmark late/$vs : ready since its failed mark, delete-after=$today removed"* ]]
  [[ $output != *"delete late/"* ]]
  run e2e_vs_table late
  local c='backup-ns.sh/pvc=data backup-ns.sh/retain=daily_weekly_monthly backup-ns.sh/type=adhoc'
  [[ $output == "data-2026-12-04-010000-good04 backup-ns.sh/daily=2026-12-04 backup-ns.sh/monthly=2026-12 $c backup-ns.sh/weekly=2026-w49
data-2026-12-05-010000-good05 backup-ns.sh/daily=2026-12-05 $c
data-2026-12-06-010000-good06 backup-ns.sh/daily=2026-12-06 $c
data-2026-12-07-010000-late07 backup-ns.sh/daily=2026-12-07 $c backup-ns.sh/weekly=2026-w50
data-2026-12-08-010000-next08 backup-ns.sh/daily=2026-12-08 $c" ]] || { printf '%s\n' "$output"; false; }
  # The content carries the same labels (the mark removed there too).
  local content
  content=$(kubectl -n late get volumesnapshot "$vs" -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  run kubectl get volumesnapshotcontent "$content" -o jsonpath='{.metadata.labels}'
  [[ $output == *'"backup-ns.sh/weekly":"2026-w50"'* && $output != *delete-after* ]]
  # A third run a day later changes nothing but what is due.
  ctl "$(cut_plus late "$vs" 73)" plan
  [[ $status -eq 0 && $output != *"late/$vs"* ]]
}

@test "keep refuses a failed snapshot unless forced; kept, it is still no copy of its day" {
  e2e_seed_volumes kept data
  local vs=data-2026-12-07-010000-fail01 p='[backup-ns] kept:'
  # The run fails: the snapshot is not ready in time, labelled failed, periods given up.
  kubesim_fault '{"type":"snapshot","match":{"namespace":"kept"},"mode":"never-ready","times":1}'
  bns kept create -- BAK_NOW=2026-12-07T01:00:00Z BAK_VS_RAND=fail01
  [[ $status -eq 1 ]]
  bns kept keep "$vs"
  [[ $status -eq 1 && -z $output ]]
  [[ $stderr == "ERROR: keep refused in namespace kept: VolumeSnapshot $vs failed: labelled backup-ns.sh/failed=true (the run that made it failed); it cannot be restored from and is no copy of its day, week or month. Keep a good snapshot instead (backup-ns.sh list), or pass --force to keep this one anyway" ]]
  [[ -z $(kubectl -n kept get volumesnapshot "$vs" -o jsonpath='{.metadata.labels.backup-ns\.sh/keep}') ]]
  bns kept keep "$vs" --force
  [[ $status -eq 0 ]]
  [[ $output == "$p VolumeSnapshot $vs: backup-ns.sh/keep=true (retention never deletes it; undo with backup-ns.sh unkeep $vs)" ]]
  [[ $stderr == "$p WARNING: VolumeSnapshot $vs is kept although it failed (labelled backup-ns.sh/failed=true (the run that made it failed)): it never counts as its day's, week's or month's copy" ]]
  # Ready later, it stays failed: the rerun is the day's, week's and month's copy.
  make_ready kept "$vs"
  bns kept create -- BAK_NOW=2026-12-07T02:00:00Z BAK_VS_RAND=good02
  [[ $status -eq 0 ]]
  local periods='backup-ns.sh/daily=2026-12-07 backup-ns.sh/weekly=2026-w50 backup-ns.sh/monthly=2026-12'
  [[ $output == *"labels for data-2026-12-07-020000-good02: "*" $periods"$'\n'* ]]
  # A ready snapshot that gets a status.error fails too (for keep, the next run and the
  # controller alike).
  kubectl -n kept patch volumesnapshot data-2026-12-07-020000-good02 --subresource=status --type=merge \
    -p '{"status":{"error":{"message":"csi: lost","time":"2026-12-07T02:30:00Z"}}}' >/dev/null
  bns kept keep data-2026-12-07-020000-good02
  [[ $status -eq 1 && $stderr == "ERROR: keep refused in namespace kept: VolumeSnapshot data-2026-12-07-020000-good02 failed: status.error: csi: lost; it cannot be restored from"* ]]
  bns kept create -- BAK_NOW=2026-12-07T03:00:00Z BAK_VS_RAND=next03
  [[ $status -eq 0 ]]
  [[ $output == *"labels for data-2026-12-07-030000-next03: "*" $periods"$'\n'* ]]
  ctl "$(cut_plus kept data-2026-12-07-030000-next03 1)" plan
  [[ $status -eq 0 ]]
  [[ $output == *"mark kept/data-2026-12-07-020000-good02 : delete-after="*" (failed), failed: snapshot error: csi: lost"* ]]
  [[ $output != *"mark kept/$vs "* && $output != *"unlabel "*"kept/"* ]]
}

@test "keep refuses a snapshot that is not ready yet; once ready, it is kept without a word" {
  e2e_seed_volumes kept-late data
  local vs=data-2026-12-07-010000-late01
  kubesim_fault '{"type":"snapshot","match":{"namespace":"kept-late"},"mode":"never-ready","times":1}'
  bns kept-late create -- BAK_NOW=2026-12-07T01:00:00Z BAK_VS_RAND=late01
  [[ $status -eq 0 ]]
  bns kept-late keep "$vs"
  [[ $status -eq 1 ]]
  [[ $stderr == "ERROR: keep refused in namespace kept-late: VolumeSnapshot $vs failed: not ready (readyToUse false); it cannot be restored from and is no copy of its day, week or month. Keep a good snapshot instead (backup-ns.sh list), or pass --force to keep this one anyway" ]]
  # Marked failed by the controller 25 hours later: keep says so.
  local t25
  t25=$(cut_plus kept-late "$vs" 25)
  ctl "$t25" run
  [[ $status -eq 0 ]]
  bns kept-late keep "$vs"
  [[ $status -eq 1 && $stderr == *"failed: not ready (readyToUse false), marked for deletion by retention (delete-after=${t25%%T*}); it cannot"* ]]
  # Ready at last: a good snapshot, kept without a warning.
  make_ready kept-late "$vs"
  bns kept-late keep "$vs"
  [[ $status -eq 0 && -z $stderr ]]
}
