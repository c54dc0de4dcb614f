"""The runs of the lessons that train one set of networks: :class:`Run` (build, train through the
shared driver, load) and :class:`ImageGAN` (noise -> images: lessons 01-03, lesson 04's self-conditioned DCGAN
and InfoGAN, lesson 07) with its label policies. The image-to-image runs build on :class:`Run` in
:mod:`.pix2pix` (``Translation``) and :mod:`.cyclegan` (``CycleGAN``)."""

import json
import numbers
import time

import keras
import numpy as np

from .. import UserError, check_count, check_seed, data_parallel, quick_mode, set_seed
from ..data import unscale_images
from ..training import fit, load_checkpoint, read_checkpoint
from .base import Experiment, read_description, saved_settings


class NotTrainedError(UserError, FileNotFoundError):
    """A folder that holds no trained model."""


def describe_value(value):
    """An argument of the wrong kind, as an error message names it: a name or a number by its repr (a run's or a
    model's name given where the object goes), anything else by its type (a dict of models would fill pages)."""
    return repr(value) if isinstance(value, (str, numbers.Number)) else f"a {type(value).__name__}"


class Run(Experiment):
    """One training run: ``build`` the lesson's networks (seeded), ``train()`` them through
    :func:`~gan_lessons.training.fit` with checkpoints in ``out_dir`` (a finished checkpoint is loaded,
    not trained again), or rebuild a finished one with :meth:`load`."""

    def __init__(self, lesson, quick=None, seed=0, out_dir=None, fresh=False, **overrides):
        super().__init__(lesson, quick, seed, out_dir, fresh, **overrides)
        devices = data_parallel()
        if devices and self.config["batch_size"] % len(devices):
            raise UserError(f"batch_size {self.config['batch_size']} must be a multiple of the {len(devices)} "
                            "devices to split it evenly: --set batch_size=...")
        set_seed(seed)
        built = self.spec.build(self.config)
        self.models, self.step, self.data = built.models, built.step, built.data
        self.history = None
        self._setup(built)

    def _setup(self, built):
        """What a kind of run keeps beside the models (fixed snapshot inputs...)."""

    def snapshot(self):
        """The images in [0, 1] that training keeps every ``snapshot_every`` steps."""
        raise NotImplementedError

    @property
    def finished(self):
        meta = read_checkpoint(self.out_dir)
        return meta is not None and meta["step"] >= self.config["steps"]

    def train(self, progress=True):
        """Train (or resume, or just load a finished checkpoint) and return the History."""
        self.write_description()
        c = self.config
        self.history = fit(self.step, self.models, self.data, steps=c["steps"], batch_size=c["batch_size"],
                           seed=self.seed, sample=self.snapshot, snapshot_every=c["snapshot_every"],
                           out_dir=self.out_dir, checkpoint_every=c["checkpoint_every"], progress=progress)
        return self.history

    def load_finished_or_shipped(self, progress=False):
        """The History of the run finished in ``out_dir`` (loaded by :meth:`train`), else of the course's run of the
        same settings (``pretrained/``), whose generators and history are loaded from there, not copied, so the
        folder stays free for the student's own run (do not train this run further: packs ship no discriminator);
        None, with nothing trained, when there is neither."""
        if self.finished:
            return self.train(progress=progress)
        pack = self.shipped_pack()
        if pack is None:
            return None
        self.history = load_checkpoint(pack, self.models)
        return self.history

    def train_or_show(self, progress=True, shipped=False):
        """:meth:`train` (which loads a finished run), except that with ``shipped=True`` a run not finished here
        shows the course's run of the same settings (:meth:`load_finished_or_shipped`). Without such a pack it
        trains."""
        history = self.load_finished_or_shipped(progress) if shipped else None
        return self.train(progress=progress) if history is None else history

    @classmethod
    def for_comparison(cls, lesson, quick=None, **overrides):
        """Another lesson's run, loaded for a notebook to compare with, never trained here: the student's
        finished run in this mode (``quick``; None: as the environment says), else their finished full-mode run,
        else the course's full-mode run shown from ``pretrained/`` (not copied: its ``finished`` stays False).
        A :class:`NotTrainedError` naming the command that trains it when there is none of these."""
        modes = dict.fromkeys([quick_mode() if quick is None else bool(quick), False])
        for run in (cls(lesson, quick=mode, **overrides) for mode in modes):
            if run.load_finished_or_shipped() is not None:
                return run
        raise NotTrainedError(f"{lesson} has no finished run in {run.out_dir} and the course ships none there "
                              f"(pretrained/): train it first with `python -m gan_lessons train {lesson}`")

    @classmethod
    def load(cls, out_dir, saved=None):
        """Rebuild the run saved in ``out_dir`` with its settings and load its latest checkpoint."""
        saved = saved or read_description(out_dir)
        if read_checkpoint(out_dir) is None:
            raise NotTrainedError(f"{out_dir} holds no trained model; train one first with "
                                  "`python -m gan_lessons train LESSON --out DIR`")
        base = cls._registered(saved["lesson"]).config(saved["quick"])
        overrides = {k: v for k, v in saved_settings(saved["config"], base).items() if k in base and base[k] != v}
        run = cls(saved["lesson"], saved["quick"], saved["seed"], out_dir, **overrides)
        run.history = load_checkpoint(out_dir, run.models)
        return run

    @staticmethod
    def _registered(name):
        from .base import registered

        return registered(name)

    @staticmethod
    def _apply(generator, inputs, batch_size):
        """``generator`` on ``inputs`` (an array, or a list of arrays of equal length), ``batch_size`` rows at
        a time, with the output brought from [-1, 1] to [0, 1]."""
        batch_size = check_count("batch_size", batch_size, "samples per call of the network")
        out = []
        for i in range(0, len(inputs[0] if isinstance(inputs, list) else inputs), batch_size):
            chunk = [x[i:i + batch_size] for x in inputs] if isinstance(inputs, list) else inputs[i:i + batch_size]
            out.append(generator.predict_on_batch(chunk))
        return unscale_images(np.concatenate(out))

    def cli_run(self, eval_samples):
        from ..plotting import save_png

        started = time.perf_counter()
        history = self.train()
        yield (f"training: {history.step} steps, {history.wall_time:.1f} s of training in all "
               f"(this run: {time.perf_counter() - started:.1f} s)")
        metrics = self.evaluate(n=eval_samples)
        metrics["steps"], metrics["train_seconds"] = history.step, round(history.wall_time, 1)
        (self.out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
        save_png(self.sample_grid(), self.out_dir / "samples.png")
        yield from (f"  {key}: {value}" for key, value in metrics.items() if key != "confusion")
        yield f"wrote {self.out_dir / 'metrics.json'} and {self.out_dir / 'samples.png'}"


class NoLabels:
    """Label policy of an unconditional G: it takes z only."""

    takes_labels, public, n_snapshot, grid_columns = False, False, 64, 8

    def draw(self, n, seed=0):
        return None

    def check(self, labels, n, lesson):
        if labels is not None:
            raise UserError(f"{lesson} is not conditional: it takes no labels (leave labels out)")


class DigitLabels(NoLabels):
    """Label policy of lesson 03: G takes [z, digit]; unless told otherwise it is asked for 0, 1, ..., 9,
    0, 1, ... The labels are public: ``sample`` writes them and ``evaluate`` checks them."""

    takes_labels, public, n_snapshot, grid_columns, n_classes, what = True, True, 100, 10, 10, ""

    def draw(self, n, seed=0):
        return np.arange(n) % 10

    def snapshot_labels(self, seed):
        return np.repeat(np.arange(10), 10)  # row k asks for digit k

    def check(self, labels, n, lesson):
        labels = np.asarray(labels).reshape(-1)
        top = self.n_classes - 1
        numbers_given = labels.dtype.kind in "biuf"  # (strings such as "3" failed in numpy's comparison)
        if not numbers_given or len(labels) != n or not np.all(
                (labels >= 0) & (labels <= top) & (labels == np.round(labels))):
            raise UserError(f"labels must be {n} whole numbers between 0 and {top}{self.what}, one per sample" + (
                "" if numbers_given else f", got {labels[:3].tolist()}{'...' if len(labels) > 3 else ''}: "
                "np.asarray(labels, dtype=int)"))
        return labels.astype("int32")


class ClusterLabels(DigitLabels):
    """Label policy of a self-conditioned G (lesson 04): it takes [z, cluster id] of k clusters, which are
    drawn in proportion to the cluster sizes ``probs``, so from outside it is an unconditional GAN (the
    ids are private: ``sample`` writes none)."""

    public, n_snapshot, grid_columns, what = False, 64, 8, " (cluster ids)"

    def __init__(self, probs):
        self.probs = np.asarray(probs)
        self.n_classes = len(self.probs)

    def draw(self, n, seed=0):
        return np.random.default_rng([seed, 1]).choice(self.n_classes, n, p=self.probs).astype("int32")

    def snapshot_labels(self, seed):
        return self.draw(self.n_snapshot, seed)



class ImageGAN(Run):
    """A GAN that makes images from noise (lessons 01-03, lesson 04's DCGAN variants, 07). Samples come from the weight-averaged
    generator when the lesson keeps one; ``labels`` is the label policy (:class:`NoLabels`,
    :class:`DigitLabels`, :class:`ClusterLabels`) that ``generate``, ``evaluate``, the command line and
    the augmentation experiment all ask."""

    def _setup(self, built):
        self.labels = built.labels or NoLabels()
        self.generator = self.models.get("generator_ema", self.models["generator"])
        latent_dim = self.generator.inputs[0].shape[-1]
        # What the snapshots show, the same all along: the grid's samples first, then (setting
        # ``snapshot_samples``) more of them, enough to score each snapshot (lesson 07).
        n = self.config.get("snapshot_samples", self.labels.n_snapshot)
        if n < self.labels.n_snapshot:
            raise UserError(f"snapshot_samples must be at least {self.labels.n_snapshot}, the samples of the grid; "
                            f"got {n}")
        self.fixed_z = np.random.default_rng(self.seed).standard_normal((n, latent_dim)).astype("float32")
        self.fixed_labels = self.labels.snapshot_labels(self.seed) if self.labels.takes_labels else None

    def snapshot(self, n=None):
        """The fixed noise's samples (its first ``n``: the grid's, without the extra ones of ``snapshot_samples``)."""
        return self.generate(z=self.fixed_z[:n], labels=self.fixed_labels)

    def generate(self, n=None, seed=0, z=None, labels=None, generator=None, batch_size=1000):
        """``n`` samples in [0, 1] from latent vectors drawn with ``seed`` (or from the given ``z``), asking
        a conditional G for ``labels`` (default: the label policy's draw with ``seed``). ``generator``
        defaults to the lesson's sampling generator (the weight-averaged copy if any)."""
        generator = self._generator(generator)
        latent_dim = generator.inputs[0].shape[-1]
        seed = check_seed(seed)
        if z is None:
            if not isinstance(n, numbers.Integral) or isinstance(n, (bool, np.bool_)) or n <= 0:
                raise UserError(f"n must be a positive number of samples, got {n!r}")
            z = np.random.default_rng(seed).standard_normal((n, latent_dim))
        z = np.asarray(z, dtype="float32")
        if z.ndim != 2 or z.shape[1] != latent_dim or not len(z):
            raise UserError(f"z must have shape (N, {latent_dim}) with N ≥ 1 (this G's latent size), got {z.shape}")
        if not np.isfinite(z).all():  # (NaN samples, drawn as if a result)
            raise UserError(f"z holds NaN or inf: draw it with np.random.default_rng(seed).standard_normal((n, "
                            f"{latent_dim}))")
        if not self.labels.takes_labels:
            self.labels.check(labels, len(z), self.lesson)
            return self._apply(generator, z, batch_size)
        labels = self.labels.draw(len(z), seed) if labels is None else labels
        return self._apply(generator, [z, self.labels.check(labels, len(z), self.lesson)], batch_size)

    def _generator(self, generator):
        """``generator`` (None: the sampling one) if it takes this run's G's inputs, else a UserError: a model's name
        or the ``models`` dict given where the model goes, or another network (D) failed deep in Keras."""
        def takes(model):
            return [tuple(x.shape[1:]) for x in model.inputs]

        if generator is None:
            return self.generator
        if not isinstance(generator, keras.Model) or takes(generator) != takes(self.generator):
            got = f"a model that takes {takes(generator)}" if isinstance(generator, keras.Model) else \
                describe_value(generator)
            raise UserError(f"generator must be one of this run's generators, a model that takes "
                            f"{takes(self.generator)}, e.g. exp.models['generator'] (left out: exp.generator, "
                            f"{self.generator.name}), got {got}")
        return generator

    def evaluate(self, n=10000, seed=1, generator=None):
        """The lesson's metrics on ``n`` fresh samples (course classifier: FID-style, IS, classes); with
        public labels also how often the classifier reads the digit that was asked for."""
        from ..metrics import evaluate_digits

        images = self.generate(n, seed=seed, generator=generator)
        return evaluate_digits(images, asked=self.labels.draw(n, seed) if self.labels.public else None)

    def sample_arrays(self, n, seed=0):
        """What ``sample`` writes: ``images`` in [0, 1], and the ``labels`` asked for when they are public."""
        arrays = {"images": self.generate(n, seed=seed)}
        if self.labels.public:
            arrays["labels"] = self.labels.draw(n, seed).astype("int64")
        return arrays

    def sample_grid(self):
        """The snapshot batch as one picture in [0, 1] (what the CLI saves as samples.png)."""
        from ..plotting import tile

        return tile(self.snapshot(self.labels.n_snapshot), ncols=self.labels.grid_columns)
