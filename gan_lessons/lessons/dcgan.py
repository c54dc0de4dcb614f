"""Lesson 02: a deep convolutional GAN (Radford et al. 2016) on MNIST, unconditional: no labels. Its
networks and training (:data:`DCGAN`, :func:`build_dcgan`) are the base of lesson 03's conditional GAN
and of the self-conditioned DCGAN of lesson 04 (:mod:`.dcgan_selfcond`)."""

import functools

from ..data import load_mnist, scale_images
from ..models import build_gan, cgan_discriminator, cgan_generator, dcgan_discriminator, dcgan_generator, gan_loss
from ..steps import cgan_step, gan_step, with_ema
from .base import Built, Lesson, adam
from .runs import ImageGAN

# The DCGAN's networks and training: the named base of lessons 02 and 03.
DCGAN = {
    "latent_dim": 100,  # lessons 03 and 04's DCGANs; lesson 02 (PLAIN) draws 16
    "g_channels": [64, 32],
    "g_extra_convs": 1,
    "d_channels": [32, 64],
    "kernel_size": 4,
    "dropout": 0.0,
    "g_learning_rate": 5e-4,
    "d_learning_rate": 5e-4,
    "lr_decay": True,
    "beta_1": 0.5,
    "batch_size": 64,
    "real_label": 1.0,
    "ema_decay": 0.999,
    "steps": 12000,
    "snapshot_every": 500,
    "checkpoint_every": 2000,
    "loss": "bce",  # or "lsgan", "hinge" (models.GAN_LOSSES)
}
DCGAN_QUICK = {"steps": 150, "snapshot_every": 25, "checkpoint_every": 75}

# How a label reaches the conditional networks (lesson 03, and the cluster ids of lesson 04's self-conditioned DCGAN).
LABEL_CODE = {
    "label_code": "onehot",  # G: the label's one-hot vector joined to z (or "embedding", then:)
    "g_label_dim": 16,  # size of the learned code joined to z
    "d_label_dim": 1,  # label planes added to D's input image ("embedding" only)
    "d_label_code": None,  # D's own code if set ("projection": Miyato & Koyama 2018); None: label_code
    "wrong_label_fraction": 0.5,  # real digits shown to D with a wrong label, as fakes
}

# The recipe of lessons 02 and 04's self-conditioned DCGAN (docs/results.md): least squares and a constant
# learning rate reach in 6,000 steps what cross-entropy with a decaying rate reached in 12,000.
RECIPE = {"loss": "lsgan", "lr_decay": False, "steps": 6000, "snapshot_every": 250, "checkpoint_every": 1000}

# Lesson 02: the DCGAN alone, with the levers its table measures.
PLAIN = {
    **DCGAN,
    **RECIPE,
    # D one strided convolution deeper (7x7 -> 4x4, 128 channels) and dropout 0.3 after each (Radford et al.'s D has
    # none; the TensorFlow tutorial's has it): at lesson 01's minutes (6,000 steps, each 1.4 times dearer; 8,500
    # without them) FID-style 2.42, 2.50 and 2.12 on seeds 0-2 against 4.15, 4.19 and 4.88, IS 7.91, 8.00 and 8.00
    # against 7.71, 7.75 and 7.65, every digit 7.2-12.4 %. Deeper without dropout starved the 2s and 6s (5.9-6.6 %,
    # session 53); dropout with two convolutions gave 2.11 with seed 0 but 7.45 with seed 1 (docs/results.md,
    # session 54).
    "d_channels": [32, 64, 128],
    "dropout": 0.3,
    # Lesson 01's minutes (6.4 and 6.5 min of training in the committed notebooks), so notebook 02 compares the two
    # in the same time. The rate is constant, as in the recipe's run.
    "steps": 6000,
    # z of 16 numbers, not Radford et al.'s 100: MNIST's digits vary along about ten directions, and at 8,500 steps
    # two seeds reached FID-style 4.2 and IS 7.7 against 6.0 and 7.4 with 100, at the same cost per step
    # (docs/results.md, session 47). Lesson 07's generator takes the same size.
    "latent_dim": 16,
    "spectral_norm": False,  # D's layers spectrally normalised (Miyato et al. 2018)
    "d_batchnorm": False,  # BatchNorm in D after every convolution but the first (the lesson's exercise 3)
    "g_activation": "leaky_relu",  # or "relu", Radford et al.'s G (the lesson's exercise 5)
}


def network_kwargs(config):
    """The keyword arguments of the DCGAN builders (G's, D's) that the lesson's settings fix."""
    c = config
    return (dict(channels=c["g_channels"], kernel_size=c["kernel_size"], extra_convs=c["g_extra_convs"]),
            dict(channels=c["d_channels"], kernel_size=c["kernel_size"], dropout=c["dropout"]))


def generator_and_copy(generator):
    """G and its weight-averaged copy ``generator_ema``, which starts as G: ``generator(name=...)`` builds each."""
    G, G_ema = generator(name="generator"), generator(name="generator_ema")
    G_ema.set_weights(G.get_weights())
    return G, G_ema


def build_dcgan(config, labels=None, n_classes=0, label_probs=None):
    """G, D, composite and an EMA copy of G; conditional on ``labels`` (one per training digit, values
    0..n_classes-1) when they are given, with the asked labels drawn with ``label_probs`` (None: uniform)."""
    c = config
    (x_train, _), _ = load_mnist()
    g_kwargs, d_kwargs = network_kwargs(c)
    d_loss, g_loss, sigmoid = gan_loss(c["loss"])
    if labels is None:
        generator = functools.partial(dcgan_generator, c["latent_dim"], activation=c["g_activation"],
                                      **g_kwargs)
        D = dcgan_discriminator(spectral_norm=c["spectral_norm"], logits=not sigmoid,
                                batchnorm=c["d_batchnorm"], **d_kwargs)
        step = functools.partial(gan_step, real_label=c["real_label"])
        data = scale_images(x_train)
    else:
        generator = functools.partial(cgan_generator, c["latent_dim"], n_classes=n_classes, label_code=c["label_code"],
                                      label_dim=c["g_label_dim"], **g_kwargs)
        D = cgan_discriminator(n_classes=n_classes, label_code=c.get("d_label_code") or c["label_code"],
                               label_dim=c["d_label_dim"], logits=not sigmoid, **d_kwargs)
        step = functools.partial(cgan_step, real_label=c["real_label"], n_classes=n_classes, label_probs=label_probs,
                                 wrong_label_fraction=c["wrong_label_fraction"])
        data = (scale_images(x_train), labels)
    G, G_ema = generator_and_copy(generator)
    gan = build_gan(G, D, adam(c, "d"), adam(c, "g"), loss=d_loss, g_loss=g_loss)
    models = {"generator": G, "discriminator": D, "gan": gan, "generator_ema": G_ema}
    return models, with_ema(step, c["ema_decay"]), data


def build(config):
    return Built(*build_dcgan(config))


LESSONS = (Lesson("dcgan", ImageGAN, PLAIN, DCGAN_QUICK, build, "02: an unconditional DCGAN on MNIST"),)
