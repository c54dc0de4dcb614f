"""Lesson 05 (or ``pix2pix_l1``) trained on its training pairs minus a held-out tenth, scored on that tenth and
on the test split: a way to compare settings without choosing them on the test pairs.

    python docs/pix2pix_validation.py LESSON OUT_DIR [KEY=VALUE ...]     # as `train --set KEY=VALUE`
    python docs/pix2pix_validation.py pix2pix /tmp/p2p-d0 dropout=0.0

The tenth: ``np.random.default_rng(17).permutation`` of the 1,352 training pairs, the first 135 held out (the
protocol of sessions 17 and 19, whose script was not kept). Full-mode settings, seed 0; prints the scores of each
split and the error as a fraction of doing nothing. Time it on free cores (8-9 min of training for ``pix2pix``).
"""
import sys

import numpy as np

import gan_lessons.lessons.pix2pix as lesson05
from gan_lessons.__main__ import _setting
from gan_lessons.lessons import make_experiment

task_pairs = lesson05.task_pairs


def held_out_pairs(task, split):
    """``task_pairs`` with the "train" split cut in two: "train" loses its held-out tenth, "val" is that tenth."""
    if split not in ("train", "val"):
        return task_pairs(task, split)
    inputs, targets = task_pairs(task, "train")
    order = np.random.default_rng(17).permutation(len(inputs))
    tenth = len(inputs) // 10
    keep = np.sort(order[:tenth] if split == "val" else order[tenth:])
    return inputs[keep], targets[keep]


def score_line(name, s):
    """One line of :func:`~gan_lessons.metrics.translation_scores`: error (and as a fraction of doing nothing),
    palette, colourfulness, sharpness."""
    return (f"{name}: {s['n_images']} pairs, MAE {s['mae']:.4f} ({s['mae'] / s['mae_identity']:.3f} x doing nothing), "
            f"palette {s['palette_distance']:.3f}, colourfulness {s['colorfulness_ratio']:.2f}, "
            f"sharpness {s['sharpness_ratio']:.2f}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    lesson05.task_pairs = held_out_pairs  # what the lesson's build() and Translation.pairs() read
    overrides = dict(map(_setting, sys.argv[3:]))  # read as the CLI's --set reads them
    run = make_experiment(sys.argv[1], quick=False, out_dir=sys.argv[2], fresh=True, **overrides)
    history = run.train(progress=False)
    print(f"{history.step} steps, {history.wall_time:.0f} s of training")
    for split in ("val", "test"):
        print(score_line(split, run.evaluate(split=split)))
