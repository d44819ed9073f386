#!/usr/bin/env bats
# bats/helpers/kubectl_env.bash: the fresh kubectl environment behind kubesim_env and realk8s_env.

setup() {
  load helpers/kubectl_env
  printf 'apiVersion: v1\nkind: Config\n' >"$BATS_TEST_TMPDIR/admin.kubeconfig"
}

@test "kubectl_fresh_env: HOME, a KUBECONFIG copy and KUBECACHEDIR under BATS_TEST_TMPDIR" {
  export HOME=/nonexistent KUBECACHEDIR=/shared/cache
  kubectl_fresh_env "$BATS_TEST_TMPDIR/admin.kubeconfig"
  [[ $HOME == "$BATS_TEST_TMPDIR"/* && -d $HOME ]]
  [[ $KUBECACHEDIR == "$BATS_TEST_TMPDIR"/* ]]
  [[ $KUBECONFIG == "$BATS_TEST_TMPDIR"/* && $KUBECONFIG != "$BATS_TEST_TMPDIR/admin.kubeconfig" ]]
  cmp "$KUBECONFIG" "$BATS_TEST_TMPDIR/admin.kubeconfig"
}

@test "kubectl_fresh_env: the caller's KUBECTL_* settings are unset, others kept" {
  export KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false KUBECTL_EXTERNAL_DIFF=meld KEEP_ME=1
  kubectl_fresh_env "$BATS_TEST_TMPDIR/admin.kubeconfig"
  [[ -z $(compgen -e KUBECTL_) ]]
  [[ $KEEP_ME == 1 ]]
}

@test "kubectl_fresh_env: a missing kubeconfig fails" {
  run kubectl_fresh_env "$BATS_TEST_TMPDIR/missing"
  [[ $status -ne 0 ]]
}
