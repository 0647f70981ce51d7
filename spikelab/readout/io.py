"""Save a fitted readout to HDF5 and load it back, without pickle.

    save_readout(readout, "readout.h5")          # or an open h5py.Group
    r = load_readout("readout.h5")               # predicts exactly as the original

Layout (a file or group): attributes ``format = "spikelab.readout"``, ``format_version``,
``type`` (``LinearReadout`` or ``OnlineReadout``), ``params`` (JSON of ``get_params()``),
``classes_kind`` (``"int"``, ``"float"``, ``"bool"`` or ``"str"``); datasets ``classes``,
``mean`` and ``scale`` (the standardisation, identity when off; log1p is a parameter).

* ``LinearReadout`` (ridge or logistic): ``coef`` [classes or 1, features] and
  ``intercept`` of the fitted scikit-learn classifier; attribute ``alpha_`` (the penalty
  chosen by cross-validation, or the one given).
* ``OnlineReadout``: group ``rule`` with the rule's arrays (``W``, ``b``, and FORCE's ``P``
  or Hebbian's ``seen``) and ``n_updates``; attribute ``history`` (JSON).

A loaded LinearReadout computes ``log1p``, ``(x - mean) / scale`` and
``x @ coef.T + intercept`` as scikit-learn does, so ``predict`` and ``decision_function``
equal the original's bit for bit (tests/readout/test_readout_io.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..fileio import atomic_path, json_safe
from .linear import LinearReadout
from .online import OnlineReadout
from .rules import make_rule

__all__ = ["FORMAT", "FORMAT_VERSION", "load_readout", "readout_arrays", "save_readout"]

FORMAT = "spikelab.readout"
FORMAT_VERSION = 1


class LinearScores:
    """The fitted linear map of a loaded LinearReadout, with scikit-learn's arithmetic:
    optional log1p, then ``(x - mean) / scale``, then ``x @ coef.T + intercept``."""

    def __init__(self, log1p: bool, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray, classes: np.ndarray) -> None:  # fmt: skip
        self.log1p, self.mean, self.scale = log1p, mean, scale
        self.coef, self.intercept, self.classes_ = coef, intercept, classes

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        if self.log1p:
            x = np.log1p(x)
        x = (x - self.mean) / self.scale
        scores = x @ self.coef.T + self.intercept
        return scores.reshape(-1) if scores.shape[1] == 1 else scores

    def predict(self, x: np.ndarray) -> np.ndarray:
        scores = self.decision_function(x)
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]


def readout_arrays(readout: LinearReadout | OnlineReadout) -> dict[str, Any]:
    """The state of a fitted readout as plain values: ``type``, ``params``, ``classes``,
    ``log1p``, ``mean``, ``scale``, ``coef`` [classes or 1, features], ``intercept``;
    enough to predict with numpy alone (``x @ coef.T + intercept`` after the preprocessing)."""
    if isinstance(readout, LinearReadout):
        if not hasattr(readout, "pipeline_"):
            raise ValueError("save_readout needs a fitted readout; call fit(X, y) first")
        if isinstance(readout.pipeline_, LinearScores):  # a loaded readout
            p = readout.pipeline_
            mean, scale, coef, intercept = p.mean, p.scale, p.coef, p.intercept
        else:
            mean, scale = _scaler(readout)
            clf = readout.pipeline_[-1]
            coef, intercept = np.atleast_2d(clf.coef_), np.atleast_1d(clf.intercept_)
    elif isinstance(readout, OnlineReadout):
        if not hasattr(readout, "rule_"):
            raise ValueError("save_readout needs a fitted readout; call fit(X, y) first")
        mean, scale = readout.mean_, readout.scale_
        coef, intercept = readout.rule_.W, readout.rule_.b
    else:
        raise TypeError(
            f"save_readout saves LinearReadout and OnlineReadout, got {type(readout).__name__}"
        )
    return {
        "type": type(readout).__name__,
        "params": json_safe(readout.get_params()),
        "classes": np.asarray(readout.classes_),
        "log1p": bool(readout.log1p),
        "mean": np.asarray(mean, np.float64),
        "scale": np.asarray(scale, np.float64),
        "coef": np.asarray(coef, np.float64),
        "intercept": np.asarray(intercept, np.float64),
    }


def _scaler(readout: LinearReadout) -> tuple[np.ndarray, np.ndarray]:
    n = readout.n_features_in_
    if "scale" in readout.pipeline_.named_steps:
        s = readout.pipeline_.named_steps["scale"]
        return np.asarray(s.mean_, np.float64), np.asarray(s.scale_, np.float64)
    return np.zeros(n), np.ones(n)


def save_readout(readout: LinearReadout | OnlineReadout, target: str | Path | h5py.Group) -> Any:
    """Write a fitted readout to ``target``: a file path (written whole or not at all) or an
    open ``h5py.Group``. Returns the path or the group."""
    state = readout_arrays(readout)
    if isinstance(target, h5py.Group):
        _write(readout, state, target)
        return target
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(path)
    try:
        with h5py.File(tmp, "w") as f:
            _write(readout, state, f)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write(readout: Any, state: dict[str, Any], g: h5py.Group) -> None:
    g.attrs["format"] = FORMAT
    g.attrs["format_version"] = FORMAT_VERSION
    g.attrs["type"] = state["type"]
    g.attrs["params"] = json.dumps(state["params"])
    kind, classes = _encode_classes(state["classes"])
    g.attrs["classes_kind"] = kind
    g.create_dataset("classes", data=classes)
    g.attrs["n_features_in"] = int(readout.n_features_in_)
    for key in ("mean", "scale"):
        g.create_dataset(key, data=state[key])
    if isinstance(readout, LinearReadout):
        g.attrs["alpha_"] = json.dumps(json_safe(readout.alpha_))
        g.create_dataset("coef", data=state["coef"])
        g.create_dataset("intercept", data=state["intercept"])
        return
    rule = g.create_group("rule")
    scalars = {}
    for name, value in vars(readout.rule_).items():
        if isinstance(value, np.ndarray):
            rule.create_dataset(name, data=value)
        else:  # options (lr, alpha, ...) and n_updates
            scalars[name] = json_safe(value)
    rule.attrs["scalars"] = json.dumps(scalars)
    g.attrs["history"] = json.dumps(json_safe(getattr(readout, "history_", [])))


def _encode_classes(classes: np.ndarray) -> tuple[str, np.ndarray]:
    kinds = {"i": "int", "u": "int", "f": "float", "b": "bool"}
    if classes.dtype.kind in kinds:
        return kinds[classes.dtype.kind], classes
    if all(isinstance(c, str) for c in classes.tolist()):
        return "str", np.array([c.encode("utf-8") for c in classes.tolist()], dtype=object)
    raise TypeError(
        f"readout classes must be integers, floats, booleans or strings, got "
        f"{classes.dtype} values such as {classes[:3].tolist()}"
    )


def load_readout(source: str | Path | h5py.Group) -> LinearReadout | OnlineReadout:
    """The readout saved by ``save_readout`` in a file path or an open ``h5py.Group``."""
    if isinstance(source, h5py.Group):
        return _read(source, f"group {source.name!r}")
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"no readout file {path} (spikelab writes it as readout.h5)")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"{path} is not an HDF5 readout file ({e})") from None
    with f:
        return _read(f, str(path))


def _read(g: h5py.Group, where: str) -> LinearReadout | OnlineReadout:
    if g.attrs.get("format") != FORMAT:
        raise ValueError(
            f"{where} is not a spikelab readout (format {g.attrs.get('format')!r}, expected "
            f"{FORMAT!r}); save one with spikelab.readout.save_readout"
        )
    version = g.attrs.get("format_version")
    version = version.item() if isinstance(version, np.generic) else version
    if not isinstance(version, int | np.integer) or not 1 <= int(version) <= FORMAT_VERSION:
        raise ValueError(
            f"{where}: readout format_version {version!r} is not one this spikelab reads "
            f"(1..{FORMAT_VERSION}); upgrade spikelab or save the readout again"
        )
    kind = g.attrs.get("type")
    try:
        if kind == "LinearReadout":
            return _read_linear(g)
        if kind == "OnlineReadout":
            return _read_online(g)
    except (KeyError, TypeError) as e:
        raise ValueError(f"{where}: incomplete or damaged {kind} ({e})") from None
    raise ValueError(f"{where}: unknown readout type {kind!r} (LinearReadout, OnlineReadout)")


def _classes(g: h5py.Group) -> np.ndarray:
    data = g["classes"][()]
    if g.attrs["classes_kind"] == "str":
        return np.array([c.decode("utf-8") if isinstance(c, bytes) else c for c in data])
    return np.asarray(data)


def _read_linear(g: h5py.Group) -> LinearReadout:
    params = json.loads(g.attrs["params"])
    r = LinearReadout(**params)
    classes = _classes(g)
    r.pipeline_ = LinearScores(bool(params["log1p"]), g["mean"][()], g["scale"][()],
                               g["coef"][()], g["intercept"][()], classes)  # fmt: skip
    r.classes_ = classes
    r.n_features_in_ = int(g.attrs["n_features_in"])
    r.alpha_ = json.loads(g.attrs["alpha_"])
    return r


def _read_online(g: h5py.Group) -> OnlineReadout:
    r = OnlineReadout(**json.loads(g.attrs["params"]))
    r.check_params()
    classes = _classes(g)
    rule = make_rule(r.rule, int(g.attrs["n_features_in"]), len(classes))
    for name, ds in g["rule"].items():
        setattr(rule, name, ds[()])
    for name, value in json.loads(g["rule"].attrs["scalars"]).items():
        setattr(rule, name, value)
    history = json.loads(g.attrs["history"])
    return r.restore(classes, g["mean"][()], g["scale"][()], rule, history)
