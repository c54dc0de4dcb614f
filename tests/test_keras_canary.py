"""Canary for the one Keras behaviour every step function of the course relies on: which weights
``train_on_batch`` moves when ``trainable`` is switched after compiling.

Keras 3.15 reads a model's trainable weights when its train function is first traced, on all three
backends: so the step functions set ``D.trainable = True`` right before ``D.train_on_batch`` and
``False`` right before the composite's call, and the classic "freeze D once, then compile" recipe leaves
D untrained. Upstream Keras is changing this per backend (keras#22104 for JAX, keras#22787 for
TensorFlow). If a test here fails after a Keras upgrade, the message says what to do.
"""

import keras
import numpy as np
from conftest import assert_each_call_moves_the_right_network, changed, make_tiny_gan, weights_of

from gan_lessons.models import mlp_discriminator, mlp_generator
from gan_lessons.steps import gan_step

WHAT_TO_DO = (
    "Keras {version} on the {backend} backend changed which weights train_on_batch moves after "
    "`trainable` is switched (keras#22104, keras#22787). Every step function in gan_lessons/steps.py "
    "relies on it: re-check the trainable toggle there and in models/gan.py (build_gan), lesson 01's "
    "explanation of the classic recipe, and tests/test_training.py; until then keep the pin "
    "`keras>=3.15,<3.16` in requirements.txt and pyproject.toml."
)


def _message():
    return WHAT_TO_DO.format(version=keras.__version__, backend=keras.backend.backend())


def test_the_toggle_moves_d_in_its_step_and_only_g_in_the_composite(real_images):
    models = make_tiny_gan()
    rng = np.random.default_rng(0)
    try:
        assert_each_call_moves_the_right_network(models, lambda: gan_step(models, real_images[:32], rng))
    except AssertionError as err:
        raise AssertionError(_message()) from err


def test_the_classic_recipe_still_leaves_d_untrained(real_images):
    """Lesson 01 shows this trap; if D now learns, the lesson (and maybe the toggle) must change."""
    G, D = mlp_generator(8, hidden=(16,)), mlp_discriminator(hidden=(16,))
    D.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    D.trainable = False
    gan = keras.Sequential([G, D])
    gan.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
    before = weights_of(D)
    D.train_on_batch(real_images[:32], np.ones((32, 1)))
    assert not changed(before, weights_of(D)), _message()
