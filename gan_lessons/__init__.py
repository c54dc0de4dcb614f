"""Helpers for the Keras 3 GAN course: data, model builders, one training driver, metrics, plots.

Everything here uses ``keras``, ``keras.ops`` and numpy, so it runs on any Keras backend (TensorFlow is the
course default); the backend-specific pieces are ``models.wgan.input_gradients`` (one branch per backend),
:func:`tensorflow_reads_before_updates` and the compiled weight average of ``steps.update_ema`` (TensorFlow),
:func:`data_parallel` (JAX only) and torch's device list and global random state (``_devices``,
``training._global_rng_state``).
"""

import numbers
import os
import signal
from pathlib import Path

# TensorFlow's C++ log: errors too (3), not only info and warnings (2), since the first step of every convolutional D
# logs a harmless "remapper failed: INVALID_ARGUMENT" error (Grappler, TF 2.21) that a student reads as a failure; set
# TF_CPP_MIN_LOG_LEVEL yourself to see them. Must be set before TensorFlow is imported (check_environment() silences
# the start-up lines that come before this takes effect).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("GAN_LESSONS_DATA", REPO_ROOT / "data"))
CHECKPOINT_DIR = Path(os.environ.get("GAN_LESSONS_CHECKPOINTS", REPO_ROOT / "checkpoints"))


class UserError(ValueError):
    """An expected mistake (a bad argument, a wrong folder, a damaged input file) or outcome (a
    diverged training) whose message names the fix. The command line prints only the message of
    these and exits with 2; anything else is a bug and keeps its traceback."""


SWITCH_ON, SWITCH_OFF = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def switched_on(name):
    """Whether the environment variable ``name`` is set to ``1``, ``true``, ``yes`` or ``on`` (unset, empty, ``0``,
    ``false``, ``no``, ``off``: not); any other value is a typo that would silently mean "off": refused."""
    value = os.environ.get(name, "").strip().lower()
    if value not in SWITCH_ON + SWITCH_OFF:
        raise UserError(f"{name}={os.environ[name]!r} is neither on nor off: set it to 1 (or true, yes, on) to switch "
                        "it on, or to 0 (or false, no, off, or unset it) to switch it off")
    return value in SWITCH_ON


def quick_mode():
    """True when ``GAN_LESSONS_QUICK`` asks for the short CI run (``1``, ``true``, ``yes``)."""
    return switched_on("GAN_LESSONS_QUICK")


def _devices(keras):
    """The devices Keras sees (``keras.distribution`` lists them on TensorFlow and JAX, not on torch)."""
    try:
        return keras.distribution.list_devices()
    except AttributeError:  # torch: Keras has no distribution library there
        import torch

        return ["cuda:0"] if torch.cuda.is_available() else ["cpu"]


KERAS_BACKENDS = ("tensorflow", "jax", "torch", "numpy", "openvino")  # what Keras 3.15 accepts
TESTED_KERAS = ((3, 15), (3, 16))  # the minor versions the course's tests passed on: [3.15, 3.16)


