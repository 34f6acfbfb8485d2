"""Choosing the hub: one registry, one precedence order, one validation.

Precedence: the explicit argument > ``GREENFLOW_HUB`` > the ``hub`` key of the
``[greenflow]`` table in the TOML file named by ``GREENFLOW_CONFIG`` > the
monkey patching that is active > ``"threading"``. Each hub is the module
``greenflow.hubs._<name>``, imported only when that hub is asked for (anyio's
backend registry), so gevent and eventlet are never imported needlessly.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from dataclasses import dataclass
from typing import Any, Final, cast

from greenflow.exceptions import (
    HubConfigError,
    HubMismatchError,
    HubNotPatchedError,
    HubUnavailableError,
    UnknownHubError,
)
from greenflow.hubs._base import Hub
from greenflow.hubs._patching import (
    GREEN_HUBS,
    active_patching,
    missing_library_message,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "ALLOW_UNPATCHED_ENV",
    "CONFIG_ENV",
    "HUB_ENV",
    "HUB_NAMES",
    "HubChoice",
    "get_hub",
    "resolve_hub",
    "select_hub",
    "select_hub_name",
]

#: Every valid hub name.
HUB_NAMES: Final = ("eventlet", "gevent", "threading")
#: Environment variable naming the hub.
HUB_ENV: Final = "GREENFLOW_HUB"
#: Environment variable holding the path of a TOML config file.
CONFIG_ENV: Final = "GREENFLOW_CONFIG"
#: Environment variable that, set to ``1``, allows the threading hub in a patched process.
ALLOW_UNPATCHED_ENV: Final = "GREENFLOW_ALLOW_UNPATCHED"

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})

_hubs: dict[str, Hub] = {}
_resolved: dict[tuple[object, ...], Hub] = {}


@dataclass(frozen=True)
class HubChoice:
    """The hub name :func:`select_hub` chose and where the choice came from.

    ``source`` reads well after "requested via": ``"argument"``,
    ``"GREENFLOW_HUB"``, ``"config file /etc/app.toml (GREENFLOW_CONFIG)"``,
    ``"detected gevent monkey patching"`` or ``"default"``.
    """

    name: str
    source: str


def select_hub(explicit: str | None = None) -> HubChoice:
    """Return the hub name to use and its source, following the precedence order.

    Only the name is chosen here; :func:`get_hub` validates it against the
    process. An empty ``GREENFLOW_HUB`` or ``GREENFLOW_CONFIG`` counts as unset.

    Raises:
        HubConfigError: the ``GREENFLOW_CONFIG`` file is missing, not TOML, or
            its ``hub`` value is not a string.
    """
    if explicit is not None:
        return HubChoice(explicit, "argument")
    from_env = os.environ.get(HUB_ENV, "")
    if from_env:
        return HubChoice(from_env, HUB_ENV)
    config_path = os.environ.get(CONFIG_ENV, "")
    if config_path:
        from_config = _hub_from_config(config_path)
        if from_config is not None:
            return HubChoice(from_config, f"config file {config_path} ({CONFIG_ENV})")
    active = active_patching()
    if active is not None:
        return HubChoice(active, f"detected {active} monkey patching")
    return HubChoice("threading", "default")


def select_hub_name(explicit: str | None = None) -> str:
    """Return the hub name to use, following the precedence order of :func:`select_hub`."""
    return select_hub(explicit).name


def get_hub(name: str | None = None, *, allow_unpatched: bool | None = None) -> Hub:
    """Return the process-wide hub named ``name``, or the one :func:`select_hub` chooses.

    The choice is checked against the monkey patching of the process:

    * a green hub (``gevent``, ``eventlet``) needs the process patched by that
      library (see :func:`greenflow.hubs.patch`);
    * ``threading`` is refused in a process patched by gevent or eventlet,
      because its "threads" and locks would silently be green ones. Passing
      ``allow_unpatched=True``, or setting ``GREENFLOW_ALLOW_UNPATCHED=1`` when
      the argument is ``None``, accepts it anyway: the threading hub then uses
      the patched :mod:`threading` module as it is. The opt-in changes nothing
      for green hubs.

    Raises:
        UnknownHubError: the name is not one of :data:`HUB_NAMES`.
        HubNotPatchedError: a green hub is asked for in an unpatched process.
        HubMismatchError: the process is patched by a library other than the one asked for.
        HubUnavailableError: the hub's library is not installed.
        HubConfigError: the configuration (file or variables) is unusable.
    """
    # Engines ask for their hub one by one; the answer depends only on these inputs
    # (patching is irreversible; a config file is read once per path).
    key = (
        name,
        allow_unpatched,
        os.environ.get(HUB_ENV),
        os.environ.get(CONFIG_ENV),
        os.environ.get(ALLOW_UNPATCHED_ENV),
        active_patching(),
    )
    cached = _resolved.get(key)
    if cached is not None:
        return cached
    choice = select_hub(name)
    if choice.name not in HUB_NAMES:
        raise UnknownHubError(
            f"unknown hub {choice.name!r} requested via {choice.source}; valid hubs: {', '.join(HUB_NAMES)}"
        )
    _check_patching(choice, allow_unpatched)
    hub = _hubs.get(choice.name)
    if hub is None:
        hub = _hubs[choice.name] = _load_hub(choice.name)
    _resolved[key] = hub
    return hub


def resolve_hub(hub: Hub | str | None) -> Hub:
    """``hub`` itself when it is a hub object, else ``get_hub(hub)`` (a name, or ``None`` to select).

    Every ``hub=`` argument of greenflow (engines, executors, ``run_many``,
    workers, conductors) goes through here.
    """
    if hub is None or isinstance(hub, str):
        return get_hub(hub)
    return hub


def _check_patching(choice: HubChoice, allow_unpatched: bool | None) -> None:
    active = active_patching()
    if choice.name in GREEN_HUBS:
        if active is None:
            raise HubNotPatchedError(
                f"hub {choice.name!r} requested via {choice.source} but the process is not"
                f" monkey-patched by {choice.name}; call greenflow.hubs.patch({choice.name!r})"
                " at the very top of your program"
            )
        if active != choice.name:
            raise HubMismatchError(
                f"hub {choice.name!r} requested via {choice.source} but the process is"
                f" monkey-patched by {active}; ask for hub {active!r} or patch for"
                f" {choice.name} instead (one library per process)"
            )
    elif active is not None and not _allow_unpatched(allow_unpatched):
        raise HubMismatchError(
            f"hub 'threading' requested via {choice.source} but the process is monkey-patched"
            f" by {active}, so its threads and locks would be {active} green threads; use hub"
            f" {active!r}, or pass allow_unpatched=True (or set {ALLOW_UNPATCHED_ENV}=1)"
            " to use the threading hub anyway"
        )


def _allow_unpatched(explicit: bool | None) -> bool:
    if explicit is not None:
        return explicit
    raw = os.environ.get(ALLOW_UNPATCHED_ENV, "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise HubConfigError(f"{ALLOW_UNPATCHED_ENV}={raw!r} is not a boolean; use 1 (allow) or 0 (refuse)")


def _load_hub(name: str) -> Hub:
    try:
        module = importlib.import_module(f"greenflow.hubs._{name}")
    except ImportError as exc:
        if exc.name in GREEN_HUBS:
            raise HubUnavailableError(missing_library_message(name)) from exc
        raise
    return cast("Hub", module.hub_class())


def _hub_from_config(path: str) -> str | None:
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise HubConfigError(f"{CONFIG_ENV} names {path!r}, which cannot be read: {exc.strerror}") from exc
    return _read_config_hub(path, stat.st_mtime_ns, stat.st_size)


# Keyed on modification time and size so an edited file is read again, while
# get_hub() in a hot path does not parse the file each time.
@functools.lru_cache(maxsize=8)
def _read_config_hub(path: str, mtime_ns: int, size: int) -> str | None:
    try:
        with open(path, "rb") as file:
            config: dict[str, Any] = tomllib.load(file)
    except OSError as exc:
        raise HubConfigError(f"{CONFIG_ENV} names {path!r}, which cannot be read: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:  # TOML files are UTF-8
        raise HubConfigError(f"config file {path} ({CONFIG_ENV}) is not valid TOML: {exc}") from exc
    table = config.get("greenflow", {})
    if not isinstance(table, dict):
        raise HubConfigError(f"config file {path} ({CONFIG_ENV}): 'greenflow' must be a table, got {table!r}")
    hub = table.get("hub")
    if hub is None:
        return None
    if not isinstance(hub, str):
        raise HubConfigError(
            f"config file {path} ({CONFIG_ENV}): [greenflow] hub must be a string"
            f" (one of {', '.join(HUB_NAMES)}), got {hub!r}"
        )
    return hub
