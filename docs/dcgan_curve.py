"""Lesson 02's quality along one run: FID-style and IS of the EMA copy and of G as is, 10,000 samples each,
every 1,000 steps (the run is trained 1,000 steps at a time; resuming is exact, so it is one uninterrupted
run). A constant learning rate is assumed: with a decaying one the run's length changes the schedule.

    .venv/bin/python docs/dcgan_curve.py OUT LAST_STEP [setting=json ...]
    .venv/bin/python docs/dcgan_curve.py checkpoints/dcgan-curve 10000            # the lesson's settings
    .venv/bin/python docs/dcgan_curve.py checkpoints/dcgan-curve-bce 6000 loss='"bce"'

Prints one JSON line per 1,000 steps (``wall``: seconds of training so far).
"""

import json
import sys

from gan_lessons import UserError
from gan_lessons.lessons import ImageGAN
from gan_lessons.training import fit

out, last = sys.argv[1], int(sys.argv[2])
overrides = {k: json.loads(v) for k, v in (arg.split("=", 1) for arg in sys.argv[3:])}
run = ImageGAN("dcgan", quick=False, seed=0, out_dir=out, steps=last, **overrides)
if run.config["lr_decay"]:
    raise UserError("a decaying learning rate depends on the run's length: add lr_decay=false")
run.write_description()
c = run.config
for k in range(1000, last + 1, 1000):
    history = fit(run.step, run.models, run.data, steps=k, batch_size=c["batch_size"], seed=0, out_dir=out,
                  checkpoint_every=1000, progress=False)
    ema, raw = run.evaluate(10000), run.evaluate(10000, generator=run.models["generator"])
    print(json.dumps({"step": k, "wall": round(history.wall_time, 1), "fid": round(ema["fid"], 2),
                      "is": round(ema["inception_score"], 2), "least": ema["min_class_fraction"],
                      "fid_raw": round(raw["fid"], 2), "is_raw": round(raw["inception_score"], 2)}), flush=True)
