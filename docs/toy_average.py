"""Lesson 04's remedy (minibatch standard deviation) under the papers' protocol (batch 100, Adam 1e-4 for both,
β1 0.8, constant rate), scored with G as is and with moving averages of its weights (by default decay 0.999 and
0.9999; the course's ``with_ema``), on the lesson's 2,500 evaluation points every EVERY steps. G and D start and
train as in ``train mode_collapse`` with the same settings (the averages only read G), so G's column is that run's.

    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
        .venv/bin/python docs/toy_average.py SEED STEPS EVERY [ring|grid [DECAYS]]

DECAYS: the averages' decays, comma-separated (default ``0.999,0.9999``; each average costs about as much per step
as these tiny networks' training). One thread, as the sweep's workers (two or three seeds side by side on two
cores). Prints one JSON line: per score, [modes, % high quality] of G and of each average (``ema999``,
``ema9999``: the decay's digits), at step 0, every EVERY steps, and the end.
"""
import json
import sys
import time

import numpy as np

from gan_lessons import set_seed
from gan_lessons.data import sample_toy, toy_modes
from gan_lessons.lessons.base import Built, with_averages
from gan_lessons.lessons.mode_collapse import SETTINGS, build_toy_gan, toy_eval_z
from gan_lessons.metrics import mode_coverage
from gan_lessons.models import toy_generator
from gan_lessons.training import fit

if len(sys.argv) < 4:  # (what to pass, not an IndexError)
    sys.exit(__doc__)
seed, steps, every = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
dataset = sys.argv[4] if len(sys.argv) > 4 else "ring"
decays = [float(d) for d in (sys.argv[5] if len(sys.argv) > 5 else "0.999,0.9999").split(",")]
c = {**SETTINGS, "batch_size": 100, "g_learning_rate": 1e-4, "d_learning_rate": 1e-4, "beta_1": 0.8,
     "lr_decay": False, "steps": {"ring": steps, "grid": steps}}
set_seed(seed)
models, step, G = build_toy_gan(c, dataset, "minibatch_std")
built = Built(models, step, sample_toy(dataset, c["train_samples"], seed=seed))
averages = {}  # "ema999": the average with decay 0.999
for decay in decays:  # built after G and D, so those start as in the sweep
    key = "ema" + str(decay).split(".")[1]
    models[key] = G  # with_averages folds models[name] into a copy models[name + "_ema"]
    with_averages(built, {"ema_decay": decay, "ema_warmup": 10}, (key,),
                  lambda name: toy_generator(c["latent_dim"], c["g_hidden"], scale=c["data_scale"][dataset], name=name))
    averages[key] = models[key + "_ema"]
eval_z = toy_eval_z(c, seed).astype("float32")  # the points the sweep scores its runs on
rows = []


def score():
    row = {}
    for key, net in (("G", G), *averages.items()):
        cov = mode_coverage(net.predict_on_batch(eval_z), *toy_modes(dataset))
        row[key] = [cov["modes"], round(100 * cov["high_quality"], 1)]
    rows.append(row)
    return np.zeros((1, 2), "float32")  # the snapshot fit keeps: the scores are the point


t = time.perf_counter()
fit(built.step, models, built.data, steps=steps, batch_size=100, seed=seed, sample=score, snapshot_every=every,
    progress=False)
score()
print(json.dumps({"dataset": dataset, "seed": seed, "steps": steps, "train_s": round(time.perf_counter() - t, 1),
                  "rows": rows}))
