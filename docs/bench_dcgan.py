"""Benchmark: time per training step of lesson 02's DCGAN and of the TensorFlow DCGAN tutorial's
architecture (batch 256), in one process on one machine. Not a test: results go to docs/results.md.

    .venv/bin/python docs/bench_dcgan.py [--steps 30]

Both are driven by the course's step function (one D.train_on_batch on real+fake, one
gan.train_on_batch), so the comparison is about the networks and the batch size, not the loop.
The tutorial's networks are rebuilt here from its published description (G: Dense 7x7x256, ConvT 128
5x5 s1, ConvT 64 5x5 s2, ConvT 1 5x5 s2, BatchNorm + LeakyReLU; D: Conv 64 5x5 s2, Conv 128 5x5 s2,
LeakyReLU + Dropout 0.3; batch 256).
"""

import argparse
import platform
import time

import keras
import numpy as np
from keras import layers

from gan_lessons import set_seed
from gan_lessons.data import load_mnist, scale_images
from gan_lessons.lessons import ImageGAN
from gan_lessons.models import build_gan
from gan_lessons.steps import gan_step


def tutorial_networks():
    G = keras.Sequential([
        keras.Input((100,)),
        layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"),
    ])
    D = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1, activation="sigmoid"),
    ])
    adam = lambda: keras.optimizers.Adam(1e-4)  # noqa: E731  (the tutorial's optimiser)
    return {"generator": G, "discriminator": D, "gan": build_gan(G, D, adam(), adam())}


def time_steps(models, step, data, batch_size, steps, warmup=3):
    """Mean seconds per step; ``data`` is an array of images or a tuple (images, cluster ids)."""
    rng = np.random.default_rng(0)
    n = len(data[0]) if isinstance(data, tuple) else len(data)

    def batch():
        index = rng.integers(0, n, batch_size)
        return tuple(d[index] for d in data) if isinstance(data, tuple) else data[index]

    for _ in range(warmup):
        step(models, batch(), rng)
    start = time.perf_counter()
    for _ in range(steps):
        step(models, batch(), rng)
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    (x_train, _), _ = load_mnist()
    images = scale_images(x_train)
    print(f"{platform.processor() or platform.machine()}, keras {keras.__version__} ({keras.backend.backend()})")

    rows = []
    for name, lesson in (("lesson 04, self-conditioned DCGAN", "dcgan_selfcond"), ("lesson 02, plain DCGAN", "dcgan")):
        ours = ImageGAN(lesson, quick=False, out_dir=f"/tmp/bench_dcgan_unused{len(rows)}", fresh=True)
        bs = ours.config["batch_size"]
        rows.append((name, bs, time_steps(ours.models, ours.step, ours.data, bs, args.steps)))
    set_seed(0)
    rows.append(("TF tutorial architecture", 256,
                 time_steps(tutorial_networks(), gan_step, images, 256, max(5, args.steps // 3))))
    print(f"{'model':30} {'batch':>5} {'ms/step':>8} {'s/epoch':>8}")
    for name, batch, t in rows:
        print(f"{name:30} {batch:5d} {1000 * t:8.0f} {t * (60000 // batch):8.0f}")


if __name__ == "__main__":
    main()
