"""Shared pytest fixtures: a kubesim server per test module, driven by the real kubectl
(``kubesim``, ``kubesim_tls``: kubesim/pytest_fixtures.py), and the real control plane.

A test module may set ``KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]`` to pass CLI options.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from kubesim.pytest_fixtures import kubesim, kubesim_tls
from tests.realk8s.fixture import RealCluster, realk8s_session

__all__ = ["kubesim", "kubesim_tls"]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist with ``--dist loadfile``: each test module runs on one worker (its
    tests share a module-scoped kubesim and fixtures), and every module of the real control
    plane tier on one worker, so a run starts one real control plane, not one per worker.
    The scheduler sees node ids only: a module is of the real tier when it lives in
    tests/realk8s/ or its source marks tests ``realk8s``. (``--dist loadgroup`` would say
    this with marks, but loses its groups on pytest 9.2.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    real_tier: dict[str, bool] = {}

    def uses_real_tier(module: str) -> bool:
        if module not in real_tier:
            try:
                source = (config.rootpath / module).read_text(encoding="utf-8")
            except OSError:
                source = ""
            real_tier[module] = module.startswith("tests/realk8s/") or "mark.realk8s" in source
        return real_tier[module]

    class ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "realk8s" if uses_real_tier(module) else module

    return ModuleScheduling(config, log)


_STARTED: list[RealCluster] = []


@pytest.fixture(scope="session")
def realk8s(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    """One real control plane per session (tests/realk8s); errors when not built."""
    with realk8s_session(tmp_path_factory.mktemp("realk8s")) as cluster:
        _STARTED.append(cluster)
        try:
            yield cluster
        finally:
            _STARTED.remove(cluster)


@pytest.fixture(scope="module", autouse=True)
def _no_admission_policies_left() -> Iterator[None]:
    """A module that applies a rendered out/cluster/ leaves admission policies naming the
    controller of ITS config: the modules after it on the session's real control plane
    (whatever order xdist gives them) must not meet them."""
    yield
    for cluster in _STARTED:
        cluster.kubectl(
            "delete", "validatingadmissionpolicybindings,validatingadmissionpolicies",
            "-l", "app.kubernetes.io/part-of=backup-ns", "--ignore-not-found", check=True,
        )  # fmt: skip


@pytest.fixture
def realk8s_ns(realk8s: RealCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace on the real control plane, deleted (without waiting) afterwards."""
    name = "t-" + secrets.token_hex(4)
    realk8s.create_namespace(name)
    yield name
    realk8s.kubectl("delete", "namespace", name, "--wait=false")
