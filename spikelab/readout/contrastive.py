"""Contrastive alignment of two modalities' reservoir states (Lin et al. 2025, CLIP-style).

Each modality's features (spike counts of a frozen reservoir, ``[samples, features]``) go
through its own :class:`ProjectionHead` (one fully connected layer + GELU) into a shared
``embed_dim``-dimensional space. Training pairs are same-class (image, audio) samples,
drawn afresh each epoch; the loss is CLIP's symmetric InfoNCE (:func:`clip_loss`) or, for
the prototypical-network baseline, a cross-modal prototypical loss
(:func:`prototypical_loss`). Similarities are cosines of the embeddings throughout.

    aligner = ContrastiveAligner(epochs=100, seed=0).fit(img_x, aud_x, img_y, aud_y)
    aligner.retrieval_accuracy(img_x_test, img_y_test, aud_x_test, aud_y_test)
    # {"audio_to_image": 0.66, "image_to_audio": 0.71}

This module imports torch; ``import spikelab`` does not import it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ModuleNotFoundError as e:  # pragma: no cover - exercised in .venv-lava only
    raise ModuleNotFoundError(
        "spikelab.readout.contrastive needs PyTorch; install it with `pip install torch` "
        f"(this environment has none: {e})"
    ) from None

__all__ = [
    "ContrastiveAligner",
    "ProjectionHead",
    "clip_loss",
    "prototype_accuracy",
    "prototypical_loss",
    "retrieval_accuracy",
]

_LOSSES = ("clip", "prototypical")


class ProjectionHead(nn.Module):
    """One fully connected layer and a GELU: ``[n, in_features] -> [n, embed_dim]``.

    The weights are initialised as ``nn.Linear`` does (Kaiming-uniform weight, uniform
    bias in ±1/sqrt(in_features)), but from ``generator`` when one is given, so the
    initialisation depends on that generator's seed only.
    """

    def __init__(
        self, in_features: int, embed_dim: int = 64, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        if int(in_features) < 1 or int(embed_dim) < 1:
            raise ValueError(
                f"in_features and embed_dim must be >= 1, got {in_features} and {embed_dim}"
            )
        self.linear = nn.Linear(int(in_features), int(embed_dim))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            nn.init.kaiming_uniform_(self.linear.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(self.linear.in_features)
            nn.init.uniform_(self.linear.bias, -bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.linear(x))


def clip_loss(
    img_emb: torch.Tensor, aud_emb: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """CLIP's symmetric InfoNCE loss of a batch of matched pairs (row i with row i).

    Embeddings ``[n, d]`` are L2-normalised; ``logits = img @ aud.T / temperature`` (cosine
    similarities, dimensionless); the loss is the mean of the cross-entropy of each image
    against all audio rows (target: its own pair) and of each audio row against all images.
    """
    if img_emb.shape != aud_emb.shape or img_emb.ndim != 2:
        raise ValueError(
            f"clip_loss needs two [n, d] batches of equal shape, got {tuple(img_emb.shape)} "
            f"and {tuple(aud_emb.shape)}"
        )
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = F.normalize(img_emb, dim=1) @ F.normalize(aud_emb, dim=1).T / temperature
    target = torch.arange(len(logits), device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def _prototypes(emb: torch.Tensor, labels: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Normalised class means of normalised embeddings: ``[len(classes), d]``."""
    onehot = (labels[:, None] == classes[None, :]).to(emb.dtype)
    sums = onehot.T @ F.normalize(emb, dim=1)
    return F.normalize(sums / onehot.sum(0).clamp(min=1.0)[:, None], dim=1)


