"""What every lesson shares: its entry in the registry (:class:`Lesson`), its settings, and the
:class:`Experiment` base class (settings + output folder) that the runs of every lesson build on."""

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from .. import CHECKPOINT_DIR, UserError, check_seed, quick_mode
from ..steps import with_ema
from ..training import read_checkpoint, training_lock, unwritable

# experiment.json: 1 = no "format" key (before settings were versioned); 2 = this layout.
DESCRIPTION_FORMAT = 2


@dataclass(frozen=True)
class Lesson:
    """A lesson's entry in the registry: its name, the class that runs it, its settings in full mode,
    what quick mode (CI) changes, and ``build(config) -> Built`` (absent for a sweep of runs)."""

    name: str
    runner: type
    settings: dict
    quick: dict = field(default_factory=dict)
    build: Callable = None
    summary: str = ""

    def config(self, quick=False, **overrides):
        """The settings in full or quick mode, with ``overrides`` checked: an unknown name raises a :class:`UserError`
        that lists the known settings; a value of the wrong type or out of range, one that says what is expected."""
        config = {**self.settings, **(self.quick if quick else {})}
        for key, value in overrides.items():
            if key not in config:
                raise UserError(f"unknown setting {key!r} for {self.name}; known: {', '.join(sorted(config))}")
            config[key] = _in_range(self.name, key, _checked(self.name, key, value, config[key]))
        return config


def _checked(lesson, key, value, default):
    """``value`` converted to the kind of ``default``: an int for a float; for a dict of numbers (e.g.
    steps per dataset) one number for every entry. Anything else of another type is refused."""
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, dict) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return {k: value for k in default}
    if default is None or type(value) is type(default):
        return value
    raise UserError(f"setting {key!r} of {lesson} must be {type(default).__name__} (like {json.dumps(default)}), "
                    f"got {type(value).__name__} {value!r}")


# Where a numeric setting makes sense, for the settings a typo can push out of it (zero steps, a negative rate):
# a count is at least 1, a period, a weight or a size at least 0, a rate above 0, a decay or an Adam β in [0, 1).
# Settings whose builder explains its own range (clip, clusters, codes, dropout, gradient_penalty, info_weight) are
# left to it.
AT_LEAST_ONE = ("steps", "batch_size", "n_critic", "latent_dim", "snapshot_samples", "eval_samples", "seeds", "pack",
                "group_size", "train_samples", "workers")
AT_LEAST_ZERO = ("checkpoint_every", "snapshot_every", "ema_warmup", "jitter", "pool_size", "l1_weight", "cycle_weight",
                 "identity_weight")
FRACTIONS = ("ema_decay", "beta_1", "beta_2")


def _in_range(lesson, key, value):
    """``value`` if it makes sense for the setting ``key`` (each entry, for a dict such as steps per dataset)."""
    for v in (value.values() if isinstance(value, dict) else [value]):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        wanted = ("a number ≥ 1" if key in AT_LEAST_ONE and v < 1 else
                  "a number ≥ 0 (0: none)" if key in AT_LEAST_ZERO and v < 0 else
                  "a number > 0" if key.endswith("learning_rate") and v <= 0 else
                  "a number in [0, 1)" if key in FRACTIONS and not 0 <= v < 1 else None)
        if wanted:
            raise UserError(f"setting {key!r} of {lesson} must be {wanted}, got {v!r}")
    return value


@dataclass
class Built:
    """What a lesson's ``build(config)`` returns: the ``models`` dict (see :mod:`gan_lessons.training`),
    the step function, the training data (an array or a tuple of arrays), and for an image GAN its
    label policy (``None``: unconditional)."""

    models: dict
    step: Callable
    data: object
    labels: object = None


