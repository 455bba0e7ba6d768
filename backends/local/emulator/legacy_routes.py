"""Operations older api-versions had and 2025-06-01 dropped, served at the
versions that had them, so that programs written for old SDKs run unchanged
(their rows are ``routes.LEGACY_ROUTES``; their handlers are here).

* ``GET /nodeagentskus`` (``Account_ListNodeAgentSkus``, azure-batch 7 and
  older: ``client.account.list_node_agent_skus()``, which the old samples
  use to pick an image): until 2019-08-01.10.0, which replaced it with
  ``GET /supportedimages``. It lists the same images, grouped by node
  agent SKU, in that operation's shape (``NodeAgentSku``: ``id``,
  ``verifiedImageReferences``, ``osType``).

At a version that no longer has an operation, its path answers as any
unknown path does (501, naming it).
"""

from __future__ import annotations

from dataclasses import dataclass

from .images import SUPPORTED_IMAGES
from typing import Sequence

from .routing import Request, Route, Service
from .versions import API_VERSIONS

__all__ = ["LegacyRoute", "legacy_route", "node_agent_skus"]


@dataclass(frozen=True)
class LegacyRoute:
    """``route``, served at api-versions before ``until`` only."""

    route: Route
    until: str

    def serves(self, version: str) -> bool:
        return API_VERSIONS.index(version) < API_VERSIONS.index(self.until)


def node_agent_skus(service: Service, request: Request) -> list[dict]:
    """The supported images grouped by their node agent SKU."""
    grouped: dict[str, list[dict]] = {}
    for agent, publisher, offer, sku in SUPPORTED_IMAGES:
        grouped.setdefault(agent, []).append(
            {"publisher": publisher, "offer": offer, "sku": sku, "version": "latest"})
    return [{"id": agent, "verifiedImageReferences": images, "osType": "linux"}
            for agent, images in grouped.items()]


def legacy_route(table: Sequence[LegacyRoute], method: str, path: str,
                 version: str) -> tuple[Route, dict] | None:
    """The route of ``table`` serving ``method path`` at ``version``, with
    its path parameters; None if there is none."""
    for legacy in table:
        params = legacy.route.match(method, path)
        if params is not None and legacy.serves(version):
            return legacy.route, params
    return None
