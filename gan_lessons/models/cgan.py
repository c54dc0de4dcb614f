"""Conditional GAN (Mirza & Osindero 2014) on the DCGAN builders of lesson 02 (lesson 03).

Both networks get the class label as a second input. G joins a code of the label to z and feeds the
result to an ordinary DCGAN generator; D adds the label to the image as extra channels (one plane per
code dimension, the same value at every pixel) and feeds that to an ordinary DCGAN discriminator.
So the conditional models are thin wrappers: everything else is lesson 02.

``label_code``:
  * ``"embedding"`` (default): a learned ``Embedding(n_classes, label_dim)``, a small dense code that
    training shapes. In D it becomes ``label_dim`` = 1 plane by default: cheap, and the network learns
    which value each digit gets.
  * ``"onehot"``: the fixed one-hot vector of the label (``n_classes`` numbers), the classic choice of
    the original paper: nothing to learn, but D's first layer reads ``n_classes`` extra planes.
  * ``"projection"`` (D only): the projection discriminator of Miyato & Koyama (2018). D reads the image
    alone; its score adds to the unconditional one the dot product of its last features with a learned
    vector of the label. As cheap as no label at all, and the label acts on everything D has seen.
"""

import keras
from keras import layers, ops

from .. import UserError
from .dcgan import dcgan_discriminator, dcgan_generator
from .gan import check_positive_ints

LABEL_CODES = ("embedding", "onehot")
D_LABEL_CODES = LABEL_CODES + ("projection",)


class OneHot(layers.Layer):
    """Integer labels (N,) or (N, 1) -> one-hot vectors (N, n_classes)."""

    def __init__(self, n_classes, **kwargs):
        super().__init__(**kwargs)
        self.n_classes = n_classes

    def call(self, labels):
        return ops.one_hot(ops.reshape(ops.cast(labels, "int32"), (-1,)), self.n_classes)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_classes)

    def get_config(self):
        return {**super().get_config(), "n_classes": self.n_classes}


