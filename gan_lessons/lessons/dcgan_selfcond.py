"""The self-conditioned DCGAN (Liu et al. 2020), a remedy for mode collapse (lesson 04): the unlabelled
digits are grouped into k-means clusters, and lesson 03's conditional networks learn from the cluster
ids, asked for as often as they occur. No digit label is used; from outside it is an unconditional GAN
(``sample`` writes no cluster ids)."""

import numpy as np

from .. import UserError
from ..clusters import mnist_clusters
from .base import Built, Lesson
from .dcgan import DCGAN, DCGAN_QUICK, LABEL_CODE, RECIPE, build_dcgan
from .runs import ClusterLabels, ImageGAN

# Lesson 02's networks and recipe with Radford et al.'s z of 100, the recipe's 6,000 steps and D's two convolutions
# without dropout (lesson 02 draws z of 16 since session 48, z of 16 did not help here, docs/results.md, session 49;
# its D has a third convolution and dropout since session 54); the cluster ids are new.
SETTINGS = {
    **DCGAN,
    **RECIPE,
    **LABEL_CODE,
    "clusters": 50,  # k of k-means on the 50 principal components of the 60,000 training digits
    "d_label_code": "projection",  # D: projection discriminator, no label planes (or "onehot": k planes)
}


def build(config):
    k = config["clusters"]
    if k < 2:
        raise UserError(f"clusters must be at least 2, got {k}; the plain DCGAN is the lesson `dcgan`")
    clusters = mnist_clusters(k)
    policy = ClusterLabels(np.bincount(clusters, minlength=k) / len(clusters))
    return Built(*build_dcgan(config, clusters, k, policy.probs), labels=policy)


LESSONS = (Lesson("dcgan_selfcond", ImageGAN, SETTINGS, DCGAN_QUICK, build,
                  "04: the DCGAN self-conditioned on k-means clusters of the unlabelled digits"),)


def digit_shares(history):
    """(10, snapshots): the share of each digit among the samples of each snapshot of ``history``, as
    the course classifier reads them."""
    from ..metrics import class_fractions, classify
    from ..training import check_history

    check_history(history, "digit_shares(history)", needs="snapshots")
    return np.stack([class_fractions(classify(images / 255.0)[1]) for images in history.snapshots], axis=1)


def digits_over_training(quick=None, seed=0, out_dirs=None, overrides=None, progress=False, shipped=False,
                         fresh=()):
    """Train (or load, if finished) the plain DCGAN of lesson 02 and the self-conditioned one, each with its
    lesson's settings in its lesson's folder (or ``out_dirs[lesson]``, with ``overrides[lesson]``), and
    return {lesson: (snapshot steps, digit shares (10, snapshots))}: the class histogram over training.
    ``shipped=True``: a lesson not finished in its folder shows the history of the course's shipped run
    (``pretrained/``, same settings only) instead of training; nothing is copied into the folder, which stays
    the lesson's own (notebook 02 still trains lesson 02 there). The lessons named in ``fresh`` are trained
    again from scratch."""
    from . import make_experiment

    if isinstance(fresh, str):
        raise UserError(f"fresh names lessons in a list, e.g. [{fresh!r}], got the string {fresh!r}")
    for name, given in (("fresh", fresh), ("overrides", overrides or {}), ("out_dirs", out_dirs or {})):
        unknown = set(given) - {"dcgan", "dcgan_selfcond"}
        if unknown:
            raise UserError(f"{name} names lessons {sorted(unknown)}; it takes 'dcgan' and 'dcgan_selfcond'")
    result = {}
    for lesson in ("dcgan", "dcgan_selfcond"):
        run = make_experiment(lesson, quick, seed, (out_dirs or {}).get(lesson), fresh=lesson in fresh,
                              **(overrides or {}).get(lesson, {}))
        history = run.train_or_show(progress, shipped=shipped and lesson not in fresh)
        result[lesson] = (np.asarray(history.snapshot_steps), digit_shares(history))
    return result
