"""The generic Batch run, with the top-N workload, against in-process
fakes: what it asks of the backends, what it returns, and that cleanup
always runs."""

from __future__ import annotations

import json
import shlex

import pytest
from fakes import fake_backend, report

from topwords.core.errors import PoolError, StartTaskFailed, TaskNotFound, WaitTimeout
from topwords.core.ledger import Ledger
from topwords.core.inputs import validate_inputs
from topwords.core.model import NodeState, UploadCondition
from topwords.core.run import PoolSettings, RunSettings
from topwords.node import task as node_task
from topwords.workloads import topn

OUTPUT_URL_ENV = node_task.OUTPUT_URL_ENV
_POOL = {"node_count", "spot_node_count", "task_slots_per_node", "image", "vm_size",
         "pool_name", "keep_pool", "task_image"}
_SHAPE = {"top", "ignore_case", "split_size"}


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = [tmp_path / "a" / "x.txt", tmp_path / "b" / "x.txt", tmp_path / "a" / "my notes ü.txt"]
    for p in paths:
        p.write_text("hello world\n", encoding="utf-8")
    return validate_inputs(paths)


def settings(tmp_path, out="out", run_id="r1", **kw):
    """(run settings, the workload) from the old flat keywords."""
    pool = PoolSettings(**{k: kw.pop(k) for k in list(kw) if k in _POOL})
    shape = topn.TopWords(**{k: kw.pop(k) for k in list(kw) if k in _SHAPE})
    return RunSettings(output_dir=tmp_path / out, run_id=run_id, pool=pool, **kw), shape


def run_top_words(backend, inputs, both, progress=None, ledger=None):
    run_settings, workload = both
    return topn.run_top_words(backend, inputs, run_settings, workload, progress, ledger)


def ok(spec):
    return 0, report([("hello", 1), ("world", 1)])


def test_run_with_duplicate_base_names_keeps_every_output(tmp_path, inputs):
    backend = fake_backend(ok)
    result = run_top_words(backend, inputs, settings(tmp_path))
    assert result.succeeded
    outputs = [r.output_file.relative_to(tmp_path / "out").as_posix() for r in result.results]
    assert outputs == ["a/x_OUTPUT.txt", "b/x_OUTPUT.txt", "a/my notes ü_OUTPUT.txt"]
    assert all(r.value == [("hello", 1), ("world", 1)] for r in result.results)


def test_run_on_success_deletes_job_pool_and_containers(tmp_path, inputs):
    backend = fake_backend(ok)
    run_top_words(backend, inputs, settings(tmp_path))
    assert backend.storage.containers == {}
    assert backend.compute.pools == {} and backend.compute.jobs == {}


def test_run_with_keep_flags_keeps_pool_and_containers(tmp_path, inputs):
    backend = fake_backend(ok)
    run_top_words(backend, inputs, settings(tmp_path, keep_pool=True, keep_containers=True))
    assert set(backend.storage.containers) == {"tw-r1-app", "tw-r1-input", "tw-r1-output",
                                               "tw-r1-work"}
    assert list(backend.compute.pools) == ["topwords-r1"]
    assert backend.compute.jobs == {}  # the job always goes


@pytest.mark.parametrize("error", [KeyboardInterrupt(), WaitTimeout("slow")])
def test_run_interrupted_while_waiting_cleans_up_and_reraises(tmp_path, inputs, error):
    backend = fake_backend(ok)

    def interrupt():
        raise error
    backend.compute.wait_hook = interrupt
    with pytest.raises(type(error)):
        run_top_words(backend, inputs, settings(tmp_path))
    assert backend.storage.containers == {}
    assert backend.compute.pools == {} and backend.compute.jobs == {}


def test_run_with_failed_start_task_fails_fast_with_its_stderr(tmp_path, inputs):
    backend = fake_backend(ok)
    backend.compute.node_state = NodeState.START_TASK_FAILED
    with pytest.raises(StartTaskFailed) as info:
        run_top_words(backend, inputs, settings(tmp_path, timeout=60))
    assert "cannot stat" in str(info.value)
    assert backend.compute.pools == {}


def test_run_with_failing_task_reports_it_with_stderr_tail(tmp_path, inputs):
    backend = fake_backend(lambda spec: (1, None) if spec.id == "topNtask1" else ok(spec))
    result = run_top_words(backend, inputs, settings(tmp_path))
    assert not result.succeeded
    failed = [r for r in result.results if not r.succeeded]
    assert [r.task.id for r in failed] == ["topNtask1"]
    # the reduce is blocked by the failed map task: the wait ends, it did not run
    assert (result.corpus.task.id, result.corpus.task.state.value) == ("reduce", "active")
    assert result.corpus.output_file is None
    assert failed[0].output_file is None
    assert "ValueError: boom" in failed[0].stderr_tail


