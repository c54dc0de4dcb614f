"""Lesson 06: unpaired domains, the image pool, the CycleGAN builders and step, the lesson and the CLI."""

import keras
import numpy as np
import pytest
from conftest import TINY_TRANSLATOR as TINY, assert_calls_move, changed, patch_lesson, train_then_translate, weights_of

from gan_lessons import UserError, set_seed
from gan_lessons.__main__ import main
from gan_lessons.data import load_lineart, scale_images, unpaired
from gan_lessons.lessons import CycleGAN, Translation, load_experiment
from gan_lessons.lessons.pix2pix import task_pairs
from gan_lessons.models import ImagePool, build_cyclegan, patchgan_discriminator, unet_generator
from gan_lessons.steps import cyclegan_step


@pytest.fixture(scope="module")
def domains():
    d = unpaired(*task_pairs("emoji", "train"))  # 32 px: the step's tests need no more
    return scale_images(d["a"][:64]), scale_images(d["b"][:64])


def test_lesson_domains_are_two_halves_of_the_training_pairs_that_share_no_emoji(tmp_path, monkeypatch):
    patch_lesson(monkeypatch, "cyclegan", **TINY)
    experiment = CycleGAN("cyclegan", quick=True, out_dir=tmp_path / "run")
    train = load_lineart("train")
    d = unpaired(train["line"], train["color"], seed=experiment.config["split_seed"])
    codes_a, codes_b = set(train["hexcodes"][d["index_a"]]), set(train["hexcodes"][d["index_b"]])
    assert len(codes_a) == len(codes_b) == len(train["hexcodes"]) // 2 and not codes_a & codes_b
    np.testing.assert_array_equal(experiment.data[0], scale_images(train["line"][d["index_a"]]))
    np.testing.assert_array_equal(experiment.data[1], scale_images(train["color"][d["index_b"]]))
    assert unpaired(train["line"], train["color"], seed=1)["index_a"].tolist() != d["index_a"].tolist()
    with pytest.raises(UserError, match="pairs of the same length"):
        unpaired(train["line"], train["color"][:-1])


def _images(n, start, shape=(4, 4, 3)):
    """Images whose every pixel is their own number: start, start + 1, ..."""
    return np.arange(start, start + n, dtype="float32")[:, None, None, None] * np.ones(shape, "float32")


def test_image_pool_fills_up_then_swaps_about_half_of_the_new_images_for_old_ones():
    pool = ImagePool(size=10, image_shape=(4, 4, 3))
    rng = np.random.default_rng(0)
    first = _images(10, 0)
    np.testing.assert_array_equal(pool.query(first, rng), first)  # filling up: passed on as they are
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pool.images), first)
    seen, swapped = set(range(10)), 0
    for k in range(20):
        new = _images(10, 100 + 10 * k)
        before = keras.ops.convert_to_numpy(pool.images)[:, 0, 0, 0].astype(int).tolist()
        out = pool.query(new, rng)
        ids = out[:, 0, 0, 0].astype(int).tolist()
        for image_id, new_id in zip(ids, range(100 + 10 * k, 110 + 10 * k)):
            # the new image, or one stored before (earlier in this batch, too)
            assert image_id == new_id or image_id in seen | set(range(100 + 10 * k, new_id))
            swapped += image_id != new_id
        stored = keras.ops.convert_to_numpy(pool.images)[:, 0, 0, 0].astype(int).tolist()
        seen = set(stored)
        assert len(seen) == 10
        # each new image is passed on or kept in place of the one passed on: nothing lost, nothing made up
        assert sorted(before + list(range(100 + 10 * k, 110 + 10 * k))) == sorted(stored + ids)
    assert 0.35 < swapped / 200 < 0.65
    assert int(keras.ops.convert_to_numpy(pool.count)) == 10


def test_image_pool_of_size_zero_is_off_and_bad_input_is_refused():
    images = _images(3, 0)
    np.testing.assert_array_equal(ImagePool(0, (4, 4, 3)).query(images, np.random.default_rng(0)), images)
    with pytest.raises(UserError, match="non-negative int"):
        ImagePool(-1)
    with pytest.raises(UserError, match=r"holds images of shape \(4, 4, 3\)"):
        ImagePool(5, (4, 4, 3)).query(np.zeros((2, 8, 8, 3)), np.random.default_rng(0))


