"""Namespaces rendered in worker processes, one per core, when many are to be rendered.

Rendering a namespace (Jinja, the job script and its gzip) is CPU work that needs its
plan unit and the header only, so a render of many namespaces hands those the render
cache does not hold to worker processes and takes their files back in plan order, a
few per worker ahead (``WINDOW``): memory stays bounded by that window, whatever the
number of namespaces. The workers are started with ``spawn`` (a fresh interpreter: they
never hold the parsed config) and store what they render in the render cache, as the
main process would. The pool is only worth its start-up for a large render: the
``Renderer`` (render.py) starts one at its ``FIRST_IN_MAIN`` + 1st miss when the plan has
``MIN_NAMESPACES`` or more.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MIN_NAMESPACES = 64
"""A plan with fewer namespaces renders in the main process (a worker costs an
interpreter start and the imports, about what 50 namespaces cost to render)."""
FIRST_IN_MAIN = 16
"""Namespaces not in the render cache that the main process renders itself before it
starts the pool: a re-render with a few changed renders them without workers."""
WINDOW = 4
"""Namespaces handed to the pool ahead of the one the caller takes next, per worker."""


class Pool(Generic[T]):
    """WORKERS processes, each started with START(*START_ARGS), that run TASK on what is
    submitted. START and TASK are module-level functions of the caller's module (a
    spawned worker imports them by name), so this module imports none of the pipeline's
    and render, which uses it, stays the only way in."""

    def __init__(
        self,
        workers: int,
        start: Callable[..., None],
        start_args: tuple[Any, ...],
        task: Callable[..., T],
    ) -> None:
        self.window = WINDOW * workers
        self._task = task
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=start,
            initargs=start_args,
        )

    def submit(self, *args: Any) -> Future[T]:
        return self._executor.submit(self._task, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
