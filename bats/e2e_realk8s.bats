#!/usr/bin/env bats
# The example config's static-site namespace (database: none) on the real control plane
# tier: the rendered manifests apply, and backup-ns.sh create, run as the namespace's
# ServiceAccount, makes a snapshot the real snapshot-controller and CSI driver make ready.

bats_require_minimum_version 1.5.0

setup_file() {
  load helpers/realk8s
  realk8s_start
}

teardown_file() {
  load helpers/realk8s
  realk8s_stop
}

setup() {
  load helpers/realk8s
  realk8s_env
}

@test "realk8s: static-site from the committed out/ snapshots www as its ServiceAccount" {
  local out="$REALK8S_ROOT/out" vs
  kubectl create namespace static-site >/dev/null
  kubectl apply -f "$out/cluster/namespace-role.yaml" -f "$out/namespaces/static-site/manifests.yaml" >/dev/null
  kubectl -n static-site apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: www}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
YAML
  kubectl -n static-site wait --for=jsonpath='{.status.phase}'=Bound pvc/www --timeout=60s >/dev/null
  printf '<h1>hello</h1>\n' >"$(realk8s_volume_dir static-site www)/index.html"
  realk8s_sa_kubeconfig static-site backup-ns "$BATS_TEST_TMPDIR/sa.kubeconfig"

  run --separate-stderr env KUBECONFIG="$BATS_TEST_TMPDIR/sa.kubeconfig" \
    KUBECACHEDIR="$BATS_TEST_TMPDIR/sa-cache" BAK_LOCK=none BAK_VS_RAND=bats01 \
    bash "$out/namespaces/static-site/backup-ns.sh" create
  [[ $status -eq 0 ]] || { printf '%s\n' "$output" "$stderr"; false; }
  [[ -z $stderr ]]
  [[ $output =~ result:\ VolumeSnapshot\ ([^ ]+)\ of\ PVC\ www:\ readyToUse=true ]]
  vs=${BASH_REMATCH[1]}
  [[ $(kubectl -n static-site get vs "$vs" -o jsonpath='{.status.readyToUse} {.metadata.labels.backup-ns\.sh/pvc}') == "true www" ]]
}
