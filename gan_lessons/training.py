"""The training driver shared by every lesson, and its checkpoints (the infrastructure; the part a
student reads is :mod:`gan_lessons.steps`).

:func:`fit` owns everything that is the same for all GANs: drawing batches, the progress bar, the
per-step loss history, sample snapshots from a fixed latent batch, checkpoints and exact resuming,
and stopping with a clear message when a loss stops being a finite number. It calls a step function
``step(models, batch, rng) -> dict of losses`` once per step.

The ``models`` dict, written down once: it maps a name to each Keras object a lesson trains or keeps,
e.g. ``{"generator": G, "discriminator": D, "gan": composite, "generator_ema": G_ema}``.
  * the step function finds its networks by these names (``"generator"``, ``"discriminator"``,
    ``"gan"`` for the composite; lesson 06 adds ``"generator_ba"``, ``"discriminator_a"``…);
  * a checkpoint writes one ``<name>.weights.h5`` per entry (weights and, for compiled models, the
    optimizer state) and records the sorted names and the compiled models' optimizer classes in
    ``checkpoint.json``; its files are all written before any takes its name, so a process killed while
    writing leaves one step whole, never two mixed;
  * :func:`load_checkpoint` refuses a folder whose names or optimizer classes differ from the models it is
    given, and says "damaged" for an unreadable file and "other settings" when the saved shapes don't fit.
"""

import contextlib
import gc
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
import zipfile
from pathlib import Path

import keras
import numpy as np

from . import UserError, tensorflow_reads_before_updates


class CheckpointError(UserError):
    """A checkpoint folder that cannot be loaded into these models; the message says why and what to do."""


class NonFiniteLossError(UserError):
    """A loss became NaN or infinite; ``history`` holds the steps up to and including that one."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history

    def __reduce__(self):  # so that it crosses from a worker process intact (lesson 04 runs in a pool)
        return type(self), (str(self), self.history)


class History:
    """Per-step losses (``logs["step"]``, ``logs["d_loss"]``…) and sample snapshots over training."""

    def __init__(self):
        self.logs = {"step": []}
        self.snapshot_steps = []
        self.snapshots = []  # uint8 image batches (n, H, W, C), or float32 points (n, D)
        self.wall_time = 0.0

    @property
    def step(self):
        return self.logs["step"][-1] if self.logs["step"] else 0

    def append(self, step, logs):
        self.logs["step"].append(step)
        for key, value in logs.items():
            self.logs.setdefault(key, []).append(value)

    def add_snapshot(self, step, images):
        """Keep a batch of images in [0, 1] as uint8 (or of points, (N, D), as float32), tagged with its step."""
        images = np.asarray(images, dtype="float32")
        if images.ndim != 2 and images.size and (np.nanmin(images) < -1e-3 or np.nanmax(images) > 1 + 1e-3):
            raise UserError(f"sample() must return images in [0, 1], got values in [{np.nanmin(images):.3g}, "
                            f"{np.nanmax(images):.3g}]: a generator's [-1, 1] goes through gan_lessons.data.unscale_images")
        self.snapshot_steps.append(step)
        self.snapshots.append(images if images.ndim == 2 else np.round(np.clip(images, 0, 1) * 255).astype(np.uint8))

    def mean(self, key, last=100):
        """Mean of ``key`` over the last ``last`` steps."""
        values = self.logs[key][-last:]
        return float(np.mean(values)) if values else float("nan")

    def save(self, path):
        arrays = {f"log/{k}": np.asarray(v) for k, v in self.logs.items()}
        arrays["snapshot_steps"] = np.asarray(self.snapshot_steps, dtype=np.int64)
        if self.snapshots:
            arrays["snapshots"] = np.stack(self.snapshots)
        arrays["wall_time"] = np.asarray(self.wall_time)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path):
        history = cls()
        with np.load(path) as f:
            for key in f.files:
                if key.startswith("log/"):
                    history.logs[key[4:]] = f[key].tolist()
            history.snapshot_steps = f["snapshot_steps"].tolist()
            history.snapshots = list(f["snapshots"]) if "snapshots" in f.files else []
            history.wall_time = float(f["wall_time"])
        return history


def check_history(history, call, needs="logs"):
    """``history`` if it is a History (it has ``needs``: "logs", or "snapshots", then at least one); else a
    UserError for ``call`` that names the fix: train first (None), the run's History (a run), the argument order."""
    if not hasattr(history, needs):
        if history is None:
            why = "no history yet: train first (exp.train() returns it; then exp.history holds it)"
        elif hasattr(history, "history"):
            why = (f"got the {type(history).__name__} itself: pass its History, "
                   + ("sweep.history(dataset, method, seed)" if callable(history.history) else "exp.history"))
        else:
            why = f"first the History that exp.train() returns (exp.history); got {type(history).__name__}"
        raise UserError(f"{call}: {why}")
    if needs == "snapshots" and not history.snapshots:
        raise UserError(f"{call}: this history has no snapshots: pass sample= and snapshot_every= to fit()")
    return history


