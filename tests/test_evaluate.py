"""kNN, the linear probe and the confusion matrix on features whose answers are known."""
import numpy as np
import pytest

from barlow_lib import evaluate

pytestmark = pytest.mark.core


def clusters(n_per_class=50, n_classes=4, dim=16, spread=0.3, seed=0):
    centres = np.random.default_rng(42).normal(size=(n_classes, dim)) * 3  # the same classes for every seed
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    return (centres[y] + spread * rng.normal(size=(len(y), dim))).astype(np.float32), y


def test_knn_matches_a_brute_force_weighted_vote():
    x, y = clusters(spread=2.0)
    q, qy = clusters(n_per_class=5, spread=2.0, seed=1)
    scores = evaluate.knn_predict(x, y, q, k=20, temperature=0.1)
    xn, qn = x / np.linalg.norm(x, axis=1, keepdims=True), q / np.linalg.norm(q, axis=1, keepdims=True)
    for i in range(len(q)):
        sim = xn @ qn[i]
        top = np.argsort(-sim)[:20]
        want = np.zeros(4)
        np.add.at(want, y[top], np.exp(sim[top] / 0.1))
        np.testing.assert_allclose(scores[i], want, rtol=1e-4)


def test_knn_separates_clusters_and_fails_on_shuffled_labels():
    x, y = clusters()
    q, qy = clusters(n_per_class=20, seed=1)
    assert evaluate.knn_accuracy(x, y, q, qy, k=10) == 1.0
    shuffled = np.random.default_rng(0).permutation(y)
    assert evaluate.knn_accuracy(x, shuffled, q, qy, k=10) < 0.6


def test_linear_probe_learns_separable_features():
    x, y = clusters()
    q, qy = clusters(n_per_class=20, seed=1)
    acc, pred, l2 = evaluate.linear_probe(x, y, q, qy)
    assert acc > 0.9 and pred.shape == qy.shape and l2 in evaluate.L2_GRID


