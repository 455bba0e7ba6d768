"""A local Azure Batch: the Batch data-plane REST API (as azure-batch 15
speaks it, API version 2025-06-01) in front of the local backend's engine,
with Azurite for storage.

Layers, each its own module:

- ``auth``: shared-key signature checks (403 AuthenticationFailed);
- ``shapes``: Batch JSON <-> the core model (pure functions);
- ``routing``, ``pool_routes``, ``job_routes``, ``odata``: operations,
  status codes, paging and error bodies;
- ``server``: the standard library's threading HTTP server;
- ``service``: :class:`BatchEmulator`, which starts Azurite, the engine and
  the server together (a context manager; ``topwords emulator`` runs one in
  the foreground).

What is emulated and what is not: see README.md, "Test your own Batch code
offline".
"""

from __future__ import annotations

from .service import DEFAULT_ACCOUNT, BatchEmulator

__all__ = ["BatchEmulator", "DEFAULT_ACCOUNT"]
