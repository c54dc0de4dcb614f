"""The lessons' settings (full and quick mode) and how to build, train, sample and score them.

Notebooks and the command line both go through :class:`Experiment` (one GAN on images),
:class:`TranslationExperiment` (lesson 05: images to images) or :class:`ModeCollapseLesson`
(lesson 04: many small GANs on 2-D points), so a lesson trains with the same code and the same
settings in both.
"""

import contextlib
import functools
import json
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import keras
import numpy as np

from . import CHECKPOINT_DIR, _log_stderr_to, quick_mode, set_seed
from .data import (TOY_DATASETS, check_image_batch, jitter_pairs, load_emoji, load_mnist, mnist_clusters, sample_toy,
                   scale_images, toy_modes, unpaired_emoji, unscale_images)
from .metrics import mean_absolute_error, mode_coverage, translation_scores
from .models import (ImagePool, build_cyclegan, build_gan, build_pix2pix, cgan_discriminator, cgan_generator,
                     dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator, packed_generator,
                     patchgan_discriminator, toy_discriminator, toy_generator, unet_generator)
from .training import (cgan_step, cyclegan_step, ema_gan_step, fit, gan_step, l1_step, pacgan_step, pix2pix_step,
                       read_checkpoint)

# Settings of each lesson in full mode, with the changes quick mode (CI) makes under "quick".
CONFIGS = {
    "mlp_gan": {
        "latent_dim": 100,
        "g_hidden": [256, 512, 1024],
        "d_hidden": [512, 256],
        "dropout": 0.3,
        "learning_rate": 2e-4,
        "beta_1": 0.5,
        "batch_size": 128,
        "real_label": 0.9,
        "steps": 20000,
        "snapshot_every": 500,
        "checkpoint_every": 2000,
        "quick": {"steps": 1000, "snapshot_every": 100, "checkpoint_every": 500},
    },
    "dcgan": {
        "latent_dim": 100,
        "g_channels": [64, 32],
        "g_extra_convs": 1,
        "d_channels": [32, 64],
        "kernel_size": 4,
        "dropout": 0.0,
        "g_learning_rate": 5e-4,
        "d_learning_rate": 5e-4,
        "lr_decay": True,
        "beta_1": 0.5,
        "batch_size": 64,
        "real_label": 1.0,
        "ema_decay": 0.999,
        "steps": 12000,
        "snapshot_every": 500,
        "checkpoint_every": 2000,
        "quick": {"steps": 300, "snapshot_every": 50, "checkpoint_every": 150},
    },
    "mode_collapse": {
        "datasets": ["ring", "grid"],
        "methods": ["vanilla", "minibatch_std", "pacgan"],
        "seeds": 3,  # runs per (dataset, method), with seeds seed, seed + 1, ...
        "latent_dim": 8,
        "g_hidden": [128, 128, 128],
        "d_hidden": [128, 128],
        "group_size": 4,  # minibatch standard deviation over groups of this many samples
        "pack": 4,  # PacGAN4
        "g_learning_rate": 2e-3,  # both fall linearly to 0 over the run
        "d_learning_rate": 4e-3,
        "beta_1": 0.5,
        "batch_size": 512,
        "steps": {"ring": 6000, "grid": 12000},
        "data_scale": {"ring": 1.0, "grid": 2.0},
        "train_samples": 100000,
        "eval_samples": 2500,
        "snapshot_every": 200,
        "snapshot_samples": 500,
        "workers": 2,  # runs trained side by side, one process and one thread each
        "quick": {"seeds": 1, "steps": {"ring": 300, "grid": 300}, "snapshot_every": 50, "workers": 1},
    },
}

# Lesson 03: lesson 02's DCGAN networks and training settings (as they were before lesson 02 became
# self-conditioned), plus how the label reaches the two networks.
CONFIGS["cgan"] = {
    **CONFIGS["dcgan"],
    "label_code": "onehot",  # or "embedding" (then:)
    "g_label_dim": 16,  # size of the learned code joined to z
    "d_label_dim": 1,  # label planes added to D's input image
    "wrong_label_fraction": 0.5,  # real digits shown to D with a wrong label, as fakes
}

# Lesson 02 is self-conditioned (Liu et al. 2020): the unlabelled digits are grouped into k-means
# clusters and the DCGAN is lesson 03's conditional GAN trained on the cluster ids, drawn for G as often
# as they occur. No digit label is used. clusters = 0 gives back the plain DCGAN.
CONFIGS["dcgan"].update({
    "clusters": 50,  # k of k-means on the 50 principal components of the 60,000 training digits
    "label_code": "onehot",  # G: the cluster's one-hot vector joined to z
    "g_label_dim": 16,  # (used by an "embedding" label_code)
    "d_label_code": "projection",  # D: projection discriminator, no label planes (or "onehot": k planes)
    "d_label_dim": 1,  # (used by an "embedding" d_label_code)
    "wrong_label_fraction": 0.5,  # real digits shown to D with another cluster's id, as fakes
    "steps": 10000,  # (lesson 03 keeps 12,000)
})

