"""The lesson registry, settings, output folders and the command line's `--set` and errors."""

import dataclasses
import json
import re
import sys

import numpy as np
import pytest
from conftest import another_process_training, train_beside_its_average

from gan_lessons import UserError, set_seed
from gan_lessons.__main__ import main
from gan_lessons.lessons import (LESSONS, ImageGAN, ModeCollapseSweep, augmentation_experiment, lesson_config,
                                 load_experiment)
from gan_lessons.lessons.base import Built, Experiment, adam, read_description
from gan_lessons.steps import with_jitter
from gan_lessons.training import read_checkpoint

TINY_CGAN = dict(g_channels=[8, 4], d_channels=[4, 8], latent_dim=8, g_label_dim=4, batch_size=16, steps=2,
                 snapshot_every=2, checkpoint_every=2)


def test_every_lesson_has_a_runner_and_quick_mode_changes_only_known_settings():
    assert list(LESSONS) == ["mlp_gan", "dcgan", "cgan", "mode_collapse", "dcgan_selfcond", "dcgan_infogan", "pix2pix",
                             "pix2pix_l1", "cyclegan", "wgan", "wgan_clip", "wgan_sn"]
    for name, lesson in LESSONS.items():
        assert lesson.name == name and set(lesson.quick) <= set(lesson.settings), name
        assert issubclass(lesson.runner, Experiment), name
        assert (lesson.build is None) == (lesson.runner is ModeCollapseSweep), name  # the sweep builds its own runs
        assert lesson_config(name, quick=True)["steps"] != lesson_config(name, quick=False)["steps"], name


def test_overrides_are_checked_and_converted():
    assert lesson_config("pix2pix", quick=True, l1_weight=50)["l1_weight"] == 50.0  # an int for a float
    assert lesson_config("mode_collapse", quick=True, steps=20)["steps"] == {"ring": 20, "grid": 20}
    with pytest.raises(UserError, match=r"unknown setting 'nope' for mlp_gan; known: .*batch_size.*steps"):
        lesson_config("mlp_gan", nope=1)
    with pytest.raises(UserError, match=r"setting 'steps' of mlp_gan must be int .*got str 'many'"):
        lesson_config("mlp_gan", steps="many")
    with pytest.raises(UserError, match="must be bool"):
        lesson_config("dcgan", lr_decay=1)
    with pytest.raises(UserError, match="unknown lesson 'nope_gan'"):
        lesson_config("nope_gan")


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_a_bad_seed_is_refused(seed):
    with pytest.raises(UserError, match="seed must be a non-negative int"):
        set_seed(seed)


def test_a_damaged_experiment_description_says_what_to_do(tmp_path):
    (tmp_path / "experiment.json").write_text('{"lesson": "mlp_gan", ')  # cut short, as by a crash
    with pytest.raises(UserError, match=r"experiment.json is damaged .*: delete .* or pass another out_dir / --out"):
        read_description(tmp_path)
    (tmp_path / "experiment.json").write_text("{}")  # valid JSON, but no experiment
    with pytest.raises(UserError, match=r"experiment.json is damaged \(it names no lesson\): delete"):
        read_description(tmp_path)
    (tmp_path / "checkpoint.json").write_text('{"step": 3')
    with pytest.raises(UserError, match=r"checkpoint.json is damaged .*: delete .* to start again"):
        read_checkpoint(tmp_path)


def test_generate_refuses_a_bad_number_of_samples(tmp_path):
    run = ImageGAN("mlp_gan", quick=True, out_dir=tmp_path, latent_dim=4, g_hidden=[8], d_hidden=[8])
    assert run.generate(3).shape == (3, 28, 28, 1)
    assert run.generate(np.int64(2)).shape == (2, 28, 28, 1)  # a count computed with numpy is a count too
    for n in (0, -2, 2.0, None, np.int64(0), np.bool_(True)):
        with pytest.raises(UserError, match="n must be a positive number of samples"):
            run.generate(n)
    for z in (np.zeros((3, 5)), np.zeros(4), np.zeros((0, 4))):  # this G's latent size is 4
        with pytest.raises(UserError, match=r"z must have shape \(N, 4\) with N ≥ 1"):
            run.generate(z=z)


