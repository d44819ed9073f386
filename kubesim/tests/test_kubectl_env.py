"""kubesim/kubectl_env.py: a fresh KUBECONFIG copy, KUBECACHEDIR and HOME per call."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesim.kubectl_env import fresh_kubectl_env


def test_fresh_dirs_a_copy_and_no_kubectl_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "admin.kubeconfig"
    src.write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "false")
    monkeypatch.setenv("KUBECACHEDIR", "/somewhere/shared")
    monkeypatch.setenv("KEEP_ME", "1")
    one, two = fresh_kubectl_env(src, tmp_path), fresh_kubectl_env(str(src), tmp_path)
    for env in (one, two):
        assert not any(k.startswith("KUBECTL_") for k in env)
        assert env["KEEP_ME"] == "1"
        assert Path(env["KUBECONFIG"]).read_text() == src.read_text()
        assert Path(env["KUBECONFIG"]) != src
        assert Path(env["HOME"]).is_dir()
        for key in ("KUBECONFIG", "KUBECACHEDIR", "HOME"):
            assert Path(env[key]).is_relative_to(tmp_path)
    assert {one[k] for k in ("KUBECONFIG", "KUBECACHEDIR", "HOME")}.isdisjoint(
        {two[k] for k in ("KUBECONFIG", "KUBECACHEDIR", "HOME")}
    )
