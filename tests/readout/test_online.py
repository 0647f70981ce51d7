"""Online readouts: the rules against hand computation and closed forms, the classifier's
contract, and the what x when readout's behaviour (probability, timing, switches)."""

import json
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import NearestCentroid

from spikelab.readout import LinearReadout, OnlineReadout, WhatWhenReadout, make_readout
from spikelab.readout.rules import ForceRule, HebbianRule, ThreeFactorRule, make_rule
from spikelab.readout.traces import exponential_traces
from spikelab.readout.what_when import bump


def separable(n=150, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.poisson(2.0, (n, 2, 30)).astype(float)
    x[np.arange(n), 0, y * 10] += 8.0
    return x, y


# ---- rules --------------------------------------------------------------------------------


def test_three_factor_update_by_hand():
    r = ThreeFactorRule(2, 2, lr=0.5)
    x = np.array([1.0, 2.0])
    z = r.update(x, np.array([1.0, 0.0]))
    assert np.array_equal(z, [0.0, 0.0])  # the readout before the update
    step = 0.5 / (1 + 4 + 1)  # lr / (|x|^2 + 1)
    np.testing.assert_allclose(r.W, [[step, 2 * step], [0.0, 0.0]])
    np.testing.assert_allclose(r.b, [step, 0.0])
    # second presentation: error 1 - z, z = W x + b
    z2 = r.update(x, np.array([1.0, 0.0]))
    np.testing.assert_allclose(z2[0], step * 5 + step)
    np.testing.assert_allclose(r.W[0], [step, 2 * step] + step * (1 - z2[0]) * x)
    # without normalisation the step is lr itself
    r = ThreeFactorRule(2, 1, lr=0.1, normalize=False)
    r.update(x, np.array([2.0]))
    np.testing.assert_allclose(r.W, [[0.2, 0.4]])


def test_three_factor_gate_threshold_and_decay():
    x, t = np.array([1.0, -1.0]), np.array([1.0, 1.0])
    r = ThreeFactorRule(2, 2, lr=1.0, normalize=False)
    r.update(x, t, gate=np.array([0.0, 1.0]))  # the gate closes unit 0
    np.testing.assert_allclose(r.W, [[0, 0], [1, -1]])
    r.update(x, t, gate=False)
    assert r.n_updates == 1
    r = ThreeFactorRule(2, 1, lr=1.0, gate_threshold=0.5, normalize=False)
    r.update(x, np.array([0.4]))  # |error| 0.4 <= 0.5: no learning
    assert r.n_updates == 0 and not r.W.any()
    r = ThreeFactorRule(2, 1, lr=0.5, decay=0.2, normalize=False)
    r.W[:] = [[1.0, 1.0]]
    r.update(x, np.array([1.0]))  # z = 0, e = 1: W (1 - 0.5 * 0.2) + 0.5 * e * x
    np.testing.assert_allclose(r.W, [[1.4, 0.4]])
    r.update(x, np.array([0.5]))  # z = 1.4 - 0.4 + 0.5 = 1.5, e = -1
    np.testing.assert_allclose(r.W, [[1.4 * 0.9 - 0.5, 0.4 * 0.9 + 0.5]])


def test_force_one_pass_is_the_ridge_solution():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5))
    y = rng.standard_normal((40, 2))
    r = ForceRule(5, 2, alpha=3.0)
    for xi, yi in zip(x, y, strict=True):
        r.update(xi, yi)
    xa = np.hstack([x, np.ones((40, 1))])  # the bias is a constant feature, penalised too
    w = np.linalg.solve(xa.T @ xa + 3.0 * np.eye(6), xa.T @ y).T
    np.testing.assert_allclose(r.W, w[:, :-1], atol=1e-10)
    np.testing.assert_allclose(r.b, w[:, -1], atol=1e-10)


def test_hebbian_rule_averages_class_inputs():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 4))
    y = rng.integers(0, 2, 30)
    r = HebbianRule(4, 2)
    for xi, yi in zip(x, y, strict=True):
        r.update(xi, np.eye(2)[yi])
    for c in (0, 1):
        mean = x[y == c].mean(axis=0)
        np.testing.assert_allclose(r.W[c], mean, atol=1e-12)
        np.testing.assert_allclose(r.b[c], -0.5 * mean @ mean, atol=1e-12)