@pytest.mark.parametrize("kwargs, message", [
    (dict(z=np.full((2, 4), np.nan)), r"z holds NaN or inf: draw it with np.random.default_rng"),  # NaN images before
    (dict(z=np.full((2, 4), np.inf)), r"z holds NaN or inf"),
    (dict(generator="generator"), r"generator must be one of this run's generators.*got 'generator'"),
    (dict(generator={}), r"e.g. exp.models\['generator'\].*got a dict"),
    (dict(batch_size=0), r"batch_size must be a positive int \(samples per call"),  # range() arg 3 must not be zero
    (dict(batch_size=-1), r"batch_size must be a positive int"),  # need at least one array to concatenate
    (dict(batch_size="8"), r"batch_size must be a positive int"),
    (dict(seed=-1), r"seed must be a non-negative int, got -1"),  # numpy's "expected non-negative integer"
    (dict(seed="1"), r"seed must be a non-negative int, got '1'"),
])
def test_generate_refuses_nan_noise_a_models_name_a_bad_batch_size_or_seed(tmp_path, kwargs, message):
    run = ImageGAN("mlp_gan", quick=True, out_dir=tmp_path, latent_dim=4, g_hidden=[8], d_hidden=[8])
    with pytest.raises(UserError, match=message):
        run.generate(2, **kwargs)
    if "generator" in kwargs:  # evaluate hands it to generate
        with pytest.raises(UserError, match=message):
            run.evaluate(2, **kwargs)


def test_generate_refuses_another_network_and_takes_numpy_counts_and_seeds(tmp_path):
    run = ImageGAN("mlp_gan", quick=True, out_dir=tmp_path, latent_dim=4, g_hidden=[8], d_hidden=[8])
    with pytest.raises(UserError, match=r"a model that takes \[\(4,\)\].*got a model that takes \[\(28, 28, 1\)\]"):
        run.generate(2, generator=run.models["discriminator"])  # a Keras shape error before
    # numpy ints give what Python ints give; at the same batch size, since another one may round the last bit
    # otherwise (batches of 2 against 1000 differed by 6e-8 in one CI run)
    with_ints = run.generate(3, seed=5, batch_size=2)
    np.testing.assert_array_equal(run.generate(3, seed=np.int64(5), batch_size=np.int64(2), generator=run.generator),
                                  with_ints)
    assert not np.array_equal(with_ints, run.generate(3, seed=6, batch_size=2))


@pytest.mark.parametrize("make", [
    lambda out: ModeCollapseSweep(seed="0", quick=True, out_dir=out, fresh=True),  # a TypeError in range() before
    lambda out: ImageGAN("mlp_gan", seed="0", quick=True, out_dir=out, fresh=True),  # after fresh emptied the folder
])
def test_every_run_refuses_a_bad_seed_before_it_touches_its_folder(tmp_path, make):
    (tmp_path / "experiment.json").write_text(json.dumps({"lesson": "mlp_gan"}))
    with pytest.raises(UserError, match="seed must be a non-negative int, got '0'"):
        make(tmp_path)
    assert (tmp_path / "experiment.json").exists()


def test_cli_set_overrides_settings_and_refuses_unknown_ones(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "mlp_gan", "--quick", "--out", str(out), "--eval-samples", "100"]
    assert main(args + ["--set", "steps=3", "--set", "g_hidden=[16]", "--set", "snapshot_every=3"]) == 0
    saved = json.loads((out / "experiment.json").read_text())["config"]
    assert saved["steps"] == 3 and saved["g_hidden"] == [16]
    assert json.loads((out / "checkpoint.json").read_text())["step"] == 3
    assert main(args + ["--set", "nope=1"]) == 2
    err = capsys.readouterr().err
    assert "unknown setting 'nope'" in err and "learning_rate" in err and "Traceback" not in err
    assert main(args + ["--set", "steps=many"]) == 2
    assert "must be int" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(args + ["--set", "steps"])  # no '=': argparse's own error, exit 2
    assert info.value.code == 2


