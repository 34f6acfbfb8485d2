"""Choosing a hub: precedence, validation against monkey patching, and every error.

This process is never monkey-patched: whatever needs a patched process runs in
a fresh interpreter (see :func:`run_python`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import greenflow.hubs as hubs
from greenflow.hubs import HubChoice

pytestmark = pytest.mark.timeout(60)

REPO_ROOT = Path(__file__).resolve().parents[2]
GREENFLOW_VARIABLES = ("GREENFLOW_HUB", "GREENFLOW_CONFIG", "GREENFLOW_ALLOW_UNPATCHED")

# Prepended to every subprocess: warnings are errors, except the deprecation
# warning eventlet prints at import, which it emits unconditionally.
_PRELUDE = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("error")
    warnings.filterwarnings("ignore", message=r"\\s*Eventlet is deprecated", category=Warning)
    import greenflow.hubs as hubs

    def report_error(call):
        try:
            call()
        except hubs.HubError as exc:
            print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        else:
            print(json.dumps({"error": None}))
    """
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in GREENFLOW_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def run_python(code: str, **environment: str) -> Any:
    """Run ``code`` in a fresh interpreter and return the JSON it prints last."""
    env = {k: v for k, v in os.environ.items() if k not in GREENFLOW_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(environment)
    completed = subprocess.run(
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=50,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "greenflow.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


# -- precedence -------------------------------------------------------------


def test_unpatched_process_without_configuration_gets_threading() -> None:
    assert hubs.select_hub() == HubChoice("threading", "default")
    assert hubs.get_hub().name == "threading"


def test_argument_beats_environment_and_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GREENFLOW_HUB", "eventlet")
    monkeypatch.setenv("GREENFLOW_CONFIG", write_config(tmp_path, '[greenflow]\nhub = "gevent"'))
    assert hubs.select_hub("threading") == HubChoice("threading", "argument")
    assert hubs.select_hub_name("threading") == "threading"


def test_environment_beats_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GREENFLOW_HUB", "eventlet")
    monkeypatch.setenv("GREENFLOW_CONFIG", write_config(tmp_path, '[greenflow]\nhub = "gevent"'))
    assert hubs.select_hub() == HubChoice("eventlet", "GREENFLOW_HUB")


def test_config_file_beats_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_config(tmp_path, '[greenflow]\nhub = "gevent"\n[other]\nhub = "eventlet"')
    monkeypatch.setenv("GREENFLOW_CONFIG", path)
    assert hubs.select_hub() == HubChoice("gevent", f"config file {path} (GREENFLOW_CONFIG)")


def test_config_file_edited_in_place_is_read_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_config(tmp_path, '[greenflow]\nhub = "gevent"')
    monkeypatch.setenv("GREENFLOW_CONFIG", path)
    assert hubs.select_hub_name() == "gevent"
    write_config(tmp_path, '[greenflow]\nhub = "eventlet" # longer')
    assert hubs.select_hub_name() == "eventlet"


@pytest.mark.parametrize("text", ["", "[greenflow]\n", "[other]\nhub = 'gevent'\n"])
def test_config_file_without_hub_key_falls_through_to_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str
) -> None:
    monkeypatch.setenv("GREENFLOW_CONFIG", write_config(tmp_path, text))
    assert hubs.select_hub() == HubChoice("threading", "default")


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENFLOW_HUB", "")
    monkeypatch.setenv("GREENFLOW_CONFIG", "")
    assert hubs.select_hub() == HubChoice("threading", "default")


def test_get_hub_returns_one_hub_per_name() -> None:
    assert hubs.get_hub() is hubs.get_hub("threading")


# -- configuration errors ---------------------------------------------------


def test_missing_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("GREENFLOW_CONFIG", str(missing))
    with pytest.raises(hubs.HubConfigError, match=r"GREENFLOW_CONFIG names .*nope\.toml"):
        hubs.select_hub()


def test_invalid_toml_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GREENFLOW_CONFIG", write_config(tmp_path, "[greenflow\nhub = "))
    with pytest.raises(hubs.HubConfigError, match="is not valid TOML"):
        hubs.select_hub()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[greenflow]\nhub = 3\n", r"\[greenflow\] hub must be a string .*got 3"),
        ("greenflow = 'gevent'\n", r"'greenflow' must be a table, got 'gevent'"),
    ],
)
def test_misshapen_config_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, match: str
) -> None:
    monkeypatch.setenv("GREENFLOW_CONFIG", write_config(tmp_path, text))
    with pytest.raises(hubs.HubConfigError, match=match):
        hubs.select_hub()


# -- validation errors in an unpatched process ------------------------------


def test_unknown_name_from_argument_lists_valid_names() -> None:
    with pytest.raises(hubs.UnknownHubError) as info:
        hubs.get_hub("asyncio")
    assert str(info.value) == (
        "unknown hub 'asyncio' requested via argument; valid hubs: eventlet, gevent, threading"
    )


def test_unknown_name_from_config_file_names_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write_config(tmp_path, '[greenflow]\nhub = "Gevent"')
    monkeypatch.setenv("GREENFLOW_CONFIG", path)
    with pytest.raises(hubs.UnknownHubError, match=f"'Gevent' requested via config file {path}"):
        hubs.get_hub()


