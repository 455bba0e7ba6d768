"""The images the emulator lists as supported, all run as the local node
image (a Docker image with python3; see ``LocalConfig.image``).

The list is small and static: two verified Ubuntu LTS x64 images, as Azure
Batch lists them, so that code choosing "the newest verified Ubuntu LTS" at
run time works unchanged. Pools must name one of them.
"""

from __future__ import annotations

__all__ = ["SUPPORTED_IMAGES", "image_index", "supported_images_json"]

#: (nodeAgentSKUId, publisher, offer, sku)
SUPPORTED_IMAGES = (
    ("batch.node.ubuntu 22.04", "canonical", "0001-com-ubuntu-server-jammy", "22_04-lts"),
    ("batch.node.ubuntu 24.04", "canonical", "ubuntu-24_04-lts", "server"),
)


def image_index() -> dict[tuple[str, str, str], str]:
    """Lower-case (publisher, offer, sku) -> nodeAgentSKUId."""
    return {(p.lower(), o.lower(), s.lower()): agent for agent, p, o, s in SUPPORTED_IMAGES}


def supported_images_json() -> list[dict]:
    """The ``value`` items of GET /supportedimages."""
    return [{"nodeAgentSKUId": agent,
             "imageReference": {"publisher": publisher, "offer": offer, "sku": sku,
                                "version": "latest"},
             "verificationType": "verified", "osType": "linux",
             "capabilities": ["DockerCompatible"]}
            for agent, publisher, offer, sku in SUPPORTED_IMAGES]