# Lesson 05: Google-style emoji -> Twitter-style emoji (32x32, data/emoji.npz). "pix2pix_l1" is the
# same U-Net trained with the L1 loss alone, the baseline that shows what the adversarial term adds.
CONFIGS["pix2pix"] = {
    "adversarial": True,
    "g_channels": [32, 64, 128, 128, 128],  # five halvings: 32 -> 1
    "d_channels": [32, 64],  # PatchGAN: each score sees a 16x16 patch
    "norm": "instance",
    "dropout": 0.5,
    "jitter": 2,  # random shift of each pair by up to this many pixels, and left-right flips (0: off)
    "l1_weight": 100.0,  # λ of Isola et al. 2017
    "learning_rate": 1e-3,  # falls linearly to 0 over the run
    "beta_1": 0.5,
    "lr_decay": True,
    "batch_size": 16,
    "steps": 6000,
    "snapshot_every": 500,
    "checkpoint_every": 1000,
    "quick": {"steps": 150, "snapshot_every": 50, "checkpoint_every": 150},
}
CONFIGS["pix2pix_l1"] = {**CONFIGS["pix2pix"], "adversarial": False}

# Lesson 06: the same translation learnt without pairs (CycleGAN, Zhu et al. 2017). Domain A: the
# Google style of one random half of the training emoji; domain B: the Twitter style of the other.
CONFIGS["cyclegan"] = {
    "split_seed": 0,  # which half of the training code points goes to A (the rest to B)
    "g_channels": [32, 64, 128, 128, 128],  # lesson 05's U-Net, for G_AB and G_BA
    "d_channels": [64, 128],  # unconditional PatchGAN with a linear output (least squares)
    "norm": "instance",
    "dropout": 0.0,
    "cycle_weight": 10.0,  # λ
    "identity_weight": 5.0,  # 0.5 λ
    "pool_size": 50,
    "g_learning_rate": 1e-3,  # Zhu et al.: 2e-4 with batch 1; 1e-3 cut the test error faster at batch 16
    "d_learning_rate": 1e-3,
    "beta_1": 0.5,
    "lr_decay": True,
    "batch_size": 16,
    "steps": 1500,
    "snapshot_every": 250,
    "checkpoint_every": 500,
    "quick": {"steps": 60, "snapshot_every": 20, "checkpoint_every": 60},
}

# Published results on the same benchmark (2,500 samples, 3σ, same datasets): modes captured and
# % of high-quality samples, as quoted in the issue that asked for lesson 04.
PUBLISHED_MODE_COVERAGE = [
    {"method": "GAN", "source": "Srivastava et al. 2017 (VEEGAN), Table 1",
     "ring": (1, 99.3), "grid": (3.3, 0.5)},
    {"method": "Unrolled GAN", "source": "Elfeki et al. 2019 (GDPP)", "ring": (7.6, 35.6), "grid": (23.6, 16.0)},
    {"method": "VEEGAN", "source": "Elfeki et al. 2019 (GDPP)", "ring": (8, 52.9), "grid": (24.6, 40.0)},
    {"method": "WGAN-GP", "source": "Elfeki et al. 2019 (GDPP)", "ring": (6.8, 59.6), "grid": (24.2, 28.7)},
    {"method": "PacGAN4", "source": "Lin et al. 2018, Table 1", "ring": (7.8, 95.9), "grid": (24.8, 93.6)},
]


def lesson_config(lesson, quick=None, **overrides):
    """The settings of ``lesson`` in full or quick mode (quick=None reads GAN_LESSONS_QUICK)."""
    if lesson not in CONFIGS:
        raise ValueError(f"unknown lesson {lesson!r}; choose one of {', '.join(CONFIGS)}")
    quick = quick_mode() if quick is None else quick
    config = {k: v for k, v in CONFIGS[lesson].items() if k != "quick"}
    if quick:
        config.update(CONFIGS[lesson]["quick"])
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)} for {lesson}; known: {sorted(config)}")
    config.update(overrides)
    return config


def default_out_dir(lesson, quick):
    return CHECKPOINT_DIR / (f"{lesson}-quick" if quick else lesson)