def test_tasks_carry_quoted_paths_read_sas_and_write_sas_in_env(tmp_path, inputs):
    backend = fake_backend(ok)
    run_top_words(backend, inputs, settings(tmp_path, top=5, ignore_case=True))
    spec = backend.compute.specs["topNtask2"]
    argv = shlex.split(spec.command_line)
    assert argv[:2] == ["/bin/bash", "-c"]
    args = node_task.parse_args(shlex.split(argv[2])[2:])
    assert (args.filepath, args.numwords, args.ignore_case) == ("a/my notes ü.txt", 5, True)
    assert [r.file_path for r in spec.resource_files] == ["a/my notes ü.txt"]
    assert "sp=r&" in spec.resource_files[0].http_url
    assert "sp=cw&" in spec.environment[OUTPUT_URL_ENV]
    assert "/tw-r1-output/a/my%20notes%20%C3%BC_OUTPUT.txt?" in spec.environment[OUTPUT_URL_ENV]
    assert "SECRET" not in spec.command_line


def test_task_image_puts_every_task_in_that_container_and_the_pool_prefetches_it(
        tmp_path, inputs):
    backend = fake_backend(ok)
    run_top_words(backend, inputs, settings(tmp_path, keep_pool=True, task_image="img:1"))
    pool = backend.compute.pools["topwords-r1"]
    assert pool.container_configuration.image_names == ("img:1",)
    assert pool.container_configuration.type == "dockerCompatible"
    assert pool.start_task.container_settings is None  # it copies task.py on the node
    assert {s.id for s in backend.compute.specs.values()} == {
        "topNtask0", "topNtask1", "topNtask2", "reduce"}
    assert {s.container_settings.image_name for s in backend.compute.specs.values()} == {"img:1"}


def test_without_task_image_tasks_run_on_the_node(tmp_path, inputs):
    backend = fake_backend(ok)
    run_top_words(backend, inputs, settings(tmp_path, keep_pool=True))
    assert backend.compute.pools["topwords-r1"].container_configuration is None
    assert {s.container_settings for s in backend.compute.specs.values()} == {None}


def test_pool_start_task_copies_script_to_shared_dir(tmp_path, inputs):
    backend = fake_backend(ok)
    run_top_words(backend, inputs, settings(tmp_path, keep_pool=True))
    pool = backend.compute.pools["topwords-r1"]
    start = pool.start_task
    assert start.wait_for_success
    assert [r.file_path for r in start.resource_files] == ["task.py"]
    assert "$AZ_BATCH_NODE_SHARED_DIR" in start.command_line


def test_run_downloads_only_expected_results_never_a_planted_blob(tmp_path, inputs):
    def evil(spec):
        backend.storage.containers["tw-r1-output"]["../escape.txt"] = b"x"
        backend.storage.containers["tw-r1-output"]["planted.txt"] = b"x"
        return ok(spec)
    backend = fake_backend(evil)
    result = run_top_words(backend, inputs, settings(tmp_path))
    assert result.succeeded
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out" / "planted.txt").exists()
    assert backend.storage.containers == {}


def test_a_missing_result_fails_its_input_alone(tmp_path, inputs):
    def partly(spec):
        return (0, None) if spec.id == "topNtask1" else ok(spec)
    backend = fake_backend(partly)
    result = run_top_words(backend, inputs, settings(tmp_path))
    assert [r.succeeded for r in result.results] == [True, False, True]
    assert result.corpus.succeeded
    assert "b/x_OUTPUT.txt" in result.results[1].problem
    assert not list((tmp_path / "out").glob(".topwords-*"))  # the staging folder is gone


def test_downloads_never_follow_a_symlink_in_the_output_dir(tmp_path, inputs):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b").symlink_to(elsewhere)  # where b/x_OUTPUT.txt would go
    (tmp_path / "out" / "GLOBAL_OUTPUT.txt").symlink_to(elsewhere / "target.txt")
    result = run_top_words(fake_backend(ok), inputs, settings(tmp_path))
    assert [r.succeeded for r in result.results] == [True, False, True]
    assert "link" in result.results[1].problem
    assert list(elsewhere.iterdir()) == []  # nothing written through either link
    corpus = tmp_path / "out" / "GLOBAL_OUTPUT.txt"
    assert result.corpus.succeeded and not corpus.is_symlink()  # the link was replaced


def test_an_unwritable_output_dir_fails_before_anything_is_created(tmp_path, inputs):
    (tmp_path / "out").write_text("a file, not a folder")
    backend = fake_backend(ok)
    with pytest.raises(Exception, match="cannot write to the output directory"):
        run_top_words(backend, inputs, settings(tmp_path))
    assert backend.storage.calls == [] and backend.compute.calls == []


