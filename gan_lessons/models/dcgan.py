"""Deep convolutional GAN (Radford et al. 2016) sized for a CPU (lesson 02).

Guidelines kept from the paper: strided convolutions instead of pooling, transposed convolutions to
upsample, BatchNorm in G except its output layer, LeakyReLU (G: ReLU with ``activation="relu"``, as the
paper), tanh output. D has no BatchNorm unless asked (``batchnorm=True``): it is frozen inside the composite
model, where a frozen BatchNorm runs in inference mode, so D would compute a different function in its own
step and in G's step.
"""

import functools

import keras
from keras import layers

from .. import UserError
from .gan import check_positive_ints


# G's activation by name: LeakyReLU 0.2 (the course's notes) or ReLU (Radford et al.'s G).
ACTIVATIONS = {"leaky_relu": lambda: layers.LeakyReLU(0.2), "relu": layers.ReLU}


def _conv_block(h, layer, activation="leaky_relu"):
    return ACTIVATIONS[activation]()(layers.BatchNormalization()(layer(h)))


def dcgan_generator(latent_dim=100, image_shape=(28, 28, 1), channels=(128, 64), kernel_size=4,
                    extra_convs=0, activation="leaky_relu", name="generator"):
    """z -> Dense -> (H/4, W/4, channels[0]) -> [ConvT stride 2] x2 -> image in [-1, 1].

    ``extra_convs`` adds that many 3x3 stride-1 convolutions at the two low resolutions (H/4 and
    H/2): depth where it is cheap, since most of the cost is at full resolution. ``activation``:
    "leaky_relu" (0.2) or "relu" after every BatchNorm.
    """
    (latent_dim,) = check_positive_ints("latent_dim", latent_dim, length=1)
    height, width, depth = check_positive_ints("image_shape", image_shape, length=3)
    channels = check_positive_ints("channels", channels, length=2)
    (kernel_size,) = check_positive_ints("kernel_size", kernel_size, length=1)
    if height % 4 or width % 4:
        raise UserError(f"image height and width must be multiples of 4 (two stride-2 layers), got {image_shape}")
    if not isinstance(extra_convs, int) or extra_convs < 0:
        raise UserError(f"extra_convs must be a non-negative int, got {extra_convs!r}")
    if activation not in ACTIVATIONS:
        raise UserError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    block = functools.partial(_conv_block, activation=activation)
    z = keras.Input(shape=(latent_dim,), name="z")
    h = block(layers.Dense((height // 4) * (width // 4) * channels[0], use_bias=False)(z),
              layers.Reshape((height // 4, width // 4, channels[0])))
    for _ in range(extra_convs):
        h = block(h, layers.Conv2D(channels[0], 3, padding="same", use_bias=False))
    h = block(h, layers.Conv2DTranspose(channels[1], kernel_size, strides=2, padding="same", use_bias=False))
    for _ in range(extra_convs):
        h = block(h, layers.Conv2D(channels[1], 3, padding="same", use_bias=False))
    x = layers.Conv2DTranspose(depth, kernel_size, strides=2, padding="same", activation="tanh")(h)
    return keras.Model(z, x, name=name)


def dcgan_discriminator(image_shape=(28, 28, 1), channels=(64, 128), kernel_size=4, dropout=0.3,
                        spectral_norm=False, logits=False, batchnorm=False, name="discriminator"):
    """image -> [Conv stride 2 + LeakyReLU + Dropout] per entry of ``channels`` -> Dense -> P(real), or the
    score before the sigmoid with ``logits=True`` (hinge and least-squares losses).

    ``batchnorm`` puts a BatchNormalization between every convolution but the first and its LeakyReLU, as
    Radford et al. do (lesson 02's exercise: frozen inside the composite, it runs in inference mode there).

    ``spectral_norm`` wraps every layer with weights in ``keras.layers.SpectralNormalization``
    (Miyato et al. 2018): each call in training mode divides the kernel by an estimate of its largest
    singular value (one power iteration), so D cannot sharpen its answer without bound. Keras 3 writes
    the divided kernel back, in G's step too (D is called in training mode inside the composite); it
    is the same kernel up to that scale, since it was already divided in D's step.
    """
    image_shape = check_positive_ints("image_shape", image_shape, length=3)
    channels = check_positive_ints("channels", channels)
    (kernel_size,) = check_positive_ints("kernel_size", kernel_size, length=1)
    if not 0.0 <= dropout < 1.0:
        raise UserError(f"dropout must be in [0, 1), got {dropout!r}")
    norm = layers.SpectralNormalization if spectral_norm else (lambda layer: layer)
    x = keras.Input(shape=image_shape, name="image")
    h = x
    for i, c in enumerate(channels):
        h = norm(layers.Conv2D(c, kernel_size, strides=2, padding="same"))(h)
        if batchnorm and i:
            h = layers.BatchNormalization()(h)
        h = layers.LeakyReLU(0.2)(h)
        if dropout:
            h = layers.Dropout(dropout)(h)
    h = layers.Flatten()(h)
    p = norm(layers.Dense(1, activation=None if logits else "sigmoid"))(h)
    return keras.Model(x, p, name=name)
