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
