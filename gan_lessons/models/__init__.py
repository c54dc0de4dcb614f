"""Small Keras builder functions, one module per model family."""

from .cgan import cgan_discriminator, cgan_generator, infogan_discriminator
from .cyclegan import ImagePool, build_cyclegan
from .dcgan import dcgan_discriminator, dcgan_generator
from .gan import GAN_LOSSES, build_gan, build_infogan, check_positive_ints, gan_loss
from .mlp import mlp_discriminator, mlp_generator
from .pix2pix import build_pix2pix, patchgan_discriminator, receptive_field, unet_generator
from .toy import MinibatchStd, packed_generator, toy_discriminator, toy_generator
from .wgan import (ClipConstraint, GradientPenalty, build_wgan, clip_weights, conv_critic, input_gradients, toy_critic,
                   wasserstein_loss)

__all__ = ["ClipConstraint", "GAN_LOSSES", "GradientPenalty", "ImagePool", "MinibatchStd", "build_cyclegan",
           "build_gan", "build_infogan", "build_pix2pix", "build_wgan", "cgan_discriminator", "cgan_generator",
           "check_positive_ints", "clip_weights", "conv_critic", "dcgan_discriminator", "dcgan_generator",
           "gan_loss", "infogan_discriminator", "input_gradients", "mlp_discriminator", "mlp_generator",
           "packed_generator", "patchgan_discriminator", "receptive_field", "toy_critic", "toy_discriminator",
           "toy_generator", "unet_generator", "wasserstein_loss"]
