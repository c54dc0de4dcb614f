"""What the data build scripts share: writing a set of pairs and its fixed test split."""

import json

import numpy as np


def write_pairs(out_dir, stem, arrays, codes, size, seed, test_fraction):
    """Save ``arrays`` as ``<stem>.npz`` in ``out_dir`` and ``<stem>_split.json`` beside it:
    ``{"size", "seed", "train": [...], "test": [...]}``, the test codes (``test_fraction`` of them, rounded
    up) drawn once with ``seed``, in their order in ``codes``. Returns the split."""
    n_test = int(np.ceil(test_fraction * len(codes)))
    test = set(np.random.default_rng(seed).choice(len(codes), n_test, replace=False).tolist())
    split = {"size": size, "seed": seed,
             "train": [c for i, c in enumerate(codes) if i not in test],
             "test": [c for i, c in enumerate(codes) if i in test]}
    np.savez_compressed(out_dir / f"{stem}.npz", **arrays)
    (out_dir / f"{stem}_split.json").write_text(json.dumps(split, indent=0) + "\n")
    return split