def test_green_hub_from_environment_in_unpatched_process_says_how_to_patch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GREENFLOW_HUB", "gevent")
    with pytest.raises(hubs.HubNotPatchedError) as info:
        hubs.get_hub()
    assert str(info.value) == (
        "hub 'gevent' requested via GREENFLOW_HUB but the process is not monkey-patched by"
        " gevent; call greenflow.hubs.patch('gevent') at the very top of your program"
    )


def test_green_hub_from_argument_in_unpatched_process_is_refused() -> None:
    with pytest.raises(hubs.HubNotPatchedError, match="'eventlet' requested via argument"):
        hubs.get_hub("eventlet")


@pytest.mark.parametrize("name", ["threading", "asyncio"])
def test_patch_takes_only_green_hub_names(name: str) -> None:
    with pytest.raises(hubs.UnknownHubError, match=f"cannot patch for hub '{name}'"):
        hubs.patch(name)


def test_threading_hub_counts_as_patched_when_nothing_is_patched() -> None:
    hub = hubs.get_hub("threading")
    assert hub.patched() is True
    assert hubs.active_patching() is None


# -- processes patched by gevent or eventlet --------------------------------


def test_importing_greenflow_imports_no_green_library_and_patches_nothing() -> None:
    result = run_python(
        """
        import greenflow.executors
        print(json.dumps({
            "imported": sorted(m for m in ("gevent", "eventlet") if m in sys.modules),
            "hub": hubs.get_hub().name,
        }))
        """
    )
    assert result == {"imported": [], "hub": "threading"}


@pytest.mark.parametrize("name", ["gevent", "eventlet"])
def test_patched_process_detects_its_hub(name: str) -> None:
    result = run_python(
        f"""
        hubs.patch({name!r})
        hubs.patch({name!r})  # idempotent
        hub = hubs.get_hub()
        print(json.dumps({{
            "name": hub.name, "green": hub.is_green, "patched": hub.patched(),
            "source": hubs.select_hub().source, "explicit": hubs.get_hub({name!r}) is hub,
        }}))
        """
    )
    assert result == {
        "name": name,
        "green": True,
        "patched": True,
        "source": f"detected {name} monkey patching",
        "explicit": True,
    }


def test_other_green_hub_than_patched_is_a_mismatch_naming_both() -> None:
    result = run_python(
        """
        hubs.patch("gevent")
        report_error(lambda: hubs.get_hub("eventlet"))
        """
    )
    assert result["error"] == "HubMismatchError"
    assert result["message"].startswith(
        "hub 'eventlet' requested via argument but the process is monkey-patched by gevent"
    )


def test_mismatch_from_environment_names_the_variable() -> None:
    result = run_python(
        """
        hubs.patch("eventlet")
        report_error(hubs.get_hub)
        """,
        GREENFLOW_HUB="gevent",
    )
    assert result["error"] == "HubMismatchError"
    assert result["message"].startswith(
        "hub 'gevent' requested via GREENFLOW_HUB but the process is monkey-patched by eventlet"
    )


def test_patching_for_a_second_library_is_refused() -> None:
    result = run_python(
        """
        hubs.patch("gevent")
        report_error(lambda: hubs.patch("eventlet"))
        """
    )
    assert result == {
        "error": "HubMismatchError",
        "message": "cannot patch the process for 'eventlet': it is already monkey-patched by"
        " gevent; a process can be patched by one library only",
    }


def test_threading_hub_in_patched_process_is_refused() -> None:
    result = run_python(
        """
        hubs.patch("gevent")
        report_error(lambda: hubs.get_hub("threading"))
        """
    )
    assert result["error"] == "HubMismatchError"
    assert "hub 'threading' requested via argument" in result["message"]
    assert "monkey-patched by gevent" in result["message"]
    assert "allow_unpatched=True" in result["message"]


def test_threading_hub_in_patched_process_with_opt_in() -> None:
    result = run_python(
        """
        hubs.patch("eventlet")
        by_argument = hubs.get_hub("threading", allow_unpatched=True).name
        import os
        os.environ["GREENFLOW_ALLOW_UNPATCHED"] = "1"
        by_environment = hubs.get_hub("threading").name
        print(json.dumps([by_argument, by_environment]))
        """
    )
    assert result == ["threading", "threading"]


def test_argument_false_overrides_allow_unpatched_environment() -> None:
    result = run_python(
        """
        hubs.patch("gevent")
        report_error(lambda: hubs.get_hub("threading", allow_unpatched=False))
        """,
        GREENFLOW_ALLOW_UNPATCHED="1",
    )
    assert result["error"] == "HubMismatchError"


def test_allow_unpatched_must_be_a_boolean() -> None:
    result = run_python(
        """
        hubs.patch("gevent")
        report_error(lambda: hubs.get_hub("threading"))
        """,
        GREENFLOW_ALLOW_UNPATCHED="maybe",
    )
    assert result == {
        "error": "HubConfigError",
        "message": "GREENFLOW_ALLOW_UNPATCHED='maybe' is not a boolean; use 1 (allow) or 0 (refuse)",
    }


def test_missing_library_says_which_extra_to_install() -> None:
    result = run_python(
        """
        sys.modules["gevent"] = None  # what an uninstalled package looks like to import
        report_error(lambda: hubs.patch("gevent"))
        """
    )
    assert result["error"] == "HubUnavailableError"
    assert result["message"].endswith("install it with: pip install greenflow[gevent]")
