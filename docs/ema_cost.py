"""What the moving average of G costs a step, eager against compiled (TensorFlow; steps.update_ema).

    python docs/ema_cost.py [LESSON ...]      # default: dcgan cgan dcgan_selfcond pix2pix cyclegan wgan

For each lesson, in one process, with its full-mode networks and batch: the average alone (ms per call, 50
calls after one of warm-up; lesson 01's G last, as a pair of ``mlp_generator``), then the lesson's whole step
in alternating blocks of 10 steps with each average, six blocks (median). Prints Markdown rows for
docs/results.md. Lessons without an average (pix2pix) show the noise of the whole-step figure. Time it on free cores.
"""
import sys
import tempfile
import time

import numpy as np

import gan_lessons.steps as steps
from gan_lessons.lessons import make_experiment
from gan_lessons.models import mlp_generator
from timing import alternating_blocks, random_step


def eager(ema_model, model, decay):
    steps._average(list(zip(ema_model.weights, model.weights)), decay, 1.0 - decay)


AVERAGES = {"eager": eager, "compiled": steps.update_ema}


def per_call(pairs, calls=50):
    """ms per average of every (copy, G) pair in ``pairs``, for each way of averaging."""
    out = {}
    for label, average in AVERAGES.items():
        for copy, G in pairs:
            average(copy, G, 0.999)
        start = time.perf_counter()
        for _ in range(calls):
            for copy, G in pairs:
                average(copy, G, 0.999)
        out[label] = 1000 * (time.perf_counter() - start) / calls
    return out


def whole_step(run, rounds=6):
    """Median ms per step of ``run``'s step with each way of averaging, in alternating blocks."""
    rng = np.random.default_rng(0)
    for _ in range(3):
        random_step(run, rng)

    def step(label):
        steps.update_ema = AVERAGES[label]  # what with_ema calls
        random_step(run, rng)

    times = alternating_blocks(AVERAGES, step, rounds)
    steps.update_ema = AVERAGES["compiled"]
    return times


def size(pairs):
    weights = [w for _, G in pairs for w in G.weights]
    return f"{sum(int(np.prod(w.shape)) for w in weights):,} / {len(weights)}"


print("| lesson | G's weights / variables | average per call: eager → compiled (ms) "
      "| whole step: eager → compiled (ms) |\n|---|---|---|---|")
for name in sys.argv[1:] or ["dcgan", "cgan", "dcgan_selfcond", "pix2pix", "cyclegan", "wgan"]:
    run = make_experiment(name, quick=False, out_dir=tempfile.mkdtemp())
    pairs = [(run.models[key], run.models[key[:-len("_ema")]]) for key in run.models if key.endswith("_ema")]
    call, step = per_call(pairs) if pairs else None, whole_step(run)
    calls = f"{call['eager']:.1f} → {call['compiled']:.1f}" if call else "—"
    print(f"| {name} | {size(pairs) if pairs else '—'} | {calls} | {step['eager']:.0f} → {step['compiled']:.0f} |",
          flush=True)
pairs = [(mlp_generator(100, name="generator_ema"), mlp_generator(100))]
call = per_call(pairs)
print(f"| lesson 01's G (`ema_decay` since session 34) | {size(pairs)} | {call['eager']:.1f} → {call['compiled']:.1f} "
      "| — |")
