#!/usr/bin/env bats
# The Lease slots with RBAC: kubesim over TLS with tokens; the generated Role and
# RoleBinding backup-ns-slots (cluster/controller.yaml) and the namespace's manifests are
# applied with kubectl, and the script runs as the namespace's ServiceAccount (as its
# CronJob would): it can take, renew and release its node's slots, and cannot touch
# Leases anywhere else.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/e2e
  e2e_setup_file --tls backupns_yaml
}

# backupns_yaml: this file's config (e2e_setup_file writes and renders it).
backupns_yaml() {
  cat <<EOF
defaults:
  timeZone: UTC
  lock: {mode: lease, slots: 1, timeout: 1m}
  image: registry.example.com/backup-ns-runtime:1.33.5-1
namespaces:
  slots-a: {pvcs: [data], database: none}
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
  e2e_seed_volumes slots-a data
  kubectl apply -f "$E2E_OUT/cluster/controller.yaml" -f "$E2E_OUT/cluster/namespace-role.yaml" \
    -f "$E2E_OUT/namespaces/slots-a/manifests.yaml" >/dev/null
  kubesim_sa_kubeconfig slots-a backup-ns "$BATS_TEST_TMPDIR/sa-kubeconfig"
}

# as_sa COMMAND...: `run` COMMAND as slots-a's backup-ns ServiceAccount (own kubeconfig, cache).
as_sa() {
  run --separate-stderr env KUBECONFIG="$BATS_TEST_TMPDIR/sa-kubeconfig" \
    KUBECACHEDIR="$BATS_TEST_TMPDIR/sa-cache" "$@"
}

@test "lease RBAC: as the ServiceAccount, the script takes, renews and releases its slot" {
  kubesim_fault '{"type":"http","match":{"method":"POST","path":"/apis/snapshot\\.storage\\.k8s\\.io/v1/namespaces/slots-a/volumesnapshots"},"delay":3,"times":1}'
  kubesim_reset_requests
  as_sa env BAK_LOCK_NODE=node-a BAK_LOCK_LEASE_DURATION_SEC=3 BAK_LABEL_VS_POD=backup-ns-29000000-abcde \
    bash "$(e2e_script slots-a)" create
  kubesim_clear_faults
  [[ $status -eq 0 && -z $stderr ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ $output == *$'\n''[backup-ns] slots-a: lock: took backup slot 1 of 1 on node node-a (lease backup-ns-slot-node-a-1) after '* ]]
  [[ ${lines[-1]} == '[backup-ns] slots-a: lock: released backup slot backup-ns-slot-node-a-1' ]]
  # Every Lease request went to backup-ns as the ServiceAccount and was allowed:
  # a create, renewals (PUT) while the slow snapshot create ran, the release (GET, PUT).
  run python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "/leases" in r["path"]:
        print(r["user"], r["method"], r["path"].rsplit("/", 1)[-1], r["status"])
' "$KUBESIM_STATE/requests.jsonl"
  local sa=system:serviceaccount:slots-a:backup-ns
  [[ ${lines[0]} == "$sa POST leases 201" ]]
  [[ ${lines[-2]} == "$sa GET backup-ns-slot-node-a-1 200" && ${lines[-1]} == "$sa PUT backup-ns-slot-node-a-1 200" ]]
  [[ $(printf '%s\n' "${lines[@]:1:${#lines[@]}-3}" | sort -u) == "$sa PUT backup-ns-slot-node-a-1 200" ]]
  [[ ${#lines[@]} -ge 4 ]] # at least one renewal
  run kubectl -n backup-ns get lease backup-ns-slot-node-a-1 -o jsonpath='{.spec.holderIdentity}|{.spec.leaseDurationSeconds}'
  [[ $output == '|1' ]]
}

@test "lease RBAC: the ServiceAccount may get, create and update leases in backup-ns only" {
  local ns verb
  for verb in get create update; do
    as_sa kubectl auth can-i "$verb" leases.coordination.k8s.io -n backup-ns
    [[ $status -eq 0 && $output == yes ]] || { echo "$verb: $output $stderr"; false; }
  done
  for verb in list watch delete patch deletecollection; do
    as_sa kubectl auth can-i "$verb" leases.coordination.k8s.io -n backup-ns
    [[ $status -eq 1 && $output == no ]] || { echo "$verb: $output $stderr"; false; }
  done
  for ns in slots-a kube-node-lease kube-system default; do
    for verb in get create update; do
      as_sa kubectl auth can-i "$verb" leases.coordination.k8s.io -n "$ns"
      [[ $status -eq 1 && $output == no ]] || { echo "$ns $verb: $output $stderr"; false; }
    done
  done
  as_sa kubectl auth can-i get configmaps -n backup-ns
  [[ $output == no ]]
}

@test "lease RBAC: pointed at another namespace's Leases, the run fails with one clear line" {
  as_sa env BAK_LOCK_NODE=node-b BAK_LOCK_LEASE_NAMESPACE=kube-node-lease \
    bash "$(e2e_script slots-a)" create
  [[ $status -eq 1 ]]
  [[ $stderr == 'ERROR: cannot create the backup slot Lease backup-ns-slot-node-b-1 in namespace slots-a: Error from server (Forbidden): error when creating "STDIN": leases.coordination.k8s.io is forbidden: User "system:serviceaccount:slots-a:backup-ns" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease". Check that the ServiceAccount may get, create and update leases in namespace kube-node-lease (Role backup-ns-slots), or set BAK_LOCK=none' ]]
  run kubectl -n kube-node-lease get leases -o name
  [[ $status -eq 0 && -z $output ]]
}