def adam(config, network, decay_steps=None):
    """Adam for ``network`` ("g" or "d"): its own learning rate if the lesson sets one, decayed
    linearly to 0 over ``decay_steps`` (or over the run if ``lr_decay`` is set). The schedule follows
    the optimizer's own step counter, which checkpoints restore."""
    rate = config.get(f"{network}_learning_rate", config.get("learning_rate"))
    if decay_steps is None and config.get("lr_decay"):
        decay_steps = config["steps"]
    if decay_steps:
        rate = keras.optimizers.schedules.PolynomialDecay(rate, decay_steps, end_learning_rate=0.0)
    return keras.optimizers.Adam(rate, beta_1=config["beta_1"])


def with_averages(built, config, generators, builder):
    """``built`` with a weight-averaged copy ``<name>_ema`` of each of ``generators`` (made by
    ``builder(name)``, starting from G's weights) and its step folding G into it, if ``ema_decay`` > 0."""
    if not config["ema_decay"]:
        return built
    for name in generators:
        built.models[f"{name}_ema"] = copy = builder(f"{name}_ema")
        copy.set_weights(built.models[name].get_weights())
    built.step = with_ema(built.step, config["ema_decay"], generators, warmup=config["ema_warmup"])
    return built


def registered(lesson):
    """The registry's :class:`Lesson` called ``lesson`` (or ``lesson`` itself if it is one)."""
    from . import LESSONS

    if isinstance(lesson, Lesson):
        return lesson
    if lesson not in LESSONS:
        raise UserError(f"unknown lesson {lesson!r}; choose one of {', '.join(LESSONS)}")
    return LESSONS[lesson]


# The settings whose lesson default is not what runs did before the setting existed, and what they did:
# lesson 07 kept the grid's 64 samples per snapshot until session 35 (now 1,000).
BEFORE_IT_EXISTED = {"snapshot_samples": 64}


def saved_settings(saved_config, defaults):
    """The settings a run saved with ``saved_config`` (its experiment.json's) used. A setting the file lacks
    was added to the course after it was written: it has the lesson's default (``defaults``; a new setting's
    default keeps the old behaviour), or for those of :data:`BEFORE_IT_EXISTED`, the value runs had before."""
    before = {key: value for key, value in BEFORE_IT_EXISTED.items() if key in defaults}
    return {**defaults, **before, **saved_config}


def _differences(saved, description, defaults):
    """What tells the experiment ``saved`` (an experiment.json) from ``description``, as "name X there, Y here":
    its lesson, mode or seed, else each setting, its missing settings read as :func:`saved_settings` reads them
    (a saved setting the course no longer has is ignored). Empty: the same experiment."""
    differ = [(key, saved.get(key), description[key]) for key in ("lesson", "quick", "seed")
              if saved.get(key) != description[key]]
    if not differ:
        mine = json.loads(json.dumps(description["config"]))
        theirs = saved_settings(saved.get("config", {}), defaults)
        differ = [(key, theirs.get(key), value) for key, value in mine.items() if theirs.get(key) != value]
    return [f"{key} {there!r} there, {here!r} here" for key, there, here in differ]


