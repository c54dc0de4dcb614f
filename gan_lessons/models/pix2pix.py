"""U-Net generator and PatchGAN discriminator (Isola et al. 2017, "Pix2Pix"), sized for a CPU.

Lesson 05 trains them on paired images; lesson 06 (CycleGAN) reuses them unconditionally, with
instance normalisation and a least-squares loss.

* The U-Net is an encoder-decoder whose decoder also reads, at every resolution, the encoder's
  features of that resolution (skip connections): the low-level layout of the input (edges,
  positions) reaches the output without squeezing through the bottleneck.
* The PatchGAN judges every overlapping patch of the image instead of the whole image: its output
  is a map of probabilities, one per patch (see :func:`receptive_field` for the patch size).

Both builders create their variables under a name scope of the network's own ``name``, so that two
networks with the same layers get different variable paths ("generator/down0/kernel" and
"generator_ba/down0/kernel"). Keras' torch backend registers a model's variables with torch by path:
when CycleGAN's composite held two U-Nets whose variables were both "down0/kernel", it registered one
copy only, ``zero_grad`` never reset the other, and G_AB's gradients piled up from step to step
(TensorFlow and JAX were not affected). The weight files do not store paths: runs saved before load as they were.
"""

import keras
from keras import layers

from .. import UserError
from .gan import check_positive_ints

NORMS = ("instance", "batch", "none")


def _norm(kind):
    """Instance norm = group norm with one group per channel; BatchNorm; or nothing."""
    if kind == "instance":
        return layers.GroupNormalization(groups=-1)
    if kind == "batch":
        return layers.BatchNormalization()
    return layers.Identity()


def _check_norm(norm):
    if norm not in NORMS:
        raise UserError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")


def unet_generator(size=32, channels=(32, 64, 128, 128, 128), norm="instance", dropout=0.5,
                   dropout_layers=2, skips=True, in_channels=3, out_channels=3, name="generator"):
    """Image (size, size, in_channels) in [-1, 1] -> image (size, size, out_channels) in [-1, 1].

    Encoder: one 4x4 stride-2 convolution + norm + LeakyReLU(0.2) per entry of ``channels`` (no norm
    on the first, nor on the innermost, the bottleneck, where instance norm of a 1x1 map would be 0).
    Decoder: the mirror image with transposed convolutions + norm + ReLU, Dropout on its first
    ``dropout_layers`` blocks; with ``skips`` each decoder block's output is concatenated with the
    encoder's features of the same resolution. tanh output.
    """
    (size, in_channels, out_channels) = check_positive_ints(
        "size, in_channels, out_channels", (size, in_channels, out_channels))
    channels = check_positive_ints("channels", channels)
    _check_norm(norm)
    if size % 2 ** len(channels):
        raise UserError(f"size ({size}) must be a multiple of 2**len(channels) = {2 ** len(channels)}")
    if not 0.0 <= dropout < 1.0:
        raise UserError(f"dropout must be in [0, 1), got {dropout!r}")
    with keras.name_scope(name):  # paths such as "generator_ba/down0/kernel" (module docstring)
        x = keras.Input(shape=(size, size, in_channels), name="input_image")
        h, encoded = x, []
        for i, c in enumerate(channels):
            h = layers.Conv2D(c, 4, strides=2, padding="same", use_bias=norm == "none" or i == 0,
                              name=f"down{i}")(h)
            if 0 < i < len(channels) - 1:
                h = _norm(norm)(h)
            h = layers.LeakyReLU(0.2)(h)
            encoded.append(h)
        for i, c in enumerate(reversed(channels[:-1])):
            h = layers.Conv2DTranspose(c, 4, strides=2, padding="same", use_bias=norm == "none", name=f"up{i}")(h)
            h = _norm(norm)(h)
            if dropout and i < dropout_layers:
                h = layers.Dropout(dropout)(h)
            h = layers.ReLU()(h)
            if skips:
                h = layers.Concatenate(name=f"skip{i}")([h, encoded[-2 - i]])
        y = layers.Conv2DTranspose(out_channels, 4, strides=2, padding="same", activation="tanh", name="output")(h)
        return keras.Model(x, y, name=name)


def patchgan_discriminator(size=32, channels=(64, 128), norm="instance", conditional=True, in_channels=3,
                           out_channels=3, activation="sigmoid", name="discriminator"):
    """PatchGAN: image (and, if ``conditional``, the input it was made from) -> a map of patch scores.

    conditional=True:  inputs ``[condition, image]``, concatenated along the channels (Pix2Pix: D
                       judges whether the output is a real translation *of this input*).
    conditional=False: input ``image`` only (CycleGAN).
    4x4 convolutions with LeakyReLU(0.2): every entry of ``channels`` but the last has stride 2, the
    last stride 1, then a stride-1 convolution to one score per patch (``activation`` "sigmoid" for
    the cross-entropy loss, None for least squares). Norm on all but the first layer.
    """
    (size, in_channels, out_channels) = check_positive_ints(
        "size, in_channels, out_channels", (size, in_channels, out_channels))
    channels = check_positive_ints("channels", channels)
    _check_norm(norm)
    with keras.name_scope(name):  # paths such as "discriminator_b/patch_scores/kernel" (module docstring)
        image = keras.Input(shape=(size, size, out_channels), name="image")
        if conditional:
            condition = keras.Input(shape=(size, size, in_channels), name="condition")
            inputs, h = [condition, image], layers.Concatenate()([condition, image])
        else:
            inputs, h = image, image
        for i, c in enumerate(channels):
            stride = 2 if i < len(channels) - 1 else 1
            h = layers.Conv2D(c, 4, strides=stride, padding="same", use_bias=i == 0 or norm == "none")(h)
            if i:
                h = _norm(norm)(h)
            h = layers.LeakyReLU(0.2)(h)
        p = layers.Conv2D(1, 4, padding="same", activation=activation, name="patch_scores")(h)
        return keras.Model(inputs, p, name=name)


def receptive_field(model):
    """Side in pixels of the input square that one output of a stack of convolutions sees."""
    field, jump = 1, 1
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            field += (layer.kernel_size[0] - 1) * jump
            jump *= layer.strides[0]
    return field


def build_pix2pix(generator, discriminator, d_optimizer, g_optimizer, l1_weight=100.0):
    """Compile D (cross-entropy) and return the compiled two-output model ``x -> (D(x, G(x)), G(x))``.

    Its losses are cross-entropy on D's patch map (G wants "real") and mean absolute error between
    G(x) and the target, weighted 1 : ``l1_weight`` (λ = 100 in Isola et al. 2017). As with
    :func:`build_gan`, the step sets ``discriminator.trainable`` right before each call.
    """
    if not isinstance(l1_weight, (int, float)) or l1_weight < 0:
        raise UserError(f"l1_weight must be a non-negative number, got {l1_weight!r}")
    discriminator.trainable = True
    discriminator.compile(optimizer=d_optimizer, loss="binary_crossentropy")
    x = keras.Input(shape=tuple(generator.inputs[0].shape[1:]), name="input_image")
    y = generator(x)
    composite = keras.Model(x, [discriminator([x, y]), y], name="gan")
    discriminator.trainable = False
    composite.compile(optimizer=g_optimizer, loss=["binary_crossentropy", "mae"], loss_weights=[1.0, float(l1_weight)])
    return composite
