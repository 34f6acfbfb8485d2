"""The ``Atom`` base: names, what it requires and provides, and how arguments bind.

An atom's requirements are inferred once, at construction, from its
``execute`` signature; ``rebind``, ``requires`` and ``inject`` adjust them.
The compiler later maps each required symbol to the atom (or injected value)
that provides it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final, NamedTuple

from greenflow.exceptions import InvalidOptionError

__all__ = ["Atom", "SaveAs", "infer_arguments"]

#: Argument names the engine passes itself; never looked up in storage.
_RESERVED_REVERT_ARGS: Final = frozenset({"result", "flow_failures"})
_RESERVED_RETRY_ARGS: Final = frozenset({"history"})


#: What an atom given no ``inject`` has as its ``inject``.
_NO_INJECT: Final[Mapping[str, Any]] = MappingProxyType({})

_SIGNATURES: dict[Any, tuple[tuple[str, ...], frozenset[str], bool, frozenset[str]]] = {}
# What atoms built alike have alike (what they provide, their argument bindings, what they
# require when nothing is injected), per (execute, revert, skipped args, options): a flow
# built per request then costs a lookup per atom. Bounded: atoms of generated classes or
# callables (a FunctorTask per lambda) cannot grow it, nor keep those alive.
_TEMPLATES: dict[Any, _Template] = {}
_TEMPLATES_LIMIT: Final = 4096


def infer_arguments(
    func: Callable[..., Any], skip: frozenset[str] = frozenset()
) -> tuple[tuple[str, ...], frozenset[str], bool]:
    """Return ``(names, optional, takes_kwargs)`` for ``func``'s named parameters.

    ``names`` keeps declaration order; ``optional`` are those with defaults;
    ``*args`` and ``**kwargs`` are not requirements (``takes_kwargs`` reports the latter).
    Results are cached per underlying function: building many atoms of one
    class reads its signature once.
    """
    key = (getattr(func, "__func__", func), skip)
    try:
        cached = _SIGNATURES[key]
    except (KeyError, TypeError):
        cached = None
    if cached is None:
        cached = _read_signature(func, skip)
        try:
            _SIGNATURES[key] = cached
        except TypeError:  # unhashable callable: nothing to cache
            pass
    return cached[0], cached[1], cached[2]


def _read_signature(
    func: Callable[..., Any], skip: frozenset[str]
) -> tuple[tuple[str, ...], frozenset[str], bool, frozenset[str]]:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError(f"cannot read the signature of {func!r}: {exc}") from exc
    names: list[str] = []
    optional: set[str] = set()
    takes_kwargs = False
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            takes_kwargs = True
            continue
        if p.kind is p.VAR_POSITIONAL or p.name in skip:
            continue
        names.append(p.name)
        if p.default is not p.empty:
            optional.add(p.name)
    return tuple(names), frozenset(optional), takes_kwargs, skip


# Immutable values many atoms have alike (what they provide and require), kept once:
# a flow built per request then shares them. Bounded, so generated names cannot grow it.
_SHARED: dict[Any, Any] = {}
_SHARED_LIMIT: Final = 4096


def _shared(value: Any) -> Any:
    """``value``, or the equal value seen before (for frozensets and tuples of hashables)."""
    try:
        found = _SHARED.get(value)
    except TypeError:  # unhashable items (a provides key): nothing to share
        return value
    if found is not None:
        return found
    if len(_SHARED) < _SHARED_LIMIT:
        _SHARED[value] = value
    return value


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a binding option (raises TypeError if it has none)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ("dict", tuple(value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(value))
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(value))
    return ("other", value)


class SaveAs(Mapping[str, Any]):
    """What an atom saves of its result: ``{symbol: position or key in the result, or None}``.

    ``None`` saves the whole result under the symbol. Read-only, hashable and
    picklable, so atoms alike share one (flows built per request then cost
    less), and it can be part of a flow's shape.
    """

    __slots__ = ("_items", "_map")

    def __init__(self, items: Iterable[tuple[str, Any]] = ()) -> None:
        self._items: tuple[tuple[str, Any], ...] = tuple(items)
        self._map: dict[str, Any] = dict(self._items)

    def __getitem__(self, symbol: str) -> Any:
        return self._map[symbol]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SaveAs):
            return self._items == other._items
        return super().__eq__(other)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SaveAs, (self._items,))

    def __repr__(self) -> str:
        return f"SaveAs({self._map!r})"


def _requires(mappings: tuple[Any, ...], inject_keys: Mapping[str, Any]) -> frozenset[str]:
    """The symbols an atom with these bindings must get from storage, given what it injects.

    Not optional and not injected by the atom (``inject`` may be keyed by the argument or,
    as in TaskFlow, by the symbol it is bound to); what revert needs counts too: a revert
    must not fail for a missing input.
    """
    rebind_map, optional, _, _, _, _, revert_map, revert_optional = mappings
    needed: frozenset[str] = _shared(
        frozenset(
            sym
            for arg, sym in rebind_map.items()
            if arg not in optional and arg not in inject_keys and sym not in inject_keys
        )
        | frozenset(
            sym
            for arg, sym in revert_map.items()
            if arg not in revert_optional and arg not in inject_keys and sym not in inject_keys
        )
    )
    return needed


def _normalise_provides(atom_name: str, provides: Any) -> SaveAs:
    """Map ``provides`` to ``((symbol, index_or_key_or_None), ...)``.

    A string provides the whole result; a list or tuple names the result's
    items by position; a set names the result's items by key (a dict result).
    """
    if provides is None:
        return SaveAs()
    if isinstance(provides, str):
        return SaveAs(((provides, None),))
    if isinstance(provides, (list, tuple)):
        _check_names(atom_name, "provides", provides)
        return SaveAs((name, i) for i, name in enumerate(provides))
    if isinstance(provides, (set, frozenset)):
        _check_names(atom_name, "provides", provides)
        return SaveAs((name, name) for name in sorted(provides))
    raise InvalidOptionError(
        f"Atom provides must be a string, a list/tuple or a set of strings (atom {atom_name!r}), "
        f"got {type(provides).__name__} {provides!r}"
    )


def _check_names(atom_name: str, what: str, names: Iterable[Any]) -> None:
    for name in names:
        if not isinstance(name, str):
            raise InvalidOptionError(
                f"atom {atom_name!r}: every name in {what} must be a string, got {name!r}"
            )


class _Template(NamedTuple):
    """Everything ``Atom.__init__`` derives from an atom's class and options (not its name)."""

    save_as: Any
    provides: frozenset[str]
    mappings: tuple[Any, ...]
    #: What the atom requires when it injects nothing (else it is worked out per atom).
    requires: frozenset[str]
    #: Read-only views of the bindings, shared by every atom made from this template.
    rebind: Mapping[str, str]
    revert_rebind: Mapping[str, str]
    revert_mapping: Mapping[str, str]


