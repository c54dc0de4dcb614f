"""InfoGAN (Chen et al. 2016) on the DCGAN networks and recipe of lessons 02-04 (z of 100, D's two convolutions
without dropout, 6,000 steps): a remedy for mode collapse without labels or clusters (lesson 04's exercise). G
takes z and a categorical code of ``codes`` values, drawn uniformly; a small head Q on D's features learns to read
the code back from G's image, and G learns to keep it readable.
Nothing says what a code should mean: on MNIST most codes end up drawing one digit each. From outside it is
an unconditional GAN (``sample`` writes no codes).

One simplification of the paper, for ``train_on_batch``: Q's head learns in G's step, on D's features as D's
own step left them (in Chen et al. the shared layers learn from Q's loss too; that variant scored lower in our
one run with 10 codes: docs/results.md, session 23)."""

import functools

import numpy as np

from .. import UserError
from ..data import load_mnist, scale_images
from ..models import build_infogan, cgan_generator, gan_loss, infogan_discriminator
from ..steps import infogan_step, with_ema
from .base import Built, Lesson, adam
from .dcgan import DCGAN, DCGAN_QUICK, RECIPE, generator_and_copy, network_kwargs
from .runs import ClusterLabels, ImageGAN, describe_value

SETTINGS = {
    **DCGAN,
    **RECIPE,
    # Values of the categorical code. Chen et al. use 10 on MNIST; 50, as the self-conditioned DCGAN's clusters,
    # scored IS 7.98 against 7.15 with 10 in our runs (docs/results.md, session 23).
    "codes": 50,
    "info_weight": 1.0,  # λ: weight of Q's cross-entropy in G's loss (Chen et al.: 1 for a discrete code)
    "q_hidden": 64,  # units of Q's hidden layer on D's features
}


class LatentCodes(ClusterLabels):
    """Label policy of an InfoGAN: G takes [z, code], codes drawn uniformly and private (``sample`` writes
    none). Each snapshot asks for every code (the first 10 if there are more) in a row of 10 samples."""

    grid_columns, what = 10, " (latent codes)"

    def __init__(self, n_codes):
        super().__init__(np.full(n_codes, 1.0 / n_codes))
        self.n_snapshot = 10 * min(n_codes, 10)

    def snapshot_labels(self, seed):
        return np.repeat(np.arange(self.n_snapshot // 10), 10)  # row k asks for code k


def build(config):
    c = config
    k = c["codes"]
    if k < 2:
        raise UserError(f"codes must be at least 2, got {k}; without a code it is lesson 02's DCGAN (`dcgan`)")
    (x_train, _), _ = load_mnist()
    g_kwargs, d_kwargs = network_kwargs(c)
    d_loss, g_loss, sigmoid = gan_loss(c["loss"])
    G, G_ema = generator_and_copy(functools.partial(cgan_generator, c["latent_dim"], n_classes=k,
                                                    label_code="onehot", **g_kwargs))
    D, DQ = infogan_discriminator(k, q_hidden=c["q_hidden"], logits=not sigmoid, **d_kwargs)
    gan = build_infogan(G, D, DQ, adam(c, "d"), adam(c, "g"), loss=d_loss, g_loss=g_loss, info_weight=c["info_weight"])
    step = functools.partial(infogan_step, n_codes=k, real_label=c["real_label"])
    models = {"generator": G, "discriminator": D, "gan": gan, "generator_ema": G_ema}
    return Built(models, with_ema(step, c["ema_decay"]), scale_images(x_train), labels=LatentCodes(k))


LESSONS = (Lesson("dcgan_infogan", ImageGAN, SETTINGS, DCGAN_QUICK, build,
                  "04: InfoGAN on lesson 02's networks: a latent code G must keep readable, no labels"),)


def digits_by_code(run, n=1000, seed=0):
    """(codes, 10): the share of each digit, as the course classifier reads it, among ``n`` samples of each
    code of a trained InfoGAN ``run`` (the same ``n`` latent vectors for every code). A code that has come to
    mean one digit has a row with one large entry."""
    from ..metrics import class_fractions, classify

    labels = getattr(run, "labels", None)  # (None: not a run, e.g. the lesson's name)
    if not getattr(labels, "takes_labels", False):
        got = describe_value(run) if labels is None else f"a run of {run.lesson}, which has none"
        raise UserError(f"digits_by_code reads the latent codes of an InfoGAN run: pass make_experiment("
                        f"\"dcgan_infogan\") once trained, got {got}")
    z = np.random.default_rng(seed).standard_normal((n, run.generator.inputs[0].shape[-1]))
    return np.stack([class_fractions(classify(run.generate(z=z, labels=np.full(n, code)))[1])
                     for code in range(run.labels.n_classes)])
