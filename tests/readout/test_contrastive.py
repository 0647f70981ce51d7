"""The contrastive readout: CLIP loss against a hand computation, retrieval and prototype
accuracy on constructed cases, the estimator contract, determinism by seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="spikelab.readout.contrastive needs PyTorch (absent in .venv-lava)"
)

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from spikelab.readout.contrastive import (  # noqa: E402
    ContrastiveAligner,
    ProjectionHead,
    clip_loss,
    pair_same_class,
    prototype_accuracy,
    prototypical_loss,
    retrieval_accuracy,
)
from spikelab.spikes import Recording  # noqa: E402


def _hand_clip(img: list[list[float]], aud: list[list[float]], tau: float) -> float:
    """CLIP loss written out with math only: normalise, cosine / tau, log-softmax rows and
    columns, minus the diagonal, averaged."""

    def unit(v: list[float]) -> list[float]:
        n = math.sqrt(sum(x * x for x in v))
        return [x / n for x in v]

    a, b = [unit(v) for v in img], [unit(v) for v in aud]
    n = len(a)
    s = [
        [sum(x * y for x, y in zip(a[i], b[j], strict=True)) / tau for j in range(n)]
        for i in range(n)
    ]

    def ce(rows: list[list[float]]) -> float:
        return sum(math.log(sum(math.exp(v) for v in r)) - r[i] for i, r in enumerate(rows)) / n

    cols = [[s[i][j] for i in range(n)] for j in range(n)]
    return 0.5 * (ce(s) + ce(cols))


@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_clip_loss_matches_hand_computation(tau):
    img = [[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 2.0, 1.0]]
    aud = [[3.0, 1.0, 0.0], [0.0, 0.5, 0.5], [-1.0, 1.0, 2.0]]  # not unit length on purpose
    got = clip_loss(
        torch.tensor(img, dtype=torch.float64), torch.tensor(aud, dtype=torch.float64), tau
    )
    assert float(got) == pytest.approx(_hand_clip(img, aud, tau), rel=1e-12)


def test_clip_loss_two_by_two_closed_form():
    # img = aud = identity: logits [[1, 0], [0, 1]]; each row's CE is log(1 + e^-1)
    eye = torch.eye(2, dtype=torch.float64)
    assert float(clip_loss(eye, eye)) == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-12)


def test_clip_loss_errors():
    with pytest.raises(ValueError, match="equal shape"):
        clip_loss(torch.zeros(2, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        clip_loss(torch.ones(2, 3), torch.ones(2, 3), temperature=0.0)


def test_prototypical_loss_matches_hand_computation():
    img = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    aud = np.array([[2.0, 0.0], [0.0, 1.0]])
    yi, ya = np.array([0, 0, 1]), np.array([0, 1])
    unit = img / np.linalg.norm(img, axis=1, keepdims=True)
    pi = np.stack([unit[yi == c].mean(0) for c in (0, 1)])
    pi /= np.linalg.norm(pi, axis=1, keepdims=True)
    ua = aud / np.linalg.norm(aud, axis=1, keepdims=True)
    pa = ua  # one audio sample per class: its own prototype

    def ce(logits, y):
        return np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(len(y)), y])

    want = 0.5 * (ce(ua @ pi.T, ya) + ce(unit @ pa.T, yi))
    got = prototypical_loss(
        torch.tensor(img), torch.tensor(aud), torch.tensor(yi), torch.tensor(ya)
    )
    assert float(got) == pytest.approx(want, rel=1e-12)


def test_retrieval_uses_cosine_not_distance():
    query = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.05]])
    gallery = np.array([[10.0, 1.0], [0.5, 0.6], [0.0, 3.0]])  # [0.5, 0.6]: near, other class
    g_labels = np.array([0, 1, 2])
    # q0 -> [10, 1] (class 0, far away but the same direction); q1 -> [0, 3] (class 2);
    # q2 -> [0.5, 0.6] (class 1: cosine 0.999)
    assert retrieval_accuracy(query, [0, 2, 1], gallery, g_labels) == 1.0
    assert retrieval_accuracy(query, [0, 2, 0], gallery, g_labels) == pytest.approx(2 / 3)


def test_prototypes_beat_an_outlier_that_fools_retrieval():
    gallery = np.array([[1.0, 0.0], [1.0, 0.2], [0.0, 1.0], [0.9, 0.1]])
    g_labels = np.array([0, 0, 1, 1])  # the last class-1 item is an outlier near class 0
    query = np.array([[0.9, 0.1], [0.1, 1.0]])
    q_labels = np.array([0, 1])
    assert retrieval_accuracy(query, q_labels, gallery, g_labels) == 0.5  # q0 hits the outlier
    assert prototype_accuracy(query, q_labels, gallery, g_labels) == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        retrieval_accuracy(query, [0], gallery, g_labels)
    with pytest.raises(ValueError, match="dimensions differ"):
        prototype_accuracy(query, q_labels, gallery[:, :1], g_labels)


def test_pairing_is_same_class_and_covers_the_larger_side():
    yi = np.array([0, 0, 0, 0, 1, 1, 2])
    ya = np.array([0, 1, 1, 1, 2, 2])
    pi, pa = pair_same_class(yi, ya, np.array([0, 1, 2]), np.random.default_rng(0))
    np.testing.assert_array_equal(yi[pi], ya[pa])
    assert len(pi) == 4 + 3 + 2  # max(n_img, n_aud) per class
    assert sorted(pi[yi[pi] == 0]) == [0, 1, 2, 3]  # every class-0 image once
    assert sorted(pa[ya[pa] == 1]) == [1, 2, 3]


def toy(n_per_class=20, classes=(0, 1, 2, 3), seed=0):
    """Two 'modalities' with class-specific features in different places."""
    rng = np.random.default_rng(seed)
    y = np.repeat(classes, n_per_class)
    xi = rng.poisson(1.0, (len(y), 30)).astype(float)
    xa = rng.poisson(1.0, (len(y), 12)).astype(float)
    for k in range(3):
        xi[np.arange(len(y)), y * 3 + k] += 8
    for k in range(2):
        xa[np.arange(len(y)), 11 - y * 2 - k] += 8
    return xi, xa, y


def test_aligner_learns_to_retrieve_both_ways():
    xi, xa, y = toy()
    ti, ta, ty = toy(seed=1)
    for loss in ("clip", "prototypical"):
        al = ContrastiveAligner(epochs=30, batch_size=16, lr=1e-2, loss=loss, seed=0).fit(xi, xa, y)
        acc = al.retrieval_accuracy(ti, ty, ta, ty)
        assert set(acc) == {"audio_to_image", "image_to_audio"}
        assert min(acc.values()) > 0.9, (loss, acc)
        assert min(al.prototype_accuracy(ti, ty, ta, ty).values()) > 0.9
        assert al.loss_curve_[-1] < al.loss_curve_[0]


def test_estimator_contract():
    xi, xa, y = toy(n_per_class=5)
    al = ContrastiveAligner(epochs=2, batch_size=8, embed_dim=7)
    assert clone(al).get_params() == al.get_params()
    with pytest.raises(NotFittedError, match="not fitted"):
        al.embed_images(xi)
    assert al.fit(xi, xa, y) is al
    assert al.embed_images(xi).shape == (len(xi), 7)
    assert al.embed_audio(xa).shape == (len(xa), 7)
    assert isinstance(al.img_head_, ProjectionHead)
    assert al.n_img_features_in_ == 30 and al.n_aud_features_in_ == 12
    np.testing.assert_array_equal(al.classes_, [0, 1, 2, 3])
    assert len(al.loss_curve_) == 2
    assert not hasattr(ContrastiveAligner(), "img_head_")  # __init__ learns nothing
    with pytest.raises(ValueError, match="expected 30 img features"):
        al.embed_images(xa)
    # image and audio sets of different sizes, with their own labels
    assert al.fit(xi[::2], xa, y[::2], y).n_img_features_in_ == 30


def test_estimator_errors():
    xi, xa, y = toy(n_per_class=5)
    with pytest.raises(ValueError, match="loss must be one of"):
        ContrastiveAligner(loss="triplet").fit(xi, xa, y)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 2"):
        ContrastiveAligner(batch_size=1).fit(xi, xa, y)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        ContrastiveAligner(temperature=-1.0).fit(xi, xa, y)
    with pytest.raises(ValueError, match=r"classes \[3\] appear in only one modality"):
        ContrastiveAligner(epochs=1).fit(xi, xa[y < 3], y, y[y < 3])
    with pytest.raises(ValueError, match="20 image samples but 19 image labels"):
        ContrastiveAligner(epochs=1).fit(xi, xa, y[:-1])


def test_same_seed_same_result_other_seed_other_result():
    xi, xa, y = toy(n_per_class=8)

    def run(seed):
        al = ContrastiveAligner(epochs=3, batch_size=8, seed=seed).fit(xi, xa, y)
        return al.embed_images(xi).numpy(), al.embed_audio(xa).numpy(), al.loss_curve_

    a, b, c = run(3), run(3), run(4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]
    assert not np.array_equal(a[0], c[0])


def test_recording_input_prefers_the_torch_counts_tensor():
    xi, xa, y = toy(n_per_class=5)
    al = ContrastiveAligner(epochs=1, batch_size=8).fit(xi, xa, y)
    counts = xi.reshape(len(xi), 1, 30).astype(np.int32)
    rec = Recording(
        counts=np.zeros_like(counts),
        bin_steps=1,
        n_steps=1,
        dt=1.0,
        populations=(("lsm", 0, 30),),
        extras={"counts_tensor": torch.as_tensor(counts)},
    )
    np.testing.assert_allclose(al.embed_images(rec).numpy(), al.embed_images(xi).numpy())
    plain = Recording(counts=counts, bin_steps=1, n_steps=1, dt=1.0, populations=(("lsm", 0, 30),))
    np.testing.assert_allclose(al.embed_images(plain).numpy(), al.embed_images(xi).numpy())


def test_on_epoch_sees_every_epoch_and_does_not_change_training():
    xi, xa, y = toy(n_per_class=8)
    seen = []

    def on_epoch(epoch, al):
        seen.append((epoch, al.retrieval_accuracy(xi, y, xa, y)["audio_to_image"]))

    traced = ContrastiveAligner(epochs=4, batch_size=8, seed=2).fit(xi, xa, y, on_epoch=on_epoch)
    plain = ContrastiveAligner(epochs=4, batch_size=8, seed=2).fit(xi, xa, y)
    assert [e for e, _ in seen] == [1, 2, 3, 4]
    assert seen[-1][1] == traced.retrieval_accuracy(xi, y, xa, y)["audio_to_image"]
    np.testing.assert_array_equal(traced.embed_images(xi).numpy(), plain.embed_images(xi).numpy())
    assert traced.loss_curve_ == plain.loss_curve_


def test_prototypical_skips_one_class_batches():
    # 2 classes x 3 pairs, batches of 4: a final batch of 2 pairs may hold one class only;
    # it carries no prototype contrast and must be skipped, not raise
    xi, xa, y = toy(n_per_class=3)
    keep = y < 2
    for seed in range(8):
        ContrastiveAligner(epochs=3, batch_size=4, loss="prototypical", seed=seed).fit(
            xi[keep], xa[keep], y[keep]
        )