def test_image_pool_is_saved_and_loaded_with_the_weights(tmp_path):
    pool = ImagePool(5, (4, 4, 3), name="pool_a")
    pool.query(_images(3, 7), np.random.default_rng(0))
    pool.save_weights(tmp_path / "pool.weights.h5")
    other = ImagePool(5, (4, 4, 3), name="pool_a")
    other.load_weights(tmp_path / "pool.weights.h5")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(other.images), keras.ops.convert_to_numpy(pool.images))
    assert int(keras.ops.convert_to_numpy(other.count)) == 3


def tiny_cyclegan(seed=0, lr=2e-3, pool_size=50):
    set_seed(seed)
    models = {name: unet_generator(32, TINY["g_channels"], dropout=0.0, name=name)
              for name in ("generator", "generator_ba")}
    models.update({name: patchgan_discriminator(32, TINY["d_channels"], conditional=False, activation=None, name=name)
                   for name in ("discriminator_a", "discriminator_b")})
    models.update({name: ImagePool(pool_size, (32, 32, 3), name=name) for name in ("pool_a", "pool_b")})
    models["gan"] = build_cyclegan(models["generator"], models["generator_ba"], models["discriminator_a"],
                                   models["discriminator_b"], *(keras.optimizers.Adam(lr, beta_1=0.5) for _ in range(3)))
    return models


def test_composite_has_the_six_named_outputs_with_the_papers_weights():
    models = tiny_cyclegan()
    gan = models["gan"]
    assert gan.output_names == ["adv_b", "adv_a", "cycle_a", "cycle_b", "identity_a", "identity_b"]
    assert [tuple(t.shape) for t in gan.inputs] == [(None, 32, 32, 3)] * 2
    assert [tuple(t.shape[1:]) for t in gan.outputs] == [(16, 16, 1)] * 2 + [(32, 32, 3)] * 4
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32") for _ in range(2))
    logs = gan.test_on_batch([a, b], [np.ones((2, 16, 16, 1), "float32")] * 2 + [a, b, a, b], return_dict=True)
    weights = {"adv_b": 1.0, "adv_a": 1.0, "cycle_a": 10.0, "cycle_b": 10.0, "identity_a": 5.0, "identity_b": 5.0}
    assert all(logs[f"{name}_loss"] > 0 for name in weights)
    assert logs["loss"] == pytest.approx(sum(w * logs[f"{name}_loss"] for name, w in weights.items()), rel=1e-4)
    # least squares: D's patch scores are not squashed into (0, 1)
    assert models["discriminator_a"].get_layer("patch_scores").activation is keras.activations.linear
    with pytest.raises(UserError, match="cycle_weight must be a non-negative number"):
        build_cyclegan(*(models[k] for k in ("generator", "generator_ba", "discriminator_a", "discriminator_b")),
                       None, None, None, cycle_weight=-1)


def test_without_identity_weight_the_composite_leaves_the_identity_outputs_out(domains):
    models = tiny_cyclegan()
    nets = [models[k] for k in ("generator", "generator_ba", "discriminator_a", "discriminator_b")]
    models["gan"] = build_cyclegan(*nets, *(keras.optimizers.Adam(2e-3, beta_1=0.5) for _ in range(3)),
                                   identity_weight=0.0)
    assert models["gan"].output_names == ["adv_b", "adv_a", "cycle_a", "cycle_b"]
    a, b = domains
    rng = np.random.default_rng(0)
    logs = [cyclegan_step(models, (a[:8], b[:8]), rng) for _ in range(15)]
    assert set(logs[0]) == {"d_a", "d_b", "g_gan", "cycle"}
    assert logs[-1]["cycle"] < 0.7 * logs[0]["cycle"]  # the generators still learn to close the cycle


