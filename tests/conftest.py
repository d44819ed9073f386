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

REALK8S_DIR = "tests/realk8s/"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist with ``--dist loadfile``: each test module runs on one worker (its
    tests share a module-scoped kubesim and fixtures), and the whole real control plane tier
    (tests/realk8s/) on one worker, so a run starts one real control plane, not one per
    worker. (``--dist loadgroup`` would say this with marks, but loses its groups on
    pytest 9.2.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return REALK8S_DIR if module.startswith(REALK8S_DIR) else module

    return ModuleScheduling(config, log)


@pytest.fixture(scope="session")
def realk8s(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    """One real control plane per session (tests/realk8s); errors when not built."""
    with realk8s_session(tmp_path_factory.mktemp("realk8s")) as cluster:
        yield cluster


@pytest.fixture
def realk8s_ns(realk8s: RealCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace on the real control plane, deleted (without waiting) afterwards."""
    name = "t-" + secrets.token_hex(4)
    realk8s.create_namespace(name)
    yield name
    realk8s.kubectl("delete", "namespace", name, "--wait=false")