def _claim_out_dir(out_dir, description, fresh):
    """Empty ``out_dir`` if ``fresh``; refuse it if it holds a checkpoint of other settings."""
    if fresh and out_dir.exists():
        shutil.rmtree(out_dir)
    path = out_dir / "experiment.json"
    if path.exists():
        saved = json.loads(path.read_text())
        if saved != json.loads(json.dumps(description)):
            raise ValueError(
                f"{out_dir} holds a checkpoint of another experiment ({saved['lesson']}, "
                f"quick={saved['quick']}, seed={saved['seed']}, other settings?): pass another "
                "out_dir / --out, or fresh=True to delete it"
            )


def _write_description(out_dir, description):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "experiment.json").write_text(json.dumps(description, indent=1))


def _adam(config, network, decay_steps=None):
    """Adam for ``network`` ("g" or "d"): its own learning rate if the lesson sets one, decayed
    linearly to 0 over ``decay_steps`` (or over the run if ``lr_decay`` is set). The schedule follows
    the optimizer's own step counter, which checkpoints restore."""
    rate = config.get(f"{network}_learning_rate", config.get("learning_rate"))
    if decay_steps is None and config.get("lr_decay"):
        decay_steps = config["steps"]
    if decay_steps:
        rate = keras.optimizers.schedules.PolynomialDecay(rate, decay_steps, end_learning_rate=0.0)
    return keras.optimizers.Adam(rate, beta_1=config["beta_1"])


def _build_mlp_gan(config):
    G = mlp_generator(config["latent_dim"], hidden=config["g_hidden"])
    D = mlp_discriminator(hidden=config["d_hidden"], dropout=config["dropout"])
    gan = build_gan(G, D, _adam(config, "d"), _adam(config, "g"))

    def step(models, real_images, rng):
        return gan_step(models, real_images, rng, real_label=config["real_label"])

    (x_train, _), _ = load_mnist()
    return {"generator": G, "discriminator": D, "gan": gan}, step, scale_images(x_train)


def _build_dcgan(config, conditional=False):
    """Lesson 02's DCGAN, or lesson 03's conditional GAN built on it: G, D, composite, EMA copy of G.

    With ``clusters`` = k > 0 (lesson 02, self-conditioned) the conditional networks are trained on
    the k-means cluster ids of the training digits instead of their labels, asked for in proportion
    to the cluster sizes.
    """
    c = config
    clusters = c.get("clusters", 0)  # lesson 03 (cgan) has no such setting: it learns from the digit labels
    (x_train, y_train), _ = load_mnist()
    g_kwargs = dict(channels=c["g_channels"], kernel_size=c["kernel_size"], extra_convs=c["g_extra_convs"])
    d_kwargs = dict(channels=c["d_channels"], kernel_size=c["kernel_size"], dropout=c["dropout"])
    if conditional or clusters:
        labels = mnist_clusters(clusters) if clusters else y_train.astype("int32")
        n_classes = clusters or 10
        probs = np.bincount(labels, minlength=n_classes) / len(labels) if clusters else None
        generator = functools.partial(cgan_generator, c["latent_dim"], n_classes=n_classes, label_code=c["label_code"],
                                      label_dim=c["g_label_dim"], **g_kwargs)
        D = cgan_discriminator(n_classes=n_classes, label_code=c.get("d_label_code", c["label_code"]),
                               label_dim=c["d_label_dim"], **d_kwargs)
        step = functools.partial(ema_gan_step, base_step=cgan_step, real_label=c["real_label"], n_classes=n_classes,
                                 label_probs=probs, wrong_label_fraction=c["wrong_label_fraction"],
                                 ema_decay=c["ema_decay"])
        data = (scale_images(x_train), labels)
    else:
        generator = functools.partial(dcgan_generator, c["latent_dim"], **g_kwargs)
        D = dcgan_discriminator(**d_kwargs)
        step = functools.partial(ema_gan_step, real_label=c["real_label"], ema_decay=c["ema_decay"])
        data = scale_images(x_train)
    G, G_ema = generator(name="generator"), generator(name="generator_ema")
    G_ema.set_weights(G.get_weights())
    gan = build_gan(G, D, _adam(c, "d"), _adam(c, "g"))
    return {"generator": G, "discriminator": D, "gan": gan, "generator_ema": G_ema}, step, data


