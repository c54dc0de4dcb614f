"""One training driver for every lesson, and one small step function per model family.

The driver (:func:`fit`) owns everything that is the same for all GANs: drawing batches, the
progress bar, the per-step loss history, sample snapshots from a fixed latent batch, checkpoints
and resuming, and stopping with a clear message when a loss stops being a finite number.

A *step function* owns what differs between families: which networks are trained on what, in
which order, with which labels. It has the signature ``step(models, batch, rng) -> dict`` and
returns the losses of that step as floats.
"""

import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; ``history`` holds the steps up to and including that one."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history

    def __reduce__(self):  # so that it crosses from a worker process intact (lesson 04 runs in a pool)
        return type(self), (str(self), self.history)


def gan_step(models, real_images, rng, real_label=1.0):
    """One step of the original GAN (Goodfellow et al. 2014) with the non-saturating G loss.

    1. D learns on real images (label ``real_label``, 1 or 0.9 with one-sided label smoothing)
       and on fakes (label 0) in one batch: its binary cross-entropy is J(D).
    2. G learns through the composite model ``gan = D(G(z))`` with label 1 for its fakes, i.e. it
       minimises -E[log D(G(z))]: the non-saturating generator loss.

    Keras 3: ``D.trainable`` is set right before each ``train_on_batch`` call, otherwise one of
    the two calls silently trains the wrong weights. The noise has the shape of G's input, (n, latent_dim),
    or (n, pack, latent_dim) for a PacGAN ``packed_generator``.
    """
    G, D, gan = models["generator"], models["discriminator"], models["gan"]
    n = len(real_images)
    z = rng.standard_normal((n, *G.inputs[0].shape[1:]), dtype="float32")
    fake_images = G.predict_on_batch(z)

    D.trainable = True
    images = np.concatenate([real_images, fake_images])
    labels = np.concatenate([np.full((n, 1), real_label), np.zeros((n, 1))]).astype("float32")
    d_loss = D.train_on_batch(images, labels)

    D.trainable = False
    z = rng.standard_normal((n, *G.inputs[0].shape[1:]), dtype="float32")
    g_loss = gan.train_on_batch(z, np.ones((n, 1), dtype="float32"))
    return {"d_loss": d_loss, "g_loss": g_loss}


def _draw_labels(rng, n, n_classes, probs=None):
    """``n`` labels in 0..n_classes-1: uniform, or with the probabilities ``probs``."""
    if probs is None:
        return rng.integers(0, n_classes, n).astype("int32")
    return rng.choice(n_classes, n, p=probs).astype("int32")


def cgan_step(models, batch, rng, real_label=1.0, n_classes=10, wrong_label_fraction=0.0, label_probs=None):
    """One step of the conditional GAN (Mirza & Osindero 2014): :func:`gan_step` with labels.

    ``batch`` is (images, labels). D learns that (real image, its label) is real and that
    (G(z, y), y) is fake, for labels y drawn uniformly: the digits G was asked for. G learns through
    ``gan = D(G(z, y), y)`` to make D answer "real". With ``wrong_label_fraction`` > 0, D also sees
    that fraction of the real images paired with a wrong label, as fakes (the matching-aware D of
    Reed et al. 2016): a good digit of the wrong class must be rejected too.

    ``label_probs`` (n_classes probabilities) makes the asked labels follow the data's label
    frequencies instead of the uniform draw: lesson 02's self-conditioned GAN asks for clusters of
    unequal size as often as they occur.
    """
    G, D, gan = models["generator"], models["discriminator"], models["gan"]
    real_images, real_labels = batch
    n, latent_dim = len(real_images), G.inputs[0].shape[-1]
    asked = _draw_labels(rng, n, n_classes, label_probs)
    fake_images = G.predict_on_batch([rng.standard_normal((n, latent_dim), dtype="float32"), asked])

    images, labels = [real_images, fake_images], [real_labels, asked]
    targets = [np.full(n, real_label), np.zeros(n)]
    m = int(round(wrong_label_fraction * n))
    if m:
        wrong = (real_labels[:m] + rng.integers(1, n_classes, m)) % n_classes
        images, labels, targets = images + [real_images[:m]], labels + [wrong], targets + [np.zeros(m)]
    D.trainable = True
    d_loss = D.train_on_batch([np.concatenate(images), np.concatenate(labels).astype("int32")],
                              np.concatenate(targets).astype("float32")[:, None])

    D.trainable = False
    asked = _draw_labels(rng, n, n_classes, label_probs)
    z = rng.standard_normal((n, latent_dim), dtype="float32")
    g_loss = gan.train_on_batch([z, asked], np.ones((n, 1), dtype="float32"))
    return {"d_loss": d_loss, "g_loss": g_loss}


def ema_gan_step(models, batch, rng, ema_decay=0.999, base_step=gan_step, **step_kwargs):
    """``base_step`` (:func:`gan_step` or :func:`cgan_step`), then fold G's new weights into
    ``models["generator_ema"]``, the copy used for sampling.

    The average starts short and grows to ``ema_decay`` (decay_t = min(ema_decay, (1 + t) / (10 + t)),
    t = G's optimizer step), so early samples are not dragged back towards the random start.
    """
    logs = base_step(models, batch, rng, **step_kwargs)
    t = float(keras.ops.convert_to_numpy(models["gan"].optimizer.iterations))
    update_ema(models["generator_ema"], models["generator"], min(ema_decay, (1 + t) / (10 + t)))
    return logs


