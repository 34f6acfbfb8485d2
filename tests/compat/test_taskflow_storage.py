"""``taskflow.storage.Storage``: TaskFlow's storage API, on its own and as ``engine.storage``."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["memory", "sqlite"])
def backend(request, tmp_path):  # type: ignore[no-untyped-def]
    from taskflow.persistence import backends

    if request.param == "memory":
        be = backends.fetch({"connection": "memory://"})
    else:
        pytest.importorskip("sqlalchemy")
        be = backends.fetch({"connection": f"sqlite:///{tmp_path / 'tf.db'}"})
        be.get_connection().upgrade()
    yield be
    be.close()


def _storage(backend):  # type: ignore[no-untyped-def]
    from taskflow import storage
    from taskflow.utils import persistence_utils

    _book, flow_detail = persistence_utils.temporary_flow_detail(backend)
    return storage.Storage(flow_detail, backend=backend)


def _task(name, **kwargs):  # type: ignore[no-untyped-def]
    from taskflow import task

    class Noop(task.Task):
        def execute(self, **kwargs):
            pass

    return Noop(name, **kwargs)


def test_save_files_a_result_by_state_and_get_reads_it_back(backend) -> None:  # type: ignore[no-untyped-def]
    from taskflow import exceptions, states
    from taskflow.types import failure

    s = _storage(backend)
    s.ensure_atom(_task("boot", provides="server"))
    with pytest.raises(exceptions.NotFound, match=r"^Result for atom 'boot' is not available"):
        s.get("boot")
    s.save("boot", "vm-1")
    assert (s.get("boot"), s.get_atom_state("boot"), s.fetch("server")) == ("vm-1", states.SUCCESS, "vm-1")
    with pytest.raises(exceptions.NotFound):
        s.get_revert_result("boot")
    s.set_atom_intention("boot", states.REVERT)
    oops = failure.Failure.from_exception(RuntimeError("undo failed"))
    s.save("boot", oops, states.REVERT_FAILURE)
    assert s.get_revert_result("boot") is oops
    assert s.get_revert_failures() == {"boot": oops}
    with pytest.raises(ValueError, match="a failure state records a Failure"):
        s.save("boot", "not a failure", states.FAILURE)


def test_unknown_names_raise_taskflows_not_found(backend) -> None:  # type: ignore[no-untyped-def]
    from taskflow import exceptions

    s = _storage(backend)
    s.ensure_atom(_task("boot", provides=["a", "b"]))
    with pytest.raises(exceptions.NotFound, match=r"^Unknown atom name 'nope'"):
        s.get_atom_state("nope")
    with pytest.raises(exceptions.NotFound, match=r"^Name 'x' is not mapped"):
        s.fetch("x")
    s.save("boot", ["only-a"])
    assert s.fetch("a") == "only-a"
    with pytest.raises(exceptions.NotFound, match=r"^Unable to find result 'b'"):
        s.fetch("b")


def test_fetch_prefers_injected_values_and_fetch_all_lists_several(backend) -> None:  # type: ignore[no-untyped-def]
    s = _storage(backend)
    s.ensure_atom(_task("boot", provides="x"))
    s.inject({"x": 0})
    s.save("boot", 1)
    assert s.fetch("x") == 0
    assert s.fetch("x", many_handler=lambda values: values[-1]) == 1
    assert s.fetch_all() == {"x": [0, 1]}
    assert s.fetch_mapped_args({"value": "x"}) == {"value": 0}


def test_a_storage_on_its_own_keeps_injected_values_where_taskflow_does(backend) -> None:  # type: ignore[no-untyped-def]
    from taskflow import storage

    s = _storage(backend)
    s.inject({"image": "cirros"})
    s.inject({"flavor": "tiny"}, transient=True)
    injector = s.flow_detail.find_by_name(s.injector_name)
    assert injector is not None and injector.results == {"image": "cirros"}
    again = storage.Storage(s.flow_detail, backend=backend)
    assert again.fetch_all() == {"image": "cirros"}  # transient values stay with the first storage
    again.save(again.injector_name, {})
    assert again.fetch_all() == {}


def test_atom_injected_values_win_for_that_atom(backend) -> None:  # type: ignore[no-untyped-def]
    s = _storage(backend)
    t = _task("boot", requires=["x"])
    s.ensure_atom(t)
    assert s.fetch_unsatisfied_args("boot", t.rebind) == {"x"}
    s.inject_atom_args("boot", {"x": 2}, transient=False)
    s.inject_atom_args("boot", {"x": 3})
    assert s.fetch_mapped_args(t.rebind, atom_name="boot") == {"x": 3}
    assert s.fetch_unsatisfied_args("boot", t.rebind) == set()


def test_engine_storage_prefers_an_injected_value_to_an_earlier_atoms_result() -> None:
    from taskflow import engines, task
    from taskflow.patterns import linear_flow

    class AddOne(task.Task):
        def execute(self, value):  # type: ignore[no-untyped-def]
            return value + 1

    flow = linear_flow.Flow("f").add(*(AddOne(name, provides="value") for name in "abc"))
    engine = engines.load(flow, store={"value": 0})
    engine.run()
    for name in "abc":
        assert engine.storage.fetch_mapped_args({"value": "value"}, atom_name=name) == {"value": 0}
        assert engine.storage.get(name) == 1


def test_retry_history_and_progress(backend) -> None:  # type: ignore[no-untyped-def]
    from taskflow import retry, states
    from taskflow.types import failure

    s = _storage(backend)
    s.ensure_atom(retry.Times(3, "r", provides="attempt"))
    s.ensure_atom(_task("t"))
    s.save("r", 1)
    oops = failure.Failure.from_exception(RuntimeError("t failed"))
    s.save_retry_failure("r", "t", oops)
    history = s.get_retry_history("r")
    assert list(history) == [(1, {"t": oops})]
    assert s.get_retry_histories()[0][0] == "r"
    s.cleanup_retry_history("r", states.REVERTED)
    assert list(s.get_retry_history("r")) == []
    s.set_task_progress("t", 0.5, {"step": "copy"})
    s.set_task_progress("t", 0.7)
    assert s.get_task_progress("t") == 0.7
    assert s.get_task_progress_details("t") == {"at_progress": 0.5, "details": {"step": "copy"}}
    with pytest.raises(ValueError, match=r"between 0.0 and 1.0"):
        s.set_task_progress("t", 2.0)


def test_an_engine_keeps_what_a_running_task_reports_with_its_details() -> None:
    import taskflow.engines
    from taskflow import task
    from taskflow.patterns import linear_flow

    class Copies(task.Task):
        def execute(self):  # type: ignore[no-untyped-def]
            self.update_progress(0.25)
            self.notifier.notify(task.EVENT_UPDATE_PROGRESS, {"progress": 0.5, "file": "a.img"})

    class Plain(task.Task):
        def execute(self):  # type: ignore[no-untyped-def]
            self.update_progress(0.5)

    copies, plain = Copies("copies"), Plain("plain")
    engine = taskflow.engines.load(linear_flow.Flow("f").add(copies, plain))
    engine.run()
    # 1.0 at the end (the engine's own report), the details as the task gave them mid-run
    assert engine.storage.get_task_progress("copies") == 1.0
    details = engine.storage.get_task_progress_details("copies")
    assert details == {"at_progress": 0.5, "details": {"file": "a.img"}}
    plain_meta = engine.storage.flow_detail.find_by_name("plain").meta
    assert (plain_meta["progress"], plain_meta["progress_details"]) == (1.0, None)
    assert not copies._notifier and not plain._notifier  # nothing left registered on the tasks


def test_a_retry_cannot_reuse_a_tasks_record(backend) -> None:  # type: ignore[no-untyped-def]
    from taskflow import exceptions, retry

    s = _storage(backend)
    s.ensure_atom(_task("same"))
    with pytest.raises(exceptions.Duplicate, match=r"^Atom detail 'same' already exists"):
        s.ensure_atom(retry.AlwaysRevert("same"))


def test_what_is_saved_through_an_engines_storage_is_what_the_run_starts_from() -> None:
    from taskflow import engines, states, task
    from taskflow.patterns import linear_flow

    ran: list[str] = []

    class Step(task.Task):
        def execute(self):
            ran.append(self.name)
            return self.name

    flow = linear_flow.Flow("f").add(Step("a", provides="a_out"), Step("b"))
    engine = engines.load(flow)
    engine.prepare()
    engine.storage.save("a", "from before")
    engine.run()
    assert ran == ["b"]
    assert engine.storage.fetch("a_out") == "from before"
    assert engine.storage.get_flow_state() == states.SUCCESS
    with pytest.raises(ValueError, match="inject_atom_args"):
        engine.storage.inject_atom_args("a", {"x": 1})


def test_saving_the_injector_replaces_an_engines_injected_values() -> None:
    import taskflow.engines
    from taskflow import exceptions
    from taskflow.patterns import linear_flow

    engine = taskflow.engines.load(linear_flow.Flow("f").add(_task("a", requires="foo")))
    engine.storage.inject({"foo": "bar"})
    engine.run()
    engine.storage.save(engine.storage.injector_name, {})
    with pytest.raises(exceptions.NotFound, match="foo"):
        engine.storage.fetch("foo")
    engine.reset()
    with pytest.raises(exceptions.MissingDependencies):
        engine.run()
    engine.storage.save(engine.storage.injector_name, {"foo": "baz"})
    assert engine.storage.fetch("foo") == "baz"
