"""Where lesson 05's Pix2Pix step spends its time, for two PatchGAN widths (TensorFlow, full-mode settings).

    python docs/pix2pix_cost.py [WIDTH ...]      # default: 16,32 32,64 (the lesson's D and session 28's)

For each width, in one process: the three calls of ``steps.pix2pix_step`` timed apart (G's
``predict_on_batch``, D's ``train_on_batch`` on real and fake pairs, the composite's ``train_on_batch``;
30 calls after 5 steps of warm-up), then the whole step in alternating blocks of 10 steps, eight blocks
(median). Prints Markdown rows for docs/results.md. Time it on free cores.
"""
import sys
import tempfile
import time

import numpy as np

from gan_lessons.lessons import make_experiment


def ms(call, n=30):
    call()
    start = time.perf_counter()
    for _ in range(n):
        call()
    return 1000 * (time.perf_counter() - start) / n


def parts(run, inputs, targets):
    """ms per call of each of the step's three Keras calls, on one fixed batch."""
    G, D, composite = (run.models[k] for k in ("generator", "discriminator", "gan"))
    fakes = G.predict_on_batch(inputs)
    real = np.ones((len(inputs), *D.outputs[0].shape[1:]), "float32")

    def d_call():
        D.trainable = True
        D.train_on_batch([np.concatenate([inputs, inputs]), np.concatenate([targets, fakes])],
                         np.concatenate([real, 0 * real]))

    def g_call():
        D.trainable = False
        composite.train_on_batch(inputs, [real, targets])

    return {"G predict": ms(lambda: G.predict_on_batch(inputs)), "D train": ms(d_call), "composite train": ms(g_call)}


def main(widths):
    runs = {w: make_experiment("pix2pix", False, 0, tempfile.mkdtemp(), d_channels=[int(c) for c in w.split(",")])
            for w in widths}
    rng = np.random.default_rng(0)

    def batch(run):
        x, y = run.data
        picked = rng.integers(0, len(x), run.config["batch_size"])
        return x[picked], y[picked]

    for run in runs.values():
        for _ in range(5):
            run.step(run.models, batch(run), rng)
    split = {w: parts(run, *batch(run)) for w, run in runs.items()}
    blocks = {w: [] for w in runs}
    for r in range(8):
        for w in (widths if r % 2 == 0 else widths[::-1]):
            run, start = runs[w], time.perf_counter()
            for _ in range(10):
                run.step(run.models, batch(run), rng)
            blocks[w].append(100 * (time.perf_counter() - start))
    print("| D channels | D weights | G predict | D train | composite train | whole step (median of 8 x 10) |")
    print("|---|---|---|---|---|---|")
    for w, run in runs.items():
        p = split[w]
        print(f"| ({w.replace(',', ', ')}) | {run.models['discriminator'].count_params():,} | {p['G predict']:.0f} ms | "
              f"{p['D train']:.0f} ms | {p['composite train']:.0f} ms | {np.median(blocks[w]):.0f} ms |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["16,32", "32,64"])