def test_each_call_of_the_step_moves_only_its_own_networks(domains):
    models = tiny_cyclegan()
    a, b = domains
    rng = np.random.default_rng(0)
    both_generators = {"generator", "generator_ba"}
    assert_calls_move(models, lambda: cyclegan_step(models, (a[:8], b[:8]), rng),
                      {"discriminator_a": {"discriminator_a"}, "discriminator_b": {"discriminator_b"},
                       "gan": both_generators})


def test_all_four_networks_learn_their_objectives(domains):
    models = tiny_cyclegan()
    g_ab, g_ba, d_a, d_b = (models[k] for k in ("generator", "generator_ba", "discriminator_a", "discriminator_b"))
    a, b = domains[0][:16], domains[1][:16]
    rng = np.random.default_rng(0)

    def cycle_error():
        return (np.abs(g_ba.predict_on_batch(g_ab.predict_on_batch(a)) - a).mean()
                + np.abs(g_ab.predict_on_batch(g_ba.predict_on_batch(b)) - b).mean())

    before = cycle_error()
    logs = [cyclegan_step(models, (a, b), rng) for _ in range(40)]
    assert set(logs[0]) == {"d_a", "d_b", "g_gan", "cycle", "identity"}
    assert cycle_error() < 0.6 * before  # both generators close the cycle
    assert logs[-1]["identity"] < logs[0]["identity"]
    # each D scores its real domain above the current translations into it
    assert d_a.predict_on_batch(a).mean() > d_a.predict_on_batch(g_ba.predict_on_batch(b)).mean()
    assert d_b.predict_on_batch(b).mean() > d_b.predict_on_batch(g_ab.predict_on_batch(a)).mean()
    # the pools filled up with the generators' outputs
    assert int(keras.ops.convert_to_numpy(models["pool_a"].count)) == 50


@pytest.fixture
def short_cyclegan(monkeypatch):
    quick = {"steps": 6, "snapshot_every": 3, "checkpoint_every": 3, "batch_size": 4, "pool_size": 10}
    patch_lesson(monkeypatch, "cyclegan", quick, **TINY)


def test_lesson_trains_without_pairs_and_scores_both_directions_on_the_test_pairs(tmp_path, short_cyclegan):
    experiment = CycleGAN("cyclegan", quick=True, out_dir=tmp_path / "run")
    assert set(experiment.models) == {"generator", "generator_ba", "discriminator_a", "discriminator_b",
                                      "pool_a", "pool_b", "gan", "generator_ema", "generator_ba_ema"}
    history = experiment.train(progress=False)
    assert history.step == 6 and history.snapshot_steps == [0, 3, 6]
    scores = experiment.evaluate()
    assert scores["n_images"] == 151 and scores["mae_identity"] == pytest.approx(0.0769, abs=1e-4)
    for key in ("mae", "b2a_mae", "cycle_mae_a", "cycle_mae_b"):
        assert 0 < scores[key] < 1
    line = load_lineart("test")["line"][:5] / 255.0
    there = experiment.translate(line)
    back = experiment.translate(there, "b2a")
    assert there.shape == back.shape == (5, 64, 64, 3) and back.min() >= 0 and back.max() <= 1
    with pytest.raises(UserError, match="direction must be a2b or b2a"):
        experiment.translate(line, "ab")
    assert experiment.sample_grid().shape == (16 * 65 + 1, 8 * 65 + 1, 3)  # 4 blocks of 4 rows
    reloaded = load_experiment(tmp_path / "run")
    assert isinstance(reloaded, CycleGAN)
    np.testing.assert_allclose(reloaded.translate(there, "b2a"), back, atol=1e-6)