def _build_pix2pix(config):
    train = load_emoji("train")
    size = train["google"].shape[1]
    G = unet_generator(size, config["g_channels"], norm=config["norm"], dropout=config["dropout"])
    data = (scale_images(train["google"]), scale_images(train["twitter"]))
    if config["adversarial"]:
        D = patchgan_discriminator(size, config["d_channels"], norm=config["norm"])
        composite = build_pix2pix(G, D, _adam(config, "d"), _adam(config, "g"), l1_weight=config["l1_weight"])
        models, step = {"generator": G, "discriminator": D, "gan": composite}, pix2pix_step
    else:
        G.compile(optimizer=_adam(config, "g"), loss="mae")
        models, step = {"generator": G}, l1_step
    if config["jitter"]:
        def jittered_step(models, batch, rng):
            return step(models, jitter_pairs(*batch, rng, max_shift=config["jitter"]), rng)

        return models, jittered_step, data
    return models, step, data


def _build_cyclegan(config):
    domains = unpaired_emoji(config["split_seed"])
    size = domains["a"].shape[1]

    def generator(name):
        return unet_generator(size, config["g_channels"], norm=config["norm"], dropout=config["dropout"], name=name)

    def discriminator(name):
        return patchgan_discriminator(size, config["d_channels"], norm=config["norm"], conditional=False,
                                      activation=None, name=name)

    models = {"generator": generator("generator"), "generator_ba": generator("generator_ba"),
              "discriminator_a": discriminator("discriminator_a"), "discriminator_b": discriminator("discriminator_b"),
              "pool_a": ImagePool(config["pool_size"], domains["a"].shape[1:], name="pool_a"),
              "pool_b": ImagePool(config["pool_size"], domains["b"].shape[1:], name="pool_b")}
    models["gan"] = build_cyclegan(models["generator"], models["generator_ba"], models["discriminator_a"],
                                   models["discriminator_b"], _adam(config, "d"), _adam(config, "d"),
                                   _adam(config, "g"), config["cycle_weight"], config["identity_weight"])
    return models, cyclegan_step, (scale_images(domains["a"]), scale_images(domains["b"]))


_BUILDERS = {"mlp_gan": _build_mlp_gan, "dcgan": _build_dcgan, "cgan": functools.partial(_build_dcgan, conditional=True),
             "pix2pix": _build_pix2pix, "pix2pix_l1": _build_pix2pix, "cyclegan": _build_cyclegan}


def requested_labels(n, probs=None, seed=0):
    """The labels a lesson asks its generator for when none are given: the digits 0, 1, ..., 9, 0, 1, ...
    (n of them) for a conditional lesson; for a self-conditioned one (``probs``, the cluster sizes as
    fractions) n cluster ids drawn with those probabilities and ``seed``."""
    if probs is None:
        return np.arange(n) % 10
    return np.random.default_rng([seed, 1]).choice(len(probs), n, p=probs).astype("int32")


