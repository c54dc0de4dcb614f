"""Lesson 02's exercise 1: the lesson's DCGAN trained on Fashion-MNIST (Debian `dataset-fashion-mnist`, or
keras.datasets when online), with optional settings; writes a grid of 64 samples of the EMA copy.

    .venv/bin/python docs/fashion_dcgan.py OUT_DIR [KEY=JSON_VALUE ...]
    .venv/bin/python docs/fashion_dcgan.py checkpoints/dcgan-fashion-brakes dropout=0.3 real_label=0.9
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gan_lessons import UserError  # noqa: E402
from gan_lessons.data import load_fashion_mnist, scale_images  # noqa: E402
from gan_lessons.lessons import ImageGAN  # noqa: E402
from gan_lessons.plotting import show_grid  # noqa: E402

if len(sys.argv) < 2:  # (what to pass, not an IndexError)
    sys.exit(__doc__)
out_dir, settings = Path(sys.argv[1]), dict(arg.split("=", 1) for arg in sys.argv[2:])
try:
    (x_fashion, _), _ = load_fashion_mnist()
except UserError as err:  # not installed, offline: the message says how to get it
    sys.exit(f"error: {err}")
run = ImageGAN("dcgan", out_dir=out_dir, **{key: json.loads(value) for key, value in settings.items()})
run.data = scale_images(x_fashion)  # the same networks and settings, other images
history = run.train(progress=False)
print(f"{history.step} steps, {history.wall_time:.0f} s of training")
show_grid(run.generate(64), ncols=8, size=5)
plt.savefig(out_dir / "fashion_samples.png", dpi=100)
print(f"wrote {out_dir / 'fashion_samples.png'}")