def test_hebbian_gate_is_a_mask_and_force_forgets():
    x = np.array([2.0, -1.0])
    r = HebbianRule(2, 2)
    r.update(x, np.array([1.0, 1.0]), gate=np.array([0.5, 0.0]))
    np.testing.assert_allclose(r.W, [[2.0, -1.0], [0.0, 0.0]])  # the mean, not 2x; unit 1 off
    # RLS with forgetting weighs recent presentations more: after a switch of the target
    # it lands nearer the new value than classic FORCE
    fits = {}
    for lam in (1.0, 0.9):
        f = ForceRule(1, 1, alpha=1e-3, forgetting=lam)
        for t in [0.0] * 50 + [1.0] * 10:
            f.update(np.array([1.0]), np.array([t]))
        fits[lam] = f.output(np.array([1.0]))[0]
    assert fits[1.0] < 0.3 < 0.6 < fits[0.9]


def test_rule_errors_name_the_value():
    with pytest.raises(ValueError, match="rule must be one of"):
        make_rule("stdp", 3, 2)
    with pytest.raises(ValueError, match=r"takes the options \['lr'\]; \['gate_threshold'\]"):
        make_rule("hebbian", 3, 2, gate_threshold=1.0)
    with pytest.raises(ValueError, match=r"lr must be a number in \(0, 2\), got -1"):
        ThreeFactorRule(3, 2, lr=-1)
    with pytest.raises(ValueError, match=r"lr must be a number in \(0, 2\), got 2.0"):
        ThreeFactorRule(3, 2, lr=2.0)  # the normalised step diverges from 2 on
    with pytest.raises(ValueError, match="got '0.1'"):
        ThreeFactorRule(3, 2, lr="0.1")
    with pytest.raises(ValueError, match="normalize must be true or false, got 'false'"):
        ThreeFactorRule(3, 2, normalize="false")
    with pytest.raises(ValueError, match="lr \\* decay must be < 1"):
        ThreeFactorRule(3, 2, lr=1.0, decay=1.0)
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        HebbianRule(3, 2, lr=2.0)
    with pytest.raises(ValueError, match="max_features=10"):
        ForceRule(20, 2, max_features=10)
    ForceRule(10, 2, max_features=10)  # exactly max_features is allowed
    with pytest.raises(ValueError, match=r"forgetting must be a number in \(0, 1\]"):
        ForceRule(3, 2, forgetting=1.5)


# ---- the classifier -----------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["three_factor", "force", "hebbian"])
def test_readout_learns_and_follows_contract(rule):
    x, y = separable()
    r = OnlineReadout(rule=rule, epochs=3)
    seen = []
    assert r.fit(x[:100], y[:100], on_epoch=seen.append) is r
    assert r.score(x[100:], y[100:]) >= 0.9
    assert set(r.classes_) == {0, 1, 2} and r.n_features_in_ == 60
    assert [h["epoch"] for h in r.history_] == [1, 2, 3] and seen == r.history_
    c = clone(r)
    assert c.get_params() == r.get_params() and not hasattr(c, "rule_")  # unfitted copy
    assert r.decision_function(x[:3]).shape == (3, 3)


def test_default_epochs_per_rule_and_force_epochs_shrink_the_penalty():
    x, y = separable()
    assert len(OnlineReadout().fit(x, y).history_) == 20
    assert len(OnlineReadout(rule="hebbian").fit(x, y).history_) == 1
    one = OnlineReadout(rule="force", force_alpha=6.0, log1p=False, standardize=False)
    three = OnlineReadout(rule="force", force_alpha=18.0, epochs=3, log1p=False,
                          standardize=False)  # fmt: skip
    # k passes with alpha equal one pass over the data repeated k times: ridge, alpha / k
    w1, w3 = one.fit(x, y).rule_.W, three.fit(x, y).rule_.W
    np.testing.assert_allclose(w1, w3, atol=1e-8)


def test_two_classes_give_one_decision_column_as_in_sklearn():
    x, y = separable()
    keep = y < 2
    r = OnlineReadout(epochs=3).fit(x[keep], y[keep])
    d = r.decision_function(x[keep])
    assert d.shape == (keep.sum(),)
    assert np.array_equal(r.predict(x[keep]), np.where(d > 0, 1, 0))


