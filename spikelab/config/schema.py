"""The machinery of strict config sections: a section is a frozen dataclass whose fields are
its keys; ``from_dict`` rejects a key it does not have, naming the key, the section and the
closest valid key (``difflib``). ``ChoiceSection``: keys that depend on a choice (a builder,
a backend, a readout kind). ``TaskConfig``: the top level of a task's config."""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import os
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, TypeVar

S = TypeVar("S", bound="Section")


class ConfigError(ValueError):
    """A config that cannot run: an unknown section or key, or a value out of range."""


def closest(key: str, valid: Iterable[str]) -> str | None:
    """The valid key most like ``key`` (difflib), or None when none is close."""
    found = difflib.get_close_matches(str(key), sorted(valid), n=1)
    return found[0] if found else None


def unknown_key(key: str, where: str, valid: Iterable[str], note: str = "") -> ConfigError:
    """``unknown key 'x' in [where]; did you mean 'y'? valid keys: ...``."""
    valid = sorted(valid)
    near = closest(key, valid)
    hint = f"; did you mean {near!r}?" if near else ";"
    return ConfigError(
        f"unknown key {key!r} in [{where}]{note}{hint} valid keys: {', '.join(valid) or 'none'}"
    )


def check_keys(
    raw: Mapping[str, Any],
    valid: Iterable[str],
    where: str,
    note: str = "",
    tolerated: Iterable[str] = (),
) -> None:
    """Raise ``unknown_key`` for the first key of ``raw`` neither valid nor tolerated."""
    valid, allowed = set(valid), set(valid) | set(tolerated)
    unknown = sorted(k for k in raw if k not in allowed)
    if unknown:
        err = unknown_key(unknown[0], where, valid, note)
        if len(unknown) > 1:
            err = ConfigError(f"{err} (also unknown: {', '.join(map(repr, unknown[1:]))})")
        raise err


def table(value: Any, where: str) -> dict[str, Any]:
    """``value`` as a dict, or an error saying the section must be a table."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"config section [{where}] must be a table, got {value!r}")
    return dict(value)


def plain(value: Any) -> Any:
    """A value as TOML holds it: sections as dicts, tuples as lists, paths as strings."""
    if isinstance(value, Section):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


# ---- value types: exact, from the annotations ---------------------------------------------
def type_hints(target: Any) -> dict[str, Any]:
    """The resolved annotations of a dataclass or callable ({} when they cannot be read)."""
    try:
        return typing.get_type_hints(target)
    except Exception:  # noqa: BLE001 - an unresolvable annotation is simply not checked
        return {}


def _union_args(hint: Any) -> tuple[Any, ...] | None:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return None


def checked(key: str, value: Any, hint: Any) -> Any:
    """``value`` checked against the annotation ``hint`` (int, float, bool, str, their
    ``| None`` and tuples of them); anything else is passed on as is. An int takes a float
    only when it is whole (64.0 -> 64, 64.7 is an error), never a boolean; a float must be a
    finite number; ``key`` (e.g. ``reservoir.n_neurons``) names the value in the error."""
    args = _union_args(hint)
    if args is not None:
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        return checked(key, value, rest[0]) if len(rest) == 1 else value
    if hint is int:
        return _as_int(key, value)
    if hint is float:
        return _as_float(key, value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if hint is str and not isinstance(value, str | os.PathLike):
        raise ConfigError(f"{key} must be a string, got {value!r}")
    if typing.get_origin(hint) is tuple:
        return _as_tuple(key, value, typing.get_args(hint))
    return value


def _as_int(key: str, value: Any) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if math.isfinite(value) and float(value).is_integer():
            return int(value)
    raise ConfigError(f"{key} must be an integer, got {value!r}")


def _as_float(key: str, value: Any) -> float | int:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
        return value
    raise ConfigError(f"{key} must be a number, got {value!r}")


def _as_tuple(key: str, value: Any, args: tuple[Any, ...]) -> Any:
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{key} must be a list, got {value!r}")
    if len(args) == 2 and args[1] is Ellipsis:
        args = (args[0],) * len(value)
    if not args or len(args) != len(value):
        return value  # the section (or its target) checks the length
    items = [checked(f"{key}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args, strict=True))]
    return tuple(items) if isinstance(value, tuple) else items


def at_least(key: str, value: Any, low: float) -> None:
    """ConfigError unless the number ``value`` is >= ``low`` (a range check of a section)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value < low:
        raise ConfigError(f"{key} must be >= {low}, got {value!r}")


def positive_numbers(key: str, value: Any) -> None:
    """ConfigError unless ``value`` is a finite number > 0 or a non-empty list of them."""
    items = value if isinstance(value, list | tuple) else [value]
    ok = bool(items) and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0
        for v in items
    )
    if not ok:
        raise ConfigError(f"{key} must be a number > 0 or a non-empty list of them, got {value!r}")