def prototypical_loss(
    img_emb: torch.Tensor,
    aud_emb: torch.Tensor,
    img_labels: torch.Tensor,
    aud_labels: torch.Tensor,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Cross-modal prototypical-network loss (Snell et al. 2017, with cosine similarity).

    Class prototypes are the normalised means of each modality's normalised embeddings in
    the batch; each audio embedding is classified against the image prototypes by softmax
    of ``cosine / temperature`` and each image embedding against the audio prototypes; the
    loss is the mean of the two cross-entropies. Classes present in only one modality of the
    batch are ignored.
    """
    classes = torch.unique(img_labels)
    classes = classes[torch.isin(classes, aud_labels)]
    if len(classes) < 2:
        raise ValueError("prototypical_loss needs at least two classes present in both batches")
    loss = img_emb.new_zeros(())
    for q, qy, g, gy in (
        (aud_emb, aud_labels, img_emb, img_labels),
        (img_emb, img_labels, aud_emb, aud_labels),
    ):
        keep = torch.isin(qy, classes)
        logits = F.normalize(q[keep], dim=1) @ _prototypes(g, gy, classes).T / temperature
        target = torch.searchsorted(classes, qy[keep])
        loss = loss + 0.5 * F.cross_entropy(logits, target)
    return loss


def _np_labels(y: Any) -> np.ndarray:
    arr = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {arr.shape}")
    return arr


def retrieval_accuracy(
    query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any
) -> float:
    """Top-1 cross-modal retrieval accuracy by cosine similarity, in [0, 1].

    For each query row, the most similar gallery row is retrieved (ties: the first); a
    query is correct when the retrieved item has the query's class. Embeddings are numpy
    arrays or tensors ``[n, d]``.
    """
    q, qy, g, gy = _checked(query_emb, query_labels, gallery_emb, gallery_labels)
    best = (F.normalize(q, dim=1) @ F.normalize(g, dim=1).T).argmax(dim=1).cpu().numpy()
    return float(np.mean(gy[best] == qy))


def prototype_accuracy(
    query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any
) -> float:
    """Nearest-prototype accuracy, in [0, 1]: each query takes the class of the most similar
    (cosine) prototype of the gallery, a prototype being the normalised mean of a class's
    normalised gallery embeddings. Uses the gallery's labels (a labelled support set)."""
    q, qy, g, gy = _checked(query_emb, query_labels, gallery_emb, gallery_labels)
    classes = np.unique(gy)
    protos = _prototypes(
        g, torch.as_tensor(gy, device=g.device), torch.as_tensor(classes, device=g.device)
    )
    best = (F.normalize(q, dim=1) @ protos.T).argmax(dim=1).cpu().numpy()
    return float(np.mean(classes[best] == qy))


def _checked(
    query_emb: Any, query_labels: Any, gallery_emb: Any, gallery_labels: Any
) -> tuple[torch.Tensor, np.ndarray, torch.Tensor, np.ndarray]:
    q = _tensor(query_emb)
    g = _tensor(gallery_emb, q.device)
    qy, gy = _np_labels(query_labels), _np_labels(gallery_labels)
    if len(q) != len(qy) or len(g) != len(gy):
        raise ValueError(
            f"embeddings and labels differ in length: queries {len(q)} vs {len(qy)}, "
            f"gallery {len(g)} vs {len(gy)}"
        )
    if not len(q) or not len(g):
        raise ValueError("retrieval needs at least one query and one gallery item")
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"query and gallery dimensions differ: {q.shape[1]} vs {g.shape[1]}")
    return q, qy, g, gy


