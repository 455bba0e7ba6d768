"""``containerConfiguration`` (pools) and ``containerSettings`` (tasks,
StartTasks) bodies -> core container models, and their echoes.

Registries (``containerRegistries``, ``registry``) are taken and not used:
nothing is pulled, every image must be one the local Docker has. Their
passwords are never echoed back, as the service never returns them.
"""

from __future__ import annotations

import copy
from typing import Any

from topwords.core.containers import BindMount, ContainerConfiguration, ContainerSettings
from topwords.core.errors import ConfigError

from ..errors import bad_value, missing

__all__ = ["container_configuration", "container_settings", "without_passwords"]

Json = dict[str, Any]


def container_configuration(vm: Json) -> ContainerConfiguration | None:
    """``virtualMachineConfiguration.containerConfiguration`` (None: absent).

    Raises:
        BatchApiError: 400 for a missing or invalid property.
    """
    where = "virtualMachineConfiguration.containerConfiguration"
    body = vm.get("containerConfiguration")
    if body is None:
        return None
    if not isinstance(body, dict):
        raise bad_value(where, "must be an object")
    kind = body.get("type")
    if not kind:
        raise missing(where + ".type")
    names = body.get("containerImageNames") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise bad_value(where + ".containerImageNames", "must be a list of strings")
    return _build(lambda: ContainerConfiguration(type=str(kind), image_names=tuple(names)),
                  where)


def container_settings(body: Json, where: str = "") -> ContainerSettings | None:
    """A task's (or StartTask's) ``containerSettings`` (None: absent).

    Raises:
        BatchApiError: 400 for a missing or invalid property, a
            ``containerRunOptions`` option outside the safe subset included.
    """
    where = where + "containerSettings"
    settings = body.get("containerSettings")
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise bad_value(where, "must be an object")
    image = settings.get("imageName")
    if not image:
        raise missing(where + ".imageName")
    if not isinstance(image, str):
        raise bad_value(where + ".imageName", "must be a string", image)
    options = settings.get("containerRunOptions") or ""
    if not isinstance(options, str):
        raise bad_value(where + ".containerRunOptions", "must be a string", options)
    return _build(lambda: ContainerSettings(
        image_name=image, run_options=options,
        working_directory=str(settings.get("workingDirectory") or "taskWorkingDirectory"),
        bind_mounts=_bind_mounts(settings, where)), where)


def _bind_mounts(settings: Json, where: str) -> tuple[BindMount, ...] | None:
    mounts = settings.get("containerHostBatchBindMounts")
    if mounts is None:
        return None
    name = where + ".containerHostBatchBindMounts"
    if not isinstance(mounts, list) or not all(isinstance(m, dict) for m in mounts):
        raise bad_value(name, "must be a list of objects")
    return tuple(_build(lambda m=m: BindMount(source=str(m.get("source") or ""),
                                              read_only=bool(m.get("isReadOnly", False))),
                        name) for m in mounts)


def without_passwords(body: Json) -> Json:
    """A copy of a create body with every registry ``password`` left out."""
    clean = copy.deepcopy(body)
    vm = clean.get("virtualMachineConfiguration")
    config = vm.get("containerConfiguration") if isinstance(vm, dict) else None
    registries = config.get("containerRegistries") if isinstance(config, dict) else None
    for registry in registries if isinstance(registries, list) else ():
        if isinstance(registry, dict):
            registry.pop("password", None)
    for owner in (clean, clean.get("startTask")):
        settings = owner.get("containerSettings") if isinstance(owner, dict) else None
        registry = settings.get("registry") if isinstance(settings, dict) else None
        if isinstance(registry, dict):
            registry.pop("password", None)
    return clean


def _build(make, name: str):
    """Run a core constructor; its ConfigError becomes a 400 naming ``name``."""
    try:
        return make()
    except ConfigError as exc:
        raise bad_value(name, str(exc)) from None
