"""Lesson 07: the Wasserstein GAN on MNIST, lesson 02's generator against a critic (a score, no sigmoid,
no BatchNorm), with the three ways of keeping the critic Lipschitz as three lessons: ``wgan`` (gradient
penalty, Gulrajani et al. 2017: the recommended one), ``wgan_clip`` (weight clipping, Arjovsky et al.
2017) and ``wgan_sn`` (spectral normalisation + hinge loss, Miyato et al. 2018). Their 2-D versions are
methods of lesson 04's sweep (``python -m gan_lessons train mode_collapse --set methods='["wgan_gp"]'``)."""

import functools

import keras

from .. import UserError
from ..data import load_mnist, scale_images
from ..models import build_wgan, conv_critic, dcgan_generator
from ..steps import sn_hinge_step, wgan_step, with_ema
from .base import Built, Lesson
from .dcgan import DCGAN, PLAIN, generator_and_copy
from .runs import ImageGAN

# What each Lipschitz method changes in the critic, its loss and its step.
VARIANTS = {
    "gp": {"loss": "wasserstein", "step": wgan_step},
    "clip": {"loss": "wasserstein", "step": wgan_step},
    "sn": {"loss": "hinge", "step": sn_hinge_step},
}

# Lesson 02's generator; the critic is lesson 02's discriminator without dropout and sigmoid.
GP = {
    **{key: DCGAN[key] for key in ("g_channels", "g_extra_convs", "kernel_size", "ema_decay")},
    "latent_dim": PLAIN["latent_dim"],
    "variant": "gp",
    # Three strided convolutions, the last 7x7 -> 4x4 with 128 channels (lesson 02's D has had them since session 54):
    # at the same minutes of training (1,400 steps instead of 2,200 with two) FID-style 1.79 and IS 8.04 against
    # 6.07 and 7.37 (docs/results.md, session 53)
    "c_channels": PLAIN["d_channels"],
    "gradient_penalty": 10.0,  # λ
    "clip": 0.0,  # c (variant "clip")
    "n_critic": 5,  # critic updates per G update
    "batch_size": 320,  # what the driver hands a step: n_critic x the critic's batch of 64
    # Gulrajani et al. use Adam 1e-4, β = (0, 0.9) for 100,000+ G steps. In a CPU lesson's few thousand steps
    # that is too slow (z of 100): 3,000 steps at 1e-4 reached FID-style 29.4, IS 5.5; 1,300 with β1 = 0.5 at
    # 1e-3, 17.0 and 6.4; at 2e-3, 12.3 and 6.7; at 4e-3, 11.5 and 6.7, but the critic's estimate stopped
    # tracking the 64-sample snapshots (Spearman 0.58) (docs/results.md, sessions 8 and 19).
    "c_learning_rate": 2e-3,
    "g_learning_rate": 2e-3,
    # The paper's β1 = 0 at this rate: better than 0.5 on each of three seeds, at the same cost per step
    # (FID-style 6.07 / 4.95 / 6.19 against 7.25 / 7.58 / 7.42, IS 7.37 / 7.44 / 7.40 against 7.24 / 7.17 / 7.14;
    # docs/results.md, session 50).
    "beta_1": 0.0,
    "beta_2": 0.9,
    "lr_decay": True,  # both fall linearly to 0 over the run
    # About lesson 01's minutes (6.5 on 2 cores), so notebook 07 compares the three MNIST GANs in about the same
    # time: the two-layer critic's 2,200 steps (6.4 min in session 51's committed run: FID-style 6.07, IS 7.37)
    # cost what 1,400 steps cost with three layers (docs/results.md, session 53).
    "steps": 1400,
    # 14 snapshots (13 in the exercises' 1,300 steps): enough to rank-correlate the critic's estimate with quality
    "snapshot_every": 100,
    # ... each of 1,000 samples (the grid shows the first 64): FID-style on 64 samples is so noisy that it
    # ranked the run's last snapshots by chance (z of 100, 1,300 steps: Spearman 0.85 with 64, 1.00 with 1,000;
    # docs/results.md, session 34; today's run: 0.98 and 0.995, session 48)
    "snapshot_samples": 1000,
    "checkpoint_every": 500,
}
# The other two recipes are the notebook's exercises, measured at 1,300 steps with lesson 02's two-layer critic
# (wgan_sn with z of 16 and of 100), which they keep.
CLIP = {**GP, "variant": "clip", "gradient_penalty": 0.0, "clip": 0.01,  # Arjovsky et al.: RMSprop 5e-5
        "c_learning_rate": 5e-5, "g_learning_rate": 5e-5, "steps": 1300, "c_channels": DCGAN["d_channels"]}
