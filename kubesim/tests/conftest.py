"""kubesim's own tests: the ``kubesim`` and ``kubesim_tls`` fixtures (one server per module)."""

from __future__ import annotations

from kubesim.pytest_fixtures import kubesim, kubesim_tls

__all__ = ["kubesim", "kubesim_tls"]
