"""The step functions: one small function per GAN family, and uniform wrappers around them.

This is the part of the course a student reads. A *step function* has the signature
``step(models, batch, rng) -> dict`` and trains the networks in ``models`` on one batch: which
network learns from what, in which order, with which labels. It returns the losses of that step as
floats. ``rng`` is a numpy Generator that the driver (:func:`gan_lessons.training.fit`) seeds step by
step, so a resumed run draws the same noise as an uninterrupted one.

A *wrapper* takes a step function and returns another with the same signature: :func:`with_ema`
(sample from a weight-averaged G), :func:`with_jitter` (new training pairs for free),
:func:`with_packing` (PacGAN). Settings of a step (``real_label``…) are bound with
``functools.partial``.

Keras 3: every step sets ``D.trainable = True`` right before ``D.train_on_batch`` and ``False``
right before the composite's ``train_on_batch``; the train function reads the flag when it is first
traced, so the classic "freeze once before compiling" recipe leaves D untrained.
"""

import numbers
import weakref

import keras
import numpy as np

from . import UserError
from .data import jitter_pairs


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


def infogan_step(models, real_images, rng, n_codes=10, real_label=1.0):
    """One step of InfoGAN (Chen et al. 2016): :func:`gan_step` with a latent code that G must keep readable.

    G takes [z, c], c one of ``n_codes`` values drawn uniformly. D learns as in :func:`gan_step` (it never
    sees c). Then G and Q's head learn through ``gan = [D(G(z, c)), Q(G(z, c))]``: G to make D answer "real",
    and both to make c readable from the image (the cross-entropy of Q's guess against c, a lower bound of
    the information the image keeps about c). D's layers, under Q's head too, are frozen in that step.
    """
    G, D, gan = models["generator"], models["discriminator"], models["gan"]
    n, latent_dim = len(real_images), G.inputs[0].shape[-1]
    codes = _draw_labels(rng, n, n_codes)
    fake_images = G.predict_on_batch([rng.standard_normal((n, latent_dim), dtype="float32"), codes])

    D.trainable = True
    targets = np.concatenate([np.full((n, 1), real_label), np.zeros((n, 1))]).astype("float32")
    d_loss = D.train_on_batch(np.concatenate([real_images, fake_images]), targets)

    D.trainable = False
    codes = _draw_labels(rng, n, n_codes)
    z = rng.standard_normal((n, latent_dim), dtype="float32")
    logs = gan.train_on_batch([z, codes], [np.ones((n, 1), dtype="float32"), codes], return_dict=True)
    return {"d_loss": d_loss, "g_loss": logs["d_score_loss"], "info_loss": logs["q_logits_loss"]}


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
    frequencies instead of the uniform draw: lesson 04's self-conditioned GAN asks for clusters of
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


def pix2pix_step(models, batch, rng):
    """One step of Pix2Pix (Isola et al. 2017) on a batch of pairs ``(inputs, targets)`` in [-1, 1].

    1. D learns to tell ``[input, target]`` (every patch labelled 1) from ``[input, G(input)]``
       (labelled 0): conditional, it judges whether an output is a plausible translation of *this*
       input.
    2. G learns through the two-output composite ``x -> (D(x, G(x)), G(x))`` with targets
       (all-ones patch map, the true image): cross-entropy + λ · mean absolute error.

    Returns D's loss and both parts of G's loss (``g_gan``, ``g_l1``, unweighted). ``rng`` is unused:
    G has no noise input (the paper's only noise is the U-Net's dropout; lesson 05 trains without it).
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
    directions, of the generators' adversarial, cycle and (if its weight is not 0) identity losses.
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
    targets = {"adv_b": real, "adv_a": real, "cycle_a": a, "cycle_b": b, "identity_a": a, "identity_b": b}
    out = composite.train_on_batch([a, b], [targets[name] for name in composite.output_names], return_dict=True)
    for key, (one, other) in {"g_gan": ("adv_a", "adv_b"), "cycle": ("cycle_a", "cycle_b"),
                              "identity": ("identity_a", "identity_b")}.items():
        if f"{one}_loss" in out:  # no identity outputs when their weight is 0
            logs[key] = (out[f"{one}_loss"] + out[f"{other}_loss"]) / 2
    return logs


def l1_step(models, batch, rng):
    """The baseline of lesson 05: the generator alone, trained on the mean absolute error to the targets."""
    inputs, targets = batch
    return {"g_l1": models["generator"].train_on_batch(inputs, targets)}


def _critic_batches(batch, n_critic):
    """The driver's batch cut into ``n_critic`` equal critic batches."""
    if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
        raise UserError(f"n_critic must be a whole number >= 1 (critic updates per G update; the WGAN papers "
                        f"use 5), got {n_critic!r}")
    if len(batch) % n_critic:
        raise UserError(f"the batch of {len(batch)} samples cannot be cut into n_critic = {n_critic} equal critic "
                        f"batches: make batch_size a multiple of n_critic (e.g. {n_critic} x 64 = {64 * n_critic})")
    return np.split(batch, n_critic)


