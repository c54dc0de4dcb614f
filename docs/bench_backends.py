"""ms/step of every lesson's step function on the Keras backends installed here, with the full-mode
networks and batch sizes, on the training data (each backend in its own process).

    python docs/bench_backends.py [--steps 30] [--backends tensorflow jax torch] [--lessons wgan wgan_sn ...]
    python docs/bench_backends.py --backends tensorflow tensorflow+xla --lessons pix2pix   # XLA: every compile jit_compile=True

Prints a Markdown table for docs/results.md. Time it on free cores: nothing else training.
"""
import argparse
import json
import os
import subprocess
import sys
import time

CHILD = """
import json, os, sys, time, tempfile
import numpy as np, keras
if os.environ.get("BENCH_XLA"):  # "BACKEND+xla": every Model.compile asks for XLA
    _compile = keras.Model.compile
    keras.Model.compile = lambda self, *a, **k: _compile(self, *a, **{**k, "jit_compile": True})
from gan_lessons.lessons import LESSONS, make_experiment
from gan_lessons.lessons.mode_collapse import build_toy_gan
from gan_lessons.data import sample_toy
steps = int(sys.argv[1]); only = json.loads(sys.argv[2]) if len(sys.argv) > 2 else []; out = {}
if set(only) - set(LESSONS):
    sys.exit(f"unknown lessons {sorted(set(only) - set(LESSONS))}; known: {', '.join(LESSONS)}")
for name, lesson in LESSONS.items():
    if only and name not in only:
        continue
    if lesson.build is None:  # lesson 04: one ring run of each method
        config = lesson.config(False)
        for method in config["methods"]:
            models, step, _ = build_toy_gan(config, "ring", method)
            data, bs = sample_toy("ring", 100000), config["batch_size"]
            batches = [data[i * bs:(i + 1) * bs] for i in range(steps + 3)]
            rng = np.random.default_rng(0)
            for b in batches[:3]: step(models, b, rng)
            t = time.perf_counter()
            for b in batches[3:]: step(models, b, rng)
            out[f"mode_collapse ({method})"] = 1000 * (time.perf_counter() - t) / steps
        continue
    run = make_experiment(name, quick=False, out_dir=tempfile.mkdtemp())
    arrays = run.data if isinstance(run.data, tuple) else (run.data,)
    bs, rng = run.config["batch_size"], np.random.default_rng(0)
    def batch(i):
        part = tuple(a[i * bs:(i + 1) * bs] for a in arrays)
        return part if len(part) > 1 else part[0]
    try:
        for i in range(3): run.step(run.models, batch(i), rng)
        t = time.perf_counter()
        for i in range(3, steps + 3): run.step(run.models, batch(i), rng)
        out[name] = 1000 * (time.perf_counter() - t) / steps
    except Exception as err:  # a step this backend cannot run: reported in the table, not hidden
        out[name] = f"fails: {type(err).__name__}"
print(json.dumps({"backend": keras.backend.backend(), "ms": out}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--lessons", nargs="+", default=[], help="only these lessons (default: all)")
    args = parser.parse_args()
    rows = {}
    for backend in args.backends:
        name, _, xla = backend.partition("+")
        if xla not in ("", "xla"):
            parser.error(f"unknown backend {backend!r}: a Keras backend, or one followed by +xla")
        env = dict(os.environ, KERAS_BACKEND=name, TF_CPP_MIN_LOG_LEVEL="3", BENCH_XLA="1" if xla == "xla" else "")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CHILD, str(args.steps), json.dumps(args.lessons)], capture_output=True, text=True, env=env)
        if done.returncode:
            print(f"{backend}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        rows[backend] = json.loads(done.stdout.strip().splitlines()[-1])["ms"]
        print(f"{backend}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    lessons = list(next(iter(rows.values())))
    print("| lesson | " + " | ".join(rows) + " |\n|---|" + "---|" * len(rows))
    for lesson in lessons:
        cells = (rows[b].get(lesson, float("nan")) for b in rows)
        print(f"| {lesson} | " + " | ".join(c if isinstance(c, str) else f"{c:.0f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
