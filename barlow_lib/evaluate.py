"""How good are the features? kNN and a linear probe on a frozen backbone.

kNN follows the SSL monitor convention: L2-normalised features, cosine similarity, the k = 200 nearest
training images vote with weight exp(similarity / 0.1). The linear probe is multinomial logistic regression
on standardised backbone features, fitted to convergence by L-BFGS (a convex problem: no epochs or learning
rate to tune), with its L2 strength chosen on a tenth of the training labels. ``tests/test_evaluate.py``
checks it against scikit-learn's solver on the same features.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
from tqdm import tqdm

L2_GRID = (1e-5, 1e-4, 1e-3, 1e-2)  # penalty (l2 / 2) * ||W||^2 on a mean cross-entropy
L2_DEFAULT = 1e-3  # where too few images are left to choose from L2_GRID
MIN_L2_CHOICE = 20  # training images needed to hold out a tenth (2+) and still fit on the rest


class EvaluationWarning(UserWarning):
    """A measurement that ran but means less than it seems (``Run.evaluate`` returns these as ``warnings``)."""


def extract_features(model, images: np.ndarray, batch_size: int = 512, progress: bool = False) -> np.ndarray:
    """Run ``model`` (inference mode) over uint8 images in batches of one shape; float32 (N, D).

    The last batch is padded, so each model compiles one step; TensorFlow's warning about many models each
    compiling their step is muted here, where making new models (trained, untrained, resized) is the point.
    """
    out = []
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        for start in tqdm(range(0, len(images), batch_size), desc="features", unit="batch", disable=not progress,
                          leave=False):
            batch = images[start:start + batch_size]
            n = len(batch)
            if n < batch_size and len(images) > batch_size:
                batch = np.concatenate([batch, np.zeros((batch_size - n, *batch.shape[1:]), batch.dtype)])
            out.append(np.asarray(model.predict_on_batch(batch.astype(np.float32) / 255.0), dtype=np.float32)[:n])
    finally:
        tf_logger.setLevel(level)
    return np.concatenate(out).reshape(len(images), -1)


def project(projector, features: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """A trained projector's output on backbone features (inference mode); float32 (N, D)."""
    return np.concatenate([np.asarray(projector.predict_on_batch(features[i:i + batch_size]), np.float32)
                           for i in range(0, len(features), batch_size)])


def _normalise(f: np.ndarray) -> np.ndarray:
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def knn_predict(train_features, train_labels, test_features, k: int = 200, temperature: float = 0.1,
                n_classes: int | None = None, chunk: int = 1024) -> np.ndarray:
    """Weighted kNN votes; returns (n_test, n_classes) scores."""
    n_classes = n_classes or int(train_labels.max()) + 1
    k = min(k, len(train_features))
    train, test = _normalise(train_features), _normalise(test_features)
    scores = np.zeros((len(test), n_classes), np.float64)
    for start in range(0, len(test), chunk):
        sim = test[start:start + chunk] @ train.T
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        weights = np.exp(np.take_along_axis(sim, top, axis=1) / temperature)
        rows = np.repeat(np.arange(len(sim)), k)
        np.add.at(scores[start:start + chunk], (rows, train_labels[top].ravel()), weights.ravel())
    return scores


def knn_accuracy(train_features, train_labels, test_features, test_labels, **kwargs) -> float:
    scores = knn_predict(train_features, train_labels, test_features, **kwargs)
    return float(np.mean(scores.argmax(1) == test_labels))


def backbone_knn(backbone, x_train, y_train, x_eval, y_eval, **kwargs) -> float:
    """kNN accuracy of a backbone's features: uint8 images in, one number out."""
    f_train, f_eval = extract_features(backbone, x_train), extract_features(backbone, x_eval)
    return knn_accuracy(f_train, y_train, f_eval, y_eval, **kwargs)


def nearest_neighbours(train_features, query_features, k: int = 8) -> np.ndarray:
    """Indices of each query's ``k`` most cosine-similar training images, most similar first."""
    sim = _normalise(query_features) @ _normalise(train_features).T
    top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(sim, top, axis=1), axis=1), axis=1)


