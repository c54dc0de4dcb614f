"""Small fully connected G and D for 2-D points, and two remedies for mode collapse (lesson 04).

* Minibatch standard deviation (Salimans et al. 2016 introduced minibatch features; this simple form
  is from Karras et al. 2018): D sees, beside each sample's features, how spread out the samples of
  its small group are, so a generator that puts every sample in the same place is easy to spot.
* PacGAN packing (Lin et al. 2018): D judges ``pack`` samples at once, all real or all fake; a
  collapsed generator produces packs of near-identical points, which real packs almost never are.
"""

import keras
from keras import layers, ops

from .. import UserError
from .gan import check_positive_ints


@keras.saving.register_keras_serializable(package="gan_lessons")
class MinibatchStd(layers.Layer):
    """Append one feature to each sample: the mean standard deviation of its group's features.

    The batch is cut into consecutive groups of ``group_size`` samples (the batch size must be a
    multiple of it); within each group the standard deviation of every feature is taken across the
    samples and averaged over the features. Every sample of the group gets that number as an extra
    feature: (B, F) -> (B, F + 1).
    """

    def __init__(self, group_size=4, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        (self.group_size,) = check_positive_ints("group_size", group_size, length=1)
        self.epsilon = epsilon

    def call(self, x):
        features = ops.shape(x)[-1]
        groups = ops.reshape(x, (-1, self.group_size, features))
        variance = ops.mean(ops.square(groups - ops.mean(groups, axis=1, keepdims=True)), axis=1)
        spread = ops.mean(ops.sqrt(variance + self.epsilon), axis=-1, keepdims=True)  # (B / g, 1)
        spread = ops.reshape(ops.repeat(spread, self.group_size, axis=0), (-1, 1))
        return ops.concatenate([x, ops.cast(spread, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "epsilon": self.epsilon}


def _check_scale(scale):
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise UserError(f"scale must be a positive number (the data's size), got {scale!r}")
    return float(scale)


def toy_generator(latent_dim=8, hidden=(128, 128, 128), output_dim=2, scale=1.0, name="generator"):
    """z (latent_dim,) -> Dense+ReLU blocks -> a point (output_dim,) (linear output, times ``scale``).

    ``scale`` is the data's size (the grid spans ±4: scale 2): the network itself works with
    numbers of order 1, and its last layer's output is multiplied by ``scale``.
    """
    (latent_dim,) = check_positive_ints("latent_dim", latent_dim, length=1)
    hidden = check_positive_ints("hidden", hidden)
    (output_dim,) = check_positive_ints("output_dim", output_dim, length=1)
    z = keras.Input(shape=(latent_dim,), name="z")
    h = z
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    x = layers.Rescaling(_check_scale(scale))(layers.Dense(output_dim)(h))
    return keras.Model(z, x, name=name)


def toy_discriminator(hidden=(128, 128), input_dim=2, pack=1, minibatch_std=0, scale=1.0,
                      name="discriminator"):
    """``pack`` points side by side (pack * input_dim,) -> / scale -> Dense+LeakyReLU blocks -> P(real).

    pack > 1:          PacGAN; the input is ``pack`` points side by side (see :func:`packed_generator`).
    minibatch_std = g: a :class:`MinibatchStd` layer on the (rescaled) input, with groups of g
                       samples: D reads each point together with the spread of its group.
    """
    hidden = check_positive_ints("hidden", hidden)
    (input_dim,) = check_positive_ints("input_dim", input_dim, length=1)
    (pack,) = check_positive_ints("pack", pack, length=1)
    if isinstance(minibatch_std, bool) or not isinstance(minibatch_std, int) or minibatch_std < 0 \
            or minibatch_std == 1:
        raise UserError(f"minibatch_std must be 0 (off) or a group size >= 2, got {minibatch_std!r}")
    x = keras.Input(shape=(pack * input_dim,), name="points")
    h = layers.Rescaling(1.0 / _check_scale(scale))(x)
    if minibatch_std:
        h = MinibatchStd(minibatch_std)(h)
    for units in hidden:
        h = layers.Dense(units)(h)
        h = layers.LeakyReLU(0.2)(h)
    return keras.Model(x, layers.Dense(1, activation="sigmoid")(h), name=name)


def packed_generator(generator, pack, name="packed_generator"):
    """(pack, latent_dim) noise -> ``pack`` points of ``generator`` side by side, (pack * dim,).

    The PacGAN discriminator reads this; it shares its weights with ``generator``.
    """
    (pack,) = check_positive_ints("pack", pack, length=1)
    latent_dim, dim = generator.input.shape[-1], generator.output.shape[-1]
    z = keras.Input(shape=(pack, latent_dim), name="z_pack")
    points = layers.TimeDistributed(generator)(z)
    return keras.Model(z, layers.Reshape((pack * dim,))(points), name=name)