class Atom:
    """A unit of work in a flow: something the engine executes and can revert.

    Subclasses (``Task``, ``Retry``) define ``execute``; an atom's arguments are
    looked up by name in the results of earlier atoms and in injected values
    (a value injected into the engine, with ``store=`` or ``storage.inject()``
    before the run, is preferred to an earlier atom's result of that name).

    ``rebind`` maps argument names to other symbols: a list binds the required
    arguments in order, a dict maps ``{argument: symbol}``. ``requires`` adds
    requirements that are passed as keyword arguments. ``inject`` gives an
    argument a fixed value for this atom only.
    """

    #: What the atom provides when ``provides`` is not given.
    default_provides: ClassVar[Any] = None
    #: Of the atoms ready to run at the same time, those of higher priority start first
    #: (set it on the class or on an atom; it is read when the atoms become ready).
    priority: int = 0
    _skip_args: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        name: str | None = None,
        provides: Any = None,
        requires: Any = None,
        auto_extract: bool = True,
        rebind: Any = None,
        inject: Mapping[str, Any] | None = None,
        ignore_list: Iterable[str] | None = None,
        revert_rebind: Any = None,
        revert_requires: Any = None,
    ) -> None:
        if name is None:
            cls = type(self)
            name = f"{cls.__module__}.{cls.__qualname__}"
        if not isinstance(name, str) or not name:
            raise InvalidOptionError(f"atom name must be a non-empty string, got {name!r}")
        self.name: str = name
        self.version: tuple[int, int] = getattr(self, "version", (1, 0))
        if provides is None:
            provides = self.default_provides
        if inject is not None and not isinstance(inject, Mapping):
            raise InvalidOptionError(f"atom {name!r}: inject must be a dict, got {inject!r}")
        # No injection: the one read-only empty mapping (an empty dict per atom is 64 bytes,
        # kept by every engine in flight; TaskFlow's default is None, as read-only as this).
        self.inject: Mapping[str, Any] = dict(inject) if inject else _NO_INJECT
        execute_fn = self._execute_callable()
        revert_fn = self._revert_callable()
        key: Any
        try:
            key = (
                getattr(execute_fn, "__func__", execute_fn),
                getattr(revert_fn, "__func__", revert_fn),
                self._skip_args,
                auto_extract,
                provides if provides is None or type(provides) is str else _freeze(provides),
            )
            if not (
                requires is None
                and rebind is None
                and ignore_list is None
                and revert_rebind is None
                and revert_requires is None
            ):
                key += (
                    _freeze(requires),
                    _freeze(rebind),
                    _freeze(ignore_list),
                    _freeze(revert_rebind),
                    _freeze(revert_requires),
                )
            template = _TEMPLATES.get(key)
        except TypeError:  # an unhashable option or callable: derive without the cache
            key, template = None, None
        if template is None:
            save_as: SaveAs = _shared(_normalise_provides(name, provides))
            mappings = self._derive_mappings(
                execute_fn,
                revert_fn,
                requires,
                rebind,
                ignore_list,
                auto_extract,
                revert_rebind,
                revert_requires,
            )
            template = _Template(
                save_as,
                _shared(frozenset(save_as)),
                mappings,
                _requires(mappings, {}),
                MappingProxyType(mappings[0]),
                MappingProxyType(mappings[3]),
                MappingProxyType(mappings[6]),
            )
            if key is not None and len(_TEMPLATES) < _TEMPLATES_LIMIT:
                _TEMPLATES[key] = template
        self.save_as = template.save_as
        self.provides: frozenset[str] = template.provides
        (
            _,
            self.optional,
            self.takes_kwargs,
            _,
            self.revert_optional,
            self.revert_takes_kwargs,
            _,
            self.revert_optional_args,
        ) = template.mappings
        # Read-only, and shared by the atoms built alike: an atom's bindings are fixed when it
        # is made (a compiled graph, shared by flows of one shape, was made from them).
        self.rebind: Mapping[str, str] = template.rebind
        self.revert_rebind: Mapping[str, str] = template.revert_rebind
        #: What ``revert`` receives: the execute arguments (when it can take them) plus its own.
        self.revert_mapping: Mapping[str, str] = template.revert_mapping
        #: Symbols that must come from storage (not optional, not atom-injected).
        self.requires: frozenset[str] = (
            _requires(template.mappings, self.inject) if self.inject else template.requires
        )

    #: The attributes that hold read-only views of the bindings (plain dicts when pickled).
    _BINDING_VIEWS: ClassVar[tuple[str, ...]] = ("rebind", "revert_rebind", "revert_mapping")

    def __getstate__(self) -> dict[str, Any]:
        """The atom's attributes, its binding views as dicts (a view cannot be pickled)."""
        state = dict(self.__dict__)
        if state.get("inject") is _NO_INJECT:
            state["inject"] = {}
        for name in self._BINDING_VIEWS:
            if isinstance(state.get(name), MappingProxyType):
                state[name] = dict(state[name])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("inject") == {}:
            state["inject"] = _NO_INJECT
        for name in self._BINDING_VIEWS:
            if isinstance(state.get(name), dict):
                state[name] = MappingProxyType(state[name])
        self.__dict__.update(state)

    def _derive_mappings(
        self,
        execute_fn: Callable[..., Any],
        revert_fn: Callable[..., Any] | None,
        requires: Any,
        rebind: Any,
        ignore_list: Iterable[str] | None,
        auto_extract: bool,
        revert_rebind: Any,
        revert_requires: Any,
    ) -> tuple[Any, ...]:
        """Everything argument binding derives from the signatures and options (cacheable)."""
        rebind_map, optional, takes_kwargs = self._build_mapping(
            execute_fn, requires, rebind, ignore_list, auto_extract, "rebind"
        )
        revert_rebind_map, revert_optional, revert_takes_kwargs = self._build_mapping(
            revert_fn,
            revert_requires,
            revert_rebind,
            ignore_list,
            auto_extract,
            "revert_rebind",
            extra_skip=_RESERVED_REVERT_ARGS,
        )
        if revert_rebind is None:
            # An argument revert shares with execute is bound as execute's is (its rebind).
            for arg in revert_rebind_map:
                if arg in rebind_map:
                    revert_rebind_map[arg] = rebind_map[arg]
        revert_map = {**rebind_map, **revert_rebind_map} if revert_takes_kwargs else dict(revert_rebind_map)
        # Revert arguments that may be missing: the ones with a default (in revert's
        # signature, or in execute's for what revert receives through **kwargs).
        revert_optional_args = frozenset(
            a for a in revert_map if (a in revert_optional if a in revert_rebind_map else a in optional)
        )
        return (
            rebind_map,
            optional,
            takes_kwargs,
            revert_rebind_map,
            revert_optional,
            revert_takes_kwargs,
            revert_map,
            revert_optional_args,
        )

    def _execute_callable(self) -> Callable[..., Any]:
        return self.execute  # type: ignore[attr-defined, no-any-return]

    def _revert_callable(self) -> Callable[..., Any] | None:
        return getattr(self, "revert", None)

    def _build_mapping(
        self,
        func: Callable[..., Any] | None,
        requires: Any,
        rebind: Any,
        ignore_list: Iterable[str] | None,
        auto_extract: bool,
        rebind_label: str,
        extra_skip: frozenset[str] = frozenset(),
    ) -> tuple[dict[str, str], frozenset[str], bool]:
        """Return ``({argument: symbol}, optional arguments, takes **kwargs)``."""
        name = self.name
        skip = self._skip_args | extra_skip | frozenset(ignore_list or ())
        if func is not None and auto_extract:
            arg_names, optional, takes_kwargs = infer_arguments(func, skip)
        else:
            arg_names, optional, takes_kwargs = (), frozenset(), True
        mapping = {arg: arg for arg in arg_names}
        if requires is not None:
            if isinstance(requires, str):
                requires = (requires,)
            if not isinstance(requires, (list, tuple, set, frozenset)):
                raise InvalidOptionError(
                    f"atom {name!r}: requires must be a string or a collection of strings, got {requires!r}"
                )
            _check_names(name, "requires", requires)
            for sym in requires:
                if sym not in mapping and not takes_kwargs and func is not None and auto_extract:
                    raise InvalidOptionError(
                        f"Extra arguments given to atom {name!r}: it requires {sym!r}, but its "
                        f"{getattr(func, '__name__', 'execute')}() accepts no argument named {sym!r} "
                        f"and no **kwargs"
                    )
                mapping.setdefault(sym, sym)
                optional = optional - {sym}
        if rebind is not None:
            if isinstance(rebind, (list, tuple)):
                _check_names(name, rebind_label, rebind)
                positional = list(mapping)
                if len(rebind) > len(positional):
                    if not takes_kwargs:
                        raise InvalidOptionError(
                            f"Extra arguments given to atom {name!r}: {rebind_label} lists {len(rebind)} "
                            f"symbols {list(rebind)!r} "
                            f"but the callable takes only {len(positional)} arguments {positional!r}"
                        )
                    positional += list(rebind[len(positional) :])
                for arg, sym in zip(positional, rebind, strict=False):
                    mapping[arg] = sym
            elif isinstance(rebind, Mapping):
                _check_names(name, rebind_label, rebind.values())
                for arg, sym in rebind.items():
                    if arg not in mapping and not takes_kwargs:
                        raise InvalidOptionError(
                            f"Extra arguments given to atom {name!r}: {rebind_label} names argument {arg!r}, "
                            f"which the callable "
                            f"does not accept (it takes {list(mapping)!r})"
                        )
                    mapping[arg] = sym
            else:
                raise InvalidOptionError(
                    f"Invalid rebind value for atom {name!r}: {rebind_label} must be a list, tuple or dict, "
                    f"got {rebind!r}"
                )
        if func is not None and not auto_extract and rebind_label == "rebind":
            # Without inference only what requires/rebind name is passed: execute() must get the rest.
            arg_names, with_defaults, _ = infer_arguments(func, skip)
            missing = [a for a in arg_names if a not in with_defaults and a not in mapping]
            if missing:
                raise InvalidOptionError(
                    f"Missing arguments for atom {name!r}: {getattr(func, '__name__', 'execute')}() "
                    f"needs {missing!r}, which neither requires nor rebind names (auto_extract=False)"
                )
        return mapping, optional, takes_kwargs

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
