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
    acc, pred = evaluate.linear_probe(x, y, q, qy, epochs=30, batch_size=64, learning_rate=0.05)
    assert acc > 0.9 and pred.shape == qy.shape


def test_confusion_matrix_counts():
    m = evaluate.confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