class Experiment:
    """One lesson's models, data and settings, trained through the shared driver.

    ``Experiment("mlp_gan")`` builds the networks with the lesson's settings (quick mode if
    ``GAN_LESSONS_QUICK`` is set), ``train()`` trains or resumes them with checkpoints in
    ``out_dir`` (``checkpoints/<lesson>`` by default; a finished checkpoint is loaded instead of
    training again), ``generate(n)`` draws samples in [0, 1] and ``evaluate()`` scores them.
    """

    def __init__(self, lesson, quick=None, seed=0, out_dir=None, fresh=False, **overrides):
        self.quick = quick_mode() if quick is None else bool(quick)
        self.lesson, self.seed = lesson, seed
        self.config = lesson_config(lesson, self.quick, **overrides)
        self.out_dir = Path(out_dir) if out_dir is not None else default_out_dir(lesson, self.quick)
        _claim_out_dir(self.out_dir, self._describe(), fresh)
        set_seed(seed)
        self.models, self.step, self.data = _BUILDERS[lesson](self.config)
        # Samples come from the weight-averaged generator when the lesson keeps one.
        self.generator = self.models.get("generator_ema", self.models["generator"])
        # A self-conditioned G (lesson 02, clusters > 0) takes [z, cluster id]; generate() draws the ids
        # in proportion to the cluster sizes, so from outside it is an unconditional GAN.
        clusters = self.config.get("clusters", 0)
        self.cluster_probs = np.bincount(self.data[1], minlength=clusters) / len(self.data[1]) if clusters else None
        # A conditional G takes [z, digit]: its snapshots are 10 x 10 grids, row k asked for digit k.
        self.conditional = len(self.generator.inputs) == 2 and not clusters
        self.fixed_z = self._fixed_inputs(seed)  # what the snapshots show, the same all along
        self.fixed_labels = np.repeat(np.arange(10), 10) if self.conditional else None
        if clusters:  # the snapshots' cluster ids, drawn once by cluster size
            self.fixed_labels = requested_labels(len(self.fixed_z), self.cluster_probs, seed)
        self.history = None

    def _fixed_inputs(self, seed):
        latent_dim = self.generator.inputs[0].shape[-1]
        n = 100 if self.conditional else 64
        return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype("float32")

    def _describe(self):
        return {"lesson": self.lesson, "quick": self.quick, "seed": self.seed, "config": self.config}

    @property
    def finished(self):
        meta = read_checkpoint(self.out_dir)
        return meta is not None and meta["step"] >= self.config["steps"]

    def train(self, progress=True):
        """Train (or resume, or just load a finished checkpoint) and return the History."""
        _write_description(self.out_dir, self._describe())
        c = self.config
        self.history = fit(
            self.step, self.models, self.data, steps=c["steps"], batch_size=c["batch_size"],
            seed=self.seed, sample=lambda: self.generate(z=self.fixed_z, labels=self.fixed_labels),
            snapshot_every=c["snapshot_every"], out_dir=self.out_dir,
            checkpoint_every=c["checkpoint_every"], progress=progress,
        )
        return self.history

    def generate(self, n=None, seed=0, z=None, labels=None, generator=None, batch_size=1000):
        """``n`` samples in [0, 1] from latent vectors drawn with ``seed`` (or from the given ``z``).

        A conditional lesson draws the digits in ``labels`` (default: 0, 1, ..., 9, 0, 1, ...); a
        self-conditioned one the cluster ids in ``labels`` (default: drawn by cluster size with ``seed``).
        ``generator`` defaults to the lesson's sampling generator (the weight-averaged copy if any).
        """
        generator = generator or self.generator
        if z is None:
            if not isinstance(n, int) or n <= 0:
                raise ValueError(f"n must be a positive number of samples, got {n!r}")
            z = np.random.default_rng(seed).standard_normal((n, generator.inputs[0].shape[-1]))
        z = np.asarray(z, dtype="float32")
        inputs = [z]
        takes_labels = self.conditional or self.cluster_probs is not None
        if takes_labels:
            labels = (requested_labels(len(z), self.cluster_probs, seed) if labels is None
                      else np.asarray(labels).reshape(-1))
            top = 9 if self.conditional else len(self.cluster_probs) - 1
            if len(labels) != len(z) or not np.all((labels >= 0) & (labels <= top) & (labels == np.round(labels))):
                what = "" if self.conditional else " (cluster ids)"
                raise ValueError(f"labels must be {len(z)} whole numbers between 0 and {top}{what}, one per sample")
            inputs.append(labels.astype("int32"))
        elif labels is not None:
            raise ValueError(f"{self.lesson} is not conditional: it takes no labels")
        out = []
        for i in range(0, len(z), batch_size):
            chunk = [x[i:i + batch_size] for x in inputs]
            out.append(generator.predict_on_batch(chunk if takes_labels else chunk[0]))
        return unscale_images(np.concatenate(out))

    def evaluate(self, n=10000, seed=1, generator=None):
        """The lesson's metrics on ``n`` fresh samples (course classifier: FID-style, IS, classes);
        for a conditional lesson also how often the classifier reads the digit that was asked for."""
        from .metrics import evaluate_digits

        images = self.generate(n, seed=seed, generator=generator)
        return evaluate_digits(images, asked=requested_labels(n) if self.conditional else None)

    def sample_grid(self):
        """The snapshot batch as one picture in [0, 1] (what the CLI saves as samples.png)."""
        from .plotting import tile

        return tile(self.generate(z=self.fixed_z, labels=self.fixed_labels), ncols=10 if self.conditional else 8)