def wgan_step(models, batch, rng, n_critic=5, real_target=-1.0):
    """One step of the Wasserstein GAN (Arjovsky et al. 2017; Gulrajani et al. 2017, Algorithm 1).

    ``models`` (see :func:`gan_lessons.models.build_wgan`): ``generator``, ``critic``, ``critic_model``
    = [real, fake(, alpha)] -> scores (and gradient penalty), ``gan`` = z -> C(G(z)).

    1. The critic learns ``n_critic`` times, each on its own slice of the driver's batch (``batch_size``
       = n_critic x the critic's batch, so an epoch still shows every real sample once): real samples
       get target ``real_target`` = -1 and fakes +1, so the Wasserstein loss mean(target x score) is
       E[C(fake)] - E[C(real)]. Its Lipschitz constraint is part of the critic: clipped weights, or
       the gradient penalty lambda (||grad C(x_hat)|| - 1)^2 at random points x_hat = alpha real + (1 - alpha) fake
       when ``critic_model`` takes ``alpha`` (drawn here, so the run stays seeded), or spectral norm.
    2. G learns once, through ``gan``, with target -1: it raises E[C(G(z))].

    Returns ``d_loss`` (the critic's loss, mean over its updates), ``g_loss`` and ``w_estimate`` =
    mean C(real) - mean C(fake), the critic's estimate of the Wasserstein distance (mean over its
    updates, each measured before the update it belongs to): the loss that tracks sample quality.
    With a gradient penalty also ``gradient_penalty``, the mean of (||grad C|| - 1)^2 before weighting.
    """
    G, C, critic_model, gan = models["generator"], models["critic"], models["critic_model"], models["gan"]
    penalty = len(critic_model.inputs) == 3
    logs = []
    for real in _critic_batches(batch, n_critic):
        m = len(real)
        fake = G.predict_on_batch(rng.standard_normal((m, *G.inputs[0].shape[1:]), dtype="float32"))
        inputs = [real, fake] + ([rng.uniform(size=(m, 1)).astype("float32")] if penalty else [])
        targets = {"real_score": np.full((m, 1), real_target, "float32"),
                   "fake_score": np.full((m, 1), -real_target, "float32")}
        if penalty:
            targets["gradient_penalty"] = np.zeros((m, 1), "float32")  # ignored by its loss
        C.trainable = True
        logs.append(critic_model.train_on_batch(inputs, targets, return_dict=True))

    C.trainable = False
    z = rng.standard_normal((m, *G.inputs[0].shape[1:]), dtype="float32")
    out = {"d_loss": float(np.mean([log["loss"] for log in logs])),
           "g_loss": float(gan.train_on_batch(z, -np.ones((m, 1), "float32"))),
           "w_estimate": float(np.mean([log["real_score_mean_score"] - log["fake_score_mean_score"] for log in logs]))}
    if penalty:
        out["gradient_penalty"] = float(np.mean([log["gradient_penalty_loss"] for log in logs]))
    return out


def sn_hinge_step(models, batch, rng, n_critic=1):
    """A spectrally normalised critic with the hinge loss (Miyato et al. 2018): :func:`wgan_step` with
    targets +1 real / -1 fake, so the critic minimises mean max(0, 1 - C(real)) + mean max(0, 1 + C(fake))
    (``critic_model`` compiled with Keras' hinge loss), and one critic update per G update by default."""
    return wgan_step(models, batch, rng, n_critic=n_critic, real_target=1.0)


