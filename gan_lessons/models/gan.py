"""Wire a generator and a discriminator into the models that ``train_on_batch`` trains."""

import keras

from .. import UserError


def check_positive_ints(name, values, length=None):
    """Return ``values`` as a tuple of positive ints, or raise a UserError that says what is wrong."""
    if isinstance(values, int):
        values = (values,)
    try:
        values = tuple(values)
    except TypeError:
        raise UserError(f"{name} must be a tuple of positive ints, got {values!r}") from None
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise UserError(f"{name} must be a non-empty tuple of positive ints, got {values!r}")
    if length is not None and len(values) != length:
        raise UserError(f"{name} must have {length} entries, got {values!r}")
    return values


def check_same_sample_shape(generator, reader, what="discriminator"):
    """Refuse a ``reader`` (D or a critic) that does not read the samples ``generator`` makes."""
    g_out, r_in = tuple(generator.outputs[0].shape[1:]), tuple(reader.inputs[0].shape[1:])
    if g_out != r_in:
        raise UserError(f"the generator makes samples of shape {g_out} but the {what} reads {r_in}; "
                        "build both for the same sample shape")
    return r_in


def hinge_generator_loss(y_true, y_pred):
    """G's side of the hinge loss: -E[D(G(z))] (the targets, all 1, are not needed)."""
    return -keras.ops.mean(y_pred, axis=-1)


# The losses of the GAN game, by name: (D's loss, G's loss, whether D ends in a sigmoid). D's targets are
# 1 for real and 0 for fake in all three; Keras's "hinge" reads 0 as -1, so it is max(0, 1 - D(x)) on reals
# and max(0, 1 + D(G(z))) on fakes (Lim & Ye 2017; Miyato et al. 2018). "lsgan": squared error to 1 / 0
# on D's raw score, and G pulls its fakes' score to 1 (Mao et al. 2017, a = 0, b = c = 1).
GAN_LOSSES = {
    "bce": ("binary_crossentropy", "binary_crossentropy", True),
    "hinge": ("hinge", hinge_generator_loss, False),
    "lsgan": ("mse", "mse", False),
}


def gan_loss(name):
    """(D's loss, G's loss, sigmoid output?) of the loss called ``name``, or a clear error."""
    if name not in GAN_LOSSES:
        raise UserError(f"unknown loss {name!r}; choose one of {', '.join(GAN_LOSSES)}")
    return GAN_LOSSES[name]


def _inputs_like(generator):
    """Fresh inputs for a composite model around ``generator``: z, then its condition(s) (label, code)."""
    return [keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name="z" if i == 0 else f"condition_{i}")
            for i, t in enumerate(generator.inputs)]


def build_gan(generator, discriminator, d_optimizer, g_optimizer, loss="binary_crossentropy",
              d_metrics=None, g_loss=None):
    """Compile ``discriminator`` and return the compiled composite model ``z -> D(G(z))``
    (``[z, label] -> D(G(z, label), label)`` for a conditional pair). D learns with ``loss``, the
    composite (G) with ``g_loss`` (default: the same).

    The composite shares its layers with both networks. Training it must only move the
    generator, so the step function sets ``discriminator.trainable = False`` right before
    ``gan.train_on_batch`` and back to ``True`` right before ``discriminator.train_on_batch``:
    under Keras 3 the flag is read when each train function is first traced, so the classic
    "freeze once before compiling" recipe leaves D untrained (lesson 01 shows it).
    """
    check_same_sample_shape(generator, discriminator)
    if len(discriminator.inputs) != len(generator.inputs):
        raise UserError(
            f"the generator takes {len(generator.inputs)} input(s) and the discriminator "
            f"{len(discriminator.inputs)}: a conditional pair needs both to take [sample, label]"
        )
    discriminator.trainable = True
    discriminator.compile(optimizer=d_optimizer, loss=loss, metrics=d_metrics)
    # G's inputs: z, plus the label for a conditional GAN, which D then reads beside G's sample.
    inputs = _inputs_like(generator)
    if len(inputs) == 1:
        gan = keras.Model(inputs[0], discriminator(generator(inputs[0])), name="gan")
    else:
        gan = keras.Model(inputs, discriminator([generator(inputs), *inputs[1:]]), name="gan")
    discriminator.trainable = False
    gan.compile(optimizer=g_optimizer, loss=loss if g_loss is None else g_loss)
    return gan


def build_infogan(generator, discriminator, dq, d_optimizer, g_optimizer, loss="binary_crossentropy",
                  g_loss=None, info_weight=1.0):
    """Compile ``discriminator`` and return InfoGAN's compiled composite ``[z, code] -> [D(x), Q(x)]``,
    x = G(z, code), with ``dq`` from :func:`~gan_lessons.models.cgan.infogan_discriminator`.

    The composite's loss is G's loss on D's score plus ``info_weight`` times the cross-entropy between Q's
    logits and the code (Chen et al. 2016: λ = 1 for a categorical code). The step function toggles
    ``discriminator.trainable`` as for :func:`build_gan`; Q's head stays trainable, so the composite moves
    G and Q's head, and D's own step moves D.
    """
    check_same_sample_shape(generator, discriminator)
    if len(generator.inputs) != 2:
        raise UserError(f"an InfoGAN generator takes [z, code], got {len(generator.inputs)} input(s)")
    if isinstance(info_weight, bool) or not isinstance(info_weight, (int, float)) or info_weight < 0:
        raise UserError(f"info_weight must be a number >= 0 (0: the code is not learnt), got {info_weight!r}")
    discriminator.trainable = True
    discriminator.compile(optimizer=d_optimizer, loss=loss)
    inputs = _inputs_like(generator)  # z and the code
    score, code_logits = dq(generator(inputs))
    outputs = [keras.layers.Identity(name=name)(t) for t, name in ((score, "d_score"), (code_logits, "q_logits"))]
    gan = keras.Model(inputs, outputs, name="gan")  # named outputs: Keras reports each one's loss
    discriminator.trainable = False
    gan.compile(optimizer=g_optimizer, loss=[loss if g_loss is None else g_loss,
                                             keras.losses.SparseCategoricalCrossentropy(from_logits=True)],
                loss_weights=[1.0, float(info_weight)])
    return gan
