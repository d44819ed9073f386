"""Namespaces rendered in worker processes, one per core, when many are to be rendered.

Rendering a namespace (Jinja, the job script and its gzip) is CPU work that needs its
plan unit and the header only, so a render of many namespaces hands those the render
cache does not hold to worker processes and takes their files back in plan order, a
few per worker ahead (``WINDOW``): memory stays bounded by that window, whatever the
number of namespaces. The workers are started with ``spawn`` (a fresh interpreter: they
never hold the parsed config) and store what they render in the render cache, as the
main process would. The pool is only worth its start-up for a large render: the
``Renderer`` starts one at its ``FIRST_IN_MAIN`` + 1st miss when the plan has
``MIN_NAMESPACES`` or more.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # render imports this module
    from .plan import NamespaceUnit
    from .render import Files, Renderer

MIN_NAMESPACES = 64
"""A plan with fewer namespaces renders in the main process (a worker costs an
interpreter start and the imports, about what 50 namespaces cost to render)."""
FIRST_IN_MAIN = 16
"""Namespaces not in the render cache that the main process renders itself before it
starts the pool: a re-render with a few changed renders them without workers."""
WINDOW = 4
"""Namespaces handed to the pool ahead of the one the caller takes next, per worker."""

_renderer: Renderer | None = None


def _start(root: str | None, cache_dir: Path) -> None:
    global _renderer
    from .render import Renderer
    from .rendercache import RenderCache

    _renderer = Renderer(root, RenderCache(cache_dir))


def _render(unit: NamespaceUnit, hdr: str, key: str | None) -> Files:
    assert _renderer is not None
    return _renderer.namespace(unit, hdr, key)


class Pool:
    """WORKERS processes rendering namespaces with the templates under ROOT, storing
    them in the render cache in CACHE_DIR (``RenderCache``'s directory argument)."""

    def __init__(self, root: str | None, workers: int, cache_dir: Path) -> None:
        self.window = WINDOW * workers
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(root, cache_dir),
        )

    def submit(self, unit: NamespaceUnit, hdr: str, key: str | None) -> Future[Files]:
        return self._executor.submit(_render, unit, hdr, key)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
