"""Lesson 05: the Pix2Pix step, its L1-only baseline, the translation metrics, the lesson and the CLI."""

import keras
import numpy as np
import pytest
from conftest import (TINY_TRANSLATOR as TINY, assert_each_call_moves_the_right_network, patch_lesson,
                      train_beside_its_average, train_then_translate)

from gan_lessons import UserError, set_seed
from gan_lessons.__main__ import main
from gan_lessons.data import load_emoji, load_lineart, pixelate, scale_images
from gan_lessons.lessons import Translation, load_experiment
from gan_lessons.lessons.pix2pix import task_pairs
from gan_lessons.metrics import colorfulness, gradient_magnitude, mean_absolute_error, translation_scores
from gan_lessons.models import build_pix2pix, patchgan_discriminator, unet_generator
from gan_lessons.steps import l1_step, pix2pix_step


@pytest.fixture(scope="module")
def pairs():
    train = load_emoji("train")
    return scale_images(train["google"][:64]), scale_images(train["twitter"][:64])


def tiny_pix2pix(seed=0, lr=2e-3):
    set_seed(seed)
    G = unet_generator(32, TINY["g_channels"], dropout=0.0)
    D = patchgan_discriminator(32, TINY["d_channels"])
    gan = build_pix2pix(G, D, keras.optimizers.Adam(lr, beta_1=0.5), keras.optimizers.Adam(lr, beta_1=0.5))
    return {"generator": G, "discriminator": D, "gan": gan}


def test_pix2pix_step_moves_d_in_its_call_and_g_in_the_composite_call(pairs):
    models = tiny_pix2pix()
    x, y = pairs
    rng = np.random.default_rng(0)
    assert_each_call_moves_the_right_network(models, lambda: pix2pix_step(models, (x[:8], y[:8]), rng))


def test_both_networks_learn_their_objectives(pairs):
    models = tiny_pix2pix()
    G, D = models["generator"], models["discriminator"]
    x, y = pairs[0][:16], pairs[1][:16]
    rng = np.random.default_rng(0)
    l1_before = np.abs(G.predict_on_batch(x) - y).mean()
    logs = [pix2pix_step(models, (x, y), rng) for _ in range(40)]
    assert np.abs(G.predict_on_batch(x) - y).mean() < 0.7 * l1_before  # G gets closer to the targets
    assert set(logs[0]) == {"d_loss", "g_gan", "g_l1"}
    assert logs[-1]["g_l1"] < logs[0]["g_l1"]
    # D has learnt to score real pairs above generated ones
    fakes = G.predict_on_batch(x)
    assert D.predict_on_batch([x, y]).mean() > D.predict_on_batch([x, fakes]).mean()


def test_l1_step_trains_the_generator_alone_towards_the_targets(pairs):
    set_seed(0)
    G = unet_generator(32, TINY["g_channels"], dropout=0.0)
    G.compile(keras.optimizers.Adam(2e-3), "mae")
    x, y = pairs[0][:16], pairs[1][:16]
    first = l1_step({"generator": G}, (x, y), None)["g_l1"]
    for _ in range(30):
        last = l1_step({"generator": G}, (x, y), None)["g_l1"]
    assert last < 0.7 * first


def test_translation_metrics():
    rng = np.random.default_rng(0)
    sharp = (rng.uniform(size=(4, 16, 16, 3)) > 0.5).astype("float32")
    blurred = (sharp + np.roll(sharp, 1, 1) + np.roll(sharp, 1, 2) + np.roll(sharp, (1, 1), (1, 2))) / 4
    assert (gradient_magnitude(blurred) < 0.7 * gradient_magnitude(sharp)).all()
    assert (mean_absolute_error(sharp, sharp) == 0).all()
    assert mean_absolute_error(np.zeros((2, 4, 4, 3)), np.ones((2, 4, 4, 3))).tolist() == [1.0, 1.0]
    grey = np.repeat(rng.uniform(size=(3, 8, 8, 1)), 3, axis=-1)
    assert np.allclose(colorfulness(grey), 0) and (colorfulness(sharp) > 0.1).all()
    scores = translation_scores(blurred, sharp, inputs=sharp)
    assert scores["mae_identity"] == 0 and scores["sharpness_ratio"] < 0.7
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        gradient_magnitude(sharp * 2 - 1)
    with pytest.raises(ValueError, match=r"RGB images shaped \(N, H, W, 3\)"):
        gradient_magnitude(sharp[..., :1])


