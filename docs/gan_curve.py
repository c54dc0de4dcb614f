"""Quality along one run of lesson 01, 02 or 03: FID-style and IS of the EMA copy and of G as is (with
``ema_decay=0``, G only; for the conditional GAN, also how often the classifier reads the digit asked for),
10,000 samples each, every EVERY steps (default 1,000). The run is trained EVERY steps at a time; resuming
is exact, so it is one uninterrupted run. Needs a constant learning rate: with a decaying one the run's
length changes the schedule.

    .venv/bin/python docs/gan_curve.py LESSON OUT LAST_STEP [--every EVERY] [--seed SEED] [setting=json ...]
    .venv/bin/python docs/gan_curve.py dcgan checkpoints/dcgan-curve 10000            # lesson 02's settings
    .venv/bin/python docs/gan_curve.py dcgan checkpoints/dcgan-curve-bce 6000 loss='"bce"'
    .venv/bin/python docs/gan_curve.py cgan checkpoints/cgan-curve 6000 lr_decay=false
    .venv/bin/python docs/gan_curve.py mlp_gan checkpoints/mlp_gan-curve 20000 --every 2000
    .venv/bin/python docs/gan_curve.py mlp_gan checkpoints/mlp_gan-old 20000 --every 4000 dropout=0.3 real_label=0.9 ema_decay=0

Before session 34, lesson 01 had no average (its old settings: the last line, with ``ema_decay=0``) and this script
gave it one with ``--ema DECAY``; lesson 01's settings now hold it (``ema_decay``, ``ema_warmup``), built as
lessons 05 and 06 build theirs (``lessons.base.with_averages``), so ``--ema 0.999`` is now ``ema_decay=0.999``.
The average draws no random numbers, so G's own run is the same with or without it.
Prints one JSON line per block (``wall``: seconds of training so far).
"""

import json
import sys

from gan_lessons import UserError
from gan_lessons.lessons import ImageGAN
from gan_lessons.training import fit

if len(sys.argv) < 4:  # (what to pass, not an IndexError)
    sys.exit(__doc__)
lesson, out, last, args = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
every = 1000
seed = 0
while args[:1] in (["--every"], ["--seed"]):
    if args[0] == "--every":
        every = int(args[1])
    else:
        seed = int(args[1])
    args = args[2:]
overrides = {k: json.loads(v) for k, v in (arg.split("=", 1) for arg in args)}
run = ImageGAN(lesson, quick=False, seed=seed, out_dir=out, steps=last, **overrides)
if run.config.get("lr_decay"):
    raise UserError("a decaying learning rate depends on the run's length: add lr_decay=false")
run.write_description()
c = run.config
has_ema = "generator_ema" in run.models
for k in range(every, last + 1, every):
    history = fit(run.step, run.models, run.data, steps=k, batch_size=c["batch_size"], seed=seed, out_dir=out,
                  checkpoint_every=every, progress=False)
    ema = run.evaluate(10000)  # the EMA copy where there is one, else G
    row = {"step": k, "wall": round(history.wall_time, 1), "fid": round(ema["fid"], 2),
           "is": round(ema["inception_score"], 2), "least": ema["min_class_fraction"],
           "most": max(ema["class_fractions"])}
    if "label_agreement" in ema:
        row["agreement"] = ema["label_agreement"]
    if has_ema:
        raw = run.evaluate(10000, generator=run.models["generator"])
        row["fid_raw"], row["is_raw"] = round(raw["fid"], 2), round(raw["inception_score"], 2)
        if "label_agreement" in raw:
            row["agreement_raw"] = raw["label_agreement"]
    print(json.dumps(row), flush=True)