def with_ema(step, ema_decay=0.999, generators=("generator",), warmup=10):
    """``step``, then fold each generator's new weights into its copy ``<name>_ema`` (``models["generator_ema"]``
    by default), the copy used for sampling or translating.

    The average starts short and grows to ``ema_decay``: decay_t = min(ema_decay, (1 + t) / (warmup + t)),
    t = G's optimizer step (the composite's, or G's own where G trains alone), so early samples are not
    dragged back towards the random start. Until the cap binds, step s weighs about s^(warmup - 2) in
    the average (polynomial-decay averaging, Shamir & Zhang 2013): with ``warmup`` 10, 87 % of the weight
    is on the last fifth of the run; with 4 (weights ~ s^2), 88 % on its second half; 2 weighs every step alike.
    """
    if isinstance(warmup, bool) or not isinstance(warmup, (int, float)) or warmup < 2:
        raise UserError(f"the average's warm-up must be a number >= 2 (2: every step weighs the same; 10: "
                        f"87 % of the weight on the last fifth of the run), got {warmup!r}")

    def ema_step(models, batch, rng):
        logs = step(models, batch, rng)
        t = float(keras.ops.convert_to_numpy(models.get("gan", models["generator"]).optimizer.iterations))
        decay = min(ema_decay, (1 + t) / (warmup + t))
        for name in generators:
            update_ema(models[f"{name}_ema"], models[name], decay)
        return logs

    return ema_step


def with_jitter(step, max_shift=2):
    """``step`` on pairs ``(inputs, targets)`` that are first shifted and mirrored together
    (:func:`~gan_lessons.data.jitter_pairs`), so an input and its target never come apart."""
    def jittered_step(models, batch, rng):
        return step(models, jitter_pairs(*batch, rng, max_shift=max_shift), rng)

    return jittered_step


def with_packing(step, pack):
    """PacGAN (Lin et al. 2018): ``step`` with D judging ``pack`` samples at once.

    The real batch (n, d) becomes n / pack rows of ``pack`` samples side by side; the models'
    generator is a ``packed_generator``, so its fakes come packed the same way and ``step`` (the
    plain :func:`gan_step`) is otherwise unchanged.
    """
    def packed_step(models, real_points, rng):
        n = len(real_points)
        if n % pack:
            raise UserError(f"the batch size ({n}) must be a multiple of pack ({pack})")
        return step(models, np.reshape(real_points, (n // pack, -1)), rng)

    return packed_step


def update_ema(ema_model, model, decay):
    """Exponential moving average of weights, ``ema = decay * ema + (1 - decay) * model``.

    Sampling from an averaged copy of G smooths out the oscillation of the adversarial game
    (Yazıcı et al. 2019); the copy is never trained, only averaged. On TensorFlow the loop over the weights
    runs compiled (:func:`_compiled_average`), with the same result to the last bit.
    """
    if isinstance(decay, bool) or not isinstance(decay, numbers.Real) or not 0 <= decay <= 1:  # (1.5 extrapolated)
        raise UserError(f"decay must be a number in [0, 1], the share of the average kept at each step (0.999 "
                        f"typical), got {decay!r}")
    if keras.backend.backend() == "tensorflow":
        _compiled_average(ema_model, model)(decay, 1.0 - decay)
    else:
        _average(list(zip(ema_model.weights, model.weights)), decay, 1.0 - decay)


def _average(pairs, decay, rest):
    for ema_weight, weight in pairs:
        ema_weight.assign(keras.ops.add(keras.ops.multiply(ema_weight, decay), keras.ops.multiply(weight, rest)))


_COMPILED_AVERAGES = weakref.WeakKeyDictionary()  # ema_model -> (model, its compiled average)


def _compiled_average(ema_model, model):
    """TensorFlow: :func:`_average` for this pair of models as one ``tf.function``, traced once. The same
    operations give the same bits as the eager loop, which dispatches them one by one, three and an assign per
    weight: 11-31 ms a step for the G of lessons 01-04 against 1-3 ms compiled (docs/results.md, session 28)."""
    import tensorflow as tf

    cached = _COMPILED_AVERAGES.get(ema_model)
    if cached is None or cached[0] is not model:
        pairs = list(zip(ema_model.weights, model.weights))
        average = tf.function(lambda decay, rest: _average(pairs, decay, rest))
        cached = _COMPILED_AVERAGES[ema_model] = (
            model, lambda decay, rest: average(tf.constant(decay, "float32"), tf.constant(rest, "float32")))
    return cached[1]