def principal_axes(x) -> tuple[np.ndarray, np.ndarray]:
    """(variances, axes): the eigen-decomposition of the features' covariance, the basis ``softmax_regression``
    solves in. Computed once per probe: any orthogonal basis gives the same minimum, this one a fast descent."""
    x = np.asarray(x, np.float32)
    variances, axes = np.linalg.eigh((x.T @ x).astype(np.float64) / len(x))
    return np.maximum(variances, 0.0), axes


def softmax_regression(x, y, n_classes: int, l2: float, max_iter: int = 500, tol: float = 1e-6, start=None,
                       axes=None, precondition: bool = True, float32: bool = True):
    """Minimise mean cross-entropy + (l2 / 2) ||W||^2 by L-BFGS; returns (W, b, final objective).

    ``start``: (W, b) to start from instead of zeros (a nearby problem's solution: the problem is strictly
    convex, so the minimum is the same; the plain solver reaches it in fewer steps). ``axes``:
    ``principal_axes`` of features like ``x`` (default: of ``x``). Two choices make each fit fast without moving
    its minimum (``bench/linear_probe.py`` measures them against the plain solver, both switched off):

    - ``precondition``: the solver works in the principal axes, on weights scaled by the curvature expected
      along each one (variance / 4 + l2). The penalty is the same in any orthogonal basis, and the scaled
      problem is far better conditioned, so L-BFGS needs fewer steps.
    - ``float32``: the two products with the features, which stream them from memory once each, run in
      float32, as the features are stored; sums, the objective and the solver's state stay float64. The
      objective is then exact to about 1e-8, so the fit stops once a step gains less than 1e-9 of it
      (``lbfgs``'s ``ftol``) instead of spending steps on rounding noise.
    """
    dtype = np.float32 if float32 else np.float64
    x = np.asarray(x, dtype)
    if precondition:
        variances, basis = principal_axes(x) if axes is None else axes
        x = x @ basis.astype(dtype)
    n, d = x.shape
    onehot = np.eye(n_classes)[y]
    scale = 1.0 / np.sqrt(variances / 4 + l2) if precondition else np.ones(d)  # weight = scale * variable

    def objective(theta):
        w, b = theta[: d * n_classes].reshape(d, n_classes) * scale[:, None], theta[d * n_classes:]
        logits = (x @ w.astype(dtype)).astype(np.float64) + b
        logits -= logits.max(1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        value = -(onehot * logp).sum() / n + 0.5 * l2 * (w * w).sum()
        g = (np.exp(logp) - onehot) / n
        grad_w = (x.T @ g.astype(dtype)).astype(np.float64) + l2 * w
        return value, np.concatenate([(grad_w * scale[:, None]).ravel(), g.sum(0)])

    theta = np.zeros(d * n_classes + n_classes)
    if start is not None:
        w0 = np.asarray(start[0], np.float64)
        theta = np.concatenate([((basis.T @ w0 if precondition else w0) / scale[:, None]).ravel(),
                                np.asarray(start[1], np.float64)])
    theta = lbfgs(objective, theta, max_iter=max_iter, tol=tol, ftol=1e-9 if float32 else 1e-12)
    value, _ = objective(theta)
    w = theta[: d * n_classes].reshape(d, n_classes) * scale[:, None]
    return (basis @ w if precondition else w), theta[d * n_classes:], float(value)


def lbfgs(fun, theta, max_iter: int = 500, memory: int = 30, tol: float = 1e-6, ftol: float = 1e-12):
    """Limited-memory BFGS with a backtracking (Armijo) line search, for smooth convex ``fun`` -> (value, grad).
    Stops when the gradient's largest entry is below ``tol``, or a step changes the value by at most ``ftol``
    of it (the precision ``fun`` computes it to)."""
    value, grad = fun(theta)
    s_hist, y_hist = [], []
    for _ in range(max_iter):
        if np.linalg.norm(grad, np.inf) < tol:
            break
        q, alphas = grad.copy(), []
        for s, yv in reversed(list(zip(s_hist, y_hist))):
            a = (s @ q) / (yv @ s)
            alphas.append(a)
            q -= a * yv
        if s_hist:
            q *= (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1])
        for (s, yv), a in zip(zip(s_hist, y_hist), reversed(alphas)):
            q += s * (a - (yv @ q) / (yv @ s))
        direction, step = -q, 1.0
        slope = grad @ direction
        if slope >= 0:  # not a descent direction: restart from the gradient
            direction, slope, s_hist, y_hist = -grad, -(grad @ grad), [], []
        while True:
            new = theta + step * direction
            new_value, new_grad = fun(new)
            if new_value <= value + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, yv = new - theta, new_grad - grad
        if s @ yv > 1e-12:
            s_hist, y_hist = (s_hist + [s])[-memory:], (y_hist + [yv])[-memory:]
        if abs(value - new_value) <= ftol * max(1.0, abs(value)):
            theta, value, grad = new, new_value, new_grad
            break
        theta, value, grad = new, new_value, new_grad
    return theta


