"""Lesson 03: the conditional GAN (Mirza & Osindero 2014): lesson 02's DCGAN networks, told which digit
to draw, and its use for data augmentation."""

import json

import numpy as np

from .. import UserError, check_count, check_seed
from ..data import load_mnist
from .base import Built, Lesson
from .dcgan import DCGAN, DCGAN_QUICK, LABEL_CODE, build_dcgan
from .runs import DigitLabels, ImageGAN, describe_value

# Lesson 02's first recipe (cross-entropy, a rate decaying to 0) in half its steps: the labels make the
# task easier; with lesson 02's constant rate FID-style falls more slowly (docs/results.md, session 13).
SETTINGS = {**DCGAN, **LABEL_CODE, "steps": 6000}


def build(config):
    (_, y_train), _ = load_mnist()
    return Built(*build_dcgan(config, y_train.astype("int32"), n_classes=10), labels=DigitLabels())


def augmentation_experiment(experiment, n_real=100, n_generated=10000, seeds=(0, 1, 2), steps=600):
    """GANs for data augmentation: test accuracy of a small classifier trained on only ``n_real``
    labelled real digits (the same number of each), and on those plus ``n_generated`` digits of the
    conditional ``experiment`` with the labels they were asked for. Both train for ``steps`` updates;
    returns {"real": [...], "real_plus_generated": [...]}, one accuracy per seed.

    The cGAN itself learnt from all 60,000 labelled digits: this measures how much of that
    knowledge its samples carry to a classifier that sees only a few real labels.

    The results of a finished run are kept in its folder (``augmentation.json``, with these arguments and the
    cGAN's step) and returned from there when asked again with the same arguments: the six classifiers take
    about a minute, and presentation mode ships the file with the weights.
    """
    from ..metrics import test_accuracy_after_training
    from ..training import read_checkpoint

    if getattr(experiment, "labels", None) is None:  # not a run, e.g. the lesson's name
        raise UserError(f"experiment must be a cgan run, ImageGAN(\"cgan\"), not {describe_value(experiment)}")
    if not experiment.labels.public:
        raise UserError(f"{experiment.lesson} is not conditional on digits: its samples have no labels; use a cgan run "
                        "(ImageGAN(\"cgan\"))")
    n_real = check_count("n_real", n_real, "labelled real digits, the same number of each")
    if n_real % 10:
        raise UserError(f"n_real must be a multiple of 10 (the same number of each digit), got {n_real}")
    n_generated = check_count("n_generated", n_generated, "generated digits")
    steps = check_count("steps", steps, "classifier updates")
    given = seeds
    try:
        seeds = [check_seed(seed) for seed in ([] if isinstance(seeds, str) else seeds)]
    except TypeError:  # one number, not a list of them
        seeds = []
    if not seeds:
        raise UserError(f"seeds must be a list of seeds, one pair of classifiers each, e.g. [0, 1, 2], got {given!r}")
    meta = read_checkpoint(experiment.out_dir) or {}
    asked = {"n_real": n_real, "n_generated": n_generated, "seeds": list(seeds), "steps": steps,
             "gan_step": meta.get("step")}
    kept = experiment.out_dir / "augmentation.json"
    saved = json.loads(kept.read_text()) if kept.exists() else {}
    if saved.get("asked") == asked:
        return saved["results"]
    (x_train, y_train), _ = load_mnist()
    rarest = int(np.bincount(y_train, minlength=10).min())
    if n_real > 10 * rarest:
        raise UserError(f"n_real must be at most {10 * rarest}: the rarest digit has {rarest} training images, and "
                        f"each digit gives n_real / 10 of them; got {n_real}")
    results = {"real": [], "real_plus_generated": []}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        pick = np.concatenate([rng.choice(np.flatnonzero(y_train == d), n_real // 10, replace=False)
                               for d in range(10)])
        real_x, real_y = x_train[pick, ..., None] / 255.0, y_train[pick]
        fake = experiment.sample_arrays(n_generated, seed=1000 + seed)
        results["real"].append(test_accuracy_after_training(real_x, real_y, steps, seed=seed))
        results["real_plus_generated"].append(test_accuracy_after_training(
            np.concatenate([real_x, fake["images"]]), np.concatenate([real_y, fake["labels"]]), steps, seed=seed))
    if meta and meta["step"] >= meta["steps"]:
        kept.write_text(json.dumps({"asked": asked, "results": results}, indent=1))
    return results


LESSONS = (Lesson("cgan", ImageGAN, SETTINGS, DCGAN_QUICK, build,
                  "03: a conditional GAN, told which digit to draw"),)
