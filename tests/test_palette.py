import numpy as np
import pytest

from gan_lessons.metrics import hue_histogram, palette_distance, translation_scores


def solid(rgb, n=2, size=8):
    return np.broadcast_to(np.array(rgb, dtype="float32"), (n, size, size, 3)).copy()


def test_identical_sets_have_distance_zero_and_disjoint_hues_distance_one():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (6, 16, 16, 3))
    assert palette_distance(images, images) == 0.0
    assert palette_distance(images, images[::-1]) == pytest.approx(0.0)  # order does not matter
    assert palette_distance(solid((1, 0, 0)), solid((0, 0, 1))) == pytest.approx(1.0)


def test_the_distance_is_the_share_of_colour_that_has_to_move_between_hues():
    red, blue = solid((1, 0, 0), n=1), solid((0, 0, 1), n=1)
    half_and_half = np.concatenate([red, blue])
    assert palette_distance(half_and_half, np.concatenate([red, red])) == pytest.approx(0.5)
    # a red drawn on white weighs as much as the red pixels, the white weighs nothing
    on_white = np.ones((1, 8, 8, 3), dtype="float32")
    on_white[:, :2] = (1, 0, 0)
    assert palette_distance(on_white, red) == pytest.approx(0.0)
    assert palette_distance(np.concatenate([on_white, solid((0, 0, 1), n=1, size=8)]), red) == pytest.approx(0.8)


def test_weights_are_saturation_times_value_so_dark_and_pale_pixels_count_less():
    images = np.zeros((1, 1, 2, 3), dtype="float32")
    images[0, 0, 0] = (1.0, 0.0, 0.0)  # full red: weight 1
    images[0, 0, 1] = (0.0, 0.0, 0.25)  # dark blue: weight 0.25
    histogram = hue_histogram(images, bins=6)
    np.testing.assert_allclose(histogram, [0.8, 0, 0, 0, 0.2, 0])
    assert palette_distance(images, solid((1, 0, 0), n=1), bins=6) == pytest.approx(0.2)


def test_similar_hues_are_closer_than_distant_ones_only_through_the_bins():
    red, orange, green = solid((1, 0, 0)), solid((1, 0.5, 0)), solid((0, 1, 0))
    assert palette_distance(red, orange, bins=3) == 0.0  # same 120-degree bin
    assert palette_distance(red, orange, bins=24) == 1.0
    assert palette_distance(red, green, bins=3) == 1.0


def test_greyscale_sets_carry_no_palette():
    grey = np.stack([np.full((8, 8, 3), v, dtype="float32") for v in (0.0, 0.3, 0.7, 1.0)])
    assert not hue_histogram(grey).any()
    assert palette_distance(grey, grey[::-1]) == 0.0  # both colourless: nothing differs
    assert palette_distance(grey, solid((0, 1, 0))) == 1.0  # all the targets' colour is missing
    assert palette_distance(solid((0, 1, 0)), grey) == 1.0
    # grey pixels beside coloured ones change nothing
    mixed = np.concatenate([grey, solid((0, 1, 0))])
    assert palette_distance(mixed, solid((0, 1, 0))) == pytest.approx(0.0)


def test_translation_scores_report_the_palette_distance():
    rng = np.random.default_rng(1)
    targets = rng.uniform(0, 1, (4, 8, 8, 3))
    scores = translation_scores(targets, targets)
    assert scores["palette_distance"] == 0.0
    grey = np.repeat(targets.mean(-1, keepdims=True), 3, axis=-1)
    assert translation_scores(grey, targets, inputs=grey)["palette_distance"] == 1.0


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        palette_distance(solid((2, 0, 0)), solid((1, 0, 0)))
    with pytest.raises(ValueError, match="RGB"):
        palette_distance(np.zeros((2, 8, 8, 1)), np.zeros((2, 8, 8, 1)))
    with pytest.raises(ValueError, match="bins must be a positive int"):
        palette_distance(solid((1, 0, 0)), solid((1, 0, 0)), bins=0)


def test_blank_targets_are_refused():
    """Before: targets without an edge (all white) gave ZeroDivisionError in the sharpness ratio."""
    outputs = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3))
    with pytest.raises(ValueError, match=r"the targets have no edge at all .*pass the target images, e\.g\. y_test"):
        translation_scores(outputs, np.ones((2, 8, 8, 3)))
    assert translation_scores(np.ones((2, 8, 8, 3)), outputs)["sharpness_ratio"] == 0.0  # blank outputs: a score
