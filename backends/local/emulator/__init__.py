"""A local Azure Batch: the Batch data-plane REST API (as azure-batch 15
speaks it, API version 2025-06-01) in front of the local backend's engine,
with Azurite for storage.

Layers, each its own module:

- ``auth``: shared-key signature and signed-date checks (403
  AuthenticationFailed);
- ``versions``: the api-versions accepted (2018-12-01.8.0 to 2025-06-01);
- ``shapes``: Batch JSON <-> the core model (pure functions);
- ``routes``: the route table, one row per operation served (method, path
  template, operation name, handler), and the operations refused (501);
- ``catalogue``: what is and is not emulated, generated from the table
  (the README's lists: ``python -m topwords.backends.local.emulator.catalogue
  --markdown``);
- ``routing``, ``pool_routes``, ``job_routes``, ``odata``: the handlers,
  the shared list and get handlers, status codes, paging and error bodies;
- ``server``, ``http1``, ``limits``: the HTTP front door (an asyncio event
  loop for connections, HTTP/1.1 through h11, a fixed pool of worker threads
  for handlers, and the limits on sizes, depths, time and connections that
  keep it from being held);
- ``service``: :class:`BatchEmulator`, which starts Azurite, the engine and
  the server together (a context manager; ``topwords emulator`` runs one in
  the foreground).

What is emulated and what is not: see README.md, "Test your own Batch code
offline".
"""

from __future__ import annotations

from .service import DEFAULT_ACCOUNT, BatchEmulator

__all__ = ["BatchEmulator", "DEFAULT_ACCOUNT"]
