"""Small Keras builder functions, one module per model family."""

from .dcgan import dcgan_discriminator, dcgan_generator
from .gan import build_gan, check_positive_ints
from .mlp import mlp_discriminator, mlp_generator

__all__ = ["build_gan", "check_positive_ints", "dcgan_discriminator", "dcgan_generator",
           "mlp_discriminator", "mlp_generator"]
