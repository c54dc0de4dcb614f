"""Where lesson 05's Pix2Pix step spends its time, for two PatchGAN widths (TensorFlow, full-mode settings).

    python docs/pix2pix_cost.py [WIDTH ...]      # default: 16,32 32,64 (the lesson's D since session 29, the one before)

For each width, in one process: the lesson's own step (``steps.pix2pix_step``) run 30 times after 5 of
warm-up, with its three Keras calls timed inside it (G's ``predict_on_batch``, D's ``train_on_batch`` on
real and fake pairs, the composite's ``train_on_batch``), then the whole step in alternating blocks of 10
steps, eight blocks (median). Prints Markdown rows for docs/results.md. Time it on free cores.
"""
import sys
import tempfile
import time

import numpy as np

from gan_lessons.lessons import make_experiment
from timing import alternating_blocks, random_step


CALLS = {"G predict": ("generator", "predict_on_batch"), "D train": ("discriminator", "train_on_batch"),
         "composite train": ("gan", "train_on_batch")}


def parts(run, rng, steps=30):
    """ms per step spent in each of the step's three Keras calls, timed inside ``run.step`` itself."""
    spent = dict.fromkeys(CALLS, 0.0)

    def timed(label, call):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            result = call(*args, **kwargs)
            spent[label] += time.perf_counter() - start
            return result
        return wrapper

    for label, (model, method) in CALLS.items():
        setattr(run.models[model], method, timed(label, getattr(run.models[model], method)))
    for _ in range(steps):
        random_step(run, rng)
    for model, method in CALLS.values():
        delattr(run.models[model], method)  # the class's method again
    return {label: 1000 * seconds / steps for label, seconds in spent.items()}


def main(widths):
    runs = {w: make_experiment("pix2pix", False, 0, tempfile.mkdtemp(), d_channels=[int(c) for c in w.split(",")])
            for w in widths}
    rng = np.random.default_rng(0)
    for run in runs.values():
        for _ in range(5):
            random_step(run, rng)
    split = {w: parts(run, rng) for w, run in runs.items()}
    whole = alternating_blocks(widths, lambda w: random_step(runs[w], rng), 8)
    print("| D channels | D weights | G predict | D train | composite train | whole step (median of 8 x 10) |")
    print("|---|---|---|---|---|---|")
    for w, run in runs.items():
        p = split[w]
        print(f"| ({w.replace(',', ', ')}) | {run.models['discriminator'].count_params():,} | {p['G predict']:.0f} ms | "
              f"{p['D train']:.0f} ms | {p['composite train']:.0f} ms | {whole[w]:.0f} ms |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["16,32", "32,64"])
