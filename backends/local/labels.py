"""The Docker labels of the local backend's containers, in one place: what
marks a container as the local backend's, which pool and node it is, and
who owns it (what ``leftovers`` reads to tell a dead owner's containers)."""

__all__ = ["CONTAINER_TASK_LABEL", "JOB_LABEL", "LIFELINE_LABEL", "LOCAL_LABEL", "NODE_LABEL",
           "OWNER_LABEL", "POOL_LABEL"]

#: on every container the local backend starts (value ``1``)
LOCAL_LABEL = "topwords.local"
#: the pool and the node a node container is
POOL_LABEL = "topwords.pool"
NODE_LABEL = "topwords.node"
#: on the container of a container task (value ``1``), beside its node's
#: labels, and the job it belongs to
CONTAINER_TASK_LABEL = "topwords.container-task"
JOB_LABEL = "topwords.job"
#: ``host:pid`` of the process that started it
OWNER_LABEL = "topwords.owner"
#: the path of its owner's lifeline file (alive while the file is locked)
LIFELINE_LABEL = "topwords.lifeline"
