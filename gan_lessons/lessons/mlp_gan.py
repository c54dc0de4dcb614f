"""Lesson 01: the original GAN (Goodfellow et al. 2014) with two MLPs on MNIST."""

import functools

from ..data import load_mnist, scale_images
from ..models import build_gan, mlp_discriminator, mlp_generator
from ..steps import gan_step
from .base import Built, Lesson, adam, with_averages
from .runs import ImageGAN

SETTINGS = {
    "latent_dim": 100,
    "g_hidden": [256, 512, 1024],
    "d_hidden": [512, 256],
    "dropout": 0.0,  # D's dropout (0.3 and real_label 0.9: the usual brakes, which cost this GAN quality)
    "learning_rate": 2e-4,
    "beta_1": 0.5,
    "batch_size": 128,
    "real_label": 1.0,  # 0.9: one-sided label smoothing
    "ema_decay": 0.999,  # samples come from a moving average of G's weights (0: from G itself)
    "ema_warmup": 10,  # how far back the average reaches (steps.with_ema): as lesson 02's
    "steps": 14000,
    "snapshot_every": 500,
    "checkpoint_every": 2000,
}
QUICK = {"steps": 500, "snapshot_every": 50, "checkpoint_every": 250}


def build(config):
    def generator(name="generator"):
        return mlp_generator(config["latent_dim"], hidden=config["g_hidden"], name=name)

    G = generator()
    D = mlp_discriminator(hidden=config["d_hidden"], dropout=config["dropout"])
    gan = build_gan(G, D, adam(config, "d"), adam(config, "g"))
    (x_train, _), _ = load_mnist()
    step = functools.partial(gan_step, real_label=config["real_label"])
    built = Built({"generator": G, "discriminator": D, "gan": gan}, step, scale_images(x_train))
    return with_averages(built, config, ["generator"], generator)  # the copy: the same G, built after D


LESSONS = (Lesson("mlp_gan", ImageGAN, SETTINGS, QUICK, build, "01: the original GAN, two MLPs on MNIST"),)
