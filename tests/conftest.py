"""Shared pytest fixtures: a kubesim server per test module, driven by the real kubectl.

A test module may set ``KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]`` to pass CLI options.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.kubesim.fixture import KubeSim, kubesim_session
from tests.realk8s.fixture import RealCluster, realk8s_session


@pytest.fixture(scope="module")
def kubesim(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubeSim]:
    args = getattr(request.module, "KUBESIM_ARGS", [])
    yield from kubesim_session(tmp_path_factory.mktemp("kubesim"), args=args)


@pytest.fixture(scope="module")
def kubesim_tls(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KubeSim]:
    args = getattr(request.module, "KUBESIM_ARGS", [])
    yield from kubesim_session(tmp_path_factory.mktemp("kubesim-tls"), tls=True, args=args)


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