def _optimizer_targets(model):
    """Positions in ``model.variables`` of the variables its optimizer updates (None if unbuilt).

    With the trainable toggle, the composite model's optimizer tracks only the generator's
    variables, so a resumed run must rebuild it over exactly those before loading its state.
    """
    opt = getattr(model, "optimizer", None)
    if opt is None or not opt.built:
        return None
    position = {id(v): i for i, v in enumerate(model.variables)}
    return [position[id(v)] for v in opt._trainable_variables]


def _extra_variables(model):
    """Variables that ``save_weights`` leaves out: the random-number state of Dropout layers."""
    saved = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in saved]


def _global_rng_state(state=None):
    """The backend's own global random state, which Keras' seed variables do not cover: get it (``state``
    None) or put it back. Only torch needs it: its Dropout without an explicit seed draws from torch's
    global generator, so an exact resume must restore that too. TensorFlow and JAX: nothing (None)."""
    if keras.backend.backend() != "torch":
        return None
    import torch

    if state is None:
        return torch.get_rng_state().numpy().copy()
    torch.set_rng_state(torch.from_numpy(np.asarray(state, dtype=np.uint8)))


def _diverged_on_torch(err):
    """torch's cross-entropy refuses a NaN probability with this RuntimeError instead of returning NaN."""
    return keras.backend.backend() == "torch" and "should be between 0 and 1" in str(err)


@contextlib.contextmanager
def _interrupts_held():
    """Ctrl-C (or a notebook's interrupt button, the same SIGINT) that arrives inside the block takes effect
    when it ends, so that a checkpoint's files are all of one step. Only the main thread receives signals;
    elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield  # (None: a handler set outside Python, left alone)
        return
    held = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            signal.raise_signal(signal.SIGINT)  # now handled as it would have been: KeyboardInterrupt


def unwritable(out_dir, err):
    """The error for a run's folder that cannot be made or written (a file in the way, no permission, a full disk)."""
    return UserError(f"cannot write the run's folder {out_dir} ({err}): pass another out_dir / --out")


@contextlib.contextmanager
def training_lock(out_dir):
    """Hold ``out_dir/training.lock`` while a run trains there, so that a second process asked to train the
    same folder (another notebook's kernel, a `train` in a terminal) is refused instead of resuming the same
    run beside the first, both writing the same files. The operating system drops the lock when its process
    ends, however it ends. Where there are no such locks (Windows, some network file systems) nothing is held."""
    if out_dir is None:
        yield
        return
    try:
        import fcntl
    except ImportError:
        fcntl = None
    out_dir = Path(out_dir)
    path = out_dir / "training.lock"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = open(path, "a+") if fcntl is not None else None
    except OSError as err:
        raise unwritable(out_dir, err) from err
    if lock is None:  # Windows: no flock, and no file left behind
        _finish_staged(out_dir)
        yield
        return
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            who = lock.read().strip() or "pid unknown"
            raise UserError(f"{out_dir} is being trained by another process ({who}: a notebook's kernel or "
                            "`python -m gan_lessons train`): let it finish, then run this again to load its run, "
                            "or pass another out_dir / --out") from None
        except OSError:  # a file system without locks: train without one
            pass
        else:
            lock.truncate(0)
            lock.write(f"pid {os.getpid()}")
            lock.flush()
        try:
            _finish_staged(out_dir)  # (a checkpoint whose process was killed as its files took their names)
            yield
        finally:
            path.unlink(missing_ok=True)  # while the lock is still held: no one else can be training here


