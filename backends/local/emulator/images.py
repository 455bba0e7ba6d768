"""The images the emulator lists as supported, all run as the local node
image (a Docker image with python3; see ``LocalConfig.image``).

The list is small and static: two verified Ubuntu LTS x64 images, as Azure
Batch lists them, so that code choosing "the newest verified Ubuntu LTS" at
run time works unchanged. Pools must name one of them.
"""

from __future__ import annotations

__all__ = ["RETIRED_IMAGES", "SUPPORTED_IMAGES", "image_index", "retired_image",
           "supported_images_json"]

#: (nodeAgentSKUId, publisher, offer, sku)
SUPPORTED_IMAGES = (
    ("batch.node.ubuntu 22.04", "canonical", "0001-com-ubuntu-server-jammy", "22_04-lts"),
    ("batch.node.ubuntu 24.04", "canonical", "ubuntu-24_04-lts", "server"),
)


#: images Batch once offered and has retired (end of life), as the official
#: samples still name them: (publisher, offer, sku), lower case
RETIRED_IMAGES = (
    ("canonical", "0001-com-ubuntu-server-focal", "20_04-lts"),   # the Python quickstart
    ("canonical", "0001-com-ubuntu-server-focal", "20_04-lts-gen2"),
    ("canonical", "ubuntuserver", "18.04-lts"),                   # the ffmpeg tutorial
    ("canonical", "ubuntuserver", "18_04-lts-gen2"),
    ("canonical", "ubuntuserver", "16.04-lts"),
)


def retired_image(key: tuple[str, str, str]) -> str | None:
    """Why a lower-case (publisher, offer, sku) cannot be used, naming the
    image to use instead; None if it is not a retired image."""
    if tuple(key) not in RETIRED_IMAGES:
        return None
    agent, publisher, offer, sku = SUPPORTED_IMAGES[0]
    return (f"the image {':'.join(key)} is retired and Batch no longer offers it; use a "
            f"current image, e.g. publisher {publisher!r}, offer {offer!r}, sku {sku!r} with "
            f"nodeAgentSKUId {agent!r} (see list_supported_images)")


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
