"""Small Keras builder functions, one module per model family."""

from .cgan import cgan_discriminator, cgan_generator
from .cyclegan import ImagePool, build_cyclegan
from .dcgan import dcgan_discriminator, dcgan_generator
from .gan import GAN_LOSSES, build_gan, check_positive_ints, gan_loss
from .mlp import mlp_discriminator, mlp_generator
from .pix2pix import build_pix2pix, patchgan_discriminator, receptive_field, unet_generator
from .toy import MinibatchStd, packed_generator, toy_discriminator, toy_generator

__all__ = ["GAN_LOSSES", "ImagePool", "MinibatchStd", "build_cyclegan", "build_gan", "build_pix2pix", "cgan_discriminator",
           "cgan_generator", "check_positive_ints", "dcgan_discriminator", "dcgan_generator", "gan_loss", "mlp_discriminator",
           "mlp_generator", "packed_generator", "patchgan_discriminator", "receptive_field", "toy_discriminator",
           "toy_generator", "unet_generator"]
