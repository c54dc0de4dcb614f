import os

os.environ.pop("GAN_LESSONS_QUICK", None)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gan_lessons import set_seed  # noqa: E402
from gan_lessons.data import load_mnist, scale_images  # noqa: E402
from gan_lessons.models import build_gan, mlp_discriminator, mlp_generator  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    return load_mnist()


@pytest.fixture(scope="session")
def real_images(mnist):
    """2,048 training digits scaled to [-1, 1], shape (N, 28, 28, 1)."""
    (x_train, _), _ = mnist
    return scale_images(x_train[:2048])


def make_tiny_gan(seed=0, lr=1e-3, dropout=0.2):
    set_seed(seed)
    G = mlp_generator(8, hidden=(32,))
    D = mlp_discriminator(hidden=(32,), dropout=dropout)
    gan = build_gan(G, D, keras.optimizers.Adam(lr, beta_1=0.5), keras.optimizers.Adam(lr, beta_1=0.5))
    return {"generator": G, "discriminator": D, "gan": gan}


@pytest.fixture
def tiny_gan():
    return make_tiny_gan()


def weights_of(model):
    return [np.array(w) for w in model.get_weights()]


def changed(before, after):
    return any(not np.array_equal(a, b) for a, b in zip(before, after))