def test_partial_fit_is_one_pass_at_a_time():
    x, y = separable()
    a = OnlineReadout(seed=3)
    with pytest.raises(ValueError, match="needs classes"):
        a.partial_fit(x, y)
    a.partial_fit(x, y, classes=[0, 1, 2]).partial_fit(x, y)
    b = OnlineReadout(epochs=2, seed=3).fit(x, y)
    np.testing.assert_allclose(a.rule_.W, b.rule_.W)  # two passes, same order
    with pytest.raises(ValueError, match=r"labels \[7\] are not among"):
        a.partial_fit(x[:2], np.array([7, 0]))
    with pytest.raises(ValueError, match=r"labels must have shape \(5,\)"):
        a.partial_fit(x[:5], y[:4])
    with pytest.raises(ValueError, match="differ from the first call"):
        a.partial_fit(x, y, classes=[0, 1, 2, 3])


def test_hebbian_rule_is_the_nearest_centroid_classifier():
    x, y = separable(seed=3)
    r = OnlineReadout(rule="hebbian", epochs=2).fit(x[:100], y[:100])
    f = np.log1p(x.reshape(len(x), -1))
    f = (f - r.mean_) / r.scale_
    nc = NearestCentroid().fit(f[:100], y[:100])
    assert np.array_equal(r.predict(x[100:]), nc.predict(f[100:]))


def test_three_factor_matches_ridge_on_separable_data_and_gating_saves_updates():
    x, y = separable(n=300, seed=2)
    ridge = LinearReadout(alpha=10.0).fit(x[:200], y[:200]).score(x[200:], y[200:])
    full = OnlineReadout(epochs=10).fit(x[:200], y[:200])
    gated = OnlineReadout(epochs=10, gate_threshold=0.3).fit(x[:200], y[:200])
    assert full.score(x[200:], y[200:]) >= ridge - 0.03
    assert gated.score(x[200:], y[200:]) >= ridge - 0.03
    assert gated.history_[-1]["updated_fraction"] < 0.5 <= full.history_[-1]["updated_fraction"]


def test_same_seed_same_weights_other_seed_other_order():
    x, y = separable()
    a = OnlineReadout(epochs=3, seed=4).fit(x, y).rule_.W
    b = OnlineReadout(epochs=3, seed=4).fit(x, y).rule_.W
    c = OnlineReadout(epochs=3, seed=5).fit(x, y).rule_.W
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_grid_search_prefers_the_stable_learning_rate():
    x, y = separable(n=300)
    search = GridSearchCV(OnlineReadout(epochs=3), {"lr": [0.1, 1.95]}, cv=2).fit(x, y)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_["lr"] == 0.1 and scores[0] > scores[1] + 0.05


def test_bad_values_fail_clearly_and_divergence_is_an_error():
    x, y = separable()
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        OnlineReadout().fit(bad, y)
    r = OnlineReadout(epochs=1).fit(x, y)
    with pytest.raises(ValueError, match="NaN or infinite"):
        r.predict(bad)
    with pytest.raises(ValueError, match="log1p needs features > -1"):
        OnlineReadout().fit(x - 5, y)
    r = OnlineReadout(lr=10.0, normalize=False, epochs=3)
    with pytest.raises(ValueError, match=r"diverged \(inf or NaN\) in epoch [12]; lower lr"):
        r.fit(x, y)
    with pytest.raises(NotFittedError):  # a diverged readout is not a fitted one
        r.predict(x)
    with pytest.raises(ValueError, match="labels must be classes"):
        OnlineReadout().fit(x, np.linspace(0, 1, len(x)))  # continuous targets
    with pytest.warns(UserWarning, match=r"rule 'hebbian' ignores \['gate_threshold'\]"):
        OnlineReadout(rule="hebbian", gate_threshold=0.5).check_params()
    for params, msg in [
        ({"epochs": 2.5}, "epochs must be an integer"),
        ({"epochs": True}, "epochs must be an integer"),
        ({"seed": -5}, "seed must be an integer"),
        ({"lr": "0.1"}, "lr must be a number"),
        ({"log1p": "yes"}, "log1p must be true or false"),
        ({"gate_threshold": None}, "gate_threshold must be a number"),
    ]:
        with pytest.raises(ValueError, match=msg):
            OnlineReadout(**params).check_params()


