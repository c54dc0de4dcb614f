"""Critics for the Wasserstein GAN (lesson 07) and the models that ``train_on_batch`` trains.

A *critic* C is a discriminator with a linear output: a score, not a probability. If C is
1-Lipschitz, E[C(real)] − E[C(fake)] estimates the Wasserstein-1 distance between the data and G's
samples (Kantorovich–Rubinstein duality; Arjovsky et al. 2017). Three ways to keep C Lipschitz:

* weight clipping (Arjovsky et al. 2017): every weight in [−c, c] after each update
  (:class:`ClipConstraint`);
* gradient penalty (Gulrajani et al. 2017): λ (‖∇ₓC(x̂)‖ − 1)² on random points x̂ between real and
  fake samples (:class:`GradientPenalty`, built on :func:`input_gradients`);
* spectral normalisation (Miyato et al. 2018): each layer's kernel divided by its largest singular
  value (``keras.layers.SpectralNormalization``), usually with the hinge loss.

No BatchNorm in a critic: the penalty is per sample, and BatchNorm mixes the samples of a batch.
"""

import keras
from keras import layers, ops

from .. import UserError
from .gan import check_positive_ints, check_same_sample_shape
from .toy import _check_scale

CRITIC_LOSSES = ("wasserstein", "hinge")


def _check_clip(clip):
    if clip is None:
        return None
    if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not clip > 0:
        raise UserError(f"clip must be a positive number c (weights are kept in [-c, c]; Arjovsky et al. "
                        f"use 0.01) or None for no clipping, got {clip!r}")
    return float(clip)


@keras.saving.register_keras_serializable(package="gan_lessons")
class ClipConstraint(keras.constraints.Constraint):
    """Keep every entry of a weight in [−c, c]; Keras applies it after each optimizer update."""

    def __init__(self, clip=0.01):
        self.clip = _check_clip(clip)
        if self.clip is None:
            raise UserError("clip must be a positive number c, got None")

    def __call__(self, w):
        return ops.clip(w, -self.clip, self.clip)

    def get_config(self):
        return {"clip": self.clip}


def _lipschitz_layer(layer_class, *args, clip=None, spectral_norm=False, **kwargs):
    """A Dense or Conv2D layer with its weights clipped to [−clip, clip], or spectrally normalised."""
    if clip is not None:
        kwargs.update(kernel_constraint=ClipConstraint(clip), bias_constraint=ClipConstraint(clip))
    layer = layer_class(*args, **kwargs)
    return layers.SpectralNormalization(layer) if spectral_norm else layer


def _check_lipschitz(clip, spectral_norm):
    clip = _check_clip(clip)
    if clip is not None and spectral_norm:
        raise UserError("choose one Lipschitz method: clip=c or spectral_norm=True, not both")
    return clip


def clip_weights(model, clip):
    """Clip every trainable weight of ``model`` to [−clip, clip] now (the constraint only acts after
    an update; this makes a freshly built critic obey it from the start)."""
    constraint = ClipConstraint(clip)
    for w in model.trainable_weights:
        w.assign(constraint(w))


def toy_critic(hidden=(128, 128), input_dim=2, scale=1.0, clip=None, spectral_norm=False, name="critic"):
    """A point (input_dim,) -> / scale -> Dense+LeakyReLU blocks -> a score (linear output).

    Lesson 04's ``toy_discriminator`` without the sigmoid. ``clip=c``: every weight kept in [−c, c]
    (and clipped at build time); ``spectral_norm=True``: every Dense spectrally normalised.
    """
    hidden = check_positive_ints("hidden", hidden)
    (input_dim,) = check_positive_ints("input_dim", input_dim, length=1)
    clip = _check_lipschitz(clip, spectral_norm)
    lipschitz = dict(clip=clip, spectral_norm=spectral_norm)
    x = keras.Input(shape=(input_dim,), name="points")
    h = layers.Rescaling(1.0 / _check_scale(scale))(x)
    for units in hidden:
        h = layers.LeakyReLU(0.2)(_lipschitz_layer(layers.Dense, units, **lipschitz)(h))
    critic = keras.Model(x, _lipschitz_layer(layers.Dense, 1, **lipschitz)(h), name=name)
    if clip is not None:
        clip_weights(critic, clip)
    return critic


