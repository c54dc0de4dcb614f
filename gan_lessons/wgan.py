"""Step functions of the Wasserstein GAN family (lesson 07), one per way of keeping the critic Lipschitz.

Each has the driver's signature ``step(models, batch, rng) -> dict`` (see ``training.fit``) and trains
only with ``train_on_batch``, setting ``critic.trainable`` right before each call (Keras 3). ``models``
comes from :func:`wgan_models`: ``generator``, ``critic``, ``critic_model`` and ``gan`` (see
``models.build_wgan``).

**n_critic.** The critic learns ``n_critic`` times for each update of G. The driver hands a step one
batch; a WGAN step cuts it into ``n_critic`` equal critic batches, so ``batch_size`` in ``fit`` is
``n_critic`` × the critic's batch (e.g. 5 × 64 = 320) and one epoch still shows every real sample once.
G then learns on one batch of noise of the critic's batch size.

Every step returns ``d_loss`` (the critic's loss, mean over its updates), ``g_loss`` and
``w_estimate`` = mean C(real) − mean C(fake), the critic's estimate of the Wasserstein distance (mean
over its updates, each measured before that update): the number lesson 07 plots against sample quality.
"""

import keras
import numpy as np

from .models.wgan import ClipConstraint, build_wgan

# The three recipes as published. lr: learning rate; betas: Adam's (β1, β2).
VARIANTS = {
    "clip": {"loss": "wasserstein", "gradient_penalty": 0.0, "clip": 0.01, "spectral_norm": False,
             "optimizer": "rmsprop", "lr": 5e-5, "betas": None, "n_critic": 5},  # Arjovsky et al. 2017
    "gp": {"loss": "wasserstein", "gradient_penalty": 10.0, "clip": None, "spectral_norm": False,
           "optimizer": "adam", "lr": 1e-4, "betas": (0.0, 0.9), "n_critic": 5},  # Gulrajani et al. 2017
    "sn": {"loss": "hinge", "gradient_penalty": 0.0, "clip": None, "spectral_norm": True,
           "optimizer": "adam", "lr": 2e-4, "betas": (0.5, 0.999), "n_critic": 1},  # Miyato et al. 2018
}


def check_n_critic(n_critic):
    if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
        raise ValueError(f"n_critic must be a whole number >= 1 (critic updates per generator update; "
                         f"the WGAN papers use 5), got {n_critic!r}")
    return n_critic


def _critic_batches(batch, n_critic):
    """The driver's batch cut into ``n_critic`` equal critic batches."""
    n = len(batch)
    if n % check_n_critic(n_critic):
        raise ValueError(f"the batch of {n} samples cannot be cut into n_critic = {n_critic} equal critic "
                         f"batches: make batch_size a multiple of n_critic (e.g. {n_critic} x 64 = {64 * n_critic})")
    return np.split(batch, n_critic)


def _noise(G, n, rng):
    return rng.standard_normal((n, *G.inputs[0].shape[1:]), dtype="float32")


def _train(models, batch, rng, n_critic, real_target, penalty):
    """``n_critic`` critic updates on [real, fake(, alpha)], then one G update through ``gan``."""
    G, C, critic_model, gan = models["generator"], models["critic"], models["critic_model"], models["gan"]
    d_losses, estimates, penalties = [], [], []
    for real in _critic_batches(batch, n_critic):
        m = len(real)
        fake = G.predict_on_batch(_noise(G, m, rng))
        inputs = [real, fake]
        targets = {"real_score": np.full((m, 1), real_target, "float32"),
                   "fake_score": np.full((m, 1), -real_target, "float32")}
        if penalty:
            inputs.append(rng.uniform(size=(m, 1)).astype("float32"))
            targets["gradient_penalty"] = np.zeros((m, 1), "float32")  # ignored by its loss
        C.trainable = True
        logs = critic_model.train_on_batch(inputs, targets, return_dict=True)
        d_losses.append(logs["loss"])
        estimates.append(logs["real_score_mean_score"] - logs["fake_score_mean_score"])
        if penalty:
            penalties.append(logs["gradient_penalty_loss"])

    C.trainable = False
    m = len(batch) // n_critic
    g_loss = gan.train_on_batch(_noise(G, m, rng), -np.ones((m, 1), "float32"))
    out = {"d_loss": float(np.mean(d_losses)), "g_loss": float(g_loss), "w_estimate": float(np.mean(estimates))}
    if penalty:
        out["gradient_penalty"] = float(np.mean(penalties))  # unweighted: (‖∇C‖ − 1)², mean
    return out


