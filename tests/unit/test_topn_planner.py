"""The top-N planner's task graph: map tasks (whole files or byte ranges)
and the reduce; and that it speaks the node script's contract."""

from __future__ import annotations

from pathlib import Path

from fakes import task_args
from hypothesis import given
from hypothesis import strategies as st

import json

from topwords.core.inputs import InputFile
from topwords.core.workload import TaskDefaults, Urls
from topwords.node import task as node_task
from topwords.workloads.topn.planner import REDUCE_TASK, Shape, plan_tasks as _plan

GLOBAL_OUTPUT = node_task.GLOBAL_OUTPUT


def urls(n):
    return Urls(inputs=[f"http://s/in/f{i}?sp=r&sig=R{i}" for i in range(n)],
                output_write=lambda blob: f"http://s/out/{blob}?sp=cw&sig=W",
                work_write=lambda blob: f"http://s/work/{blob}?sp=cw&sig=C",
                work_read=lambda blob: f"http://s/work/{blob}?sp=r&sig=CR")


class Planned:
    """A plan with its manifest read back and each input's producers."""

    def __init__(self, plan):
        self.tasks, self.outputs = plan.tasks, plan.outputs
        self.manifest = json.loads(plan.work_blobs[node_task.MANIFEST])
        self.producers = [list(e.producers) for e in plan.outputs if e.input]


def plan_tasks(shape, inputs, urls):
    return Planned(_plan(shape, inputs, urls, TaskDefaults(max_task_retries=1, timeout=60)))


def parsed(task):
    """A map task's arguments as the node script parses them."""
    return node_task.parse_args(task_args(task))


def settings(split=None, ignore_case=False):
    return Shape(top=3, ignore_case=ignore_case, split_size=split)


def item(name, size):
    return InputFile(path=Path(name), blob_name=name, size=size)


def ranges(plan, i):
    out = []
    for task in plan.tasks:
        if task.id.startswith(f"topNtask{i}-part"):
            args = parsed(task)
            out.append((args.start, args.end))
    return out


def test_small_inputs_get_one_map_task_each_and_a_reduce():
    plan = plan_tasks(settings(split=100), [item("a.txt", 10), item("d/b.txt", 100)], urls(2))
    assert [t.id for t in plan.tasks] == ["topNtask0", "topNtask1", REDUCE_TASK]
    assert plan.producers == [["topNtask0"], ["topNtask1"]]
    a = parsed(plan.tasks[1])
    assert (a.filepath, a.numwords, a.counts_blob) == ("d/b.txt", 3, "counts/1.tsv.gz")
    env = plan.tasks[1].environment
    assert env["TOPWORDS_OUTPUT_URL"] == "http://s/out/d/b_OUTPUT.txt?sp=cw&sig=W"
    assert env["TOPWORDS_COUNTS_URL"] == "http://s/work/counts/1.tsv.gz?sp=cw&sig=C"
    reduce = plan.tasks[-1]
    assert reduce.depends_on == ("topNtask0", "topNtask1")
    assert reduce.environment == {}  # its write URLs are in the manifest only it reads
    assert plan.manifest == {"numwords": 3, "outputs": [
        {"output_blob": GLOBAL_OUTPUT, "counts": ["counts/0.tsv.gz", "counts/1.tsv.gz"],
         "url": f"http://s/out/{GLOBAL_OUTPUT}?sp=cw&sig=W"}]}
    assert [r.file_path for r in reduce.resource_files] == [
        "manifest.json", "counts/0.tsv.gz", "counts/1.tsv.gz"]


def test_large_input_is_split_into_ranges_merged_by_the_reduce():
    plan = plan_tasks(settings(split=40), [item("big.txt", 100), item("s.txt", 5)], urls(2))
    assert ranges(plan, 0) == [(0, 40), (40, 80), (80, 100)]
    assert plan.producers[0] == ["topNtask0-part0", "topNtask0-part1", "topNtask0-part2",
                                 REDUCE_TASK]
    part = plan.tasks[0]
    assert part.resource_files == ()  # it reads its range itself, over the SAS
    assert part.environment["TOPWORDS_INPUT_URL"] == "http://s/in/f0?sp=r&sig=R0"
    assert "TOPWORDS_OUTPUT_URL" not in part.environment
    assert part.environment["TOPWORDS_COUNTS_URL"].startswith("http://s/work/counts/0.0.tsv.gz?")
    first = plan.manifest["outputs"][0]
    assert first == {"output_blob": "big_OUTPUT.txt",
                     "counts": ["counts/0.0.tsv.gz", "counts/0.1.tsv.gz", "counts/0.2.tsv.gz"],
                     "url": "http://s/out/big_OUTPUT.txt?sp=cw&sig=W"}
    assert len(plan.manifest["outputs"][-1]["counts"]) == 4


def test_ignore_case_reaches_every_map_task_only():
    plan = plan_tasks(settings(split=4, ignore_case=True), [item("a.txt", 10)], urls(1))
    assert all(parsed(t).ignore_case for t in plan.tasks[:-1])
    assert "--ignore-case" not in task_args(plan.tasks[-1])


@given(size=st.integers(0, 5_000), split=st.integers(25, 3_000))
def test_ranges_cover_the_file_once_in_order(size, split):
    plan = plan_tasks(settings(split=split), [item("f.txt", size)], urls(1))
    parts = ranges(plan, 0) or [(0, size)]
    assert parts[0][0] == 0 and parts[-1][1] == size
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    assert all(end - start <= split for start, end in parts)
    assert len(parts) == max(1, -(-size // split))


@given(name=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                    max_size=30).filter(lambda n: "/" not in n and n not in (".", "..")))
def test_every_file_name_reaches_the_node_script_unchanged(name):
    """Names starting with '-' (or looking like '--numwords=9') are values."""
    plan = plan_tasks(settings(), [item(name, 10)], urls(1))
    assert parsed(plan.tasks[0]).filepath == name


@given(rows=st.lists(st.tuples(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1).filter(
        lambda w: w == "".join(w.split()) and not w.endswith(":")),
    st.integers(0, 10**12)), max_size=20))
def test_a_report_reads_back_as_written(rows):
    """parse_report(format_report(x)) == x: the reader of the planner's
    results and the node script's writer agree."""
    assert node_task.parse_report(node_task.format_report(rows, env={})) == rows


def test_the_reduce_and_each_map_task_parse_with_the_node_scripts_parser():
    plan = plan_tasks(settings(split=4), [item("a.txt", 10), item("b.txt", 3)], urls(2))
    for task in plan.tasks[:-1]:
        node_task.parse_args(task_args(task))  # a usage error would exit 2
    assert task_args(plan.tasks[-1]) == node_task.reduce_args()
    assert [e.blob for e in plan.outputs] == ["a_OUTPUT.txt", "b_OUTPUT.txt", GLOBAL_OUTPUT]