def test_with_averages_both_generators_translate_from_their_moving_average(tmp_path, short_cyclegan):
    plain = CycleGAN("cyclegan", quick=True, out_dir=tmp_path / "plain", ema_decay=0.0)
    averaged = CycleGAN("cyclegan", quick=True, out_dir=tmp_path / "ema", ema_decay=0.5)
    assert set(averaged.models) == set(plain.models) | {"generator_ema", "generator_ba_ema"}
    plain.train(progress=False)
    averaged.train(progress=False)
    line = load_lineart("test")["line"][:4] / 255.0
    for direction, name in (("a2b", "generator"), ("b2a", "generator_ba")):
        for a, b in zip(weights_of(plain.models[name]), weights_of(averaged.models[name])):
            np.testing.assert_array_equal(a, b)  # the averages never feed back
        copy = averaged.models[f"{name}_ema"]
        assert changed(weights_of(averaged.models[name]), weights_of(copy))
        out = averaged.translate(line, direction)
        assert averaged.translator(direction) is copy and out.shape == line.shape and 0 <= out.min() and out.max() <= 1
        assert np.abs(out - plain.translate(line, direction)).max() > 1e-3  # the copy, not G, translates


def test_no_two_variables_of_the_generators_composite_share_a_path(tmp_path, short_cyclegan):
    """Keras' torch backend registers a model's variables with torch by path. When G_AB and G_BA both had
    "down0/kernel", torch kept one of them, never reset the other's gradient, and G_AB's gradients piled up
    from step to step (and a resumed run, starting from clean gradients, drifted from the uninterrupted one)."""
    composite = CycleGAN("cyclegan", quick=True, out_dir=tmp_path / "run").models["gan"]
    paths = [v.path for v in composite.variables]
    assert len(set(paths)) == len(paths), sorted(p for p in paths if paths.count(p) > 1)
    if keras.backend.backend() == "torch":  # every variable reaches torch, so zero_grad resets them all
        assert len(list(composite.parameters())) == len(paths)


def test_an_interrupted_run_resumes_exactly_with_its_image_pools(tmp_path, short_cyclegan):
    straight = CycleGAN("cyclegan", quick=True, out_dir=tmp_path / "a")
    h_straight = straight.train(progress=False)
    interrupted = CycleGAN("cyclegan", quick=True, out_dir=tmp_path / "b")
    calls, step = [], interrupted.step

    def step_then_crash(*args):
        if len(calls) == 3:
            raise KeyboardInterrupt  # stopped after the checkpoint of step 3, with full pools
        calls.append(1)
        return step(*args)

    interrupted.step = step_then_crash
    with pytest.raises(KeyboardInterrupt):
        interrupted.train(progress=False)
    resumed = CycleGAN("cyclegan", quick=True, out_dir=tmp_path / "b")
    h_resumed = resumed.train(progress=False)
    assert h_resumed.logs == h_straight.logs
    for name in ("pool_a", "pool_b", "generator", "generator_ba", "discriminator_a", "discriminator_b",
                 "generator_ema", "generator_ba_ema"):
        for w1, w2 in zip(weights_of(straight.models[name]), weights_of(resumed.models[name])):
            np.testing.assert_array_equal(w1, w2, err_msg=name)


def test_pix2pix_translates_one_way_only(tmp_path, monkeypatch):
    patch_lesson(monkeypatch, "pix2pix", **TINY)
    experiment = Translation("pix2pix", quick=True, out_dir=tmp_path / "p")
    with pytest.raises(UserError, match="translates one way only"):
        experiment.translate(load_lineart("test")["line"][:2] / 255.0, "b2a")


def test_cli_train_then_translate_both_ways(tmp_path, short_cyclegan, capsys):
    colour = load_lineart("test")["color"][:7] / 255.0
    printed, command = train_then_translate(tmp_path / "run", "cyclegan", colour, capsys, ["cycle_mae_a", "b2a_mae"],
                                            "--direction", "b2a")
    assert "(line art)" in printed
    with pytest.raises(SystemExit) as info:
        main([*command, "--direction", "sideways"])
    assert info.value.code == 2


def test_evaluate_takes_a_positive_number_of_pairs(tmp_path):
    """Silent before: evaluate(n=-5) scored all but the last 5 test pairs (a[:n]); lesson 05's test, for CycleGAN."""
    experiment = CycleGAN("cyclegan", quick=True, out_dir=tmp_path / "run")
    with pytest.raises(UserError, match=r"n must be a positive number of test pairs \(None: all of them\)"):
        experiment.evaluate(n=-5)
    assert experiment.evaluate(n=3)["n_images"] == 3
