"""Shared pytest fixtures: a kubesim server per test module, driven by the real kubectl
(``kubesim``, ``kubesim_tls``: kubesim/pytest_fixtures.py), and the real control plane.

A test module may set ``KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]`` to pass CLI options.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from kubesim.pytest_fixtures import kubesim, kubesim_tls
from tests.realk8s.fixture import RealCluster, realk8s_session

__all__ = ["kubesim", "kubesim_tls"]


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