def test_a_broken_step_keeps_its_traceback(tmp_path, monkeypatch):
    build = LESSONS["mlp_gan"].build

    def broken_build(config):
        built = build(config)

        def step(models, batch, rng):
            return {"d_loss": 1 / 0}

        return Built(built.models, step, built.data)

    monkeypatch.setitem(LESSONS, "mlp_gan", dataclasses.replace(LESSONS["mlp_gan"], build=broken_build))
    with pytest.raises(ZeroDivisionError):  # a bug is not an expected mistake: no exit 2, the traceback shows
        main(["train", "mlp_gan", "--quick", "--out", str(tmp_path / "run"), "--set", "steps=2"])


def test_fresh_deletes_only_a_folder_of_this_course(tmp_path):
    theirs = tmp_path / "thesis"
    theirs.mkdir()
    (theirs / "chapter1.tex").write_text("years of work")
    with pytest.raises(UserError, match="refusing to delete it"):
        ImageGAN("cgan", quick=True, out_dir=theirs, fresh=True, **TINY_CGAN)
    assert (theirs / "chapter1.tex").exists()
    ours = tmp_path / "ours"
    first = ImageGAN("cgan", quick=True, out_dir=ours, **TINY_CGAN)
    first.train(progress=False)
    again = ImageGAN("cgan", quick=True, out_dir=ours, fresh=True, **TINY_CGAN)
    assert not again.finished and not (ours / "checkpoint.json").exists()
    with pytest.raises(UserError, match="is a file, not a folder"):
        ImageGAN("cgan", quick=True, out_dir=theirs / "chapter1.tex", **TINY_CGAN)


@pytest.mark.skipif(sys.platform == "win32", reason="no training lock on Windows")
def test_fresh_and_a_second_sweep_leave_alone_a_folder_that_another_process_trains(tmp_path):
    """`RETRAIN = True` (fresh) in a notebook while a terminal trains the same folder used to delete the run
    under it; a second lesson-04 sweep in a folder being swept, to start its own workers on the same runs."""
    ours, sweep = tmp_path / "ours", tmp_path / "sweep"
    ImageGAN("cgan", quick=True, out_dir=ours, **TINY_CGAN).train(progress=False)
    with another_process_training(ours, sweep):
        with pytest.raises(UserError, match=re.escape(f"{ours} is being trained by another process")):
            ImageGAN("cgan", quick=True, out_dir=ours, fresh=True, **TINY_CGAN)
        assert read_checkpoint(ours)["step"] == 2
        with pytest.raises(UserError, match=re.escape(f"{sweep} is being trained by another process")):
            ModeCollapseSweep(quick=True, out_dir=sweep, datasets=["ring"], methods=["vanilla"]).train(progress=False)
        assert not list(sweep.glob("ring_*"))
    assert not ImageGAN("cgan", quick=True, out_dir=ours, fresh=True, **TINY_CGAN).finished


def test_a_checkpoint_from_before_a_new_setting_still_loads(tmp_path):
    out = tmp_path / "run"
    ImageGAN("cgan", quick=True, out_dir=out, **TINY_CGAN).train(progress=False)
    path = out / "experiment.json"
    saved = json.loads(path.read_text())
    del saved["format"], saved["config"]["wrong_label_fraction"]  # written before that setting existed
    path.write_text(json.dumps(saved))
    reloaded = load_experiment(out)  # the new setting has its default, which keeps the old behaviour
    assert reloaded.history.step == 2 and reloaded.config["wrong_label_fraction"] == 0.5
    ImageGAN("cgan", quick=True, out_dir=out, **TINY_CGAN)  # and the folder is still claimed by the same run
    with pytest.raises(UserError, match="holds a checkpoint of another experiment"):
        ImageGAN("cgan", quick=True, out_dir=out, **dict(TINY_CGAN, wrong_label_fraction=0.25))
    with pytest.raises(UserError, match="holds a checkpoint of another experiment"):
        ImageGAN("cgan", quick=True, out_dir=out, **dict(TINY_CGAN, batch_size=8))


