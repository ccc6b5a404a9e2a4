"""Write the CIFAR-10 sample shipped in barlow_lib/sample_data/ from a folder of CIFAR-10 training JPEGs.

    python scripts/make_cifar10_sample.py DIR        # DIR/train/<class>/0000.jpg ... 4999.jpg

Per class, the first 500 files (sorted by name) become training images and the last 100 become evaluation
images. The last 10% of each class is also what ``data.load`` carves out as the validation split of the
full folder, so a model trained on the full folder's training part never saw the sample's evaluation images.
The JPEG bytes are stored unchanged (no second lossy encoding), in files of at most 2,500 images (< 3 MiB).
"""
import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
OUT = Path(__file__).resolve().parents[1] / "barlow_lib" / "sample_data"


def pack(files, labels, path):
    blobs = [f.read_bytes() for f in files]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    np.savez(path, jpeg=np.frombuffer(b"".join(blobs), np.uint8), offsets=offsets,
             labels=np.asarray(labels, np.uint8), names=np.asarray([f"{f.parent.name}/{f.name}" for f in files]))
    return {"file": path.name, "images": len(files), "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--train-per-class", type=int, default=500)
    p.add_argument("--eval-per-class", type=int, default=100)
    p.add_argument("--shard", type=int, default=2500)
    a = p.parse_args()
    train, evals = [], []
    for c, name in enumerate(CLASSES):
        files = sorted((a.folder / "train" / name).glob("*.jpg"))
        train += [(f, c) for f in files[: a.train_per_class]]
        evals += [(f, c) for f in files[-a.eval_per_class:]]
    # interleave classes so that every shard holds all of them
    train.sort(key=lambda fc: (int(fc[0].stem), fc[1]))
    OUT.mkdir(exist_ok=True)
    shards = [pack(*zip(*train[i:i + a.shard]), OUT / f"cifar10-train-{i // a.shard}.npz")
              for i in range(0, len(train), a.shard)]
    shards.append(pack(*zip(*evals), OUT / "cifar10-eval.npz"))
    print(json.dumps(shards, indent=1))


if __name__ == "__main__":
    main()