def conv_critic(image_shape=(28, 28, 1), channels=(64, 128), kernel_size=4, clip=None, spectral_norm=False,
                name="critic"):
    """image -> [Conv stride 2 + LeakyReLU] per entry of ``channels`` -> Dense -> a score (linear).

    Lesson 02's ``dcgan_discriminator`` without dropout and sigmoid; ``clip`` and ``spectral_norm``
    as in :func:`toy_critic`.
    """
    image_shape = check_positive_ints("image_shape", image_shape, length=3)
    channels = check_positive_ints("channels", channels)
    (kernel_size,) = check_positive_ints("kernel_size", kernel_size, length=1)
    clip = _check_lipschitz(clip, spectral_norm)
    lipschitz = dict(clip=clip, spectral_norm=spectral_norm)
    x = keras.Input(shape=image_shape, name="image")
    h = x
    for c in channels:
        h = _lipschitz_layer(layers.Conv2D, c, kernel_size, strides=2, padding="same", **lipschitz)(h)
        h = layers.LeakyReLU(0.2)(h)
    h = layers.Flatten()(h)
    critic = keras.Model(x, _lipschitz_layer(layers.Dense, 1, **lipschitz)(h), name=name)
    if clip is not None:
        clip_weights(critic, clip)
    return critic


def input_gradients(model, x):
    """∇ₓ Σ model(x): the gradient of ``model``'s summed output with respect to its input ``x``.

    For a critic with one score per sample, row i is the gradient of C at sample i (the samples do
    not interact). The result stays differentiable with respect to the model's weights, so a loss
    built on it (the gradient penalty) can be trained by ``train_on_batch``: a gradient of a gradient.
    ``x`` is treated as data: nothing flows back to whatever computed it.

    Keras has no backend-neutral "gradient with respect to an input", so this is the one place in
    the course with one branch per backend.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x)
        return tape.gradient(y, x)
    if backend == "jax":
        import jax

        return jax.grad(lambda points: ops.sum(model(points)))(x)
    if backend == "torch":
        import torch

        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(ops.sum(model(x)), x, create_graph=True)
        return grad
    raise NotImplementedError(f"input_gradients supports the tensorflow, jax and torch backends, not {backend!r}")


@keras.saving.register_keras_serializable(package="gan_lessons")
class GradientPenalty(layers.Layer):
    """[real, fake, alpha] -> (‖∇C(x̂)‖ − 1)² per sample, at x̂ = alpha · real + (1 − alpha) · fake.

    ``alpha`` (n, 1) is uniform in [0, 1] (drawn by the step, so the run stays seeded); the norm is
    taken over all of a sample's coordinates (Gulrajani et al. 2017, Algorithm 1).
    """

    def __init__(self, critic, **kwargs):
        super().__init__(**kwargs)
        self.critic = critic

    def call(self, inputs):
        real, fake, alpha = inputs
        shape = (-1,) + (1,) * (len(real.shape) - 1)
        alpha = ops.reshape(ops.cast(alpha, real.dtype), shape)
        between = alpha * real + (1.0 - alpha) * fake
        grads = ops.reshape(input_gradients(self.critic, between), (ops.shape(real)[0], -1))
        norm = ops.sqrt(ops.sum(ops.square(grads), axis=1, keepdims=True) + 1e-12)
        return ops.square(norm - 1.0)

    def compute_output_shape(self, input_shapes):  # so that building the model never traces call()
        return (input_shapes[0][0], 1)


def wasserstein_loss(y_true, y_pred):
    """mean(y_true · y_pred): with targets −1 for real and +1 for fake, the critic minimises
    E[C(fake)] − E[C(real)], i.e. maximises the Wasserstein estimate; G (target −1) minimises −E[C(G(z))]."""
    return ops.mean(y_true * y_pred)


def mean_score(y_true, y_pred):
    """The mean critic score of a batch (a metric: the two halves of the Wasserstein estimate)."""
    return ops.mean(y_pred)


@keras.saving.register_keras_serializable(package="gan_lessons")
class _PairScores(layers.Layer):
    """[real, fake] -> (C(real), C(fake)) from ONE call of the critic on both batches stacked.

    One call per update matters for a spectrally normalised critic: Keras' ``SpectralNormalization``
    rewrites its kernel in place at every training call, so two calls would renormalise twice per
    update, and torch's autograd refuses a weight rewritten between two uses in one gradient."""

    def __init__(self, critic, **kwargs):
        super().__init__(**kwargs)
        self.critic = critic

    def call(self, inputs, training=None):
        real, fake = inputs
        scores = self.critic(ops.concatenate([real, fake], axis=0), training=training)
        return tuple(ops.split(scores, 2, axis=0))

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], 1), (input_shapes[1][0], 1)


