"""A synthetic N-TIDIGITS stand-in: synthesised spoken digits through the cochlea model.

Each split has its own synthetic speakers (train and test never share one), half men,
half women; each speaker says every digit twice (repetitions ``a`` and ``b``, as in
TIDIGITS). Waveforms come from :mod:`spikelab.datasets.speech_synth`, events from
:func:`spikelab.audio.cochlea_spike_times`. The file has N-TIDIGITS' layout (see
:mod:`spikelab.datasets.ntidigits`), so ``tonic.datasets.NTIDIGITS18`` reads it, plus
root attributes saying that it is synthetic and how it was made.

The data are synthetic: accuracies on them test a pipeline, they say nothing about
accuracy on real N-TIDIGITS (see docs/audio.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..audio import CochleaConfig, cochlea_spike_times
from .ntidigits import TONIC_FILENAME, TONIC_FOLDER

if TYPE_CHECKING:
    from .speech_synth import Speaker

__all__ = ["FORMAT_VERSION", "generate_ntidigits_like", "resolve_output_file"]

FORMAT_VERSION = 1
_DIGITS = "o123456789z"


def resolve_output_file(out_path: str | os.PathLike[str]) -> Path:
    """``out_path`` ending in ``.hdf5``/``.h5`` is the file itself; anything else is a
    folder, and the file goes where tonic looks: ``<out_path>/NTIDIGITS18/n-tidigits.hdf5``."""
    p = Path(out_path).expanduser()
    if p.suffix.lower() in (".hdf5", ".h5"):
        return p
    return p / TONIC_FOLDER / TONIC_FILENAME


def _speakers(seed: int, n_train: int, n_test: int) -> tuple[list[Speaker], list[Speaker]]:
    """Disjoint train and test speakers with unique two-letter ids."""
    from .speech_synth import random_speaker

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
    import h5py
    from tqdm.auto import tqdm

    from .speech_synth import DIGIT_WORDS, synthesize_digits

    for name, value in (("per_class", per_class), ("n_sequences", n_sequences)):
        if not isinstance(value, (int, np.integer)) or value < (name == "per_class"):
            raise ValueError(f"{name} must be an int >= {int(name == 'per_class')}, got {value!r}")
    n_test = per_class if test_per_class is None else test_per_class
    if not isinstance(n_test, (int, np.integer)) or n_test < 1:
        raise ValueError(f"test_per_class must be an int >= 1 or None, got {test_per_class!r}")
    cochlea = CochleaConfig() if cochlea is None else cochlea
    out = resolve_output_file(out_path)
    _check_target(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    train_spk, test_spk = _speakers(seed, -(-per_class // 2), -(-n_test // 2))
    plans = {
        "train": _plan(train_spk, per_class, n_sequences, seed, 0),
        "test": _plan(test_spk, n_test, n_sequences, seed, 1),
    }
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    total = sum(len(p) for p in plans.values())
    try:
        with (
            h5py.File(tmp, "w") as h5,
            tqdm(total=total, disable=not progress, desc="ntidigits-like", unit="utt") as bar,
        ):
            h5.attrs["spikelab_synthetic"] = "ntidigits-like"
            h5.attrs["format_version"] = FORMAT_VERSION
            h5.attrs["seed"] = seed
            h5.attrs["synthesizer"] = synthesizer
            h5.attrs["cochlea_config"] = json.dumps(dataclasses.asdict(cochlea))
            h5.attrs["words"] = json.dumps(DIGIT_WORDS)
            for split_idx, (split, plan) in enumerate(plans.items()):
                addresses = h5.create_group(f"{split}_addresses")
                timestamps = h5.create_group(f"{split}_timestamps")
                for sample_id, digits, spk, key in plan:
                    rng = np.random.default_rng([seed, 3, split_idx, *_key_ints(key)])
                    wave = synthesize_digits(
                        digits, spk, rng, sample_rate=sample_rate, synthesizer=synthesizer
                    )
                    times, channels, _ = cochlea_spike_times(wave, sample_rate, cochlea)
                    addresses.create_dataset(sample_id, data=channels.astype(np.uint8))
                    timestamps.create_dataset(sample_id, data=times.astype(np.float64))
                    bar.update()
                ids = np.array([p[0].encode() for p in plan], dtype="S")
                h5.create_dataset(f"{split}_labels", data=ids)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


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
