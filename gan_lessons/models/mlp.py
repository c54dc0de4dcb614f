"""Fully connected GAN for MNIST (lesson 01), in the spirit of Goodfellow et al. (2014)."""

import keras
from keras import layers

from .. import UserError
from .gan import check_positive_ints


def mlp_generator(latent_dim=100, image_shape=(28, 28, 1), hidden=(256, 512, 1024),
                  name="generator"):
    """z (latent_dim,) -> Dense+LeakyReLU blocks -> image in [-1, 1] (tanh) of ``image_shape``."""
    (latent_dim,) = check_positive_ints("latent_dim", latent_dim, length=1)
    image_shape = check_positive_ints("image_shape", image_shape, length=3)
    hidden = check_positive_ints("hidden", hidden)
    z = keras.Input(shape=(latent_dim,), name="z")
    h = z
    for units in hidden:
        h = layers.Dense(units)(h)
        h = layers.LeakyReLU(0.2)(h)
    n_pixels = image_shape[0] * image_shape[1] * image_shape[2]
    x = layers.Dense(n_pixels, activation="tanh")(h)
    x = layers.Reshape(image_shape)(x)
    return keras.Model(z, x, name=name)


def mlp_discriminator(image_shape=(28, 28, 1), hidden=(512, 256), dropout=0.3,
                      name="discriminator"):
    """image -> Flatten -> Dense+LeakyReLU(+Dropout) blocks -> P(real) (sigmoid)."""
    image_shape = check_positive_ints("image_shape", image_shape, length=3)
    hidden = check_positive_ints("hidden", hidden)
    if not 0.0 <= dropout < 1.0:
        raise UserError(f"dropout must be in [0, 1), got {dropout!r}")
    x = keras.Input(shape=image_shape, name="image")
    h = layers.Flatten()(x)
    for units in hidden:
        h = layers.Dense(units)(h)
        h = layers.LeakyReLU(0.2)(h)
        if dropout:
            h = layers.Dropout(dropout)(h)
    p = layers.Dense(1, activation="sigmoid")(h)
    return keras.Model(x, p, name=name)