def test_sharpness_and_colourfulness_of_hand_made_images():
    j = np.arange(16) / 15
    ramp = np.broadcast_to(j[None, None, :, None], (1, 16, 16, 3)).copy()  # dx = 1/15, dy = 0
    diagonal = np.broadcast_to(((j[:, None] + j[None, :]) / 2)[None, ..., None], (1, 16, 16, 3)).copy()  # both 1/30
    assert gradient_magnitude(ramp)[0] == pytest.approx(1 / 15)
    assert gradient_magnitude(diagonal)[0] == pytest.approx(np.sqrt(2) / 30)
    red, blue, half = (np.zeros((1, 4, 4, 3)) for _ in range(3))
    red[..., 0], blue[..., 2], half[:, :, :2, 0] = 1, 1, 1  # half: red on the left, black on the right
    assert colorfulness(red)[0] == pytest.approx(0.3 * np.sqrt(1.25))  # rg = 1, yb = 0.5, no spread
    assert colorfulness(blue)[0] == pytest.approx(0.3)  # rg = 0, yb = -1
    assert colorfulness(half)[0] == pytest.approx(1.3 * np.sqrt(0.3125))  # std = mean = (0.5, 0.25)


@pytest.fixture
def short_pix2pix(monkeypatch):
    quick = {"steps": 6, "snapshot_every": 3, "checkpoint_every": 3}
    for lesson in ("pix2pix", "pix2pix_l1"):
        patch_lesson(monkeypatch, lesson, quick, **TINY)


def test_lesson_trains_on_the_training_split_and_scores_the_test_split(tmp_path, short_pix2pix):
    experiment = Translation("pix2pix", quick=True, out_dir=tmp_path / "run")
    train = load_lineart("train")
    np.testing.assert_array_equal(experiment.data[0], scale_images(train["line"]))  # line art in
    np.testing.assert_array_equal(experiment.data[1], scale_images(train["color"]))  # its colours out
    history = experiment.train(progress=False)
    assert history.step == 6 and history.snapshot_steps == [0, 3, 6]
    assert history.snapshots[0].shape == (32, 64, 64, 3)
    scores = experiment.evaluate()
    test = load_lineart("test")
    assert scores["n_images"] == len(test["line"]) == 151 and 0 < scores["mae"] < 1
    assert scores["mae_identity"] == pytest.approx(0.0769, abs=1e-4)
    out = experiment.translate(test["line"][:5] / 255.0)
    assert out.shape == (5, 64, 64, 3) and out.min() >= 0 and out.max() <= 1
    with pytest.raises(UserError, match=r"must lie in \[0, 1\]"):
        experiment.translate(test["line"][:5].astype("float32"))  # 0..255, not divided
    with pytest.raises(UserError, match=r"must have shape \(N, 64, 64, 3\)"):
        experiment.translate(test["line"][:5, :32, :32] / 255.0)
    grid = experiment.sample_grid()
    assert grid.shape == (12 * 65 + 1, 8 * 65 + 1, 3)
    reloaded = load_experiment(tmp_path / "run")
    np.testing.assert_allclose(reloaded.translate(test["line"][:5] / 255.0), out, atol=1e-6)


