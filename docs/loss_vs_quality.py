"""Does a loss track sample quality? Train a lesson's run with 1,000-sample snapshots every EVERY steps,
score each snapshot with the course classifier (FID-style, on all 1,000 and on the first 64) and
rank-correlate it (Spearman) with each loss averaged over the steps since the previous snapshot.

    python docs/loss_vs_quality.py LESSON STEPS EVERY ['{"setting": value, ...}']

Prints one JSON line (rows per snapshot, the final scores on 10,000 samples, the correlations). Time it
on free cores: nothing else training.
"""
import json, sys, time, tempfile
from gan_lessons.lessons import make_experiment
from gan_lessons.metrics import evaluate_digits, loss_at_snapshots, spearman
from gan_lessons.training import fit

if len(sys.argv) < 4:  # (what to pass, not an IndexError)
    sys.exit(__doc__)
lesson, steps, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
overrides = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
run = make_experiment(lesson, quick=False, out_dir=tempfile.mkdtemp(), steps=steps, **overrides)
t = time.perf_counter()
h = fit(run.step, run.models, run.data, steps=steps, batch_size=run.config["batch_size"], seed=0,
        sample=lambda: run.generate(1000, seed=7), snapshot_every=every, progress=False)
train_s = time.perf_counter() - t
rows = [{"step": step, "fid": evaluate_digits(imgs.astype("float32") / 255)["fid"],
         "fid64": evaluate_digits(imgs[:64].astype("float32") / 255)["fid"]}
        for step, imgs in zip(h.snapshot_steps[1:], h.snapshots[1:])]  # from the first snapshot after step 0
keys = [k for k in ("w_estimate", "d_loss", "g_loss") if k in h.logs]
for k in keys:
    for row, value in zip(rows, loss_at_snapshots(h, k)[1]):
        row[k] = float(value)
final = run.evaluate(10000)
out = {"lesson": lesson, "steps": steps, "every": every, "train_s": round(train_s, 1), "rows": rows,
       "final": {k: final[k] for k in ("fid", "inception_score", "min_class_fraction", "class_fractions")}}
for f in ("fid", "fid64"):
    for k in keys:
        out[f"spearman_{k}_vs_{f}"] = spearman([r[k] for r in rows], [r[f] for r in rows])
print(json.dumps(out))
