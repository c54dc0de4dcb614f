import keras
import numpy as np
import pytest

from gan_lessons import UserError, set_seed
from gan_lessons.models import build_pix2pix, patchgan_discriminator, receptive_field, unet_generator


def _layers_of(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_unet_maps_an_image_to_an_image_of_the_same_size(norm):
    G = unet_generator(32, norm=norm)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    y = G.predict_on_batch(x)
    assert G.input_shape == (None, 32, 32, 3) and y.shape == (2, 32, 32, 3)
    assert np.abs(y).max() <= 1.0
    norms = {"instance": keras.layers.GroupNormalization, "batch": keras.layers.BatchNormalization}
    if norm in norms:  # 3 inner encoder blocks + 4 decoder blocks
        assert len(_layers_of(G, norms[norm])) == 7
    assert G.get_layer("down4").output.shape[1:3] == (1, 1)  # five halvings: 32 -> 1


def test_unet_skips_join_each_decoder_block_with_the_encoder_block_of_its_resolution():
    G = unet_generator(32, channels=(8, 16, 32, 32, 32))
    skips = _layers_of(G, keras.layers.Concatenate)
    assert [s.name for s in skips] == ["skip0", "skip1", "skip2", "skip3"]
    for skip, size in zip(skips, (2, 4, 8, 16)):
        a, b = (t.shape[1:3] for t in skip.input)
        assert a == b == (size, size)
    # what each skip brings in is an encoder block's activation, not a decoder tensor
    for skip in skips:
        assert isinstance(skip.input[1]._keras_history.operation, keras.layers.LeakyReLU)
        assert isinstance(skip.input[0]._keras_history.operation, keras.layers.ReLU)


def test_without_skips_the_unet_is_a_plain_encoder_decoder():
    G = unet_generator(32, channels=(8, 16, 32, 32, 32), skips=False)
    assert not _layers_of(G, keras.layers.Concatenate)
    assert G.output_shape == (None, 32, 32, 3)
    with_skips = unet_generator(32, channels=(8, 16, 32, 32, 32))
    assert with_skips.count_params() > G.count_params()  # decoder layers read twice the channels


def test_unet_rejects_sizes_it_cannot_halve_down_to_the_bottleneck():
    with pytest.raises(UserError, match=r"size \(48\) must be a multiple of 2\*\*len\(channels\) = 32"):
        unet_generator(48)
    with pytest.raises(UserError, match="norm must be one of instance, batch, none"):
        unet_generator(32, norm="layer")
    with pytest.raises(UserError, match=r"dropout must be in \[0, 1\)"):
        unet_generator(32, dropout=1.0)


def test_conditional_patchgan_reads_input_and_output_and_scores_each_patch():
    D = patchgan_discriminator(32)
    assert [tuple(t.shape) for t in D.inputs] == [(None, 32, 32, 3), (None, 32, 32, 3)]
    assert D.output_shape == (None, 16, 16, 1)
    assert receptive_field(D) == 16
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    p = D.predict_on_batch([x, x])
    assert p.shape == (2, 16, 16, 1) and 0 < p.min() and p.max() < 1


def test_the_condition_matters_to_the_conditional_patchgan():
    set_seed(0)
    D = patchgan_discriminator(32)
    rng = np.random.default_rng(1)
    x, y = (rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32") for _ in range(2))
    assert not np.allclose(D.predict_on_batch([x, y]), D.predict_on_batch([-x, y]))


def test_unconditional_least_squares_patchgan_for_cyclegan():
    D = patchgan_discriminator(32, channels=(32, 64, 128), conditional=False, activation=None)
    assert D.input_shape == (None, 32, 32, 3) and D.output_shape == (None, 8, 8, 1)
    assert receptive_field(D) == 34
    assert D.layers[-1].activation.__name__ == "linear"


def test_composite_has_two_outputs_with_losses_weighted_one_to_lambda():
    G, D = unet_generator(32, channels=(8, 8, 8, 8, 8)), patchgan_discriminator(32, channels=(8, 8))
    composite = build_pix2pix(G, D, keras.optimizers.Adam(), keras.optimizers.Adam(), l1_weight=100)
    assert [tuple(o.shape) for o in composite.outputs] == [(None, 16, 16, 1), (None, 32, 32, 3)]
    rng = np.random.default_rng(0)
    x, y = (rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32") for _ in range(2))
    logs = composite.test_on_batch(x, [np.ones((4, 16, 16, 1), "float32"), y], return_dict=True)
    adversarial, l1 = logs["discriminator_loss"], logs["generator_loss"]
    assert l1 == pytest.approx(np.abs(G.predict_on_batch(x) - y).mean(), rel=1e-4)
    assert logs["loss"] == pytest.approx(adversarial + 100 * l1, rel=1e-4)
    with pytest.raises(UserError, match="l1_weight must be a non-negative number"):
        build_pix2pix(G, D, keras.optimizers.Adam(), keras.optimizers.Adam(), l1_weight=-1)