class LabelPlanes(layers.Layer):
    """Spread a label code (N, k) over an image's pixels: (N, H, W, k), the same k values everywhere."""

    def __init__(self, height, width, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = height, width

    def call(self, code):
        planes = ops.reshape(code, (-1, 1, 1, code.shape[-1]))
        return ops.tile(planes, (1, self.height, self.width, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


def label_encoder(n_classes=10, label_code="embedding", label_dim=16, name="label_code"):
    """A small model: integer labels (N,) -> codes (N, label_dim) or one-hot (N, n_classes)."""
    (n_classes, label_dim) = check_positive_ints("n_classes, label_dim", (n_classes, label_dim), length=2)
    if label_code not in LABEL_CODES:
        raise UserError(f"label_code must be one of {LABEL_CODES}, got {label_code!r}")
    y = keras.Input(shape=(), dtype="int32", name="label")
    if label_code == "onehot":
        code = OneHot(n_classes)(y)
    else:
        # Codes start as large as z's entries (N(0, 1)); Keras' default (±0.05) leaves the label
        # almost invisible to both networks for the first few hundred steps.
        embed = layers.Embedding(n_classes, label_dim, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0))
        code = layers.Flatten()(embed(y))
    return keras.Model(y, code, name=name)


def cgan_generator(latent_dim=100, n_classes=10, label_code="embedding", label_dim=16,
                   image_shape=(28, 28, 1), name="generator", **dcgan_kwargs):
    """[z, label] -> image in [-1, 1]: a DCGAN generator fed with concat(z, code(label)).

    ``dcgan_kwargs`` (channels, kernel_size, extra_convs) go to :func:`dcgan_generator`.
    """
    (latent_dim,) = check_positive_ints("latent_dim", latent_dim, length=1)
    encode = label_encoder(n_classes, label_code, label_dim, name="g_label_code")
    base = dcgan_generator(latent_dim + encode.outputs[0].shape[-1], image_shape=image_shape,
                           name="dcgan_generator", **dcgan_kwargs)
    z = keras.Input(shape=(latent_dim,), name="z")
    y = keras.Input(shape=(), dtype="int32", name="label")
    return keras.Model([z, y], base(layers.Concatenate()([z, encode(y)])), name=name)


def cgan_discriminator(n_classes=10, label_code="embedding", label_dim=1, image_shape=(28, 28, 1),
                       name="discriminator", **dcgan_kwargs):
    """[image, label] -> P(real image *of this label*): a DCGAN discriminator that reads the image
    with the label's code as extra channels.

    ``dcgan_kwargs`` (channels, kernel_size, dropout, logits) go to :func:`dcgan_discriminator`.
    """
    height, width, depth = check_positive_ints("image_shape", image_shape, length=3)
    if label_code == "projection":
        return _projection_discriminator(n_classes, (height, width, depth), name, **dcgan_kwargs)
    if label_code not in D_LABEL_CODES:
        raise UserError(f"label_code must be one of {D_LABEL_CODES}, got {label_code!r}")
    encode = label_encoder(n_classes, label_code, label_dim, name="d_label_code")
    k = encode.outputs[0].shape[-1]
    base = dcgan_discriminator((height, width, depth + k), name="dcgan_discriminator", **dcgan_kwargs)
    x = keras.Input(shape=(height, width, depth), name="image")
    y = keras.Input(shape=(), dtype="int32", name="label")
    planes = LabelPlanes(height, width)(encode(y))
    return keras.Model([x, y], base(layers.Concatenate()([x, planes])), name=name)


def _projection_discriminator(n_classes, image_shape, name, logits=False, **dcgan_kwargs):
    """[image, label] -> sigmoid(w·φ(x) + b + e(label)·φ(x)) (without the sigmoid if ``logits``), φ = the
    DCGAN discriminator's flattened features (Miyato & Koyama 2018). The label vectors e start at 0: at first
    it is lesson 02's D."""
    (n_classes,) = check_positive_ints("n_classes", n_classes, length=1)
    base = dcgan_discriminator(image_shape, name="dcgan_discriminator", **dcgan_kwargs)
    features = keras.Model(base.inputs, base.layers[-2].output, name="dcgan_features")  # up to Flatten
    x = keras.Input(shape=image_shape, name="image")
    y = keras.Input(shape=(), dtype="int32", name="label")
    h = features(x)
    label_vector = layers.Flatten()(layers.Embedding(n_classes, h.shape[-1], embeddings_initializer="zeros",
                                                     name="d_label_projection")(y))
    logit = layers.Add()([layers.Dense(1)(h), layers.Dot(axes=1)([label_vector, h])])
    return keras.Model([x, y], logit if logits else layers.Activation("sigmoid")(logit), name=name)


def infogan_discriminator(n_codes=10, image_shape=(28, 28, 1), q_hidden=64, name="discriminator", **dcgan_kwargs):
    """InfoGAN's D and Q (Chen et al. 2016) on one DCGAN discriminator. Returns ``(D, DQ)``:

    * ``D``: the DCGAN discriminator as it is, image -> score (it never sees the code);
    * ``DQ``: image -> [D's score, the logits of the latent code], one pass through D's layers: Q is a small
      head (Dense ``q_hidden`` + LeakyReLU + Dense ``n_codes``) on D's flattened features, the network that
      tries to read back which code G was given.

    Q's head belongs to ``DQ`` only, so ``D.trainable = False`` freezes D's layers and leaves Q's head trainable.
    ``dcgan_kwargs`` (channels, kernel_size, dropout, logits) go to :func:`dcgan_discriminator`.
    """
    (n_codes, q_hidden) = check_positive_ints("n_codes, q_hidden", (n_codes, q_hidden), length=2)
    if n_codes < 2:
        raise UserError(f"an InfoGAN needs at least 2 codes, got {n_codes}; without a code it is lesson 02's DCGAN")
    D = dcgan_discriminator(image_shape, name=name, **dcgan_kwargs)
    features = D.layers[-2].output  # after Flatten
    q = layers.Dense(n_codes, name="q_logits")(layers.LeakyReLU(0.2)(layers.Dense(q_hidden, name="q_hidden")(features)))
    return D, keras.Model(D.inputs, [D.outputs[0], q], name="discriminator_and_q")
