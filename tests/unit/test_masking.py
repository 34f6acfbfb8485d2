"""greenflow.masking: passwords never reach a message, a log line or a printed conf."""

from __future__ import annotations

import pytest

from greenflow.masking import mask_conf, mask_text, mask_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgress://u:pw@host/db", "postgress://u:***@host/db"),
        ("amqp://guest:p@ss@127.0.0.1:5672//", "amqp://guest:***@127.0.0.1:5672//"),
        ("mysql+pymysql://root@h/x?password=abc&x=1", "mysql+pymysql://root@h/x?password=***&x=1"),
        ("redis://:tok@h:6379/0", "redis://:***@h:6379/0"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("memory://", "memory://"),
    ],
)
def test_mask_url_hides_the_password_and_keeps_the_rest(url, shown):
    assert mask_url(url) == shown


def test_mask_text_hides_urls_and_assignments_inside_a_message():
    text = "cannot reach 'amqp://guest:hunter2@h//' (dbname=x password=hunter2 host=y)"
    assert "hunter2" not in mask_text(text)
    assert "amqp://guest:***@h//" in mask_text(text)


def test_mask_conf_hides_secret_keys_and_urls_at_any_depth():
    conf = {"url": "amqp://a:b1@c//", "password": "s", "opts": [{"api_token": "t"}], "n": 1}
    assert mask_conf(conf) == {
        "url": "amqp://a:***@c//",
        "password": "***",
        "opts": [{"api_token": "***"}],
        "n": 1,
    }
    assert conf["password"] == "s"  # a copy


# -- every message that echoes a URL or a conf ------------------------------------------------------

SECRET = "hunter2-secret"


def _message_of(call) -> str:
    with pytest.raises(Exception) as info:
        call()
    text = f"{info.value}"
    assert SECRET not in text, text
    return text


def test_an_unknown_backend_scheme_does_not_show_the_password():
    from greenflow.persistence import fetch_backend

    text = _message_of(lambda: fetch_backend(f"postgress://u:{SECRET}@h/db"))
    assert "unknown persistence backend 'postgress'" in text and "u:***@h/db" in text


def test_a_bad_backend_conf_is_echoed_masked():
    from greenflow.persistence import fetch_backend

    _message_of(lambda: fetch_backend({"connection": 5, "password": SECRET}))
    pytest.importorskip("sqlalchemy")
    text = _message_of(
        lambda: fetch_backend({"connection": f"postgresql://u@h/db?password={SECRET}", "bogus": 1})
    )
    assert "bogus" in text


def test_sql_backend_messages_mask_query_string_passwords():
    pytest.importorskip("sqlalchemy")
    from greenflow.persistence._sql import SqlBackend

    backend = SqlBackend({"connection": f"postgresql://u:{SECRET}@127.0.0.1:1/db?password={SECRET}"})
    assert SECRET not in backend.url_text and SECRET not in repr(backend)
    text = _message_of(backend.get_connection)
    assert "127.0.0.1:1" in text


def test_a_url_with_a_text_port_is_a_clear_error():
    pytest.importorskip("sqlalchemy")
    from greenflow.exceptions import InvalidOptionError
    from greenflow.persistence import fetch_backend

    with pytest.raises(InvalidOptionError) as info:
        fetch_backend(f"postgresql://u:{SECRET}@h:port/db")
    assert SECRET not in str(info.value) and "port" in str(info.value)


def test_an_unreachable_broker_is_reported_without_its_password():
    pytest.importorskip("kombu")
    from greenflow.workers import WorkerExecutor

    text = _message_of(lambda: WorkerExecutor(f"amqp://guest:{SECRET}@127.0.0.1:1//", topics=["t"]))
    assert "amqp://guest:***@127.0.0.1:1//" in text


def test_engine_conf_echoed_in_an_error_is_masked():
    from greenflow import LinearFlow, load

    _message_of(lambda: load(LinearFlow("f"), engine_conf={"password": SECRET}))