def test_a_run_class_refuses_a_lesson_it_does_not_run(tmp_path):
    with pytest.raises(UserError, match="pix2pix is run by Translation, not ImageGAN"):
        ImageGAN("pix2pix", quick=True, out_dir=tmp_path)


def test_a_decayed_learning_rate_reaches_zero_at_the_last_step(tmp_path):
    run = ImageGAN("dcgan", quick=True, out_dir=tmp_path, g_channels=[8, 4], d_channels=[4, 8],
                   latent_dim=8, batch_size=16, steps=5, snapshot_every=5, checkpoint_every=5,
                   lr_decay=True)
    for key in ("gan", "discriminator"):
        assert float(run.models[key].optimizer.learning_rate) == pytest.approx(5e-4)
    run.train(progress=False)
    for key in ("gan", "discriminator"):  # G's and D's optimizers both took 5 steps: nothing left to learn
        assert float(run.models[key].optimizer.learning_rate) == 0.0
    halfway = adam({"learning_rate": 1e-3, "beta_1": 0.5, "lr_decay": True, "steps": 10}, "g")
    halfway.iterations.assign(5)
    assert float(halfway.learning_rate) == pytest.approx(5e-4)


def test_jitter_wrapper_hands_the_step_pairs_moved_together():
    seen = []
    step = with_jitter(lambda models, batch, rng: seen.append(batch) or {}, max_shift=2)
    x = np.random.default_rng(0).uniform(-1, 0.9, (32, 8, 8, 3)).astype("float32")
    step({}, (x, x.copy()), np.random.default_rng(1))
    (jx, jy), = seen
    np.testing.assert_array_equal(jx, jy)  # an input and its target never come apart
    assert not np.array_equal(jx, x)  # but they did move


def test_augmentation_experiment_adds_generated_digits_with_the_labels_asked_for(tmp_path, monkeypatch):
    from gan_lessons import metrics

    calls = []
    monkeypatch.setattr(metrics, "test_accuracy_after_training",
                        lambda images, labels, steps, seed: calls.append((images, labels, steps)) or 0.5 + len(calls))
    run = ImageGAN("cgan", quick=True, out_dir=tmp_path, **TINY_CGAN)

    def label_as_grey(generator, inputs, batch_size):  # a stand-in G that draws the digit it is asked for as grey d/10
        asked = np.asarray(inputs[1]).reshape(len(inputs[1]), -1)
        asked = asked.argmax(1) if asked.shape[1] > 1 else asked[:, 0]
        return np.broadcast_to((asked / 10.0)[:, None, None, None], (len(asked), 28, 28, 1)).astype("float32")

    run._apply = label_as_grey
    results = augmentation_experiment(run, n_real=10, n_generated=30, seeds=(0, 1), steps=7)
    assert results == {"real": [1.5, 3.5], "real_plus_generated": [2.5, 4.5]}
    (real_x, real_y, steps), (both_x, both_y, _) = calls[:2]
    assert steps == 7 and real_x.shape == (10, 28, 28, 1) and sorted(real_y.tolist()) == list(range(10))
    assert both_x.shape == (40, 28, 28, 1) and both_x.min() >= 0 and both_x.max() <= 1
    np.testing.assert_array_equal(both_x[:10], real_x)
    np.testing.assert_array_equal(both_y[10:], np.arange(30) % 10)  # each generated digit with the label it was asked
    np.testing.assert_allclose(both_x[10:, 0, 0, 0] * 10, both_y[10:], atol=1e-5)  # ...and made with that label
    unconditional = ImageGAN("mlp_gan", quick=True, out_dir=tmp_path / "mlp")
    with pytest.raises(UserError, match="not conditional on digits"):
        augmentation_experiment(unconditional)
    with pytest.raises(UserError, match="multiple of 10"):
        augmentation_experiment(run, n_real=15)
    with pytest.raises(UserError, match=r"experiment must be a cgan run, ImageGAN\(.cgan.\), not 'cgan'"):
        augmentation_experiment("cgan")  # the lesson's name: an AttributeError before


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), r"steps must be a positive int \(classifier updates\), got 0"),  # the untrained classifier's score
    (dict(steps=-5), r"steps must be a positive int"),
    (dict(steps="600"), r"steps must be a positive int"),
    (dict(n_real=-10), r"n_real must be a positive int"),
    (dict(n_real="100"), r"n_real must be a positive int"),
    (dict(n_real=0), r"n_real must be a positive int"),
    (dict(n_real=100000), r"n_real must be at most 54210: the rarest digit has 5421"),
    (dict(n_generated=0), r"n_generated must be a positive int"),
    (dict(seeds=0), r"seeds must be a list of seeds.*e.g. \[0, 1, 2\], got 0"),
    (dict(seeds="012"), r"seeds must be a list of seeds"),
    (dict(seeds=[0, -1]), r"seed must be a non-negative int, got -1"),
])
def test_augmentation_experiment_refuses_bad_arguments_before_any_classifier_trains(tmp_path, monkeypatch, kwargs,
                                                                                    message):
    from gan_lessons import metrics

    monkeypatch.setattr(metrics, "test_accuracy_after_training", lambda *args, **kwargs: pytest.fail("it trained"))
    run = ImageGAN("cgan", quick=True, out_dir=tmp_path, **TINY_CGAN)
    with pytest.raises(UserError, match=message):
        augmentation_experiment(run, **kwargs)