class Experiment:
    """The base of every lesson's runs: the lesson's settings (full or quick mode, plus ``overrides``),
    the seed, and the output folder ``out_dir`` (``checkpoints/<lesson>`` by default), claimed on
    creation: ``fresh=True`` empties it first; a folder holding another experiment is refused. An empty
    folder receives the course's shipped run (``pretrained/``, same settings only) when ``pretrained`` is True,
    never when False, and in presentation mode when None (:mod:`gan_lessons.pretrained`)."""

    def __init__(self, lesson, quick=None, seed=0, out_dir=None, fresh=False, pretrained=None, **overrides):
        spec = registered(lesson)
        if not isinstance(self, spec.runner):
            raise UserError(f"{spec.name} is run by {spec.runner.__name__}, not {type(self).__name__}")
        self.spec, self.lesson, self.seed = spec, spec.name, check_seed(seed)  # (before the folder is touched)
        if quick is not None and not isinstance(quick, (bool, np.bool_)):  # bool("no") would be True
            raise UserError(f"quick must be True, False or None (GAN_LESSONS_QUICK decides), got {quick!r}")
        self.quick = quick_mode() if quick is None else bool(quick)
        self.config = spec.config(self.quick, **overrides)
        self._check_config()
        self.out_dir = Path(out_dir) if out_dir is not None else CHECKPOINT_DIR / (
            f"{spec.name}-quick" if self.quick else spec.name)
        self._claim_out_dir(fresh, pretrained)

    def _check_config(self):
        """Refuse settings that only this kind of run can judge (before the folder is touched)."""

    def describe(self):
        return {"format": DESCRIPTION_FORMAT, "lesson": self.lesson, "quick": self.quick, "seed": self.seed,
                "config": self.config}

    @property
    def shipped(self):
        """True when ``out_dir`` holds the course's shipped run (``pretrained/``), not one trained here."""
        meta = read_checkpoint(self.out_dir)
        return bool(meta and meta.get("pretrained"))

    def _claim_out_dir(self, fresh, pretrained):
        out, path = self.out_dir, self.out_dir / "experiment.json"
        if out.exists() and not out.is_dir():
            raise UserError(f"{out} is a file, not a folder: pass a folder as out_dir / --out")
        if fresh and out.exists():
            if not path.exists() and any(out.iterdir()):
                raise UserError(f"fresh=True deletes only a folder written by this course, and {out} holds no "
                                "experiment.json: refusing to delete it; pass a new or empty out_dir / --out")
            with training_lock(out):  # refused while another process trains it
                pass
            shutil.rmtree(out)
        if not fresh:
            from ..pretrained import install

            install(out, self._is_mine, on=pretrained)
        if path.exists():
            saved = read_description(out)
            differ = self._differences(saved)
            if differ:
                raise UserError(
                    f"{out} holds a checkpoint of another experiment ({saved.get('lesson')}, quick="
                    f"{saved.get('quick')}, seed={saved.get('seed')}: {'; '.join(differ)}): "
                    "pass another out_dir / --out, or fresh=True to delete it")

    def _differences(self, saved):
        """What tells ``saved`` (an experiment.json) from this experiment (:func:`_differences`)."""
        return _differences(saved, self.describe(), self.spec.config(self.quick))

    def _is_mine(self, saved):
        """Whether ``saved`` (an experiment.json) describes this experiment."""
        return not self._differences(saved)

    def shipped_pack(self):
        """The course's shipped run of this experiment (its folder under ``pretrained/``, made with these
        settings and this seed), or None."""
        from ..pretrained import pack_for

        pack = pack_for(self.out_dir)
        return pack if pack is not None and self._is_mine(read_description(pack)) else None

    def write_description(self):
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "experiment.json").write_text(json.dumps(self.describe(), indent=1))
        except OSError as err:
            raise unwritable(self.out_dir, err) from err

    def cli_run(self, eval_samples):
        """Train, score and write the lesson's outputs for the command line; yields lines to print."""
        raise NotImplementedError

    def saved_so_far(self):
        """What ``out_dir`` keeps of a training stopped midway (Ctrl-C), and what the same command does next."""
        meta = read_checkpoint(self.out_dir)
        if meta is None:
            every = self.config.get("checkpoint_every")
            return (f"nothing saved yet in {self.out_dir} (" + (f"a checkpoint every {every} steps" if every else
                    "a checkpoint at the end") + "): the same command starts again")
        return f"{self.out_dir} keeps step {meta['step']} of {meta['steps']}: the same command goes on from there"


def read_description(out_dir):
    """The experiment.json of ``out_dir`` as a dict, or a :class:`UserError` saying it is damaged."""
    path = Path(out_dir) / "experiment.json"
    try:
        saved = json.loads(path.read_text())
        if not isinstance(saved, dict) or not isinstance(saved.get("lesson"), str):
            raise ValueError("it names no lesson")
        return saved
    except (ValueError, OSError) as err:
        raise UserError(f"{path} is damaged ({err}): delete {out_dir} or pass another out_dir / --out") from err