SN = {**GP, "variant": "sn", "gradient_penalty": 0.0, "n_critic": 1, "batch_size": 64,  # Miyato et al.
      "c_learning_rate": 2e-4, "g_learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999, "steps": 1300,
      "c_channels": DCGAN["d_channels"]}
QUICK = {"steps": 50, "snapshot_every": 10, "checkpoint_every": 25}


def wgan_optimizers(config):
    """(critic's optimizer, G's optimizer) of ``config``: RMSprop for weight clipping (Arjovsky et al.
    found momentum unstable with it), Adam(beta_1, beta_2) otherwise; with ``lr_decay`` each learning
    rate falls linearly to 0 over the run.

    The schedule follows each optimizer's own counter, and the critic's advances ``n_critic`` times per
    G step: its decay must span ``steps x n_critic`` updates. (Spanning ``steps``, it reached 0 after a
    fifth of the run; G then chased a frozen critic, whose estimate fell below 0 and stayed there.)
    """
    c = config

    def make(rate, updates):
        if c["lr_decay"]:
            rate = keras.optimizers.schedules.PolynomialDecay(rate, updates, end_learning_rate=0.0)
        if c["variant"] == "clip":
            return keras.optimizers.RMSprop(rate)
        return keras.optimizers.Adam(rate, beta_1=c["beta_1"], beta_2=c["beta_2"])

    return make(c["c_learning_rate"], c["steps"] * c["n_critic"]), make(c["g_learning_rate"], c["steps"])


def wgan_models(generator, critic, config):
    """``(models, step)`` for the driver: the composite models of ``config``'s variant, compiled with
    :func:`wgan_optimizers`, and its step with ``n_critic`` bound. ``critic`` must be built for the
    variant (``clip=c`` for "clip", ``spectral_norm=True`` for "sn", neither for "gp")."""
    variant = config["variant"]
    if variant not in VARIANTS:
        raise UserError(f"unknown WGAN variant {variant!r}; choose one of {', '.join(VARIANTS)} (--set variant=gp)")
    if (variant == "gp") != (config["gradient_penalty"] > 0):
        raise UserError("gradient_penalty λ > 0 goes with variant gp and only with it (Gulrajani et al. use 10): "
                        f"--set gradient_penalty=..., got {config['gradient_penalty']} for variant {variant}")
    c_opt, g_opt = wgan_optimizers(config)
    critic_model, gan = build_wgan(generator, critic, c_opt, g_opt, loss=VARIANTS[variant]["loss"],
                                   gradient_penalty=config["gradient_penalty"])
    models = {"generator": generator, "critic": critic, "critic_model": critic_model, "gan": gan}
    return models, functools.partial(VARIANTS[variant]["step"], n_critic=config["n_critic"])


def lipschitz(config):
    """The critic builder's keyword arguments for ``config``'s variant."""
    return {"clip": config["clip"] if config["variant"] == "clip" else None,
            "spectral_norm": config["variant"] == "sn"}


def build(config):
    c = config
    generator = functools.partial(dcgan_generator, c["latent_dim"], channels=c["g_channels"],
                                  kernel_size=c["kernel_size"], extra_convs=c["g_extra_convs"])
    G, G_ema = generator_and_copy(generator)
    C = conv_critic(channels=c["c_channels"], kernel_size=c["kernel_size"], **lipschitz(c))
    models, step = wgan_models(G, C, c)
    (x_train, _), _ = load_mnist()
    return Built({**models, "generator_ema": G_ema}, with_ema(step, c["ema_decay"]), scale_images(x_train))


LESSONS = (
    Lesson("wgan", ImageGAN, GP, QUICK, build,
           "07: WGAN-GP on MNIST (lesson 02's G, a critic with a gradient penalty): the recommended variant"),
    Lesson("wgan_clip", ImageGAN, CLIP, QUICK, build, "07: the original WGAN on MNIST, weight clipping"),
    Lesson("wgan_sn", ImageGAN, SN, QUICK, build, "07: a spectrally normalised critic with the hinge loss on MNIST"),
)
