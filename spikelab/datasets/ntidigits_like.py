"""A synthetic N-TIDIGITS stand-in: synthesised spoken digits through the cochlea model.

Each split has its own synthetic speakers (train and test never share one), half men,
half women; each speaker says every digit twice (repetitions ``a`` and ``b``, as in
TIDIGITS). Waveforms come from :mod:`spikelab.datasets.speech`, events from
:func:`spikelab.datasets.cochlea.cochlea_spike_times`. The file has N-TIDIGITS' layout (see
:mod:`spikelab.datasets.ntidigits`), so ``tonic.datasets.NTIDIGITS18`` reads it, plus
root attributes saying that it is synthetic and how it was made.

The data are synthetic: accuracies on them test a pipeline, they say nothing about
accuracy on real N-TIDIGITS (see docs/audio.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..fileio import atomic_path
from .cochlea import CochleaConfig, cochlea_spike_times
from .ntidigits import NTIDIGITS_CLASSES, TONIC_FILENAME, TONIC_FOLDER

if TYPE_CHECKING:
    from .speech import Speaker

__all__ = ["FORMAT_VERSION", "generate_ntidigits_like", "resolve_output_file"]

FORMAT_VERSION = 1
_DIGITS = "".join(NTIDIGITS_CLASSES["tonic"])  # "o123456789z"


def resolve_output_file(out_path: str | os.PathLike[str]) -> Path:
    """``out_path`` ending in ``.hdf5``/``.h5`` is the file itself; anything else is a
    folder, and the file goes where tonic looks: ``<out_path>/NTIDIGITS18/n-tidigits.hdf5``."""
    p = Path(out_path).expanduser()
    if p.suffix.lower() in (".hdf5", ".h5"):
        return p
    return p / TONIC_FOLDER / TONIC_FILENAME


def _speakers(seed: int, n_train: int, n_test: int) -> tuple[list[Speaker], list[Speaker]]:
    """Disjoint train and test speakers with unique two-letter ids."""
    from .speech import random_speaker

    letters = "abcdefghijklmnopqrstuvwxyz"
    codes = [a + b for a in letters for b in letters]
    if n_train + n_test > len(codes):
        raise ValueError(
            f"at most {len(codes) // 2} speakers per split fit two-letter ids, asked for "
            f"{n_train} train and {n_test} test speakers; lower per_class"
        )
    order = np.random.default_rng([seed, 0]).permutation(len(codes))
    out: list[list[Speaker]] = [[], []]
    for split, n in enumerate((n_train, n_test)):
        for k in range(n):
            code = codes[order[split * n_train + k]]
            rng = np.random.default_rng([seed, 1, split, k])
            out[split].append(random_speaker(rng, code, ("man", "woman")[k % 2]))
    return out[0], out[1]


def _plans(seed: int, per_class: int, n_test: int, n_sequences: int) -> dict[str, list]:
    """The utterances of both splits, each split with its own speakers."""
    train_spk, test_spk = _speakers(seed, -(-per_class // 2), -(-n_test // 2))
    return {
        "train": _plan(train_spk, per_class, n_sequences, seed, 0),
        "test": _plan(test_spk, n_test, n_sequences, seed, 1),
    }


def _plan(speakers: list[Speaker], per_class: int, n_sequences: int, seed: int, split: int):
    """(sample id, digits, speaker, rng seed key) for every utterance of one split."""
    plan = []
    for k, spk in enumerate(speakers):
        for rep in "ab":
            if 2 * k + "ab".index(rep) >= per_class:
                continue
            for d in _DIGITS:
                plan.append((f"{spk.gender}-{spk.speaker_id}-{rep}-{d}", d, spk, (k, rep, d)))
    rng = np.random.default_rng([seed, 2, split])
    used = {p[0] for p in plan}
    for j in range(n_sequences):
        while True:
            spk = speakers[int(rng.integers(len(speakers)))]
            digits = "".join(rng.choice(list(_DIGITS), int(rng.integers(2, 6))))
            sample_id = f"{spk.gender}-{spk.speaker_id}-a-{digits}"
            if sample_id not in used:
                break
        used.add(sample_id)
        plan.append((sample_id, digits, spk, (j, "seq", digits)))
    return plan


def generate_ntidigits_like(
    out_path: str | os.PathLike[str],
    per_class: int = 20,
    seed: int = 0,
    progress: bool = True,
    *,
    test_per_class: int | None = None,
    n_sequences: int = 0,
    cochlea: CochleaConfig | None = None,
    synthesizer: Literal["formant", "espeak"] = "formant",
    sample_rate: float = 20000.0,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic N-TIDIGITS-like HDF5 file and return its path.

    ``per_class`` single-digit utterances per class in the train split and
    ``test_per_class`` (default: ``per_class``) in the test split, 11 classes
    (``o``, ``z``, ``1``..``9``), from ``ceil(per_class / 2)`` speakers per split
    saying each digit twice. ``n_sequences`` extra multi-digit utterances (2-5 digits)
    per split. ``out_path``: see :func:`resolve_output_file`. ``cochlea`` defaults to
    ``CochleaConfig()``; ``synthesizer="espeak"`` needs the espeak-ng program.
    ``sample_rate`` (Hz) of the synthesised audio. Deterministic given ``seed`` (for
    ``"formant"``). The file is written under a temporary name and renamed into place;
    an existing file is replaced only with ``overwrite=True`` and only if it is one of
    ours (root attribute ``spikelab_synthetic``), never a real N-TIDIGITS file.
    """
    n_test = _check_counts(per_class, test_per_class, n_sequences)
    recipe = _Recipe(seed, synthesizer, cochlea or CochleaConfig(), sample_rate)
    out = resolve_output_file(out_path)
    _check_target(out, overwrite)
    plans = _plans(seed, per_class, n_test, n_sequences)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(out)
    try:
        _write_file(tmp, plans, recipe, progress)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _check_counts(per_class: object, test_per_class: object, n_sequences: object) -> int:
    """Validate the counts; return the test split's count per class."""
    for name, value in (("per_class", per_class), ("n_sequences", n_sequences)):
        if not isinstance(value, (int, np.integer)) or value < (name == "per_class"):
            raise ValueError(f"{name} must be an int >= {int(name == 'per_class')}, got {value!r}")
    n_test = per_class if test_per_class is None else test_per_class
    if not isinstance(n_test, (int, np.integer)) or n_test < 1:
        raise ValueError(f"test_per_class must be an int >= 1 or None, got {test_per_class!r}")
    return int(n_test)


