#!/usr/bin/env bats
# The rendered scripts in the default image's own userland: a root filesystem built
# from the packages of registry.k8s.io/kubectl's build (debian-base bookworm: no tzdata;
# bash grep sed gawk coreutils jq diffutils) with the suite's kubectl, by
# tests/rootfs/build.sh; each script runs there through tests/rootfs/run.sh as uid 65532
# on a read-only root with a writable /tmp, against kubesim on loopback (the database
# commands of `kubectl exec` run where kubesim runs them, on this machine). The zones
# are Europe/Vienna and America/Sao_Paulo, with no zone files: the labels come from the
# rules baked into the scripts.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  # The tree's path depends on HOME, which each test replaces: resolve it once here.
  BACKUPNS_ROOTFS=$(bash "$E2E_ROOT/tests/rootfs/build.sh" --print) || {
    printf 'the root filesystem is not built (%s): run bash tests/rootfs/build.sh\n' "$BACKUPNS_ROOTFS" >&2
    return 1
  }
  export BACKUPNS_ROOTFS
  e2e_setup_file --postgres backupns_yaml
}

backupns_yaml() {
  cat <<EOF_CONFIG
defaults:
  timeZone: Europe/Vienna
  lock: {mode: none}
  waitUntilReady: {enabled: true, timeout: 1m}
  verify: {timeout: 1m}
namespaces:
  rf-shop:
    pvcs: [data]
    database:
      postgres:
        exec: deployment/app-base
        container: postgres
        host: 127.0.0.1
        port: $PG_PORT
        dumpFile: /var/lib/postgresql/data/dump.sql.gz
  rf-files:
    pvcs: [www]
    timeZone: America/Sao_Paulo
controller:
  namespace: backup-ns
  timeZone: America/Sao_Paulo
EOF_CONFIG
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

# in_image SCRIPT [VAR=value...] -- ARGS...: run SCRIPT with ARGS in the image's userland
# (the script and a copy of the kubeconfig read-only at /opt), stdin empty.
in_image() {
  local script=$1 dir=$BATS_TEST_TMPDIR/opt vars=()
  shift
  while [[ $1 != -- ]]; do
    vars+=("$1")
    shift
  done
  shift
  mkdir -p "$dir"
  cp "$script" "$dir/script.sh"
  cp "$KUBECONFIG" "$dir/kubeconfig"
  chmod -R a+rX "$dir"
  run --separate-stderr bash "$E2E_ROOT/tests/rootfs/run.sh" -v "$dir:/opt" \
    KUBECONFIG=/opt/kubeconfig "${vars[@]}" -- bash /opt/script.sh "$@" </dev/null
}

show() { printf '%s\n' "$output" "$stderr"; }

@test "rootfs: the tree is the image's userland: no zone files, GNU tools, flock, uid 65532, read-only root" {
  run --separate-stderr bash "$E2E_ROOT/tests/rootfs/run.sh" -- bash -c \
    'id -u; id -g; [[ ! -e /usr/share/zoneinfo ]] && echo no-zoneinfo; date --version | head -n 1
     flock --version; awk --version | head -n 1; kubectl version --client | head -n 1
     touch /x 2>/dev/null || echo read-only; touch /tmp/x && echo tmp-writable'
  [[ $status -eq 0 ]] || { show; false; }
  [[ ${lines[0]} == 65532 && ${lines[1]} == 65532 && ${lines[2]} == no-zoneinfo ]]
  [[ ${lines[3]} == 'date (GNU coreutils) '* && ${lines[4]} == 'flock from util-linux '* ]]
  [[ ${lines[5]} == 'GNU Awk '* && ${lines[6]} == 'Client Version: v1.33.'* ]]
  [[ ${lines[7]} == read-only && ${lines[8]} == tmp-writable ]]
}

@test "rootfs: create with a database: dump and snapshot, labelled in Europe/Vienna" {
  db_psql <<<"DROP DATABASE IF EXISTS rfshop WITH (FORCE); CREATE DATABASE rfshop;"
  db_psql rfshop <<<"CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 50);"
  e2e_seed_volumes rf-shop data
  e2e_seed_postgres rf-shop data /var/lib/postgresql/data rfshop
  # 23:30 UTC on New Year's Eve is 00:30 on New Year's Day in Vienna (UTC would say 2026-12-31).
  in_image "$(e2e_script rf-shop)" BAK_NOW=2026-12-31T23:30:00Z BAK_VS_RAND=rf0001 -- create
  [[ $status -eq 0 ]] || { show; false; }
  local vs=data-2027-01-01-003000-rf0001
  [[ $(e2e_vs_names rf-shop) == "$vs" ]]
  run e2e_vs_labels rf-shop "$vs"
  [[ $output == *$'backup-ns.sh/daily=2027-01-01\n'* && $output == *$'backup-ns.sh/monthly=2027-01\n'* ]]
  [[ $output == *$'backup-ns.sh/weekly=2026-w53'* ]]
  [[ $(e2e_vs_annotation rf-shop "$vs" backup-ns.sh/dump-sha256) =~ ^[0-9a-f]{64}$ ]]
}

@test "rootfs: create without a database, labelled in America/Sao_Paulo" {
  e2e_seed_volumes rf-files www
  printf 'hello\n' >"$(e2e_volume_dir rf-files www)/index.html"
  # 01:30 UTC on New Year's Day is 22:30 on New Year's Eve in Sao Paulo (UTC-3, no DST).
  in_image "$(e2e_script rf-files)" BAK_NOW=2027-01-01T01:30:00Z BAK_VS_RAND=rf0001 -- create
  [[ $status -eq 0 ]] || { show; false; }
  local vs=www-2026-12-31-223000-rf0001
  [[ $(e2e_vs_names rf-files) == "$vs" ]]
  run e2e_vs_labels rf-files "$vs"
  [[ $output == *$'backup-ns.sh/daily=2026-12-31\n'* && $output == *$'backup-ns.sh/monthly=2026-12\n'* ]]
  [[ $output == *$'backup-ns.sh/weekly=2026-w53'* ]]
}

@test "rootfs: an override to a zone the script does not carry is refused in one line" {
  in_image "$(e2e_script rf-files)" BAK_TIME_ZONE=Asia/Tokyo -- create
  [[ $status -eq 2 && -z $output && ${#stderr_lines[@]} -eq 1 ]]
  [[ $stderr == 'ERROR: invalid setting in namespace rf-files: BAK_TIME_ZONE="Asia/Tokyo" is not a known time zone here (no /usr/share/zoneinfo/Asia/Tokyo; '* ]]
}

@test "rootfs: list, restore-pvc and verify" {
  in_image "$(e2e_script rf-shop)" -- list
  [[ $status -eq 0 ]] || { show; false; }
  [[ ${lines[1]} =~ ^data-2027-01-01-003000-rf0001\ +true\ .*\ 2027-01-01\ 2026-w53\ 2027-01\  ]]
  in_image "$(e2e_script rf-files)" -- restore-pvc www-2026-12-31-223000-rf0001 --to www-back
  [[ $status -eq 0 ]] || { show; false; }
  [[ $(kubectl -n rf-files get pvc www-back -o jsonpath='{.spec.dataSource.name}') == www-2026-12-31-223000-rf0001 ]]
  [[ $(cat "$(e2e_volume_dir rf-files www-back)/index.html") == hello ]]
  # the volume drill (the database drill's scratch server runs the database image, not
  # this userland; it has its own tests)
  in_image "$(e2e_script rf-files)" -- verify www-2026-12-31-223000-rf0001
  [[ $status -eq 0 ]] || { show; false; }
  [[ ${lines[-1]} == '[backup-ns] rf-files: verify: VolumeSnapshot www-2026-12-31-223000-rf0001 ok: files='*' bytes='* ]]
  [[ -z $(kubectl -n rf-files get pods,pvc -l app.kubernetes.io/component=toolbox -o name) ]]
}

@test "rootfs: the controller's plan and run, today in America/Sao_Paulo" {
  kubectl create namespace backup-ns >/dev/null
  # 01:30 UTC on New Year's Day: still 2026-12-31 in Sao Paulo.
  in_image "$E2E_OUT/controller/backup-ns-controller.sh" CTL_NOW=2027-01-01T01:30:00Z -- plan
  [[ $status -eq 0 ]] || { show; false; }
  [[ $output == *'today 2026-12-31 (America/Sao_Paulo)'* ]]
  in_image "$E2E_OUT/controller/backup-ns-controller.sh" CTL_NOW=2027-01-01T01:30:00Z -- run
  [[ $status -eq 0 ]] || { show; false; }
  local content
  content=$(kubectl -n rf-files get volumesnapshot www-2026-12-31-223000-rf0001 \
    -o jsonpath='{.status.boundVolumeSnapshotContentName}')
  [[ $(kubectl get volumesnapshotcontent "$content" -o jsonpath='{.metadata.labels.backup-ns\.sh/daily}') == 2026-12-31 ]]
}
