"""Workloads: what a generic Batch run (``core.run``) runs. Each is one unit
of planner, node script(s) and result reader (``core.workload``)."""