def test_readout_errors():
    x, y = separable()
    with pytest.raises(NotFittedError, match="not fitted"):
        OnlineReadout().predict(x)
    with pytest.raises(NotFittedError, match="not fitted"):
        OnlineReadout().decision_function(x)
    with pytest.raises(ValueError, match="rule must be one of"):
        OnlineReadout(rule="stdp").fit(x, y)
    with pytest.raises(ValueError, match=r"epochs must be an integer in \[1, inf\), got 0"):
        OnlineReadout(epochs=0).fit(x, y)
    with pytest.raises(ValueError, match="labels"):
        OnlineReadout().fit(x, y[:5])
    with pytest.raises(ValueError, match=">= 2 classes"):
        OnlineReadout().fit(x[:3], np.zeros(3))
    with pytest.raises(ValueError, match="FORCE keeps a 61 x 61 matrix for 60 features"):
        OnlineReadout(rule="force", max_features=50).fit(x, y)
    r = OnlineReadout(epochs=1).fit(x, y)
    with pytest.raises(ValueError, match="expected 60 features"):
        r.predict(x[:, :1])


def test_make_readout_by_kind():
    assert isinstance(make_readout({"kind": "ridge", "alpha": 1.0}), LinearReadout)
    r = make_readout({"kind": "online", "rule": "force", "force_alpha": 5.0})
    assert isinstance(r, OnlineReadout) and r.force_alpha == 5.0
    with pytest.warns(UserWarning, match=r"ignores \['alpha'\].*force_alpha"):
        r = make_readout({"kind": "online", "alpha": [1.0, 10.0]})  # --set kind=online
    assert isinstance(r, OnlineReadout)
    with pytest.raises(ValueError, match=r"no option\(s\) \['lrr'\]"):
        make_readout({"kind": "online", "lrr": 0.1})
    with pytest.raises(ValueError, match="readout kind must be one of"):
        make_readout({"kind": "svm"})
    with pytest.raises(ValueError, match='now kind "online" with rule "hebbian"'):
        make_readout({"kind": "hebbian"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_readout({"kind": "logistic", "C": 2.0})


# ---- time-resolved: what x when -----------------------------------------------------------

T = 200
BASIS = np.exp(-0.5 * ((np.arange(T)[:, None] - np.linspace(0, T, 25)[None]) / 8.0) ** 2)


def noisy(rng):
    return BASIS + 0.05 * rng.standard_normal(BASIS.shape)


def learn(ww, rng, p_a, t_a, t_b, n):
    for _ in range(n):
        a = rng.random() < p_a
        ww.learn_trial(noisy(rng), 0 if a else 1, t_a if a else t_b)


def error(ww, p_a, t_a, t_b):
    ideal = ww.expected(T, np.array([p_a, 1 - p_a]), np.array([t_a, t_b]))
    return np.linalg.norm(ww.predict(BASIS) - ideal) / np.linalg.norm(ideal)


def test_what_when_amplitude_tracks_probability_and_timing():
    levels = np.linspace(0.1, 0.9, 5)
    amp = []
    for p_a in levels:
        ww = WhatWhenReadout(25, 2, width=10, what_options={"lr": 0.05})
        learn(ww, np.random.default_rng(0), p_a, 60, 140, 200)
        y = ww.predict(BASIS)
        assert abs(int(np.argmax(y[:, 0])) - 60) <= 3 and abs(int(np.argmax(y[:, 1])) - 140) <= 3
        amp.append(y[60, 0])
    assert np.corrcoef(levels, amp)[0, 1] > 0.97
    np.testing.assert_allclose(amp, levels, atol=0.12)


def test_three_factor_follows_a_timing_switch_that_force_does_not():
    errs = {}
    for rule in ("three_factor", "force"):
        ww = WhatWhenReadout(25, 2, width=10, rule=rule)
        rng = np.random.default_rng(1)
        learn(ww, rng, 0.8, 60, 140, 150)
        before = error(ww, 0.8, 60, 140)
        learn(ww, rng, 0.8, 100, 140, 50)  # A now comes later
        errs[rule] = (before, error(ww, 0.8, 100, 140))
    assert errs["force"][0] < 0.3 and errs["three_factor"][0] < 0.3  # both learned block 1
    assert errs["three_factor"][1] < 0.5 * errs["force"][1]
    assert errs["three_factor"][1] < 0.35


def test_per_output_force_is_ridge_on_each_units_own_samples():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((60, 4))
    y = rng.standard_normal((60, 2))
    gates = rng.random((60, 2)) < 0.5
    r = ForceRule(4, 2, alpha=2.0, per_output=True)
    for xi, yi, gi in zip(x, y, gates, strict=True):
        r.update(xi, yi, gate=gi)
    xa = np.hstack([x, np.ones((60, 1))])
    for i in (0, 1):
        m = gates[:, i]
        w = np.linalg.solve(xa[m].T @ xa[m] + 2.0 * np.eye(5), xa[m].T @ y[m, i])
        np.testing.assert_allclose(np.append(r.W[i], r.b[i]), w, atol=1e-10)
    with pytest.raises(ValueError, match="per_output FORCE keeps 10 matrices"):
        ForceRule(100, 10, per_output=True, max_features=200)


def test_force_what_when_keeps_one_p_per_channel():
    ww = WhatWhenReadout(25, 2, width=10, rule="force")
    assert ww.when.P.shape == (2, 26, 26) and ww.what.P.shape == (26, 26)
    rng = np.random.default_rng(2)
    ww.learn_trial(noisy(rng), 0, 60)
    assert np.array_equal(ww.when.P[1], np.eye(26))  # channel 1 has not learned yet
    assert ww.when.W[1].any() == 0 and ww.when.W[0].any()


def test_what_when_errors_and_bump():
    assert bump(5, 2, 1.0)[2] == 1.0
    ww = WhatWhenReadout(3, 2)
    with pytest.raises(ValueError, match=r"channel must be an integer in \[0, 1\], got 2"):
        ww.learn_trial(np.zeros((4, 3)), 2, 1)
    with pytest.raises(ValueError, match="channel must be an integer .* got True"):
        ww.learn_trial(np.zeros((4, 3)), True, 1)
    with pytest.raises(ValueError, match="step must be a number"):
        ww.learn_trial(np.zeros((4, 3)), 0, float("nan"))
    with pytest.raises(ValueError, match=r"\[steps, 3 features\]"):
        ww.learn_trial(np.zeros(3), 0, 1)
    with pytest.raises(ValueError, match=r"\[steps, 3 features\]"):
        ww.predict(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="width must be"):
        WhatWhenReadout(3, 2, width=float("nan"))
    wild = WhatWhenReadout(3, 2, when_options={"lr": 50.0, "normalize": False})
    with pytest.raises(ValueError, match="diverged"):
        for _ in range(20):
            wild.learn_trial(np.full((30, 3), 10.0), 0, 10)
    with pytest.raises(ValueError, match="rule must be"):
        WhatWhenReadout(3, 2, rule="hebbian")
    ww.learn_trial(np.ones((4, 3)), None, None)  # no event: only "what" learns (towards 0)
    assert ww.when.n_updates == 0


def test_exponential_traces_by_hand():
    c = np.zeros((1, 4, 2))
    c[0, 0, 0] = 1
    c[0, 2, 1] = 2
    r = exponential_traces(c, tau=10.0)
    d = np.exp(-0.1)
    np.testing.assert_allclose(r[0, :, 0], [1, d, d * d, d**3], rtol=1e-6)
    np.testing.assert_allclose(r[0, :, 1], [0, 0, 2, 2 * d], rtol=1e-6)
    with pytest.raises(ValueError, match="tau and dt must be > 0"):
        exponential_traces(c, tau=0.0)


def test_what_when_example_runs_on_a_small_reservoir(tmp_path, load_example):
    mod = load_example("what_when")
    out = tmp_path / "ww"
    mod.main([
        "--trials", "12", "--test-trials", "2", "--per-level", "4", "--block", "5",
        "--steps", "120", "--read", "20", "--out", str(out),
    ])  # fmt: skip
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["amplitude_vs_probability"]["peak_a"]) == 11
    assert set(m["test_error"]) == {"three_factor", "force", "force_forgetting"}
    assert (out / "what_when.png").exists()


def test_what_when_feedback_example_runs_closed_loop(tmp_path, load_example):
    mod = load_example("what_when_feedback")  # it imports the cue from what_when.py
    out = tmp_path / "fb"
    mod.main(["--gains", "0", "3", "--cues", "burst", "--train", "3", "--test", "1",
              "--steps", "80", "--read", "20", "--out", str(out)])  # fmt: skip
    errors = json.loads((out / "metrics.json").read_text())["test_error"]["burst"]
    assert set(errors) == {"0.0", "3.0"} and all(np.isfinite(list(errors.values())))
    assert errors["0.0"] != errors["3.0"]  # the feedback reaches the reservoir
    assert (out / "feedback.png").exists()