def test_the_exercises_train_the_same_networks_on_their_own_pairs(tmp_path, short_pix2pix):
    lineart = Translation("pix2pix", quick=True, out_dir=tmp_path / "lineart")
    emoji = Translation("pix2pix", quick=True, out_dir=tmp_path / "emoji", task="emoji")
    superres = Translation("pix2pix", quick=True, out_dir=tmp_path / "superres", task="superres")
    assert emoji.data[0].shape[1:] == (32, 32, 3) and emoji.styles == {"a2b": "Twitter style", "b2a": "Google style"}
    np.testing.assert_array_equal(emoji.data[1], scale_images(load_emoji("train")["twitter"]))
    np.testing.assert_array_equal(superres.data[1], scale_images(load_lineart("train")["color"]))
    for run in (emoji, superres):  # the line-art lesson's networks: the same layers, weights of the same shapes
        for name in ("generator", "discriminator"):
            assert [w.shape for w in run.models[name].weights] == [w.shape for w in lineart.models[name].weights]
        assert run.train(progress=False).step == 6
    small, big = task_pairs("superres", "test")
    np.testing.assert_array_equal(big, load_lineart("test")["color"])
    blocks = small.reshape(-1, 16, 4, 16, 4, 3)  # the input keeps one colour per 4x4 block of the target
    assert (blocks == blocks[:, :, :1, :, :1]).all()
    # ... their mean, rounded: 2x2 blocks of a hand-made image (second channel: 255 minus the first)
    x = np.array([[0, 2, 10, 10], [4, 6, 10, 10], [20, 21, 255, 255], [22, 24, 255, 251]], dtype=np.uint8)
    means = np.array([[3, 3, 10, 10], [3, 3, 10, 10], [22, 22, 254, 254], [22, 22, 254, 254]], dtype=np.uint8)
    np.testing.assert_array_equal(pixelate(np.stack([x, 255 - x], axis=-1)[None], 2)[0],
                                  np.stack([means, 255 - means], axis=-1))
    with pytest.raises(UserError, match="task must be one of lineart, emoji, superres"):
        task_pairs("sketch", "train")
    with pytest.raises(UserError, match="divides the image size 64"):
        pixelate(big, 3)


@pytest.mark.parametrize("lesson", ["pix2pix", "pix2pix_l1"])
def test_a_moving_average_of_g_translates_and_never_feeds_back_into_training(tmp_path, short_pix2pix, lesson):
    plain = Translation(lesson, quick=True, out_dir=tmp_path / "plain", ema_decay=0.0)
    averaged = train_beside_its_average(
        plain, lambda: Translation(lesson, quick=True, out_dir=tmp_path / "ema", ema_decay=0.5))
    E = averaged.models["generator_ema"]
    line = load_lineart("test")["line"][:4] / 255.0
    out = averaged.translate(line)
    assert averaged.translator("a2b") is E and out.shape == line.shape and 0 <= out.min() and out.max() <= 1
    assert np.abs(out - plain.translate(line)).max() > 1e-3  # the copy, not G, translates
    np.testing.assert_allclose(load_experiment(tmp_path / "ema").translate(line), out, atol=1e-6)


def test_l1_only_baseline_has_no_discriminator(tmp_path, short_pix2pix):
    experiment = Translation("pix2pix_l1", quick=True, out_dir=tmp_path / "l1")
    assert set(experiment.models) == {"generator"}
    history = experiment.train(progress=False)
    assert set(history.logs) == {"step", "g_l1"}


def test_cli_train_then_translate(tmp_path, short_pix2pix, capsys):
    images = load_lineart("test")["line"][:7] / 255.0
    out = tmp_path / "run"
    train_then_translate(out, "pix2pix", images, capsys, ["mae_identity", "sharpness_ratio"])
    np.savez(tmp_path / "bad.npz", pictures=images)
    assert main(["translate", str(out), "--input", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "o.npz")]) == 2
    assert "must hold an array `images`" in capsys.readouterr().err
    assert main(["sample", str(out), "-n", "4", "--out", str(tmp_path / "s.npz")]) == 2
    assert "use `translate" in capsys.readouterr().err


@pytest.mark.parametrize("n", [-5, 0, 2.5, "10", True])
def test_evaluate_takes_a_positive_number_of_pairs(tmp_path, n):
    """Silent before: evaluate(n=-5) scored all but the last 5 test pairs (a[:n])."""
    experiment = Translation("pix2pix_l1", quick=True, out_dir=tmp_path / "l1")
    with pytest.raises(UserError, match=r"n must be a positive number of test pairs \(None: all of them\)"):
        experiment.evaluate(n=n)