def augmentation_experiment(experiment, n_real=100, n_generated=10000, seeds=(0, 1, 2), steps=600):
    """GANs for data augmentation (lesson 03): test accuracy of a small classifier trained on only
    ``n_real`` labelled real digits (the same number of each), and on those plus ``n_generated``
    digits of the conditional ``experiment`` with the labels they were asked for. Both train for
    ``steps`` updates; returns {"real": [...], "real_plus_generated": [...]}, one accuracy per seed.

    The cGAN itself learnt from all 60,000 labelled digits: this measures how much of that
    knowledge its samples carry to a classifier that sees only a few real labels.
    """
    from .metrics import test_accuracy_after_training

    if not experiment.conditional:
        raise ValueError(f"{experiment.lesson} is not conditional: its samples have no labels")
    if n_real % 10:
        raise ValueError(f"n_real must be a multiple of 10 (the same number of each digit), got {n_real}")
    (x_train, y_train), _ = load_mnist()
    results = {"real": [], "real_plus_generated": []}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        pick = np.concatenate([rng.choice(np.flatnonzero(y_train == d), n_real // 10, replace=False)
                               for d in range(10)])
        real_x, real_y = x_train[pick, ..., None] / 255.0, y_train[pick]
        fake_x = experiment.generate(n_generated, seed=1000 + seed)
        fake_y = requested_labels(n_generated)
        results["real"].append(test_accuracy_after_training(real_x, real_y, steps, seed=seed))
        results["real_plus_generated"].append(test_accuracy_after_training(
            np.concatenate([real_x, fake_x]), np.concatenate([real_y, fake_y]), steps, seed=seed))
    return results


class TranslationExperiment(Experiment):
    """An image-to-image lesson (05: Pix2Pix and its L1-only baseline; 06): the generator's input is an
    image, not noise. Snapshots translate the first 32 test inputs; ``evaluate`` scores the whole test
    split, which training never sees."""

    def _fixed_inputs(self, seed):
        return scale_images(load_emoji("test")["google"][:32])

    def translate(self, images, direction="a2b", batch_size=256):
        """Images (N, S, S, 3) in [0, 1] -> translated images in [0, 1]: ``"a2b"`` Google style to
        Twitter style; ``"b2a"`` the way back (lesson 06's second generator)."""
        names = {"a2b": "generator", "b2a": "generator_ba"}
        if direction not in names:
            raise ValueError(f"direction must be a2b or b2a, got {direction!r}")
        if names[direction] not in self.models:
            raise ValueError(f"a {self.lesson} model translates one way only (a2b: Google -> Twitter); "
                             "use direction a2b, or a cyclegan model for b2a")
        generator = self.models[names[direction]]
        shape = tuple(generator.inputs[0].shape[1:])
        images = check_image_batch(np.asarray(images, "float32"), shape, value_range=(0.0, 1.0))
        return self.generate(z=scale_images(images), generator=generator, batch_size=batch_size)

    def evaluate(self, n=None, split="test"):
        """:func:`~gan_lessons.metrics.translation_scores` on the first ``n`` pairs of ``split`` (all by
        default), with ``mae_identity``, the error of returning the Google image unchanged."""
        pairs = load_emoji(split)
        inputs, targets = pairs["google"][:n] / 255.0, pairs["twitter"][:n] / 255.0
        return translation_scores(self.translate(inputs), targets, inputs)

    def _grid_blocks(self):
        inputs = unscale_images(self.fixed_z)
        return inputs, self.generate(z=self.fixed_z), load_emoji("test")["twitter"][:32] / 255.0

    def sample_grid(self):
        """Rows of 8: inputs, outputs, targets (lesson 06: inputs, outputs, cycled back, targets), for the
        32 snapshot emoji of the test split."""
        from .plotting import tile

        blocks = self._grid_blocks()
        return tile(np.concatenate([block[k:k + 8] for k in range(0, 32, 8) for block in blocks]), ncols=8)


class CycleGANExperiment(TranslationExperiment):
    """Lesson 06: CycleGAN trained on unpaired halves of the training split and scored on the held-out
    pairs of the test split, where the true Twitter image of every Google input is known."""

    def evaluate(self, n=None, split="test"):
        """:meth:`TranslationExperiment.evaluate` of A -> B, plus ``b2a_mae``, ``b2a_mae_identity`` and
        ``b2a_sharpness_ratio`` for the way back, and the cycle errors ``cycle_mae_a`` = |G_BA(G_AB(a)) - a|
        and ``cycle_mae_b`` = |G_AB(G_BA(b)) - b| (mean absolute error in [0, 1] units)."""
        pairs = load_emoji(split)
        google, twitter = pairs["google"][:n] / 255.0, pairs["twitter"][:n] / 255.0
        to_twitter, to_google = self.translate(google, "a2b"), self.translate(twitter, "b2a")
        scores = translation_scores(to_twitter, twitter, google)
        back = translation_scores(to_google, google, twitter)
        scores.update({f"b2a_{k}": back[k] for k in ("mae", "mae_identity", "sharpness_ratio")})
        scores["cycle_mae_a"] = float(mean_absolute_error(self.translate(to_twitter, "b2a"), google).mean())
        scores["cycle_mae_b"] = float(mean_absolute_error(self.translate(to_google, "a2b"), twitter).mean())
        return scores

    def _grid_blocks(self):
        inputs, outputs, targets = super()._grid_blocks()
        return inputs, outputs, self.translate(outputs, "b2a"), targets


def experiment_class(lesson):
    """The class that runs ``lesson``: :class:`CycleGANExperiment`, :class:`TranslationExperiment` or
    :class:`Experiment`."""
    classes = {"pix2pix": TranslationExperiment, "pix2pix_l1": TranslationExperiment, "cyclegan": CycleGANExperiment}
    return classes.get(lesson, Experiment)


def load_experiment(out_dir):
    """Rebuild the Experiment saved in ``out_dir`` and load its latest checkpoint."""
    from .training import load_checkpoint

    out_dir = Path(out_dir)
    path = out_dir / "experiment.json"
    saved = json.loads(path.read_text()) if path.exists() else None
    if saved is not None and saved["lesson"] not in _BUILDERS:
        raise ValueError(
            f"{out_dir} holds a {saved['lesson']} run, which makes no images to sample; "
            "its samples are already in the folder (points_<dataset>_<method>.npy)"
        )
    if saved is None or read_checkpoint(out_dir) is None:
        raise FileNotFoundError(
            f"{out_dir} holds no trained model; train one first with "
            "`python -m gan_lessons train LESSON --out DIR`"
        )
    base = lesson_config(saved["lesson"], saved["quick"])
    overrides = {k: v for k, v in saved["config"].items() if base.get(k) != v}
    experiment = experiment_class(saved["lesson"])(saved["lesson"], saved["quick"], saved["seed"], out_dir, **overrides)
    experiment.history = load_checkpoint(out_dir, experiment.models)
    return experiment


# --- Lesson 04: mode collapse on 2-D mixtures --------------------------------------------------

TOY_METHODS = ("vanilla", "minibatch_std", "pacgan")


def build_toy_gan(config, dataset, method):
    """Models, step function and plain generator of one lesson-04 run.

    ``vanilla``: the GAN of lesson 01 (non-saturating loss) with small MLPs for 2-D points;
    ``minibatch_std``: the same, but D reads each point beside the spread of its group of
    ``group_size`` points; ``pacgan``: D judges ``pack`` points at once (PacGAN).
    """
    if method not in TOY_METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(TOY_METHODS)}")
    c = config
    scale, steps = c["data_scale"][dataset], c["steps"][dataset]
    pack = c["pack"] if method == "pacgan" else 1
    G = toy_generator(c["latent_dim"], c["g_hidden"], scale=scale)
    D = toy_discriminator(c["d_hidden"], pack=pack, scale=scale,
                          minibatch_std=c["group_size"] if method == "minibatch_std" else 0)
    trained = packed_generator(G, pack) if pack > 1 else G
    gan = build_gan(trained, D, _adam(c, "d", decay_steps=steps), _adam(c, "g", decay_steps=steps))
    step = functools.partial(pacgan_step, pack=pack) if pack > 1 else gan_step
    return {"generator": trained, "discriminator": D, "gan": gan}, step, G