def test_augmentation_results_of_a_finished_run_are_kept_and_reused_for_the_same_arguments(tmp_path, monkeypatch):
    from gan_lessons import metrics

    calls = []
    monkeypatch.setattr(metrics, "test_accuracy_after_training",
                        lambda images, labels, steps, seed: calls.append(steps) or 0.5)
    run = ImageGAN("cgan", quick=True, out_dir=tmp_path, **TINY_CGAN)
    asked = dict(n_real=10, n_generated=20, seeds=(0,), steps=3)
    augmentation_experiment(run, **asked)
    assert len(calls) == 2 and not (tmp_path / "augmentation.json").exists()  # not trained: nothing kept
    run.train(progress=False)
    first = augmentation_experiment(run, **asked)
    assert len(calls) == 4 and augmentation_experiment(run, **asked) == first and len(calls) == 4  # reused
    augmentation_experiment(run, **{**asked, "steps": 4})  # other arguments: measured again
    assert calls[-1] == 4 and len(calls) == 6


def test_lesson_01_samples_from_a_moving_average_of_g_that_never_feeds_back_into_training(tmp_path):
    tiny = dict(latent_dim=8, g_hidden=[16], d_hidden=[16], batch_size=16, steps=6, snapshot_every=3,
                checkpoint_every=3, learning_rate=0.02)  # big steps: G moves away from where its average lags
    plain = ImageGAN("mlp_gan", quick=True, out_dir=tmp_path / "plain", ema_decay=0.0, **tiny)
    averaged = train_beside_its_average(  # the lesson's default: an average
        plain, lambda: ImageGAN("mlp_gan", quick=True, out_dir=tmp_path / "ema", **tiny))
    E = averaged.models["generator_ema"]
    z = np.random.default_rng(3).standard_normal((5, 8)).astype("float32")
    out = averaged.generate(z=z)
    assert averaged.generator is E and 0 <= out.min() and out.max() <= 1  # the copy samples, images in [0, 1]
    assert np.abs(out - plain.generate(z=z)).max() > 1e-3


@pytest.mark.parametrize("quick", ["no", "False", 0])
def test_quick_must_be_true_false_or_none(quick, tmp_path):
    """Silent before: bool("no") is True, so quick="no" trained quick-mode settings in the -quick folder."""
    with pytest.raises(UserError, match="quick must be True, False or None"):
        ImageGAN("mlp_gan", quick=quick, out_dir=tmp_path)