def test_failed_task_stderr_comes_from_logs_container_when_pool_is_gone(tmp_path, inputs):
    backend = fake_backend(lambda spec: (2, None))
    compute = backend.compute
    compute.supports_output_files = True

    def node_gone(*args):
        raise TaskNotFound("the pool was deleted")
    compute.read_task_file = node_gone
    real_add = compute.add_tasks

    def add_and_log(job_id, tasks):
        for spec in tasks:  # what Batch's output files do when a task fails
            [logs] = spec.output_files
            assert (logs.file_pattern, logs.path) == ("../std*.txt", spec.id)
            assert logs.upload_condition is UploadCondition.TASK_FAILURE
            assert "sp=cw" in logs.container_url
            backend.storage.containers["tw-r1-logs"][f"{spec.id}/stderr.txt"] = b"disk full\n"
        real_add(job_id, tasks)
    compute.add_tasks = add_and_log
    result = run_top_words(backend, inputs, settings(tmp_path))
    assert [r.stderr_tail for r in result.results] == ["disk full"] * 3
    assert backend.storage.containers == {}


def test_run_records_every_resource_in_the_ledger_and_its_deletion(tmp_path, inputs):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    backend = fake_backend(ok)
    run_top_words(backend, inputs, settings(tmp_path, keep_pool=True), ledger=ledger)
    assert [(e.kind, e.id, e.run_id) for e in ledger.outstanding()] == [
        ("pool", "topwords-r1", "r1")]
    kinds = [json.loads(line)["kind"] for line in ledger.path.read_text().splitlines()]
    assert sorted(set(kinds)) == ["container", "job", "pool"]


def test_run_tags_resources_with_the_run_id(tmp_path, inputs):
    backend = fake_backend(ok)
    run_top_words(backend, inputs, settings(tmp_path, keep_pool=True))
    created = [c for c in backend.storage.calls if c[0] == "create_container"]
    assert created and all(c[2] == {"topwords_run": "r1"} for c in created)
    assert backend.compute.pools["topwords-r1"].metadata == {"topwords_run": "r1"}


def test_run_with_existing_compatible_pool_reuses_it(tmp_path, inputs):
    backend = fake_backend(ok)
    run_top_words(backend, inputs, settings(tmp_path, pool_name="shared", keep_pool=True))
    calls = len([c for c in backend.compute.calls if c[0] == "create_pool"])
    result = run_top_words(backend, inputs, settings(tmp_path, out="o2", run_id="r2",
                                                     pool_name="shared", keep_pool=True))
    assert result.succeeded
    assert len([c for c in backend.compute.calls if c[0] == "create_pool"]) == calls
    with pytest.raises(PoolError, match="does not fit"):
        run_top_words(backend, inputs, settings(tmp_path, out="o3", run_id="r3",
                                                pool_name="shared", task_slots_per_node=4))
    assert "shared" in backend.compute.pools  # someone else's pool is never deleted


def test_run_interrupted_inside_pool_creation_still_deletes_the_pool(tmp_path, inputs):
    backend = fake_backend(ok)
    real_create = backend.compute.create_pool

    def create_then_interrupt(spec):
        real_create(spec)
        raise KeyboardInterrupt
    backend.compute.create_pool = create_then_interrupt
    with pytest.raises(KeyboardInterrupt):
        run_top_words(backend, inputs, settings(tmp_path))
    assert backend.compute.pools == {}
    assert backend.storage.containers == {}


def test_a_pool_that_could_never_be_created_fails_before_anything_is(tmp_path, inputs):
    from topwords.core.errors import ConfigError
    backend = fake_backend(ok)

    def refuse(spec):
        raise ConfigError("node image 'nope' is not available")
    backend.compute.validate_pool = refuse
    with pytest.raises(ConfigError, match="nope"):
        run_top_words(backend, inputs, settings(tmp_path))
    assert backend.storage.calls == [] and backend.compute.calls == []
    assert not (tmp_path / "out").exists()


def test_a_signal_during_cleanup_lets_the_cleanup_finish(tmp_path, inputs):
    from topwords.core.interrupts import in_cleanup
    backend = fake_backend(ok)
    seen = []
    real_delete = backend.compute.delete_pool

    def delete_pool(pool_id):
        seen.append(in_cleanup())
        real_delete(pool_id)
    backend.compute.delete_pool = delete_pool
    result = run_top_words(backend, inputs, settings(tmp_path))
    assert result.succeeded and seen == [True]
    assert backend.compute.pools == {} and backend.storage.containers == {}


def test_an_interrupted_delete_names_what_is_left_and_skips_the_rest(tmp_path, inputs):
    backend = fake_backend(ok)
    warnings = []

    class Progress:
        def stage(self, message): pass
        def tasks(self, counts): pass
        def warn(self, message): warnings.append(message)

    def interrupted(pool_id):
        raise KeyboardInterrupt  # the second signal, while the pool was being deleted
    backend.compute.delete_pool = interrupted
    ledger = Ledger(tmp_path / "ledger.jsonl")
    with pytest.raises(KeyboardInterrupt):
        run_top_words(backend, inputs, settings(tmp_path), Progress(), ledger)
    assert warnings[0] == "pool topwords-r1 was left: interrupted while it was being deleted"
    assert all("was left: the cleanup was interrupted before it" in w for w in warnings[1:])
    assert {e.kind for e in ledger.outstanding("fake")} >= {"pool", "container"}