# ---- sections ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    """A config table as a frozen dataclass: its fields are its keys, with their defaults.

    ``NESTED`` names fields that are sections themselves; ``FREE`` fields that are
    free-form tables. ``from_dict(raw, base=...)`` overlays ``raw`` on ``base`` (by default
    the dataclass's defaults); ``__post_init__`` checks values.
    """

    NAME: ClassVar[str] = ""
    NESTED: ClassVar[Mapping[str, type[Section]]] = {}
    FREE: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(
        cls: type[S],
        raw: Mapping[str, Any] | None = None,
        *,
        base: S | None = None,
        where: str = "",
    ) -> S:
        """The section read from its table ``raw``, overlaid on ``base`` (default: the
        dataclass's defaults); ``where`` names it in errors (default: ``NAME``)."""
        where = where or cls.NAME
        return cls.overlay(table(raw, where), cls() if base is None else base, where)

    @classmethod
    def overlay(cls: type[S], raw: dict[str, Any], base: S, where: str) -> S:
        """``raw`` (a table) over ``base``, every key checked."""
        check_keys(raw, cls.keys(), where)
        return replace(base, **{k: cls.field_value(k, v, base, where) for k, v in raw.items()})

    @classmethod
    def field_value(cls, key: str, value: Any, base: Section, where: str) -> Any:
        inner = f"{where}.{key}" if where else key
        if key in cls.NESTED:
            return cls.NESTED[key].from_dict(value, base=getattr(base, key), where=inner)
        if key in cls.FREE:
            return table(value, inner)
        return checked(inner, value, type_hints(cls).get(key))

    @classmethod
    def coerce(cls: type[S], value: S | Mapping[str, Any] | None) -> S:
        """A section as is, or read from its table."""
        return value if isinstance(value, cls) else cls.from_dict(value)

    def kwargs(self) -> dict[str, Any]:
        """The fields that are set (not None), as they are: keyword arguments."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }

    def to_dict(self) -> dict[str, Any]:
        """The section as plain TOML values (unset fields left out)."""
        return {k: plain(v) for k, v in self.kwargs().items()}

    def set_tuple(self, *names: str) -> None:
        """Store list values (from TOML) of the fields ``names`` as tuples."""
        for name in names:
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True)
class ChoiceSection(Section):
    """A section whose valid keys depend on a choice (its ``CHOICE`` key, e.g. ``builder``).

    The keys beyond the dataclass's fields are ``params``, checked against ``options(choice)``
    (None: anything goes, the target checks). Changing the choice starts from the choice's
    own preset instead of ``base``.
    """

    CHOICE: ClassVar[str] = "kind"

    @property
    def choice(self) -> Any:
        return getattr(self, self.CHOICE)

    @classmethod
    def options(cls, choice: Any) -> list[str] | None:
        raise NotImplementedError

    @classmethod
    def option_types(cls, choice: Any) -> dict[str, Any]:
        """The annotations of the options of ``choice`` (checked like fields); {}: none."""
        return {}

    @classmethod
    def tolerated(cls, choice: Any) -> set[str]:
        """Keys accepted beside the options (which the target then ignores with a warning)."""
        return set()

    @classmethod
    def preset(cls: type[S], choice: Any) -> S:
        return cls(**{cls.CHOICE: choice})

    @classmethod
    def overlay(cls: type[S], raw: dict[str, Any], base: S, where: str) -> S:
        """``raw`` over ``base``, its keys checked against the options of its choice."""
        choice = raw.get(cls.CHOICE, base.choice)
        fixed = [k for k in cls.keys() if k != "params"]
        opts = cls.options(choice)
        if opts is not None:
            note = f" ({cls.CHOICE} {choice!r})"
            check_keys(raw, fixed + opts, where, note, cls.tolerated(choice))
        start = base if choice == base.choice else cls.preset(choice)
        hints = cls.option_types(choice) if opts is not None else {}
        given = {k: checked(f"{where}.{k}", v, hints.get(k)) for k, v in raw.items()}
        params = {**start.params, **{k: v for k, v in given.items() if k not in fixed}}
        values = {k: cls.field_value(k, raw[k], base, where) for k in fixed if k in raw}
        return replace(start, **values, params=params)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        params = out.pop("params", {})
        return {**out, **params}


def signature_options(target: Any, skip: Iterable[str] = ()) -> list[str]:
    """Keyword parameters of a callable (a class: of its ``__init__``), minus ``skip``."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = inspect.signature(target).parameters.values()
    return [p.name for p in params if p.kind in kinds and p.name not in set(skip)]


def takes_any_keyword(target: Any) -> bool:
    params = inspect.signature(target).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


@dataclass(frozen=True)
class TaskConfig(Section):
    """The top level of a task's config: its ``task`` name, keys and sections."""

    TASK: ClassVar[str] = ""

    @classmethod
    def overlay(cls: type[S], raw: dict[str, Any], base: S, where: str) -> S:
        """The whole config: an unknown top-level key or section is named as such."""
        unknown = sorted(k for k in raw if k not in cls.keys())
        if unknown:
            raise cls.unknown_top_level(unknown[0], raw[unknown[0]])
        return super().overlay(raw, base, where)

    @classmethod
    def unknown_top_level(cls, key: str, value: Any) -> ConfigError:
        sections = sorted([*cls.NESTED, *cls.FREE])
        keys = sorted(k for k in cls.keys() if k not in sections)
        if isinstance(value, Mapping):
            near = closest(key, sections)
            hint = f"; did you mean [{near}]?" if near else ";"
            what = f"unknown config section [{key}] in a {cls.TASK} config{hint}"
        else:
            near = closest(key, keys)
            hint = f"; did you mean {near!r}?" if near else ";"
            what = f"unknown key {key!r} in [top level] of a {cls.TASK} config{hint}"
        return ConfigError(
            f"{what} valid sections: {', '.join(sections)}; top-level keys: {', '.join(keys)}"
        )

    def check_task(self) -> None:
        if self.task != self.TASK:
            raise ConfigError(
                f"{type(self).__name__} needs task = {self.TASK!r}, got {self.task!r}"
            )