def save_checkpoint(out_dir, models, history, steps):
    """Write weights (Keras stores the optimizer state with them), RNG state and history, every file of
    the same step: an interrupt (Ctrl-C) during the writing waits for its end. On a disk without room for
    it, nothing is written; a write that fails all the same removes what it wrote. Both say what is kept."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    need, free = 1.25 * _checkpoint_bytes(models, history) + 1e6, shutil.disk_usage(out_dir).free
    if free < need:  # (h5py, failing in the middle of a file, crashes the process when it exits)
        raise _not_written(out_dir, history, f"it needs about {need / 1e6:.0f} MB, {free / 1e6:.0f} MB are free")
    with _interrupts_held():
        try:
            _write_checkpoint(out_dir, models, history, steps)
            return
        except OSError as err:  # the disk filled up meanwhile, the folder became read-only...
            why = os.strerror(err.errno) if err.errno else str(err)
            partials = [] if (out_dir / STAGED).exists() else list(out_dir.glob("*.partial.*"))  # (staged: whole)
            for path in partials:  # emptied while the error still holds h5py's objects of the failed file: to close
                with contextlib.suppress(OSError):  # it HDF5 must flush it, and with no room for that it crashed
                    os.truncate(path, 0)  # the process at exit
        hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
        try:  # h5py's objects of the failed file, freed now (should one still fail to close, it would print)
            gc.collect()
        finally:
            sys.unraisablehook = hook
        for path in partials:
            path.unlink(missing_ok=True)
        raise _not_written(out_dir, history, why)


def _checkpoint_bytes(models, history):
    """About the size of one checkpoint: the variables and optimizer states (stored uncompressed), the history."""
    optimizers = [m.optimizer for m in models.values() if getattr(m, "optimizer", None) is not None]
    variables = [v for m in models.values() for v in m.weights] + [v for o in optimizers for v in o.variables]
    return (sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables)
            + sum(s.nbytes for s in history.snapshots) + 8 * sum(map(len, history.logs.values())))


def _not_written(out_dir, history, why):
    kept = read_checkpoint(out_dir)
    return UserError(f"cannot write the checkpoint of step {history.step} in {out_dir} ({why}): free some space "
                     "there or pass another out_dir / --out; " + (
                         f"the folder keeps step {kept['step']} of {kept['steps']}, where the same command goes on"
                         if kept else "nothing is saved there yet"))


def _write_checkpoint(out_dir, models, history, steps):
    """Each file is first written under a ``.partial`` name; once all are on disk, ``checkpoint.staged.json``
    appears (one rename) and says the new step is whole; then the files take their names, ``checkpoint.json``
    last. A process killed in between (the out-of-memory killer, Jupyter's "The kernel appears to have died",
    ``kill -9``) leaves the old step whole, or the new one staged whole, which :func:`_finish_staged` completes
    the next time the folder is trained or read."""
    extra = {}
    for name, model in models.items():
        model.save_weights(out_dir / _partial(f"{name}.weights.h5"))
        for i, v in enumerate(_extra_variables(model)):
            extra[f"{name}/{i}"] = keras.ops.convert_to_numpy(v)
    backend_state = _global_rng_state()
    if backend_state is not None:
        extra["backend_global"] = backend_state
    np.savez_compressed(out_dir / _partial("rng_state.npz"), **extra)
    history.save(out_dir / _partial("history.npz"))
    targets = {name: _optimizer_targets(m) for name, m in models.items()}
    meta = {"step": history.step, "steps": steps, "wall_time": history.wall_time,
            "models": sorted(models), "optimizer_targets": {k: v for k, v in targets.items() if v},
            "optimizers": _optimizers(models)}
    staged = out_dir / _partial(STAGED)
    staged.write_text(json.dumps(meta, indent=1))
    _sync(out_dir, [_partial(f) for f in _checkpoint_files(meta["models"])] + [staged.name])
    os.replace(staged, out_dir / STAGED)  # the new step is whole on disk
    _finish_staged(out_dir)


STAGED = "checkpoint.staged.json"


def _checkpoint_files(names):
    """A checkpoint's files besides its checkpoint.json, for models of these names."""
    return [f"{name}.weights.h5" for name in names] + ["rng_state.npz", "history.npz"]