def _toy_run(config, run_dir, dataset, method, seed, progress=False):
    """Train (or load) one lesson-04 run in ``run_dir``; return (scores, History, points)."""
    c = config
    set_seed(seed)
    models, step, G = build_toy_gan(c, dataset, method)
    snapshot_z = np.random.default_rng([seed, 1]).standard_normal((c["snapshot_samples"], c["latent_dim"]))
    eval_z = np.random.default_rng([seed, 2]).standard_normal((c["eval_samples"], c["latent_dim"]))
    history = fit(step, models, sample_toy(dataset, c["train_samples"], seed=seed),
                  steps=c["steps"][dataset], batch_size=c["batch_size"], seed=seed,
                  sample=lambda: G.predict_on_batch(snapshot_z.astype("float32")),
                  snapshot_every=c["snapshot_every"], out_dir=run_dir, progress=progress)
    points = G.predict_on_batch(eval_z.astype("float32"))
    return mode_coverage(points, *toy_modes(dataset)), history, points


@contextlib.contextmanager
def _single_threaded_children():
    """Processes started inside this block use one thread for their maths (TensorFlow and
    torch/OpenMP read these variables when they start)."""
    wanted = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _mean_std(values):
    """[mean, std, runs] over the finite values (reverse KL is undefined for a run without any
    high-quality sample); [None, None, 0] if there are none."""
    values = [v for v in values if np.isfinite(v)]
    return [float(np.mean(values)), float(np.std(values)), len(values)] if values else [None, None, 0]