@keras.saving.register_keras_serializable(package="gan_lessons")
class _InferenceCall(layers.Layer):
    """Call ``model`` with training=False: inside G's composite the critic is only read, so a
    spectrally normalised critic does not renormalise its weights there."""

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.model = model

    def call(self, x):
        return self.model(x, training=False)

    def compute_output_shape(self, input_shape):
        return self.model.compute_output_shape(input_shape)


def build_wgan(generator, critic, c_optimizer, g_optimizer, loss="wasserstein", gradient_penalty=0.0):
    """The two composite models a WGAN step trains: ``(critic_model, gan)``.

    ``critic_model``: [real, fake] (plus ``alpha`` if ``gradient_penalty`` λ > 0) -> outputs
    ``real_score`` = C(real), ``fake_score`` = C(fake) (and ``gradient_penalty`` per sample), compiled
    with ``loss`` on the scores, weight λ on the penalty, and the metric ``mean_score`` on each score.
    Targets: real −1, fake +1 for ``"wasserstein"`` (Arjovsky et al. 2017); real +1, fake −1 for
    ``"hinge"`` (Keras' hinge loss: mean max(0, 1 − C(real)) + mean max(0, 1 + C(fake)), Miyato et al.
    2018). Either way the critic learns to score real samples high.

    ``gan``: z -> C(G(z)), trained with the Wasserstein loss and target −1 (G maximises E[C(G(z))],
    also with the hinge loss). The step sets ``critic.trainable`` right before each call (Keras 3).
    """
    if loss not in CRITIC_LOSSES:
        raise UserError(f"loss must be one of {', '.join(CRITIC_LOSSES)}, got {loss!r}")
    if isinstance(gradient_penalty, bool) or not isinstance(gradient_penalty, (int, float)) or gradient_penalty < 0:
        raise UserError(f"gradient_penalty must be a number λ >= 0 (Gulrajani et al. use 10; 0 = off), "
                        f"got {gradient_penalty!r}")
    c_in = check_same_sample_shape(generator, critic, "critic")
    critic.trainable = True
    real = keras.Input(shape=c_in, name="real")
    fake = keras.Input(shape=c_in, name="fake")
    inputs = [real, fake]
    real_score, fake_score = _PairScores(critic, name="critic_scores")([real, fake])
    outputs = {"real_score": layers.Identity(name="real_score")(real_score),
               "fake_score": layers.Identity(name="fake_score")(fake_score)}
    score_loss = wasserstein_loss if loss == "wasserstein" else keras.losses.hinge
    losses = {"real_score": score_loss, "fake_score": score_loss}
    weights = {"real_score": 1.0, "fake_score": 1.0}
    if gradient_penalty:
        alpha = keras.Input(shape=(1,), name="alpha")
        inputs.append(alpha)
        outputs["gradient_penalty"] = GradientPenalty(critic, name="gradient_penalty")([real, fake, alpha])
        losses["gradient_penalty"] = mean_score  # the mean penalty; its target is ignored
        weights["gradient_penalty"] = float(gradient_penalty)
    critic_model = keras.Model(inputs, outputs, name="critic_model")
    critic_model.compile(optimizer=c_optimizer, loss=losses, loss_weights=weights,
                         metrics={"real_score": [mean_score], "fake_score": [mean_score]})

    z = keras.Input(shape=tuple(generator.inputs[0].shape[1:]), name="z")
    gan = keras.Model(z, _InferenceCall(critic, name="critic_score")(generator(z)), name="gan")
    critic.trainable = False
    gan.compile(optimizer=g_optimizer, loss=wasserstein_loss)
    return critic_model, gan
