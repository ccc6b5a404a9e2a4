"""How good are the features? kNN and a linear probe on a frozen backbone.

kNN follows the SSL monitor convention: L2-normalised features, cosine
similarity, the k = 200 nearest training images vote with weight
exp(similarity / 0.1). The linear probe is the seed's (Dense softmax, L2 0.02,
LAMB, 35 epochs, no augmentation), fitted on features extracted once, and on
the *backbone* output (the seed probed the projector output).
"""
from __future__ import annotations

import numpy as np
from tqdm import tqdm


def extract_features(model, images: np.ndarray, batch_size: int = 512, progress: bool = False) -> np.ndarray:
    """Run ``model`` (inference mode) over uint8 images in batches; float32 (N, D)."""
    out = []
    for start in tqdm(range(0, len(images), batch_size), desc="features", unit="batch", disable=not progress,
                      leave=False):
        batch = images[start:start + batch_size].astype(np.float32) / 255.0
        out.append(np.asarray(model.predict_on_batch(batch), dtype=np.float32))
    return np.concatenate(out).reshape(len(images), -1)


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


def linear_probe(train_features, train_labels, test_features, test_labels, *, epochs: int = 35,
                 batch_size: int = 512, l2: float = 0.02, learning_rate: float = 1e-3, seed: int = 0,
                 n_classes: int | None = None):
    """Fit Dense(softmax) on frozen features; returns (accuracy, predicted labels)."""
    import keras

    n_classes = n_classes or int(train_labels.max()) + 1
    mean, std = train_features.mean(0), train_features.std(0) + 1e-6  # standardise: conditions LAMB
    xtr, xte = (train_features - mean) / std, (test_features - mean) / std
    keras.utils.set_random_seed(seed)
    probe = keras.Sequential([keras.Input((xtr.shape[1],)),
                              keras.layers.Dense(n_classes, activation="softmax",
                                                 kernel_regularizer=keras.regularizers.l2(l2))])
    probe.compile(optimizer=keras.optimizers.Lamb(learning_rate), loss="sparse_categorical_crossentropy")
    probe.fit(xtr, train_labels, epochs=epochs, batch_size=min(batch_size, len(xtr)), verbose=0)
    kernel, bias = (np.asarray(w) for w in probe.layers[-1].get_weights())
    pred = (xte @ kernel + bias).argmax(1)  # softmax is monotonic: the logits decide
    return float(np.mean(pred == test_labels)), pred


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    m = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def evaluate_features(protocol: str, train_f, train_y, eval_f, eval_y, n_classes=None, **kwargs) -> dict:
    """One protocol on precomputed features: {"protocol", "accuracy", "predictions"}."""
    if protocol == "knn":
        scores = knn_predict(train_f, train_y, eval_f, n_classes=n_classes, **kwargs)
        pred = scores.argmax(1)
        return {"protocol": "knn", "accuracy": float(np.mean(pred == eval_y)), "predictions": pred}
    if protocol == "linear":
        acc, pred = linear_probe(train_f, train_y, eval_f, eval_y, n_classes=n_classes, **kwargs)
        return {"protocol": "linear", "accuracy": acc, "predictions": pred}
    raise ValueError(f"protocol must be 'knn' or 'linear', got {protocol!r}")
