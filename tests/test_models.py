import keras
import numpy as np
import pytest

from gan_lessons import UserError
from gan_lessons.models import build_gan, mlp_discriminator, mlp_generator


def test_generator_makes_images_in_tanh_range():
    G = mlp_generator(16, hidden=(32, 64))
    z = np.random.default_rng(0).standard_normal((5, 16)).astype("float32") * 10
    x = keras.ops.convert_to_numpy(G(z, training=False))
    assert x.shape == (5, 28, 28, 1)
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert x.std() > 0  # not a constant image


def test_discriminator_outputs_probabilities():
    D = mlp_discriminator(hidden=(32,))
    p = keras.ops.convert_to_numpy(D(np.random.default_rng(0).uniform(-1, 1, (7, 28, 28, 1)).astype("float32")))
    assert p.shape == (7, 1)
    assert ((p > 0) & (p < 1)).all()


def test_other_image_shapes_are_supported():
    G = mlp_generator(4, image_shape=(8, 8, 3), hidden=(16,))
    D = mlp_discriminator(image_shape=(8, 8, 3), hidden=(16,))
    assert G.output.shape[1:] == (8, 8, 3) and D.input.shape[1:] == (8, 8, 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"latent_dim": 0}, "latent_dim"),
    ({"latent_dim": 2.5}, "latent_dim"),
    ({"image_shape": (28, 28)}, "image_shape must have 3 entries"),
    ({"hidden": ()}, "hidden must be a non-empty tuple"),
    ({"hidden": (64, -1)}, "hidden"),
])
def test_generator_rejects_bad_settings(kwargs, message):
    with pytest.raises(UserError, match=message):
        mlp_generator(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"image_shape": (784,)}, "image_shape must have 3 entries"),
    ({"dropout": 1.0}, "dropout"),
    ({"hidden": "512"}, "hidden"),
])
def test_discriminator_rejects_bad_settings(kwargs, message):
    with pytest.raises(UserError, match=message):
        mlp_discriminator(**kwargs)


def test_build_gan_refuses_mismatched_networks():
    G = mlp_generator(8, image_shape=(28, 28, 1), hidden=(8,))
    D = mlp_discriminator(image_shape=(32, 32, 1), hidden=(8,))
    with pytest.raises(UserError, match=r"generator makes samples of shape \(28, 28, 1\).*reads \(32, 32, 1\)"):
        build_gan(G, D, keras.optimizers.Adam(), keras.optimizers.Adam())


def test_composite_model_is_generator_then_discriminator(tiny_gan):
    G, D, gan = tiny_gan["generator"], tiny_gan["discriminator"], tiny_gan["gan"]
    z = np.random.default_rng(1).standard_normal((3, 8)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gan(z)), keras.ops.convert_to_numpy(D(G(z))), rtol=1e-5)


def test_build_gan_accepts_sequential_models():
    G = keras.Sequential([keras.Input((4,)), keras.layers.Dense(28 * 28, activation="tanh"),
                          keras.layers.Reshape((28, 28, 1))])
    D = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
    gan = build_gan(G, D, keras.optimizers.Adam(), keras.optimizers.Adam())
    assert gan.outputs[0].shape[1:] == (1,)
