"""Fuzzing of what greenflow reads from outside: worker messages, persisted JSON rows, config files.

Whatever arrives, only the documented exception types may escape:
``ProtocolError`` from the worker protocol decoder, ``StorageError`` from the
record readers, ``HubConfigError`` from the config file reader. A crash with
any other type (``KeyError``, ``TypeError``, ``RecursionError``...) is a bug.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenflow.exceptions import ProtocolError, StorageError
from greenflow.hubs import HubConfigError
from greenflow.persistence import AtomDetail, FlowDetail

pytestmark = pytest.mark.timeout(120)

_KEYS = st.sampled_from(
    [
        "version",
        "type",
        "id",
        "task",
        "name",
        "action",
        "arguments",
        "result",
        "result_failure",
        "failures",
        "state",
        "failure",
        "progress",
        "exception_str",
        "exc_type_names",
        "traceback_str",
        "causes",
        "format",
        "kind",
        "uuid",
        "intention",
        "results",
        "revert_results",
        "revert_failure",
        "meta",
        "atoms",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "request",
            "response",
            "progress",
            "execute",
            "revert",
            "SUCCESS",
            "FAILURE",
            "m:Q",
            "task",
            "retry",
            "PENDING",
            "BOGUS",
            1,
            2,
        ]
    ),
)
#: JSON-ish values whose objects mostly use the field names the readers look for.
JSONISH = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_KEYS, st.text(max_size=8)), inner, max_size=8),
    ),
    max_leaves=30,
)


def _message(base: dict[str, Any]) -> Any:
    """Valid-looking messages with fields dropped, replaced or added."""
    return st.fixed_dictionaries(
        {}, optional={k: st.one_of(st.just(v), JSONISH) for k, v in base.items()}
    ).flatmap(lambda d: st.dictionaries(_KEYS, JSONISH, max_size=3).map(lambda extra: {**extra, **d}))


_FAILURE = {"exception_str": "x", "exc_type_names": ["ValueError"], "traceback_str": ""}
_REQUEST = {
    "version": 1,
    "type": "request",
    "id": "abc",
    "task": "m:Q",
    "name": "a",
    "action": "revert",
    "arguments": {},
    "result": None,
    "result_failure": _FAILURE,
    "failures": {"a": _FAILURE},
}
_RESPONSE = {"version": 1, "type": "response", "id": "abc", "state": "FAILURE", "failure": _FAILURE}


@given(st.one_of(JSONISH, _message(_REQUEST), _message(_RESPONSE)))
def test_the_worker_protocol_decoder_raises_only_protocol_error(body):
    from greenflow.workers import parse_message

    try:
        parse_message(body)
    except ProtocolError as exc:
        assert len(str(exc)) < 2000  # a message never echoes a whole hostile body


_ATOM = {
    "format": 1,
    "kind": "task",
    "uuid": "u",
    "name": "a",
    "state": "SUCCESS",
    "intention": "EXECUTE",
    "results": [1, {"a": _FAILURE}],
    "failure": _FAILURE,
    "revert_results": None,
    "revert_failure": None,
    "meta": {},
    "version": [1, 0],
}


@given(st.one_of(JSONISH, _message(_ATOM), _message({**_ATOM, "kind": "retry"})))
def test_an_atom_detail_record_is_read_or_refused_with_storage_error(data):
    try:
        AtomDetail.from_dict(data)
    except StorageError:
        pass


@given(
    st.one_of(
        JSONISH,
        _message({"format": 1, "uuid": "f", "name": "f", "state": "RUNNING", "meta": {}, "atoms": [_ATOM]}),
    )
)
def test_a_flow_detail_record_is_read_or_refused_with_storage_error(data):
    try:
        FlowDetail.from_dict(data)
    except StorageError:
        pass


def _row_text(value: Any) -> Any:
    return st.one_of(st.just(json.dumps(value)), st.text(max_size=30), st.none(), JSONISH.map(json.dumps))


@given(
    st.fixed_dictionaries(
        {
            "uuid": st.just("u"),
            "name": st.one_of(st.just("a"), st.none()),
            "atom_type": st.sampled_from(["TASK_DETAIL", "RETRY_DETAIL", "BOGUS", None]),
            "state": st.sampled_from(["SUCCESS", "RUNNING", "BOGUS", None, ""]),
            "intention": st.sampled_from(["EXECUTE", "REVERT", "BOGUS", None]),
            "version": st.one_of(st.none(), st.text(max_size=10), st.just("1.0")),
            "results": _row_text([[1, {"a": _FAILURE}]]),
            "failure": _row_text(_FAILURE),
            "revert_results": _row_text(None),
            "revert_failure": _row_text(_FAILURE),
            "meta": _row_text({"k": 1}),
        }
    )
)
def test_an_atomdetails_row_is_read_or_refused_with_storage_error(row):
    pytest.importorskip("sqlalchemy")
    from greenflow.persistence._sql._codec import atom_from_row

    try:
        atom_from_row(row)
    except StorageError as exc:
        assert "'u'" in str(exc)  # names the row


@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        JSONISH.map(lambda v: f"[greenflow]\nhub = {json.dumps(v)}\n".encode()),
    )
)
def test_the_config_file_reader_raises_only_hub_config_error(tmp_path_factory, content):
    from greenflow.hubs._selection import _hub_from_config

    path = tmp_path_factory.mktemp("config") / "greenflow.toml"
    path.write_bytes(content)
    try:
        _hub_from_config(str(path))
    except HubConfigError:
        pass