def _tensor(x: Any, device: str | torch.device | None = None) -> torch.Tensor:
    """[n, features] float32 tensor from a Recording (its ``counts_tensor`` extra when the
    torch backend left one on the device), a tensor, or an array [n, f] / [n, bins, neurons]."""
    from ..spikes import Recording

    if isinstance(x, Recording):
        x = x.extras.get("counts_tensor", x.counts)
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim == 3:
        t = t.reshape(t.shape[0], -1)
    if t.ndim != 2:
        raise ValueError(
            "features must be [samples, features] or [samples, bins, neurons], "
            f"got shape {tuple(t.shape)}"
        )
    return t.to(device=device if device is not None else t.device, dtype=torch.float32)


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` torch CPU threads, restoring the previous count (None: leave it)."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def pair_same_class(
    img_labels: np.ndarray, aud_labels: np.ndarray, classes: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of same-class (image index, audio index) pairs, shuffled.

    For each class with ``n_i`` images and ``n_a`` audio samples, ``max(n_i, n_a)`` pairs:
    every sample of the larger side once, the smaller side cycled through random
    permutations, and the partners matched at random.
    """
    ii, aa = [], []
    for c in classes:
        ic, ac = np.flatnonzero(img_labels == c), np.flatnonzero(aud_labels == c)
        m = max(len(ic), len(ac))
        ii.append(np.concatenate([rng.permutation(ic) for _ in range(-(-m // len(ic)))])[:m])
        aa.append(np.concatenate([rng.permutation(ac) for _ in range(-(-m // len(ac)))])[:m])
    order = rng.permutation(sum(len(i) for i in ii))
    return np.concatenate(ii)[order], np.concatenate(aa)[order]


class ContrastiveAligner(BaseEstimator):
    """Two projection heads trained to align image and audio features (sklearn contract).

    embed_dim : embedding size (64 in Lin et al. 2025).
    temperature : divides the cosine similarities in the loss (CLIP's tau; 1.0 in the paper).
    lr : Adam learning rate. epochs : passes over the same-class pairs (redrawn each epoch).
    batch_size : pairs per step (a final batch smaller than 2 is dropped; with the
        prototypical loss, so is a batch holding a single class).
    loss : "clip" (symmetric InfoNCE) or "prototypical" (the prototypical-network baseline).
    log1p, standardize : compress counts with log(1 + x), then z-score each feature with the
        training set's mean and standard deviation (per modality).
    seed : drives the head initialisation (torch.Generator) and the pairing and batch order
        (numpy Generator); the same seed gives the same result on the same device.
    device : torch device of the heads and tensors ("cpu", "cuda", ...).
    n_threads : torch CPU threads while fitting and embedding (1 is fastest for these small
        matrices, much faster on a busy machine); None leaves torch's setting.
    progress : tqdm bar over epochs.

    Learned: ``img_head_``, ``aud_head_`` (ProjectionHead), ``img_mean_``, ``img_std_``,
    ``aud_mean_``, ``aud_std_`` (tensors on ``device``), ``classes_``, ``loss_curve_`` (mean
    loss per epoch), ``n_img_features_in_``, ``n_aud_features_in_``.
    """

    def __init__(
        self,
        embed_dim: int = 64,
        temperature: float = 1.0,
        lr: float = 1e-3,
        epochs: int = 100,
        batch_size: int = 64,
        loss: str = "clip",
        log1p: bool = True,
        standardize: bool = True,
        seed: int = 0,
        device: str = "cpu",
        n_threads: int | None = 1,
        progress: bool = False,
    ) -> None:
        self.embed_dim = embed_dim
        self.temperature = temperature
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.loss = loss
        self.log1p = log1p
        self.standardize = standardize
        self.seed = seed
        self.device = device
        self.n_threads = n_threads
        self.progress = progress

    # ---- checks -------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.loss not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}, got {self.loss!r}")
        for name in ("embed_dim", "epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < (
                2 if name == "batch_size" else 1
            ):
                low = 2 if name == "batch_size" else 1
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        for name in ("temperature", "lr"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")

    def _labels_for(self, x: torch.Tensor, y: Any, what: str) -> np.ndarray:
        y = _np_labels(y)
        if len(y) != len(x):
            raise ValueError(f"{len(x)} {what} samples but {len(y)} {what} labels")
        return y

    # ---- preprocessing ------------------------------------------------------------------
    def _pre(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log1p(x.clamp(min=0)) if self.log1p else x

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.standardize:
            return torch.zeros(x.shape[1], device=x.device), torch.ones(x.shape[1], device=x.device)
        std = x.std(dim=0, unbiased=False)
        return x.mean(dim=0), torch.where(std > 0, std, torch.ones_like(std))

    # ---- training -----------------------------------------------------------------------
    def fit(
        self,
        img_features: Any,
        aud_features: Any,
        labels: Any,
        aud_labels: Any = None,
        *,
        on_epoch: Callable[[int, ContrastiveAligner], None] | None = None,
    ) -> ContrastiveAligner:
        """Train both heads on same-class pairs.

        ``labels`` are the image labels, and the audio labels too when ``aud_labels`` is
        None (then both sets must have the same length). Features: arrays or tensors
        ``[n, features]`` / ``[n, bins, neurons]``, or Recordings (spike counts).
        ``on_epoch(epoch, self)`` is called after each epoch (epoch counts from 1), e.g. to
        trace held-out accuracy during training; it must not change the aligner.
        """
        self._check_params()
        with _threads(self.n_threads):
            xi, xa = _tensor(img_features, self.device), _tensor(aud_features, self.device)
            yi = self._labels_for(xi, labels, "image")
            ya = self._labels_for(xa, labels if aud_labels is None else aud_labels, "audio")
            self.classes_ = self._shared_classes(yi, ya)
            xi, xa = self._fit_scaling(xi, xa)
            self._init_heads(xi.shape[1], xa.shape[1])
            self._train(xi, xa, yi, ya, on_epoch)
        return self

    def _fit_scaling(self, xi: torch.Tensor, xa: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Learn each modality's preprocessing statistics; returns both sets standardised."""
        xi, xa = self._pre(xi), self._pre(xa)
        self.img_mean_, self.img_std_ = self._stats(xi)
        self.aud_mean_, self.aud_std_ = self._stats(xa)
        return (xi - self.img_mean_) / self.img_std_, (xa - self.aud_mean_) / self.aud_std_

    def _init_heads(self, n_img: int, n_aud: int) -> None:
        """Fresh projection heads (image first, from one seeded generator) on ``device``."""
        gen = torch.Generator().manual_seed(int(self.seed))
        self.img_head_ = ProjectionHead(n_img, self.embed_dim, generator=gen)
        self.aud_head_ = ProjectionHead(n_aud, self.embed_dim, generator=gen)
        self.img_head_.to(self.device)
        self.aud_head_.to(self.device)
        self.n_img_features_in_, self.n_aud_features_in_ = n_img, n_aud

    def _train(
        self,
        xi: torch.Tensor,
        xa: torch.Tensor,
        yi: np.ndarray,
        ya: np.ndarray,
        on_epoch: Callable[[int, ContrastiveAligner], None] | None,
    ) -> None:
        """Adam over both heads for ``epochs`` epochs; each epoch's loss goes to ``loss_curve_``."""
        from tqdm.auto import tqdm

        params = [*self.img_head_.parameters(), *self.aud_head_.parameters()]
        opt = torch.optim.Adam(params, lr=float(self.lr))
        rng = np.random.default_rng([int(self.seed), 1])
        ti = torch.as_tensor(yi, device=self.device)
        ta = torch.as_tensor(ya, device=self.device)
        self.loss_curve_: list[float] = []
        for _ in tqdm(
            range(int(self.epochs)), desc=f"{self.loss} heads", disable=not self.progress
        ):
            self.loss_curve_.append(self._epoch(xi, xa, yi, ya, ti, ta, opt, rng))
            if on_epoch is not None:
                on_epoch(len(self.loss_curve_), self)

    def _shared_classes(self, yi: np.ndarray, ya: np.ndarray) -> np.ndarray:
        ci, ca = np.unique(yi), np.unique(ya)
        only = sorted(set(ci.tolist()) ^ set(ca.tolist()))
        if only:
            raise ValueError(
                f"classes {only} appear in only one modality (image classes {ci.tolist()}, "
                f"audio classes {ca.tolist()}); give both modalities the same classes"
            )
        if len(ci) < 2:
            raise ValueError(f"fit needs at least two classes, got {ci.tolist()}")
        return ci

    def _epoch(self, xi, xa, yi, ya, ti, ta, opt, rng) -> float:  # noqa: ANN001
        pi, pa = pair_same_class(yi, ya, self.classes_, rng)
        total, n = 0.0, 0
        for start in range(0, len(pi), int(self.batch_size)):
            bi, ba = pi[start : start + self.batch_size], pa[start : start + self.batch_size]
            if len(bi) < 2:
                continue
            if self.loss == "prototypical" and len(np.unique(yi[bi])) < 2:
                continue  # pairs are same-class: a one-class batch has no prototype contrast
            zi, za = self.img_head_(xi[bi]), self.aud_head_(xa[ba])
            if self.loss == "clip":
                loss = clip_loss(zi, za, float(self.temperature))
            else:
                loss = prototypical_loss(zi, za, ti[bi], ta[ba], float(self.temperature))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(bi)
            n += len(bi)
        return total / max(n, 1)

    # ---- embedding and evaluation -------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "img_head_"):
            raise NotFittedError("this ContrastiveAligner is not fitted yet; call fit() first")

    def _embed(self, x: Any, head: str) -> torch.Tensor:
        self._check_fitted()
        t = self._pre(_tensor(x, self.device))
        n_in = getattr(self, f"n_{head}_features_in_")
        if t.shape[1] != n_in:
            raise ValueError(f"expected {n_in} {head} features, got {t.shape[1]}")
        t = (t - getattr(self, f"{head}_mean_")) / getattr(self, f"{head}_std_")
        with _threads(self.n_threads), torch.no_grad():
            return getattr(self, f"{head}_head_")(t)

    def embed_images(self, img_features: Any) -> torch.Tensor:
        """Image embeddings ``[n, embed_dim]`` (a tensor on ``device``, not normalised)."""
        return self._embed(img_features, "img")

    def embed_audio(self, aud_features: Any) -> torch.Tensor:
        """Audio embeddings ``[n, embed_dim]`` (a tensor on ``device``, not normalised)."""
        return self._embed(aud_features, "aud")

    def _both(self, fn: Any, img_x: Any, img_y: Any, aud_x: Any, aud_y: Any) -> dict[str, float]:
        ei, ea = self.embed_images(img_x), self.embed_audio(aud_x)
        return {
            "audio_to_image": fn(ea, aud_y, ei, img_y),
            "image_to_audio": fn(ei, img_y, ea, aud_y),
        }

    def retrieval_accuracy(
        self, img_features: Any, img_labels: Any, aud_features: Any, aud_labels: Any
    ) -> dict[str, float]:
        """Top-1 retrieval accuracy both ways: ``audio_to_image`` (audio queries, image
        gallery) and ``image_to_audio``; see :func:`retrieval_accuracy`."""
        return self._both(retrieval_accuracy, img_features, img_labels, aud_features, aud_labels)

    def prototype_accuracy(
        self, img_features: Any, img_labels: Any, aud_features: Any, aud_labels: Any
    ) -> dict[str, float]:
        """Nearest-prototype accuracy both ways (prototypes of the other modality, built from
        its labelled samples); see :func:`prototype_accuracy`."""
        return self._both(prototype_accuracy, img_features, img_labels, aud_features, aud_labels)