def wgan_clip_step(models, batch, rng, n_critic=5):
    """WGAN with weight clipping (Arjovsky et al. 2017, Algorithm 1).

    The critic (weights kept in [−c, c] by its ``ClipConstraint``) learns ``n_critic`` times to score
    real samples high and fakes low (Wasserstein loss, targets −1 real / +1 fake); then G learns to
    raise the critic's score of its samples (target −1).
    """
    return _train(models, batch, rng, n_critic, real_target=-1.0, penalty=False)


def wgan_gp_step(models, batch, rng, n_critic=5):
    """WGAN-GP (Gulrajani et al. 2017, Algorithm 1): :func:`wgan_clip_step` without clipping and with
    λ (‖∇C(x̂)‖ − 1)² added to the critic's loss, at x̂ = α·real + (1 − α)·fake, α ~ U[0, 1] per sample.

    Also returns ``gradient_penalty``, the mean of (‖∇C(x̂)‖ − 1)² before weighting.
    """
    return _train(models, batch, rng, n_critic, real_target=-1.0, penalty=True)


def sn_hinge_step(models, batch, rng, n_critic=1):
    """Spectrally normalised critic with the hinge loss (Miyato et al. 2018).

    The critic minimises mean max(0, 1 − C(real)) + mean max(0, 1 + C(fake)) (Keras' hinge loss,
    targets +1 real / −1 fake); G maximises mean C(G(z)). One critic update per G update by default.
    """
    return _train(models, batch, rng, n_critic, real_target=1.0, penalty=False)


STEPS = {"clip": wgan_clip_step, "gp": wgan_gp_step, "sn": sn_hinge_step}


def wgan_optimizer(variant, lr=None, betas=None):
    """The optimizer of a variant's recipe (RMSprop for clipping, Adam otherwise), with its learning
    rate and betas unless ``lr`` / ``betas`` say otherwise (``lr`` may be a schedule)."""
    recipe = VARIANTS[variant]
    lr = recipe["lr"] if lr is None else lr
    if recipe["optimizer"] == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    beta_1, beta_2 = recipe["betas"] if betas is None else betas
    return keras.optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2)


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.layers.Wrapper):
            yield layer.layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def _lipschitz_method(critic):
    """"sn" if ``critic`` has spectrally normalised layers, "clip" if every kernel carries a
    ClipConstraint, else None."""
    layers = list(_all_layers(critic))
    if any(isinstance(layer, keras.layers.SpectralNormalization) for layer in layers):
        return "sn"
    kernels = [layer for layer in layers if hasattr(layer, "kernel_constraint")]
    if kernels and all(isinstance(layer.kernel_constraint, ClipConstraint) for layer in kernels):
        return "clip"
    return None


def wgan_models(generator, critic, variant, c_optimizer=None, g_optimizer=None, gradient_penalty=None):
    """``(models, step)`` for ``fit``: the variant's composite models, compiled, and its step function.

    ``critic`` must be built for the variant (``clip=c`` for "clip", ``spectral_norm=True`` for "sn",
    neither for "gp"); optimizers default to the variant's published recipe (:data:`VARIANTS`), and so
    does the step's ``n_critic`` (change it with ``functools.partial(step, n_critic=k)``).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown WGAN variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    recipe = VARIANTS[variant]
    penalty = recipe["gradient_penalty"] if gradient_penalty is None else gradient_penalty
    if variant == "gp" and not penalty:
        raise ValueError("the gp variant needs gradient_penalty > 0 (Gulrajani et al. use 10)")
    method = _lipschitz_method(critic)
    wanted = {"clip": "clip", "sn": "sn", "gp": None}[variant]
    if method != wanted:
        how = {"clip": "clip=0.01", "sn": "spectral_norm=True", None: "neither clip nor spectral_norm"}[wanted]
        raise ValueError(f"the {variant} variant needs a critic built with {how} (toy_critic / conv_critic)")
    critic_model, gan = build_wgan(generator, critic, c_optimizer or wgan_optimizer(variant),
                                   g_optimizer or wgan_optimizer(variant), loss=recipe["loss"],
                                   gradient_penalty=penalty)
    models = {"generator": generator, "critic": critic, "critic_model": critic_model, "gan": gan}
    return models, STEPS[variant]