def overlapping(n=3000, d=64, classes=10, seed=0):
    """Classes a linear model separates only partly: the probe's optimum matters."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(7).normal(size=(classes, d)) * 0.25
    y = rng.integers(0, classes, n)
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y


@pytest.mark.parametrize("l2", [1e-4, 1e-2])
def test_lbfgs_probe_reaches_scikit_learns_optimum(l2):
    """The published probe must not under-report features: same objective, same minimum as an independent solver."""
    sklearn = pytest.importorskip("sklearn.linear_model")
    x, y = overlapping()
    q, qy = overlapping(n=1000, seed=1)
    mean, std = x.mean(0), x.std(0) + 1e-6
    xs, qs = (x - mean) / std, (q - mean) / std
    w, b, ours = evaluate.softmax_regression(xs, y, 10, l2)
    # scikit-learn minimises C * sum(cross-entropy) + ||W||^2 / 2: the same problem with C = 1 / (l2 * n)
    ref = sklearn.LogisticRegression(C=1 / (l2 * len(x)), tol=1e-10, max_iter=5000).fit(xs, y)
    theirs = -ref.predict_log_proba(xs)[np.arange(len(y)), y].mean() + 0.5 * l2 * (ref.coef_ ** 2).sum()
    assert ours <= theirs + 1e-6, (ours, theirs)
    acc, _, _ = evaluate.linear_probe(x, y, q, qy, l2=l2)
    assert abs(acc - ref.score(qs, qy)) <= 0.005


# The products run in float32: the objective is exact to about 1e-8 and a fit stops once a step gains less than
# 1e-9 of it, so two fits of one problem agree to a few 1e-8 (a fit stopped short differs by 1e-4 or more).
SAME_MINIMUM = 3e-7


def test_a_warm_started_fit_reaches_the_same_minimum():
    """linear_probe fits its L2 candidates from strong to weak, each from the last: the same minima as from zero."""
    xs, y = correlated()  # features as correlated as a backbone's
    near = evaluate.softmax_regression(xs, y, 10, 1e-3)
    w, b, cold = evaluate.softmax_regression(xs, y, 10, 1e-4)
    w2, b2, warm = evaluate.softmax_regression(xs, y, 10, 1e-4, start=near[:2])
    assert abs(warm - cold) <= SAME_MINIMUM * max(1.0, abs(cold)), (warm, cold)

    def probabilities(w, b):  # b is unique only up to a constant added to every class: compare probabilities
        z = xs @ w + b
        z = np.exp(z - z.max(1, keepdims=True))
        return z / z.sum(1, keepdims=True)
    np.testing.assert_allclose(probabilities(w2, b2), probabilities(w, b), atol=1e-3)  # within the solver tol


def test_a_warm_start_saves_the_plain_solver_steps(monkeypatch):
    # Without preconditioning, a weak penalty takes hundreds of evaluations from zero, and fewer from the
    # stronger penalty's weights. (Preconditioned, a fit needs few from zero too: on four seeds of these features,
    # when written, 44 to 102 evaluations from zero and 49 to 81 warm, float32 rounding deciding which is fewer.)
    xs, y = correlated()
    plain = {"precondition": False, "float32": False}
    near = evaluate.softmax_regression(xs, y, 10, 1e-3, **plain)
    _, n_cold = evaluations(monkeypatch, lambda: evaluate.softmax_regression(xs, y, 10, 1e-4, **plain))
    _, n_warm = evaluations(monkeypatch, lambda: evaluate.softmax_regression(xs, y, 10, 1e-4, start=near[:2],
                                                                             **plain))
    assert n_warm < n_cold, (n_warm, n_cold)


def test_probe_with_chosen_strength_is_not_beaten_by_scikit_learns_default():
    sklearn = pytest.importorskip("sklearn.linear_model")
    x, y = overlapping(n=2000, d=128)
    q, qy = overlapping(n=1000, d=128, seed=1)
    acc, _, _ = evaluate.linear_probe(x, y, q, qy)
    mean, std = x.mean(0), x.std(0) + 1e-6
    ref = sklearn.LogisticRegression(max_iter=5000).fit((x - mean) / std, y).score((q - mean) / std, qy)
    assert acc >= ref - 0.02, (acc, ref)


def test_nearest_neighbours_are_sorted_by_cosine_similarity():
    train = np.array([[1, 0], [0, 1], [1, 1], [-1, 0]], np.float32)
    nn = evaluate.nearest_neighbours(train, np.array([[1, 0.1]], np.float32), k=3)
    assert nn.tolist() == [[0, 2, 1]]


def test_label_subset_is_class_balanced_and_repeatable():
    y = np.repeat(np.arange(5), 100)
    idx = evaluate.label_subset(y, 0.1, seed=3)
    assert np.bincount(y[idx]).tolist() == [10] * 5
    assert np.array_equal(idx, evaluate.label_subset(y, 0.1, seed=3))
    assert np.bincount(y[evaluate.label_subset(y, 0.001)]).tolist() == [1] * 5


def test_confusion_matrix_counts():
    m = evaluate.confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def correlated(n=2000, d=128, seed=0):
    """``overlapping`` classes seen through a mixing matrix with a decaying spectrum: features as correlated
    as a trained backbone's, the ill-conditioned problem the preconditioner is for."""
    x, y = overlapping(n=n, d=d, seed=seed)
    rng = np.random.default_rng(11)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    mix = q * np.geomspace(1.0, 1e-2, d)[None, :] @ np.linalg.qr(rng.normal(size=(d, d)))[0]
    x = x @ mix.astype(np.float32)
    return (x - x.mean(0)) / (x.std(0) + 1e-6), y


def evaluations(monkeypatch, fit):
    """``fit()``'s result and how many times it evaluated the objective."""
    calls, lbfgs = [], evaluate.lbfgs

    def counted(fun, theta, **kw):
        return lbfgs(lambda t: calls.append(1) or fun(t), theta, **kw)
    monkeypatch.setattr(evaluate, "lbfgs", counted)
    out = fit()
    monkeypatch.setattr(evaluate, "lbfgs", lbfgs)
    return out, len(calls)


def test_preconditioning_reaches_the_same_minimum_in_fewer_evaluations(monkeypatch):
    xs, y = correlated()
    (w, b, pre), n_pre = evaluations(monkeypatch, lambda: evaluate.softmax_regression(xs, y, 10, 1e-4))
    (w0, b0, plain), n_plain = evaluations(monkeypatch, lambda: evaluate.softmax_regression(
        xs, y, 10, 1e-4, precondition=False, float32=False))
    assert abs(pre - plain) <= SAME_MINIMUM * max(1.0, abs(plain)), (pre, plain)
    assert np.mean((xs @ w + b).argmax(1) == (xs @ w0 + b0).argmax(1)) >= 0.999
    assert n_pre < 0.7 * n_plain, (n_pre, n_plain)  # 58 against 263 when written


def test_the_default_probe_chooses_and_reads_as_the_plain_solver_does():
    """What bench/linear_probe.py checks on real features: the speed-ups move neither the L2 choice nor the score."""
    xs, y = correlated(n=3000)
    q, qy = correlated(n=1000, seed=1)
    fast = evaluate.linear_probe(xs, y, q, qy)
    plain = evaluate.linear_probe(xs, y, q, qy, precondition=False, float32=False)
    assert fast[2] == plain[2] and np.mean(fast[1] == plain[1]) >= 0.998, (fast[0], plain[0], fast[2], plain[2])