def _partial(filename):
    """Where a checkpoint file is written first: generator.weights.h5 -> generator.partial.weights.h5."""
    stem, _, rest = filename.partition(".")
    return f"{stem}.partial.{rest}"


def _sync(out_dir, filenames):
    """Flush the files to the disk before the rename that says they are whole (for a power cut; not tried)."""
    for filename in filenames:
        with open(out_dir / filename, "rb+") as f:
            os.fsync(f.fileno())
    with contextlib.suppress(OSError):  # (Windows cannot open a folder: there the files are flushed, not their names)
        fd = os.open(out_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _finish_staged(out_dir):
    """Complete a checkpoint that was whole on disk when its process was killed: give its files their names."""
    try:
        meta = json.loads((out_dir / STAGED).read_text())
    except FileNotFoundError:
        return
    for filename in _checkpoint_files(meta["models"]):
        if (out_dir / _partial(filename)).exists():  # (the others had their names already)
            os.replace(out_dir / _partial(filename), out_dir / filename)
    os.replace(out_dir / STAGED, out_dir / "checkpoint.json")


def read_checkpoint(out_dir):
    """The checkpoint's metadata (``step``, ``steps``, ``wall_time``…) or None if there is none."""
    path = Path(out_dir) / "checkpoint.json"
    if (path.parent / STAGED).exists():  # a checkpoint whose process was killed: completed, unless another trains it
        with contextlib.suppress(UserError):
            with training_lock(out_dir):
                pass
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as err:  # cut short, as by a crash while it was written
        raise CheckpointError(f"{path} is damaged ({err}): delete {out_dir} to start again, or pass another "
                              "out_dir / --out") from err


def _optimizers(models):
    """The class of each compiled model's optimizer, by the model's name: what tells apart two methods whose
    networks have the same weights (lesson 07's critics: weight clipping trains with RMSprop, the others Adam)."""
    return {name: type(m.optimizer).__name__ for name, m in sorted(models.items())
            if getattr(m, "optimizer", None) is not None}


def load_checkpoint(out_dir, models):
    """Restore weights and optimizer state into ``models``; return the saved :class:`History`."""
    if not isinstance(models, dict):
        raise UserError(f"models must be the dict of a run's models, {{'generator': G, ...}}, as exp.models or "
                        f"build_toy_gan's first value give it (models, step, G = build_toy_gan(...)), got a "
                        f"{type(models).__name__}")
    out_dir = Path(out_dir)
    meta = read_checkpoint(out_dir)
    if meta is None:
        raise CheckpointError(f"no checkpoint in {out_dir} (checkpoint.json is missing)")
    if meta.get("pretrained"):  # presentation mode: shipped generators only (gan_lessons.pretrained)
        from .pretrained import load_generators

        try:
            load_generators(out_dir, meta, models)
        except (OSError, ValueError, KeyError) as err:
            raise CheckpointError(f"the pretrained weights in {out_dir} do not fit these models ({err}); "
                                  "delete the folder (or pass fresh=True / another --out) and train") from err
        return History.load(out_dir / "history.npz")
    if sorted(models) != meta["models"]:
        raise CheckpointError(
            f"the checkpoint in {out_dir} holds models {meta['models']}, not {sorted(models)}; "
            "use another --out folder or delete this one"
        )
    saved = meta.get("optimizers")  # (older checkpoints and the pretrained packs lack it: not compared)
    if saved is not None and saved != _optimizers(models):
        raise CheckpointError(
            f"the checkpoint in {out_dir} was trained with optimizers {saved}, these models have {_optimizers(models)}: "
            "they were built for another method (lesson 07: wgan_clip trains with RMSprop, wgan_gp and wgan_sn with "
            "Adam); build them with the method of that folder's run, or use another --out folder"
        )
    try:
        for name, targets in meta["optimizer_targets"].items():
            if not models[name].optimizer.built:
                models[name].optimizer.build([models[name].variables[i] for i in targets])
        with np.load(out_dir / "rng_state.npz") as extra:
            for name, model in models.items():
                model.load_weights(out_dir / f"{name}.weights.h5")
                for i, v in enumerate(_extra_variables(model)):
                    v.assign(extra[f"{name}/{i}"])
            if "backend_global" in extra.files:
                _global_rng_state(extra["backend_global"])
        history = History.load(out_dir / "history.npz")
    except (OSError, EOFError, zipfile.BadZipFile) as err:  # unreadable: truncated, missing, not HDF5/zip
        raise CheckpointError(
            f"the checkpoint in {out_dir} is damaged ({type(err).__name__}: {err}); delete the folder "
            "(or pass fresh=True / another --out) and train again"
        ) from err
    except (ValueError, KeyError, IndexError) as err:  # readable, but the saved shapes don't fit
        raise CheckpointError(
            f"the checkpoint in {out_dir} does not fit these models: it was made with other settings "
            f"({err}); use another --out folder or delete this one"
        ) from err
    return history


def fit(step, models, data, *, steps, batch_size, seed=0, sample=None, snapshot_every=0,
        out_dir=None, checkpoint_every=0, progress=True):
    """Train ``models`` for ``steps`` steps of ``step(models, batch, rng)`` and return the History.

    data:      an array (N, ...) or a tuple of arrays of length N (e.g. images and labels); each
               step gets a batch of ``batch_size`` rows, shuffled once per epoch.
    seed:      fixes the batches and the ``rng`` handed to ``step`` (noise), step by step, so a
               resumed run draws exactly what an uninterrupted one would have drawn.
    sample:    function returning images in [0, 1] (from a fixed latent batch); called at step 0,
               every ``snapshot_every`` steps and at the end.
    out_dir:   where checkpoints go (every ``checkpoint_every`` steps and at the end). If it
               already holds a checkpoint, training resumes from it; a finished one is just loaded.
    Raises NonFiniteLossError, naming the step and the loss, as soon as a loss is NaN or inf.
    """
    if isinstance(data, list):
        raise UserError("data must be an array or a tuple of arrays (inputs, targets), not a list: tuple(data)")
    arrays = data if isinstance(data, tuple) else (data,)
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise UserError(f"all data arrays must have the same length, got {[len(a) for a in arrays]}")
    # Images (N, H, W, C) in pixels (0..255) would train a tanh generator on other data; [0, 1] cannot be told from
    # dark [-1, 1] images. Not check_image_batch: it also refuses NaN, which must reach the step and stop it by its loss.
    for a in arrays:
        if np.ndim(a) == 4 and len(a) and (a.dtype == np.uint8 or a.min() < -1.001 or a.max() > 1.001):
            raise UserError(f"image data must lie in [-1, 1], got {a.dtype} values in [{a.min():.3g}, {a.max():.3g}]: "
                            "pass the images through gan_lessons.data.scale_images")
    if not isinstance(steps, int) or steps < 0:
        raise UserError(f"steps must be a non-negative int, got {steps!r}")
    if not isinstance(batch_size, int) or not 0 < batch_size <= n:
        raise UserError(f"batch_size must be an int between 1 and the {n} training examples, got {batch_size!r}")

    tensorflow_reads_before_updates()  # before the step's train functions are traced
    with training_lock(out_dir):  # None: no folder, nothing to hold
        history = _resumed(out_dir, models, steps, progress)
        if history.step >= steps:
            return history
        if sample is not None and history.step == 0:
            history.add_snapshot(0, sample())
        t0 = time.perf_counter()
        with _progress_bar(steps, progress) as show:
            for i, batch in _batches(arrays, batch_size, seed, history.step, steps):
                logs = _run_step(step, models, batch, np.random.default_rng([seed, i, 1]))
                done = i + 1
                history.append(done, logs)
                if not all(math.isfinite(value) for value in logs.values()):
                    history.wall_time += time.perf_counter() - t0
                    raise _diverged(history, logs, out_dir)
                if sample is not None and snapshot_every and (done % snapshot_every == 0 or done == steps):
                    history.add_snapshot(done, sample())
                if out_dir is not None and checkpoint_every and done % checkpoint_every == 0 and done < steps:
                    history.wall_time += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    save_checkpoint(out_dir, models, history, steps)
                show(done, history, logs)
        history.wall_time += time.perf_counter() - t0
        if out_dir is not None:
            save_checkpoint(out_dir, models, history, steps)
        return history


def _resumed(out_dir, models, steps, progress):
    """The History of the run in ``out_dir``, its checkpoint loaded into ``models``; an empty one if there is none."""
    if out_dir is None or read_checkpoint(out_dir) is None:
        return History()
    history = load_checkpoint(out_dir, models)
    if progress:
        verb = "terminado, se carga" if history.step >= steps else "se reanuda desde ahí"
        print(f"Checkpoint del paso {history.step} en {out_dir}: {verb}")
    return history


def _batches(arrays, batch_size, seed, start, steps):
    """(i, batch) for the steps i = start..steps-1. The rows are shuffled once per epoch with the seed
    (seed, epoch), so step i gets the same batch whether or not the run was resumed before it."""
    n = len(arrays[0])
    per_epoch = n // batch_size
    order, order_epoch = None, None
    for i in range(start, steps):
        epoch, position = divmod(i, per_epoch)
        if epoch != order_epoch:
            order, order_epoch = np.random.default_rng([seed, epoch]).permutation(n), epoch
        index = np.sort(order[position * batch_size:(position + 1) * batch_size])
        batch = tuple(a[index] for a in arrays)
        yield i, batch if len(batch) > 1 else batch[0]


def _run_step(step, models, batch, rng):
    """The losses of one ``step`` as floats; NaN where torch refused a NaN probability instead of returning one."""
    try:
        logs = step(models, batch, rng)
    except RuntimeError as err:
        if not _diverged_on_torch(err):
            raise
        logs = {"loss": float("nan")}
    return {key: float(value) for key, value in logs.items()}


def _diverged(history, logs, out_dir):
    """The error for a step whose ``logs`` hold a NaN or an infinity."""
    bad = ", ".join(f"{key} = {value}" for key, value in logs.items() if not math.isfinite(value))
    where = f"; the last good checkpoint is in {out_dir}" if out_dir is not None else ""
    return NonFiniteLossError(
        f"training stopped at step {history.step}: {bad}. The networks diverged: lower the learning rate, check "
        f"that the training images are scaled to [-1, 1] and contain no NaN{where}.",
        history,
    )


@contextlib.contextmanager
def _progress_bar(steps, progress):
    """A function ``show(done, history, logs)`` that draws Keras's progress bar about 50 times in a run, with the
    mean of each loss over the last 100 steps (does nothing without ``progress``). An exception that leaves the
    block after the bar was drawn first ends the bar's line, so that its message starts on a line of its own."""
    bar = keras.utils.Progbar(steps, interval=1.0, stateless_metrics=[]) if progress else None
    report_every = max(1, steps // 50)
    drawn = False

    def show(done, history, logs):
        nonlocal drawn
        if bar is not None and (done % report_every == 0 or done == steps):
            bar.update(done, values=[(key, history.mean(key)) for key in logs])
            drawn = True

    try:
        yield show
    except Exception:  # (a NaN, a full disk, a bug)
        if drawn:
            print()
        raise
