"""Does a loss track sample quality? Train a lesson's run with 1,000-sample snapshots every EVERY steps,
score each snapshot with the course classifier (FID-style, on all 1,000 and on the first 64) and
rank-correlate it (Spearman) with each loss averaged over the steps since the previous snapshot.

    python docs/loss_vs_quality.py LESSON STEPS EVERY ['{"setting": value, ...}']

Prints one JSON line (rows per snapshot, the final scores on 10,000 samples, the correlations). Time it
on free cores: nothing else training.
"""
import json, sys, time, tempfile
import numpy as np
from gan_lessons.lessons import make_experiment
from gan_lessons.metrics import evaluate_digits
from gan_lessons.training import fit

lesson, steps, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
overrides = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
run = make_experiment(lesson, quick=False, out_dir=tempfile.mkdtemp(), steps=steps, **overrides)
t = time.perf_counter()
h = fit(run.step, run.models, run.data, steps=steps, batch_size=run.config["batch_size"], seed=0,
        sample=lambda: run.generate(1000, seed=7), snapshot_every=every, progress=False)
train_s = time.perf_counter() - t
def rank(x): return np.argsort(np.argsort(x))
rows = []
for step, imgs in zip(h.snapshot_steps, h.snapshots):
    lo, hi = max(0, step - every), max(1, step)
    x = imgs.astype("float32") / 255
    row = {"step": step, "fid": evaluate_digits(x)["fid"], "fid64": evaluate_digits(x[:64])["fid"]}
    for k in ("w_estimate", "d_loss", "g_loss"):
        if k in h.logs:
            row[k] = float(np.mean(h.logs[k][lo:hi]))
    rows.append(row)
final = run.evaluate(10000)
out = {"lesson": lesson, "steps": steps, "every": every, "train_s": round(train_s, 1), "rows": rows,
       "final": {k: final[k] for k in ("fid", "inception_score", "min_class_fraction", "class_fractions")}}
for f in ("fid", "fid64"):
    fid = np.array([r[f] for r in rows[1:]])  # from the first snapshot after step 0
    for k in ("w_estimate", "d_loss", "g_loss"):
        if k in rows[-1]:
            v = np.array([r[k] for r in rows[1:]])
            out[f"spearman_{k}_vs_{f}"] = float(np.corrcoef(rank(v), rank(fid))[0, 1])
print(json.dumps(out))
