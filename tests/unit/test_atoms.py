"""Atoms: argument inference, rebind/requires/inject/provides, and the functor tasks."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import greenflow
from greenflow.atoms import EVENT_UPDATE_PROGRESS, FunctorTask, MapFunctorTask, ReduceFunctorTask, Task
from greenflow.exceptions import InvalidOptionError
from greenflow.patterns import LinearFlow


class Create(Task):
    def execute(self, image, flavor, count=1):
        return f"{image}-{flavor}-{count}"

    def revert(self, image, result, flow_failures, **kwargs):
        pass


class TakesKwargs(Task):
    def execute(self, first, **kwargs):
        return first, kwargs


# -- names --------------------------------------------------------------------------------------


def test_task_name_defaults_to_qualified_class_name():
    assert Create().name == f"{__name__}.Create"


def test_task_name_is_the_given_name():
    assert Create("boot").name == "boot"


@pytest.mark.parametrize("bad", ["", 5])
def test_task_name_must_be_a_non_empty_string(bad):
    with pytest.raises(InvalidOptionError, match="atom name must be a non-empty string") as info:
        Create(bad)
    assert repr(bad) in str(info.value)


# -- inference from execute() ---------------------------------------------------------------------


def test_required_arguments_are_inferred_from_execute():
    task = Create("boot")
    assert task.requires == {"image", "flavor"}
    assert task.optional == {"count"}
    assert task.rebind == {"image": "image", "flavor": "flavor", "count": "count"}


def test_revert_gets_execute_arguments_and_never_requires_result_or_flow_failures():
    task = Create("boot")
    assert "result" not in task.revert_mapping
    assert "flow_failures" not in task.revert_mapping
    # revert takes **kwargs, so it receives every execute argument too.
    assert set(task.revert_mapping) == {"image", "flavor", "count"}


def test_star_args_and_kwargs_are_not_requirements():
    task = TakesKwargs("t")
    assert task.requires == {"first"}
    assert task.takes_kwargs


def test_auto_extract_false_requires_nothing_from_the_signature():
    class Defaults(Task):
        def execute(self, image="cirros", flavor="tiny"):
            return image, flavor

    assert Defaults("boot", auto_extract=False).requires == frozenset()
    assert Defaults("boot").requires == frozenset()
    assert Defaults("boot").optional == {"image", "flavor"}
    assert Defaults("boot", auto_extract=False).optional == frozenset()


def test_ignore_list_drops_arguments_from_the_requirements():
    assert Create("boot", ignore_list=["flavor"]).requires == {"image"}


def test_task_without_execute_fails_when_run_with_its_name():
    class Empty(Task):
        pass

    with pytest.raises(NotImplementedError, match="'empty'"):
        Empty("empty").execute()


# -- provides -------------------------------------------------------------------------------------


def test_provides_string_names_the_whole_result():
    task = Create("boot", provides="server")
    assert task.provides == {"server"}
    assert task.save_as == {"server": None}


def test_provides_list_names_result_items_by_position():
    task = Create("boot", provides=["ip", "port"])
    assert task.provides == {"ip", "port"}
    assert task.save_as == {"ip": 0, "port": 1}
    assert list(task.save_as) == ["ip", "port"]


def test_provides_set_names_result_items_by_key():
    task = Create("boot", provides={"ip", "port"})
    assert task.save_as == {"ip": "ip", "port": "port"}


def test_save_as_is_a_read_only_mapping_shared_by_atoms_alike_and_picklable():
    import pickle

    one, two = Create("a", provides=["ip", "port"]), Create("b", provides=["ip", "port"])
    assert one.save_as is two.save_as
    assert Create("c").save_as == {}
    with pytest.raises(TypeError):
        one.save_as["ip"] = 5  # type: ignore[index]
    assert pickle.loads(pickle.dumps(one.save_as)) == one.save_as
    assert hash(one.save_as) == hash(pickle.loads(pickle.dumps(one.save_as)))


def test_default_provides_is_used_when_provides_is_not_given():
    class Named(Create):
        default_provides = "server"

    assert Named("boot").provides == {"server"}
    assert Named("boot", provides="other").provides == {"other"}


@pytest.mark.parametrize("bad", [5, 1.5, {"a": 1}.values()])
def test_provides_of_a_wrong_type_is_rejected_naming_atom_and_value(bad):
    with pytest.raises(InvalidOptionError) as info:
        Create("boot", provides=bad)
    message = str(info.value)
    assert "'boot'" in message
    assert "provides must be" in message
    assert type(bad).__name__ in message


def test_provides_list_with_a_non_string_name_is_rejected():
    with pytest.raises(
        InvalidOptionError, match=r"atom 'boot': every name in provides must be a string, got 3"
    ):
        Create("boot", provides=["ip", 3])


# -- rebind -----------------------------------------------------------------------------------------


def test_rebind_dict_maps_argument_to_symbol():
    task = Create("boot", rebind={"image": "image_id"})
    assert task.rebind["image"] == "image_id"
    assert task.requires == {"image_id", "flavor"}


def test_rebind_list_binds_arguments_in_order():
    task = Create("boot", rebind=["image_id", "flavor_id"])
    assert task.rebind == {"image": "image_id", "flavor": "flavor_id", "count": "count"}
    assert task.requires == {"image_id", "flavor_id"}


def test_rebind_naming_an_argument_execute_does_not_accept_is_rejected():
    with pytest.raises(InvalidOptionError) as info:
        Create("boot", rebind={"imgae": "image_id"})
    message = str(info.value)
    assert "'boot'" in message
    assert "'imgae'" in message
    assert "does not accept" in message
    assert "['image', 'flavor', 'count']" in message


def test_rebind_list_longer_than_the_arguments_is_rejected():
    with pytest.raises(InvalidOptionError) as info:
        Create("boot", rebind=["a", "b", "c", "d"])
    message = str(info.value)
    assert "'boot'" in message
    assert "4 symbols" in message
    assert "takes only 3 arguments" in message


def test_rebind_list_longer_than_the_arguments_is_allowed_with_kwargs():
    task = TakesKwargs("t", rebind=["one", "two"])
    assert task.rebind == {"first": "one", "two": "two"}
    assert task.requires == {"one", "two"}


def test_rebind_dict_may_name_extra_arguments_when_execute_takes_kwargs():
    task = TakesKwargs("t", rebind={"extra": "source"})
    assert task.rebind["extra"] == "source"
    assert "source" in task.requires


@pytest.mark.parametrize("bad", [5, "image"])
def test_rebind_of_a_wrong_type_is_rejected(bad):
    with pytest.raises(InvalidOptionError, match=r"atom 'boot': rebind must be a list, tuple or dict"):
        Create("boot", rebind=bad)


def test_rebind_to_a_non_string_symbol_is_rejected():
    with pytest.raises(
        InvalidOptionError, match=r"atom 'boot': every name in rebind must be a string, got 7"
    ):
        Create("boot", rebind={"image": 7})


@pytest.mark.parametrize(
    ("options", "lead"),
    [
        ({"provides": 5}, "Atom provides must be"),
        ({"rebind": 5}, "Invalid rebind value for atom 'boot'"),
        ({"rebind": ["a", "b", "c", "d"]}, "Extra arguments given to atom 'boot'"),
        ({"rebind": {"imgae": "x"}}, "Extra arguments given to atom 'boot'"),
        ({"requires": ["other"]}, "Extra arguments given to atom 'boot'"),
    ],
)
def test_bad_binding_options_are_named_first_in_the_message(options, lead):
    # The same leading words as TaskFlow's messages, which its users' code matches.
    with pytest.raises(InvalidOptionError) as info:
        Create("boot", **options)
    assert str(info.value).startswith(lead)


def test_without_inference_execute_arguments_requires_does_not_name_are_refused():
    with pytest.raises(InvalidOptionError) as info:
        Create("boot", auto_extract=False, requires=["image"])
    assert str(info.value) == (
        "Missing arguments for atom 'boot': execute() needs ['flavor'], which neither requires nor "
        "rebind names (auto_extract=False)"
    )
    task = Create("boot", auto_extract=False, requires=["image", "flavor"])
    assert task.requires == {"image", "flavor"}  # count has a default: not needed


# -- requires ---------------------------------------------------------------------------------------


def test_requires_makes_an_optional_argument_required():
    task = Create("boot", requires=["count"])
    assert task.requires == {"image", "flavor", "count"}
    assert "count" not in task.optional


def test_requires_a_single_string():
    assert TakesKwargs("t", requires="extra").requires == {"first", "extra"}


def test_requires_adds_keyword_arguments_when_execute_takes_kwargs():
    task = TakesKwargs("t", requires=["a", "b"])
    assert task.requires == {"first", "a", "b"}
    assert task.rebind["a"] == "a"


def test_requires_an_argument_execute_does_not_accept_is_rejected():
    with pytest.raises(InvalidOptionError) as info:
        Create("boot", requires=["network"])
    message = str(info.value)
    assert "'boot'" in message
    assert "'network'" in message
    assert "execute()" in message


@pytest.mark.parametrize("bad", [5, {"a": 1}])
def test_requires_of_a_wrong_type_is_rejected(bad):
    with pytest.raises(InvalidOptionError) as info:
        TakesKwargs("t", requires=bad)
    assert "atom 't': requires must be a string or a collection of strings" in str(info.value)
    assert repr(bad) in str(info.value)


def test_requires_with_a_non_string_name_is_rejected():
    with pytest.raises(InvalidOptionError, match=r"atom 't': every name in requires must be a string, got 3"):
        TakesKwargs("t", requires=["a", 3])


# -- inject -----------------------------------------------------------------------------------------


def test_inject_satisfies_a_requirement_for_this_atom_only():
    task = Create("boot", inject={"image": "cirros"})
    assert task.requires == {"flavor"}
    assert task.inject == {"image": "cirros"}


def test_an_atom_given_no_inject_has_an_empty_read_only_one_that_survives_pickling():
    task = Create("boot")
    assert task.inject == {} and not task.inject
    with pytest.raises(TypeError):
        task.inject["image"] = "cirros"  # type: ignore[index]  # as read-only as TaskFlow's None
    copy = pickle.loads(pickle.dumps(task))
    assert copy.inject == {}
    given = Create("boot", inject={"image": "cirros"})
    assert pickle.loads(pickle.dumps(given)).inject == {"image": "cirros"}


def test_inject_keyed_by_the_rebound_symbol_satisfies_the_requirement():
    # TaskFlow keys ``inject`` by the symbol an argument is bound to.
    task = Create("boot", rebind={"image": "image_id"}, inject={"image_id": "cirros"})
    assert task.requires == {"flavor"}


def test_inject_keyed_by_the_rebound_symbol_is_what_execute_receives():
    task = Create("boot", rebind={"image": "image_id"}, inject={"image_id": "cirros"}, provides="server")
    result = greenflow.run(LinearFlow("f").add(task), store={"flavor": "tiny"})
    assert result["server"] == "cirros-tiny-1"


@pytest.mark.parametrize("bad", [["image"], "image", 5])
def test_inject_must_be_a_dict(bad):
    with pytest.raises(InvalidOptionError) as info:
        Create("boot", inject=bad)
    assert "atom 'boot': inject must be a dict" in str(info.value)
    assert repr(bad) in str(info.value)


# -- running tasks in a flow ------------------------------------------------------------------------


def test_rebound_and_optional_arguments_reach_execute():
    task = Create("boot", rebind={"image": "image_id"}, provides="server")
    result = greenflow.run(
        LinearFlow("f").add(task), store={"image_id": "cirros", "flavor": "tiny", "count": 3}
    )
    assert result["server"] == "cirros-tiny-3"


def test_optional_argument_keeps_its_default_when_nothing_provides_it():
    task = Create("boot", provides="server")
    result = greenflow.run(LinearFlow("f").add(task), store={"image": "cirros", "flavor": "tiny"})
    assert result["server"] == "cirros-tiny-1"


def test_update_progress_reaches_the_task_notifier_clamped(caplog):
    seen: list[Any] = []

    class Reporting(Task):
        def execute(self):
            self.update_progress(0.5)
            self.update_progress(7)
            self.update_progress(-1)

    task = Reporting("r")
    task.notifier.register(EVENT_UPDATE_PROGRESS, lambda event, details: seen.append(details["progress"]))
    with caplog.at_level("WARNING", logger="greenflow.atoms._task"):
        greenflow.run(LinearFlow("f").add(task))
    assert seen == [0.5, 1.0, 0.0]
    warned = [r.getMessage() for r in caplog.records]
    assert warned == [
        "task 'r' reported progress 7.0, outside 0.0..1.0; using 1.0",
        "task 'r' reported progress -1.0, outside 0.0..1.0; using 0.0",
    ]


def test_update_progress_reaches_the_engine_atom_notifier():
    seen: list[Any] = []

    class Reporting(Task):
        def execute(self):
            self.update_progress(0.25)

    engine = greenflow.load(LinearFlow("f").add(Reporting("r")))
    engine.atom_notifier.register(EVENT_UPDATE_PROGRESS, lambda event, details: seen.append(details))
    engine.run()
    assert [(d["task_name"], d["progress"]) for d in seen] == [("r", 0.25)]


def test_update_progress_outside_an_engine_is_harmless():
    class Reporting(Task):
        def execute(self):
            self.update_progress(0.5)
            return "done"

    assert Reporting("r").execute() == "done"


# -- FunctorTask ------------------------------------------------------------------------------------


def _add(x, y=10):
    return x + y


def test_functor_task_infers_requirements_from_the_function():
    task = FunctorTask(_add, provides="sum")
    assert task.name == f"{__name__}._add"
    assert task.requires == {"x"}
    assert task.optional == {"y"}


def test_functor_task_runs_the_function_and_its_revert():
    reverted: list[Any] = []

    def fail(total):
        raise RuntimeError("no")

    def undo(x, **kwargs):
        reverted.append((x, kwargs["result"]))

    flow = LinearFlow("f").add(
        FunctorTask(_add, provides="total", revert=undo),
        FunctorTask(fail, name="fail"),
    )
    with pytest.raises(RuntimeError, match="no"):
        greenflow.run(flow, store={"x": 1})
    assert reverted == [(1, 11)]


def test_functor_task_execute_must_be_callable():
    with pytest.raises(InvalidOptionError, match=r"FunctorTask needs a callable for execute, got 'add'"):
        FunctorTask("add")


def test_functor_task_revert_must_be_callable():
    with pytest.raises(InvalidOptionError, match=r"FunctorTask revert must be callable, got 3"):
        FunctorTask(_add, revert=3)


def test_functor_task_version_is_recorded():
    assert FunctorTask(_add, version=(2, 1)).version == (2, 1)


# -- MapFunctorTask / ReduceFunctorTask -------------------------------------------------------------


def test_map_functor_task_applies_the_functor_to_each_required_value():
    task = MapFunctorTask(lambda v: v * 2, requires=["a", "b", "c"], provides="doubled", name="double")
    assert task.requires == {"a", "b", "c"}
    result = greenflow.run(LinearFlow("f").add(task), store={"a": 1, "b": 2, "c": 3})
    assert result["doubled"] == [2, 4, 6]


def test_reduce_functor_task_folds_the_required_values_in_order():
    task = ReduceFunctorTask(lambda acc, v: acc + v, requires=["a", "b", "c"], provides="joined", name="join")
    result = greenflow.run(LinearFlow("f").add(task), store={"a": "x", "b": "y", "c": "z"})
    assert result["joined"] == "xyz"


@pytest.mark.parametrize("bad", ["a", ("a" for _ in ()), {"a"}, None])
def test_map_functor_task_requires_must_be_a_list(bad):
    with pytest.raises(InvalidOptionError, match="MapFunctorTask requires must be a list of names"):
        MapFunctorTask(str, requires=bad)


def test_map_functor_task_needs_at_least_one_requirement():
    with pytest.raises(InvalidOptionError, match=r"MapFunctorTask needs at least 1 required names, got \[\]"):
        MapFunctorTask(str, requires=[])


def test_reduce_functor_task_needs_at_least_two_requirements():
    with pytest.raises(
        InvalidOptionError, match=r"ReduceFunctorTask needs at least 2 required names, got \['a'\]"
    ):
        ReduceFunctorTask(max, requires=["a"])


def test_map_functor_task_functor_must_be_callable():
    with pytest.raises(InvalidOptionError, match="MapFunctorTask needs a callable functor, got 4"):
        MapFunctorTask(4, requires=["a"])


def test_map_functor_task_takes_a_dicts_keys_in_order():
    values = {"b": 2, "a": 1}
    task = MapFunctorTask(lambda v: v * 10, requires=values.keys(), provides="tens", name="tens")
    assert greenflow.run(LinearFlow("f").add(task), store=values)["tens"] == [20, 10]


def test_a_bad_argument_is_both_a_type_error_and_a_value_error():
    for caught in (TypeError, ValueError):
        with pytest.raises(caught):
            FunctorTask(2)


def test_a_task_copy_gets_a_notifier_of_its_own():
    def callback(event_type, details):
        pass

    task = FunctorTask(lambda: None, name="t")
    task.notifier.register(EVENT_UPDATE_PROGRESS, callback)
    twin = task.copy()
    assert twin is not task and twin.name == "t"
    task.notifier.deregister_event(EVENT_UPDATE_PROGRESS)
    assert len(twin.notifier) == 1
    assert len(task.copy(retain_listeners=False).notifier) == 0


# -- revert's arguments ---------------------------------------------------------------------------


class NeedsToUndo(Task):
    def execute(self, image):
        raise RuntimeError("boot failed")

    def revert(self, image, volume, result, flow_failures):
        return (image, volume)


def test_what_only_revert_needs_is_required_and_checked_before_the_run():
    from greenflow.exceptions import MissingDependencyError

    task = NeedsToUndo("boot")
    assert task.requires == {"image", "volume"}
    engine = greenflow.load(LinearFlow("f").add(task), store={"image": "cirros"})
    with pytest.raises(MissingDependencyError, match="atom 'boot' requires 'volume'"):
        engine.run()
    assert NeedsToUndo("boot", inject={"volume": "v1"}).requires == {"image"}


def test_revert_binds_an_argument_it_shares_with_execute_as_execute_does():
    task = NeedsToUndo("boot", rebind={"image": "image_id"})
    assert task.revert_rebind["image"] == "image_id"
    assert task.requires == {"image_id", "volume"}
    engine = greenflow.load(LinearFlow("f").add(task), store={"image_id": "cirros", "volume": "v1"})
    with pytest.raises(RuntimeError, match="boot failed"):
        engine.run()
    assert engine.storage.get_revert_result("boot") == ("cirros", "v1")


class Resize(Task):
    """Module level: the test pickles one."""

    def execute(self, volume, size=1):  # type: ignore[no-untyped-def]
        return size


def test_atoms_built_alike_share_what_they_derive_and_generated_callables_cannot_grow_it() -> None:
    from greenflow.atoms import _atom

    first, second = Resize("r1", provides="size"), Resize("r2", provides="size")
    assert first.requires == second.requires == frozenset({"volume"})
    assert first.provides is second.provides and first.save_as is second.save_as
    assert first.rebind == second.rebind == {"volume": "volume", "size": "size"}
    with pytest.raises(TypeError):  # read-only: the bindings are fixed when the atom is made
        first.rebind["volume"] = "other"  # type: ignore[index]
    copy = pickle.loads(pickle.dumps(first))  # process executors and workers pickle atoms
    assert copy.rebind == first.rebind and copy.requires == first.requires
    with pytest.raises(TypeError):
        copy.rebind["volume"] = "other"  # type: ignore[index]
    injected = Resize("r3", provides="size", inject={"volume": "v"})
    assert injected.requires == frozenset() and Resize("r4").requires == frozenset({"volume"})
    # Another provides, another binding: never the first one's.
    other = Resize("r5", provides=("a", "b"), rebind={"volume": "vol"})
    assert other.requires == frozenset({"vol"}) and other.provides == frozenset({"a", "b"})
    # A FunctorTask per lambda: the cache stops at its bound, the atoms are still right.
    for k in range(_atom._TEMPLATES_LIMIT + 50):
        atom = FunctorTask(lambda x, k=k: x + k, name=f"f{k}", provides="y")
        assert atom.requires == frozenset({"x"}) and atom.provides == frozenset({"y"})
    assert len(_atom._TEMPLATES) <= _atom._TEMPLATES_LIMIT
