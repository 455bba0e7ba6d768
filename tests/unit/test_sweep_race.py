"""Two sweeps at once (two runs starting together) may reach one leftover
container: the one that comes second finds its removal in progress, which
is not an error (container tasks of a dead owner are left as exited
containers for the sweeps to remove)."""

from __future__ import annotations

from types import SimpleNamespace

import docker.errors
import pytest

from topwords.backends.local.leftovers import sweep
from topwords.core.errors import NodeError


class _Api:
    def __init__(self, error: str) -> None:
        self.error, self.removed = error, []

    def containers(self, all, filters):
        return [{"Id": "c1", "Names": ["/leftover"], "Labels": {"topwords.local": "1"}}]

    def remove_container(self, container_id, force):
        self.removed.append(container_id)
        raise docker.errors.APIError(self.error)


@pytest.mark.parametrize("error", [
    "removal of container c1 is already in progress", "No such container: c1"])
def test_a_sweep_that_comes_second_to_a_leftover_carries_on(error):
    api = _Api(error)
    swept = sweep(SimpleNamespace(api=api), dirs=[])
    assert api.removed == ["c1"] and swept.containers == 1


def test_a_sweep_still_reports_other_docker_failures():
    with pytest.raises(NodeError, match="removing leftover"):
        sweep(SimpleNamespace(api=_Api("permission denied")), dirs=[])
