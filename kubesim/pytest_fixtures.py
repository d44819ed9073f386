"""The pytest fixtures ``kubesim`` and ``kubesim_tls``: one simulator per test module.

Imported by the conftest of every test tree that drives kubesim (tests/ and
kubesim/tests/). A test module may set ``KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]``
to pass CLI options.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kubesim.fixture import KubeSim, kubesim_session


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