class ModeCollapseLesson:
    """Lesson 04: the plain GAN and each remedy on both 2-D mixtures, ``seeds`` seeds each.

    Every run goes through the shared driver with checkpoints in ``out_dir/<dataset>_<method>_seed<k>``
    (a finished run is loaded, not trained again). ``train()`` scores each run on ``eval_samples``
    samples, writes ``points_<dataset>_<method>.npy`` (first seed) and ``results.json`` to ``out_dir``
    and returns the results.
    """

    lesson = "mode_collapse"

    def __init__(self, quick=None, seed=0, out_dir=None, fresh=False, **overrides):
        self.quick = quick_mode() if quick is None else bool(quick)
        self.seed = seed
        self.config = lesson_config(self.lesson, self.quick, **overrides)
        unknown = [d for d in self.config["datasets"] if d not in TOY_DATASETS]
        unknown += [m for m in self.config["methods"] if m not in TOY_METHODS]
        if unknown:
            raise ValueError(f"unknown dataset(s)/method(s) {unknown}; datasets: {', '.join(TOY_DATASETS)}; "
                             f"methods: {', '.join(TOY_METHODS)}")
        self.seeds = [seed + k for k in range(self.config["seeds"])]
        self.out_dir = Path(out_dir) if out_dir is not None else default_out_dir(self.lesson, self.quick)
        _claim_out_dir(self.out_dir, self._describe(), fresh)

    def _describe(self):
        return {"lesson": self.lesson, "quick": self.quick, "seed": self.seed, "config": self.config}

    def run_dir(self, dataset, method, seed):
        return self.out_dir / f"{dataset}_{method}_seed{seed}"

    def train_run(self, dataset, method, seed, progress=False):
        """Train (or load) one run; return its scores, its History and its ``eval_samples`` points."""
        return _toy_run(self.config, self.run_dir(dataset, method, seed), dataset, method, seed, progress)

    def finished_run(self, dataset, method, seed):
        meta = read_checkpoint(self.run_dir(dataset, method, seed))
        return meta is not None and meta["step"] >= self.config["steps"][dataset]

    def _all_runs(self, jobs, pending):
        """(job, (scores, history, points)) for each (dataset, method, seed) job, in order. The
        ``pending`` runs (still to train) go to ``workers`` fresh processes of one thread each (the runs
        are small, so two single-thread runs side by side use two cores better than one run on both);
        finished runs are just loaded, here."""
        workers = min(int(self.config["workers"]), len(pending))
        if workers <= 1:
            for job in jobs:
                yield job, self.train_run(*job)
            return
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_log_stderr_to, initargs=(str(self.out_dir / "logs"),)) as pool:
            with _single_threaded_children():  # the workers start here, on the first submissions
                futures = {job: pool.submit(_toy_run, self.config, self.run_dir(*job), *job) for job in pending}
            for job in jobs:
                yield job, futures[job].result() if job in futures else self.train_run(*job)

    def train(self, progress=True):
        """Every (dataset, method, seed) run; write points and results.json; return the results."""
        _write_description(self.out_dir, self._describe())
        started = time.perf_counter()
        jobs = [(d, m, s) for d in self.config["datasets"] for m in self.config["methods"] for s in self.seeds]
        pending = [job for job in jobs if not self.finished_run(*job)]
        runs = []
        for (dataset, method, seed), (scores, history, points) in self._all_runs(jobs, pending):
            runs.append({"dataset": dataset, "method": method, "seed": seed, **scores,
                         "train_seconds": round(history.wall_time, 1)})
            if seed == self.seed:
                np.save(self.out_dir / f"points_{dataset}_{method}.npy", points)
            if progress:
                print(f"{dataset:4s} {method:13s} seed {seed}: {scores['modes']:2d}/{scores['n_modes']} "
                      f"modes, {100 * scores['high_quality']:5.1f} % high quality, reverse KL "
                      f"{scores['reverse_kl']:.3f} ({history.wall_time:.0f} s)", flush=True)
        summary = {}
        for dataset in self.config["datasets"]:
            for method in self.config["methods"]:
                mine = [r for r in runs if r["dataset"] == dataset and r["method"] == method]
                summary.setdefault(dataset, {})[method] = {
                    key: _mean_std([r[key] for r in mine]) for key in ("modes", "high_quality", "reverse_kl")
                }
        for run in runs:  # no high-quality sample at all: no histogram, no reverse KL (JSON null)
            run["reverse_kl"] = run["reverse_kl"] if np.isfinite(run["reverse_kl"]) else None
        wall = round(time.perf_counter() - started, 1)
        previous = self.out_dir / "results.json"
        if not pending and previous.exists():  # keep the wall time of the call that trained them
            wall = json.loads(previous.read_text()).get("wall_seconds", wall)
        results = {**self._describe(), "seeds": self.seeds, "summary": summary, "runs": runs,
                   "train_seconds": round(sum(r["train_seconds"] for r in runs), 1), "wall_seconds": wall}
        (self.out_dir / "results.json").write_text(json.dumps(results, indent=1))
        return results

    def history(self, dataset, method, seed=None):
        """The saved History (losses, snapshots of points) of one finished run."""
        from .training import History

        path = self.run_dir(dataset, method, self.seed if seed is None else seed) / "history.npz"
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist: train first (ModeCollapseLesson.train())")
        return History.load(path)
