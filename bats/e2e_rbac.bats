#!/usr/bin/env bats
# End to end with RBAC: kubesim over TLS with tokens; the generated ClusterRole,
# ServiceAccount and RoleBinding are applied with kubectl, and the rendered script runs
# as that ServiceAccount (as its CronJob would): the rights are enough for a postgres
# dump and a snapshot, and they stop at the namespace.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  e2e_setup_file --postgres --tls backupns_yaml
}

# backupns_yaml: this file's config (e2e_setup_file writes and renders it once the
# databases listen, so $PG_PORT is set).
backupns_yaml() {
  cat <<EOF
defaults:
  timeZone: UTC
  flock: {enabled: false}
namespaces:
  rbac-pg:
    pvcs: [data]
    database:
      postgres:
        exec: deployment/app-base
        container: postgres
        host: 127.0.0.1
        port: $PG_PORT
        dumpFile: /var/lib/postgresql/data/dump.sql.gz
  rbac-static: {pvcs: [www], database: none}
  rbac-hooks:
    pvcs: [data]
    hooks:
      pre: [{exec: deployment/app, container: app, command: [touch, /data/pre-hook]}]
      post: [{exec: deployment/app, container: app, command: [touch, /data/post-hook]}]
controller:
  namespace: backup-ns
EOF
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

# as_service_account NS VAR=value... -- COMMAND...: `run` COMMAND as NS's backup-ns
# ServiceAccount (its own kubeconfig, a fresh cache) with the given variables.
as_service_account() {
  local ns=$1 vars=()
  shift
  while [[ $1 != -- ]]; do
    vars+=("$1")
    shift
  done
  shift
  kubesim_sa_kubeconfig "$ns" backup-ns "$BATS_TEST_TMPDIR/sa-kubeconfig"
  run --separate-stderr env KUBECONFIG="$BATS_TEST_TMPDIR/sa-kubeconfig" \
    KUBECACHEDIR="$BATS_TEST_TMPDIR/sa-cache" "${vars[@]}" "$@"
}

# apply_generated NS: the cluster role and NS's manifests from out/, as admin.
apply_generated() {
  kubectl apply -f "$E2E_OUT/cluster/namespace-role.yaml" >/dev/null
  kubectl apply -f "$E2E_OUT/namespaces/$1/manifests.yaml" >/dev/null
}

@test "as the namespace's ServiceAccount with the generated RBAC: postgres dump and a ready snapshot" {
  db_psql <<<"DROP DATABASE IF EXISTS app WITH (FORCE); CREATE DATABASE app;"
  db_psql app <<<"CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10);"
  e2e_seed_volumes rbac-pg data
  e2e_seed_postgres rbac-pg data /var/lib/postgresql/data app
  apply_generated rbac-pg
  # The ConfigMap the CronJob mounts holds the job script, gzipped: create and what it
  # calls, each function byte for byte the rendered script's.
  kubectl -n rbac-pg get configmap backup-ns-script -o go-template='{{index .binaryData "backup-ns.sh.gz"}}' |
    base64 -d | gzip -dc >"$BATS_TEST_TMPDIR/from-configmap.sh"
  python3 -c 'import sys; from backupns_gen import jobscript
jobscript.check(open(sys.argv[1]).read(), open(sys.argv[2]).read(), "rbac-pg")' \
    "$(e2e_script rbac-pg)" "$BATS_TEST_TMPDIR/from-configmap.sh"
  grep -q '^command_create() {$' "$BATS_TEST_TMPDIR/from-configmap.sh"
  run grep -c '^command_list() {$' "$BATS_TEST_TMPDIR/from-configmap.sh"
  [[ $output == 0 ]]

  kubesim_reset_requests
  as_service_account rbac-pg BAK_NOW=2026-05-04T10:00:00Z BAK_VS_RAND=rbac01 BAK_LABEL_VS_TYPE=cronjob \
    BAK_LABEL_VS_POD=backup-ns-29000000-abcde -- bash "$BATS_TEST_TMPDIR/from-configmap.sh" create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ -z $stderr ]]
  local vs=data-2026-05-04-100000-rbac01
  [[ $output == *"[backup-ns] rbac-pg: database: dump verified: /var/lib/postgresql/data/dump.sql.gz, "* ]]
  [[ $output == *"[backup-ns] rbac-pg: result: VolumeSnapshot $vs of PVC data: readyToUse=true "* ]]
  # Every request was made as the ServiceAccount, and none was refused (the Event's lookup
  # of the Job behind BAK_LABEL_VS_POD finds none here: a 404, not a refusal).
  run python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    ok = r["status"] < 400 or (r["status"] == 404 and "/jobs/" in r["path"])
    print(r["user"], r["status"] if ok else "DENIED %s %s %s" % (r["status"], r["method"], r["path"]))
' "$KUBESIM_STATE/requests.jsonl"
  [[ $output != *DENIED* ]] || { printf "%s\n" "$output" | grep DENIED; false; }
  [[ $(sort -u <<<"${output//[0-9]/}") == 'system:serviceaccount:rbac-pg:backup-ns ' ]]
  run e2e_vs_table rbac-pg
  [[ $output == "$vs backup-ns.sh/daily=2026-05-04 backup-ns.sh/monthly=2026-05 backup-ns.sh/pod=backup-ns-29000000-abcde backup-ns.sh/pvc=data backup-ns.sh/retain=daily_weekly_monthly backup-ns.sh/type=cronjob backup-ns.sh/weekly=2026-w19" ]]
}

@test "the ServiceAccount's rights stop at its namespace: a run aimed at another namespace is refused" {
  e2e_seed_volumes rbac-static www
  apply_generated rbac-static
  as_service_account rbac-pg BAK_NAMESPACE=rbac-static BAK_PVC_NAMES=www BAK_DB_SKIP=true -- \
    bash "$(e2e_script rbac-pg)" create
  [[ $status -eq 1 ]]
  [[ $stderr == *'WARNING: this script was generated for namespace rbac-pg, running for rbac-static'* ]]
  [[ ${stderr_lines[-1]} == 'ERROR: cannot read PVC www in namespace rbac-static: Error from server (Forbidden): persistentvolumeclaims "www" is forbidden: User "system:serviceaccount:rbac-pg:backup-ns" cannot get resource "persistentvolumeclaims" in API group "" in the namespace "rbac-static". Check BAK_PVC_NAMES (kubectl -n rbac-static get pvc) and that the ServiceAccount may get persistentvolumeclaims' ]]
  [[ -z $(e2e_vs_names rbac-static) ]]
}

@test "as the ServiceAccount: pre and post hooks exec into the workload; no request is refused" {
  e2e_seed_volumes rbac-hooks data
  e2e_seed_app rbac-hooks data /data
  apply_generated rbac-hooks
  kubesim_reset_requests
  as_service_account rbac-hooks BAK_NOW=2026-05-04T10:00:00Z BAK_VS_RAND=rbac02 -- \
    bash "$(e2e_script rbac-hooks)" create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *'[backup-ns] rbac-hooks: hooks: pre hook 1/1 done in '* ]]
  [[ $output == *'[backup-ns] rbac-hooks: hooks: post hook 1/1 done in '* ]]
  local vol
  vol=$(e2e_volume_dir rbac-hooks data)
  [[ -e $vol/pre-hook && -e $vol/post-hook ]]
  run grep -c '"status": *40[13]' "$KUBESIM_STATE/requests.jsonl"
  [[ $output == 0 ]]
}
