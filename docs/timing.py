"""Shared by the cost scripts in docs/ (ema_cost.py, pix2pix_cost.py): a random training batch, one step on
it, and the alternating-blocks timer that compares variants in one process."""
import time

import numpy as np


def random_batch(run, rng):
    """A batch of ``run``'s full-mode size drawn at random from its training data: aligned arrays (Pix2Pix's
    pairs, images and labels) share the draw, unaligned ones (CycleGAN's two domains) draw apart."""
    arrays = run.data if isinstance(run.data, tuple) else (run.data,)
    size, aligned = run.config["batch_size"], len({len(a) for a in arrays}) == 1
    shared = rng.integers(0, len(arrays[0]), size)
    part = tuple(a[shared if aligned else rng.integers(0, len(a), size)] for a in arrays)
    return part if len(part) > 1 else part[0]


def random_step(run, rng):
    """One training step of ``run`` (its own step function) on a :func:`random_batch`."""
    run.step(run.models, random_batch(run, rng), rng)


def alternating_blocks(labels, step, rounds, block=10):
    """Median ms per call of ``step(label)`` for each label, timed in blocks of ``block`` calls whose order
    reverses every round, so a drift in the machine's speed falls on every label alike."""
    labels, times = list(labels), {label: [] for label in labels}
    for r in range(rounds):
        for label in (labels if r % 2 == 0 else labels[::-1]):
            start = time.perf_counter()
            for _ in range(block):
                step(label)
            times[label].append(1000 * (time.perf_counter() - start) / block)
    return {label: float(np.median(t)) for label, t in times.items()}