def check_environment(show=True):
    """First cell of every notebook: import Keras with TensorFlow's C++ start-up log lines sent to
    /dev/null (they are written to the process's stderr before Python could filter them; on JAX and torch
    TensorFlow is imported there too, where installed, since Keras's ``set_random_seed`` would), quiet its
    Python warnings (retracing), check the Keras version, and say in Spanish what to do if it is too
    old (Colab ships an older one). Prints Keras, backend and devices; returns the ``keras`` module."""
    import importlib.util  # binds importlib too
    import logging
    import sys

    if "keras" not in sys.modules:
        backend = os.environ.get("KERAS_BACKEND")
        if backend and backend not in KERAS_BACKENDS:
            raise UserError(f"KERAS_BACKEND={backend!r} is not a Keras backend: use one of "
                            f"{', '.join(KERAS_BACKENDS)} (tensorflow, the course's default, when unset)")
        sys.stderr.flush()
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
            import keras

            _devices(keras)  # the CUDA probe logs here, not at import
            if importlib.util.find_spec("tensorflow") is not None:  # Keras seeds it on every backend (set_random_seed)
                importlib.import_module("tensorflow")  # so its start-up lines go to /dev/null here, not later
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(null)
    import keras

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    version = tuple(int(part) for part in keras.__version__.split(".")[:2])
    if version < TESTED_KERAS[0]:
        raise UserError(
            f"Este curso necesita Keras ≥ 3.15 y hay Keras {keras.__version__} (Colab trae una más antigua). "
            'Instálala con  %pip install -U "keras>=3.15,<3.16"  y reinicia el entorno de ejecución '
            "(en Colab: Entorno de ejecución → Reiniciar sesión); después vuelve a ejecutar esta celda.")
    if show:
        devices = _devices(keras)
        print(f"Keras {keras.__version__}, backend {keras.backend.backend()}, dispositivos {', '.join(devices)}, "
              f"gan_lessons {__version__}")
        if version >= TESTED_KERAS[1]:
            print(f"Aviso: el curso se probó con Keras 3.15; con {keras.__version__} puede que algún paso cambie "
                  "(tests/test_keras_canary.py lo comprueba).")
    return keras


def data_parallel():
    """Train on every visible device when ``GAN_LESSONS_DATA_PARALLEL=1``: Keras' ``DataParallel``
    distribution replicates the weights on each device and splits every batch across them, with the same
    step functions and ``train_on_batch``. Keras 3.15 implements it for the JAX backend only. Returns the
    devices used (None when the switch is off)."""
    if not switched_on("GAN_LESSONS_DATA_PARALLEL"):
        return None
    import keras

    if keras.backend.backend() != "jax":
        raise UserError(f"GAN_LESSONS_DATA_PARALLEL needs KERAS_BACKEND=jax (Keras {keras.__version__} distributes "
                        f"only there), not {keras.backend.backend()}; unset it to train on one device")
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return devices


def check_seed(seed):
    """``seed`` as an int if it is a non-negative whole number (an int or a numpy integer, not a bool), else a
    UserError: the one seed check of the runs, ``set_seed`` and the samplers (numpy's own errors name no fix)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise UserError(f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


def check_count(name, value, what=None):
    """``value`` as an int if it is a positive whole number (an int or a numpy integer, not a bool), else a
    UserError naming the argument ``name`` and ``what`` it counts."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise UserError(f"{name} must be a positive int{f' ({what})' if what else ''}, got {value!r}")
    return int(value)


def set_seed(seed):
    """Seed Python, numpy and the Keras backend so that a run can be repeated."""
    import keras

    keras.utils.set_random_seed(check_seed(seed))
    tensorflow_reads_before_updates()


def tensorflow_reads_before_updates():
    """Turn off Grappler's dependency optimizer (TensorFlow only, a no-op on the other backends; it applies
    to functions traced afterwards, so ``set_seed`` and the driver ``fit`` call it before training).

    With it on, a train function that calls one network more than once (the WGAN critic on real, fake and
    in-between points) sometimes read part of that network's weights *after* the optimizer had updated
    them: in 10-14 of 100 identical WGAN-GP critic updates (Keras 3.15.1, TF 2.21) a score came out as a
    mix of old and new weights, so the update and the log differed from run to run and from the
    hand-computed one. Off: 0 of 100, and no lesson's step slower (docs/results.md, session 8)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.optimizer.set_experimental_options({"dependency_optimization": False})


def _start_worker(log_dir):
    """Start-up hook of lesson 04's worker processes. Their stderr (TensorFlow's start-up logs) goes to
    ``log_dir/worker-<pid>.log`` instead of the notebook or terminal; it lives here, in a module that does
    not import Keras, so that it runs before the worker imports TensorFlow. They ignore Ctrl-C, which a
    terminal sends to them too: the main process alone decides, and stops them (lessons.mode_collapse)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"worker-{os.getpid()}.log", "a")  # open for the life of the process
    os.dup2(log.fileno(), 2)