def linear_probe(train_features, train_labels, test_features, test_labels=None, *, l2: float | None = None,
                 n_classes: int | None = None, seed: int = 0, precondition: bool = True, float32: bool = True):
    """Logistic regression on frozen, standardised features; returns (accuracy, predicted labels, chosen l2).

    ``l2=None`` picks the strength from ``L2_GRID`` by accuracy on a random tenth of the training set, then
    refits on all of it. The candidates are fitted from the strongest penalty to the weakest, each starting
    from the previous one's weights, and the refit from the chosen candidate's: the same minima as fits from
    zero, in fewer steps where a fit from zero takes hundreds (the plain solver's weak penalties); preconditioned,
    a fit needs few steps from anywhere.
    ``precondition``, ``float32``: how each fit is solved (``softmax_regression``); neither moves the minimum.
    """
    n_classes = n_classes or int(max(train_labels.max(), -1 if test_labels is None else test_labels.max())) + 1
    mean, std = train_features.mean(0), train_features.std(0) + 1e-6
    xtr, xte = (train_features - mean) / std, (test_features - mean) / std
    if l2 is None and len(xtr) < MIN_L2_CHOICE:
        warnings.warn(f"the linear probe has {len(xtr)} training images, too few to hold some out to choose its "
                      f"L2 strength: it uses {L2_DEFAULT:g}", EvaluationWarning, stacklevel=2)
        l2 = L2_DEFAULT
    if l2 is None:
        order = np.random.default_rng(seed).permutation(len(xtr))
        held, fit = order[: max(1, len(xtr) // 10)], order[max(1, len(xtr) // 10):]
        scores, fitted, start = {}, {}, None
        axes = principal_axes(xtr[fit]) if precondition else None
        for candidate in sorted(L2_GRID, reverse=True):
            w, b, _ = softmax_regression(xtr[fit], train_labels[fit], n_classes, candidate, start=start, axes=axes,
                                         precondition=precondition, float32=float32)
            scores[candidate], fitted[candidate], start = np.mean((xtr[held] @ w + b).argmax(1) ==
                                                                  train_labels[held]), (w, b), (w, b)
        l2 = L2_GRID[int(np.argmax([scores[c] for c in L2_GRID]))]  # ties: the first in L2_GRID, as before
        start = fitted[l2]
    else:
        start, axes = None, None
    w, b, _ = softmax_regression(xtr, train_labels, n_classes, l2, start=start, axes=axes,
                                 precondition=precondition, float32=float32)
    pred = (xte @ w + b).argmax(1)
    acc = float(np.mean(pred == test_labels)) if test_labels is not None else float("nan")
    return acc, pred, l2


def label_subset(labels: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Indices of a class-balanced ``fraction`` of the labelled images (at least one per class)."""
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        keep.append(rng.permutation(idx)[: max(1, int(round(len(idx) * fraction)))])
    return np.sort(np.concatenate(keep))


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    m = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def evaluate_features(protocol: str, train_f, train_y, eval_f, eval_y, n_classes=None, **kwargs) -> dict:
    """One protocol on precomputed features: {"protocol", "accuracy", "predictions"} (+ "l2" for linear)."""
    n_classes = n_classes or int(max(train_y.max(), eval_y.max())) + 1
    if protocol == "knn":
        pred = knn_predict(train_f, train_y, eval_f, n_classes=n_classes, **kwargs).argmax(1)
        return {"protocol": "knn", "accuracy": float(np.mean(pred == eval_y)), "predictions": pred}
    if protocol == "linear":
        acc, pred, l2 = linear_probe(train_f, train_y, eval_f, eval_y, n_classes=n_classes, **kwargs)
        return {"protocol": "linear", "accuracy": acc, "predictions": pred, "l2": l2}
    raise ValueError(f"protocol must be 'knn' or 'linear', got {protocol!r}")