@dataclass(frozen=True)
class _Recipe:
    """How an utterance becomes spike times: the synthesiser, then the cochlea model."""

    seed: int
    synthesizer: str
    cochlea: CochleaConfig
    sample_rate: float

    def attrs(self) -> dict[str, object]:
        """Root attributes of the file: what it is and how it was made."""
        from .speech import DIGIT_WORDS

        return {
            "spikelab_synthetic": "ntidigits-like",
            "format_version": FORMAT_VERSION,
            "seed": self.seed,
            "synthesizer": self.synthesizer,
            "cochlea_config": json.dumps(dataclasses.asdict(self.cochlea)),
            "words": json.dumps(DIGIT_WORDS),
        }

    def spikes(self, split_idx: int, digits: str, speaker: Speaker, key: tuple):
        """Spike times (s) and channels of one utterance, from its own seeded generator."""
        from .speech import synthesize_digits

        rng = np.random.default_rng([self.seed, 3, split_idx, *_key_ints(key)])
        wave = synthesize_digits(
            digits, speaker, rng, sample_rate=self.sample_rate, synthesizer=self.synthesizer
        )
        times, channels, _ = cochlea_spike_times(wave, self.sample_rate, self.cochlea)
        return times, channels


def _write_file(path: Path, plans: dict[str, list], recipe: _Recipe, progress: bool) -> None:
    """The HDF5 file of both splits, in N-TIDIGITS' layout, at ``path``."""
    import h5py
    from tqdm.auto import tqdm

    total = sum(len(p) for p in plans.values())
    with (
        h5py.File(path, "w") as h5,
        tqdm(total=total, disable=not progress, desc="ntidigits-like", unit="utt") as bar,
    ):
        for name, value in recipe.attrs().items():
            h5.attrs[name] = value
        for split_idx, (split, plan) in enumerate(plans.items()):
            addresses = h5.create_group(f"{split}_addresses")
            timestamps = h5.create_group(f"{split}_timestamps")
            for sample_id, digits, spk, key in plan:
                times, channels = recipe.spikes(split_idx, digits, spk, key)
                addresses.create_dataset(sample_id, data=channels.astype(np.uint8))
                timestamps.create_dataset(sample_id, data=times.astype(np.float64))
                bar.update()
            ids = np.array([p[0].encode() for p in plan], dtype="S")
            h5.create_dataset(f"{split}_labels", data=ids)


def _check_target(out: Path, overwrite: bool) -> None:
    """Refuse to replace an existing file unless asked to, and never a non-synthetic one."""
    import h5py

    if not out.exists():
        return
    if not overwrite:
        raise FileExistsError(f"{out} exists; choose another path or pass overwrite=True")
    try:
        with h5py.File(out, "r") as h5:
            ours = h5.attrs.get("spikelab_synthetic") == "ntidigits-like"
    except OSError:
        ours = False
    if not ours:
        raise FileExistsError(
            f"{out} exists and was not made by generate_ntidigits_like (it may be real "
            "N-TIDIGITS data); refusing to overwrite it, choose another path"
        )


def _key_ints(key: tuple) -> list[int]:
    """Stable integers for a plan key (speaker index, repetition, digits)."""
    k, rep, digits = key
    return [int(k), {"a": 0, "b": 1, "seq": 2}[rep], *(_DIGITS.index(c) for c in digits)]
