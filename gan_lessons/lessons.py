"""The lessons' settings (full and quick mode) and how to build, train, sample and score them.

Notebooks and the command line both go through :class:`Experiment`, so a lesson trains with
the same code and the same settings in both.
"""

import json
import shutil
from pathlib import Path

import keras
import numpy as np

from . import CHECKPOINT_DIR, quick_mode, set_seed
from .data import load_mnist, scale_images, unscale_images
from .models import build_gan, dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator
from .training import ema_gan_step, fit, gan_step, read_checkpoint

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
}


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


def _adam(config, network):
    """Adam for ``network`` ("g" or "d"): its own learning rate if the lesson sets one, decayed
    linearly to 0 over the run if ``lr_decay`` is set (the schedule follows the optimizer's own step
    counter, which checkpoints restore)."""
    rate = config.get(f"{network}_learning_rate", config.get("learning_rate"))
    if config.get("lr_decay"):
        rate = keras.optimizers.schedules.PolynomialDecay(rate, config["steps"], end_learning_rate=0.0)
    return keras.optimizers.Adam(rate, beta_1=config["beta_1"])


def _build_mlp_gan(config):
    G = mlp_generator(config["latent_dim"], hidden=config["g_hidden"])
    D = mlp_discriminator(hidden=config["d_hidden"], dropout=config["dropout"])
    gan = build_gan(G, D, _adam(config, "d"), _adam(config, "g"))

    def step(models, real_images, rng):
        return gan_step(models, real_images, rng, real_label=config["real_label"])

    (x_train, _), _ = load_mnist()
    return {"generator": G, "discriminator": D, "gan": gan}, step, scale_images(x_train)


def _build_dcgan(config):
    def generator(name):
        return dcgan_generator(config["latent_dim"], channels=config["g_channels"],
                               kernel_size=config["kernel_size"], extra_convs=config["g_extra_convs"],
                               name=name)

    G, G_ema = generator("generator"), generator("generator_ema")
    G_ema.set_weights(G.get_weights())
    D = dcgan_discriminator(channels=config["d_channels"], kernel_size=config["kernel_size"],
                            dropout=config["dropout"])
    gan = build_gan(G, D, _adam(config, "d"), _adam(config, "g"))

    def step(models, real_images, rng):
        return ema_gan_step(models, real_images, rng, real_label=config["real_label"],
                            ema_decay=config["ema_decay"])

    (x_train, _), _ = load_mnist()
    models = {"generator": G, "discriminator": D, "gan": gan, "generator_ema": G_ema}
    return models, step, scale_images(x_train)


_BUILDERS = {"mlp_gan": _build_mlp_gan, "dcgan": _build_dcgan}


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
        if fresh and self.out_dir.exists():
            shutil.rmtree(self.out_dir)
        self._check_out_dir()
        set_seed(seed)
        self.models, self.step, self.data = _BUILDERS[lesson](self.config)
        # Samples come from the weight-averaged generator when the lesson keeps one.
        self.generator = self.models.get("generator_ema", self.models["generator"])
        latent_dim = self.generator.inputs[0].shape[-1]
        self.fixed_z = np.random.default_rng(seed).standard_normal((64, latent_dim)).astype("float32")
        self.history = None

    def _describe(self):
        return {"lesson": self.lesson, "quick": self.quick, "seed": self.seed, "config": self.config}

    def _check_out_dir(self):
        path = self.out_dir / "experiment.json"
        if path.exists():
            saved = json.loads(path.read_text())
            if saved != json.loads(json.dumps(self._describe())):
                raise ValueError(
                    f"{self.out_dir} holds a checkpoint of another experiment ({saved['lesson']}, "
                    f"quick={saved['quick']}, seed={saved['seed']}, other settings?): pass another "
                    "out_dir / --out, or fresh=True to delete it"
                )

    @property
    def finished(self):
        meta = read_checkpoint(self.out_dir)
        return meta is not None and meta["step"] >= self.config["steps"]

    def train(self, progress=True):
        """Train (or resume, or just load a finished checkpoint) and return the History."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "experiment.json").write_text(json.dumps(self._describe(), indent=1))
        c = self.config
        self.history = fit(
            self.step, self.models, self.data, steps=c["steps"], batch_size=c["batch_size"],
            seed=self.seed, sample=lambda: self.generate(z=self.fixed_z),
            snapshot_every=c["snapshot_every"], out_dir=self.out_dir,
            checkpoint_every=c["checkpoint_every"], progress=progress,
        )
        return self.history

    def generate(self, n=None, seed=0, z=None, generator=None, batch_size=1000):
        """``n`` samples in [0, 1] from latent vectors drawn with ``seed`` (or from the given ``z``).

        ``generator`` defaults to the lesson's sampling generator (the weight-averaged copy if any).
        """
        generator = generator or self.generator
        if z is None:
            z = np.random.default_rng(seed).standard_normal((n, generator.inputs[0].shape[-1]))
        z = np.asarray(z, dtype="float32")
        out = [generator.predict_on_batch(z[i:i + batch_size]) for i in range(0, len(z), batch_size)]
        return unscale_images(np.concatenate(out))

    def evaluate(self, n=10000, seed=1, generator=None):
        """The lesson's metrics on ``n`` fresh samples (course classifier: FID-style, IS, classes)."""
        from .metrics import evaluate_digits

        return evaluate_digits(self.generate(n, seed=seed, generator=generator))


def load_experiment(out_dir):
    """Rebuild the Experiment saved in ``out_dir`` and load its latest checkpoint."""
    from .training import load_checkpoint

    out_dir = Path(out_dir)
    path = out_dir / "experiment.json"
    if not path.exists() or read_checkpoint(out_dir) is None:
        raise FileNotFoundError(
            f"{out_dir} holds no trained model; train one first with "
            "`python -m gan_lessons train LESSON --out DIR`"
        )
    saved = json.loads(path.read_text())
    base = lesson_config(saved["lesson"], saved["quick"])
    overrides = {k: v for k, v in saved["config"].items() if base.get(k) != v}
    experiment = Experiment(saved["lesson"], saved["quick"], saved["seed"], out_dir, **overrides)
    experiment.history = load_checkpoint(out_dir, experiment.models)
    return experiment