def pacgan_step(models, real_points, rng, pack):
    """One :func:`gan_step` of PacGAN (Lin et al. 2018): D judges ``pack`` samples at once.

    The real batch (n, d) becomes n / pack rows of ``pack`` samples side by side; the models'
    generator is a ``packed_generator``, so its fakes come packed the same way and the step is
    otherwise the plain GAN's.
    """
    n = len(real_points)
    if n % pack:
        raise ValueError(f"the batch size ({n}) must be a multiple of pack ({pack})")
    return gan_step(models, np.reshape(real_points, (n // pack, -1)), rng)


def pix2pix_step(models, batch, rng):
    """One step of Pix2Pix (Isola et al. 2017) on a batch of pairs ``(inputs, targets)`` in [-1, 1].

    1. D learns to tell ``[input, target]`` (every patch labelled 1) from ``[input, G(input)]``
       (labelled 0): conditional, it judges whether an output is a plausible translation of *this*
       input.
    2. G learns through the two-output composite ``x -> (D(x, G(x)), G(x))`` with targets
       (all-ones patch map, the true image): cross-entropy + λ · mean absolute error.

    Returns D's loss and both parts of G's loss (``g_gan``, ``g_l1``, unweighted). ``rng`` is unused:
    G's only noise is its dropout, as in the paper.
    """
    G, D, composite = models["generator"], models["discriminator"], models["gan"]
    inputs, targets = batch
    n = len(inputs)
    fakes = G.predict_on_batch(inputs)
    real, fake = np.ones((n, *D.outputs[0].shape[1:]), "float32"), np.zeros((n, *D.outputs[0].shape[1:]), "float32")

    D.trainable = True
    d_loss = D.train_on_batch([np.concatenate([inputs, inputs]), np.concatenate([targets, fakes])],
                              np.concatenate([real, fake]))

    D.trainable = False
    logs = composite.train_on_batch(inputs, [real, targets], return_dict=True)
    return {"d_loss": d_loss, "g_gan": logs[f"{D.name}_loss"], "g_l1": logs[f"{G.name}_loss"]}


def cyclegan_step(models, batch, rng):
    """One step of CycleGAN (Zhu et al. 2017) on a batch ``(a, b)`` of two *unrelated* sets of images.

    1. G_AB and G_BA translate the batch; each image pool swaps some of the new fakes for older ones.
    2. D_A learns real A (every patch labelled 1) against fakes G_BA(b) from the pool (0), by least
       squares; then D_B the same with B and G_AB(a). One call on the concatenated batch averages
       the real and fake halves: the paper's "objective divided by 2".
    3. Both generators learn through the composite (:func:`~gan_lessons.models.build_cyclegan`): fool
       both Ds, close both cycles, leave images of their own output domain unchanged.

    Keras 3: each D is made trainable right before its own ``train_on_batch`` and both are frozen
    right before the composite's. Returns the two D losses and the unweighted means, over the two
    directions, of the generators' adversarial, cycle and identity losses.
    """
    g_ab, g_ba, composite = models["generator"], models["generator_ba"], models["gan"]
    d_a, d_b = models["discriminator_a"], models["discriminator_b"]
    a, b = batch
    fake_b = models["pool_b"].query(g_ab.predict_on_batch(a), rng)
    fake_a = models["pool_a"].query(g_ba.predict_on_batch(b), rng)
    real = np.ones((len(a), *d_a.outputs[0].shape[1:]), "float32")
    labels = np.concatenate([real, np.zeros_like(real)])

    logs = {}
    for key, d, real_images, fakes in (("d_a", d_a, a, fake_a), ("d_b", d_b, b, fake_b)):
        d.trainable = True
        logs[key] = d.train_on_batch(np.concatenate([real_images, fakes]), labels)

    d_a.trainable = d_b.trainable = False
    out = composite.train_on_batch([a, b], [real, real, a, b, a, b], return_dict=True)
    for key, (one, other) in {"g_gan": ("adv_a", "adv_b"), "cycle": ("cycle_a", "cycle_b"),
                              "identity": ("identity_a", "identity_b")}.items():
        logs[key] = (out[f"{one}_loss"] + out[f"{other}_loss"]) / 2
    return logs


def l1_step(models, batch, rng):
    """The baseline of lesson 05: the generator alone, trained on the mean absolute error to the targets."""
    inputs, targets = batch
    return {"g_l1": models["generator"].train_on_batch(inputs, targets)}


def update_ema(ema_model, model, decay):
    """Exponential moving average of weights, ``ema = decay * ema + (1 - decay) * model``.

    Sampling from an averaged copy of G smooths out the oscillation of the adversarial game
    (Yazici et al. 2019); the copy is never trained, only averaged.
    """
    for ema_weight, weight in zip(ema_model.weights, model.weights):
        ema_weight.assign(keras.ops.add(keras.ops.multiply(ema_weight, decay),
                                        keras.ops.multiply(weight, 1.0 - decay)))


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
        _atomic_savez(path, arrays)

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


def _atomic_savez(path, arrays):
    path = Path(path)
    tmp = path.with_name(path.stem + ".partial.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


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


def save_checkpoint(out_dir, models, history, steps):
    """Write weights (Keras stores the optimizer state with them), RNG state and history."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = {}
    for name, model in models.items():
        tmp = out_dir / f"{name}.partial.weights.h5"
        model.save_weights(tmp)
        os.replace(tmp, out_dir / f"{name}.weights.h5")
        for i, v in enumerate(_extra_variables(model)):
            extra[f"{name}/{i}"] = keras.ops.convert_to_numpy(v)
    _atomic_savez(out_dir / "rng_state.npz", extra)
    history.save(out_dir / "history.npz")
    targets = {name: _optimizer_targets(m) for name, m in models.items()}
    meta = {"step": history.step, "steps": steps, "wall_time": history.wall_time,
            "models": sorted(models), "optimizer_targets": {k: v for k, v in targets.items() if v}}
    tmp = out_dir / "checkpoint.partial.json"
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, out_dir / "checkpoint.json")  # written last: marks the checkpoint complete


def read_checkpoint(out_dir):
    """The checkpoint's metadata (``step``, ``steps``, ``wall_time``…) or None if there is none."""
    path = Path(out_dir) / "checkpoint.json"
    return json.loads(path.read_text()) if path.exists() else None


def load_checkpoint(out_dir, models):
    """Restore weights and optimizer state into ``models``; return the saved :class:`History`."""
    out_dir = Path(out_dir)
    meta = read_checkpoint(out_dir)
    if meta is None:
        raise FileNotFoundError(f"no checkpoint in {out_dir} (checkpoint.json is missing)")
    if sorted(models) != meta["models"]:
        raise ValueError(
            f"the checkpoint in {out_dir} holds models {meta['models']}, not {sorted(models)}; "
            "use another --out folder or delete this one"
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
    except (ValueError, KeyError, IndexError, OSError) as err:
        raise ValueError(
            f"the checkpoint in {out_dir} does not fit these models ({err}); it was made with other "
            "settings: use another --out folder or delete this one"
        ) from None
    return History.load(out_dir / "history.npz")


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
    arrays = data if isinstance(data, tuple) else (data,)
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"all data arrays must have the same length, got {[len(a) for a in arrays]}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if not isinstance(batch_size, int) or not 0 < batch_size <= n:
        raise ValueError(f"batch_size must be an int between 1 and the {n} training examples, got {batch_size!r}")

    history = History()
    if out_dir is not None and read_checkpoint(out_dir) is not None:
        history = load_checkpoint(out_dir, models)
        if progress:
            verb = "loaded (finished)" if history.step >= steps else "resuming"
            print(f"Checkpoint at step {history.step} in {out_dir}: {verb}")
    start = history.step
    if start >= steps:
        return history
    if sample is not None and start == 0:
        history.add_snapshot(0, sample())

    batches_per_epoch = n // batch_size
    bar = keras.utils.Progbar(steps, interval=1.0, stateless_metrics=[]) if progress else None
    report_every = max(1, steps // 50)
    order, order_epoch = None, None
    t0 = time.perf_counter()
    for i in range(start, steps):
        epoch, position = divmod(i, batches_per_epoch)
        if epoch != order_epoch:
            order, order_epoch = np.random.default_rng([seed, epoch]).permutation(n), epoch
        index = np.sort(order[position * batch_size:(position + 1) * batch_size])
        batch = tuple(a[index] for a in arrays)
        logs = step(models, batch if len(batch) > 1 else batch[0], np.random.default_rng([seed, i, 1]))
        logs = {key: float(value) for key, value in logs.items()}
        history.append(i + 1, logs)
        bad = {key: value for key, value in logs.items() if not math.isfinite(value)}
        if bad:
            history.wall_time += time.perf_counter() - t0
            where = f"; the last good checkpoint is in {out_dir}" if out_dir is not None else ""
            raise NonFiniteLossError(
                f"training stopped at step {i + 1}: "
                + ", ".join(f"{key} = {value}" for key, value in bad.items())
                + ". The networks diverged: lower the learning rate, check that the training "
                "images are scaled to [-1, 1] and contain no NaN" + where + ".",
                history,
            )
        done = i + 1
        if sample is not None and snapshot_every and (done % snapshot_every == 0 or done == steps):
            history.add_snapshot(done, sample())
        if out_dir is not None and checkpoint_every and done % checkpoint_every == 0 and done < steps:
            history.wall_time += time.perf_counter() - t0
            t0 = time.perf_counter()
            save_checkpoint(out_dir, models, history, steps)
        if bar is not None and (done % report_every == 0 or done == steps):
            bar.update(done, values=[(key, history.mean(key)) for key in logs])  # last-100 means
    history.wall_time += time.perf_counter() - t0
    if out_dir is not None:
        save_checkpoint(out_dir, models, history, steps)
    return history
