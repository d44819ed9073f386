# shellcheck shell=bash
# A fresh environment for the real kubectl, shared by helpers/kubesim.bash and
# helpers/realk8s.bash (their kubesim_env / realk8s_env): every kubectl-facing test gets its
# own HOME, KUBECONFIG (a copy, so a test may edit it) and KUBECACHEDIR (kubectl caches
# discovery per host:port, and a restarted server reuses the port).

# kubectl_fresh_env KUBECONFIG: export HOME, KUBECONFIG (a copy of the given file) and
# KUBECACHEDIR under BATS_TEST_TMPDIR/kube; unset the caller's KUBECTL_* settings.
kubectl_fresh_env() {
  local base="${BATS_TEST_TMPDIR:-$(mktemp -d)}/kube" name
  mkdir -p "$base/home"
  cp "$1" "$base/kubeconfig" || return 1
  export HOME=$base/home KUBECONFIG=$base/kubeconfig KUBECACHEDIR=$base/cache
  for name in $(compgen -e KUBECTL_); do
    unset "$name"
  done
}
