"""Lesson 04: the 2-D mixtures, the mode-coverage metrics, the two remedies and the lesson's runs."""

import json
import math
import multiprocessing
import os
import pickle
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import keras
import numpy as np
import pytest
from conftest import assert_each_call_moves_the_right_network, patch_lesson

from gan_lessons import UserError, set_seed
from gan_lessons.__main__ import main
from gan_lessons.data import sample_toy, toy_modes
from gan_lessons.lessons import ModeCollapseSweep, lesson_config, mode_collapse
from gan_lessons.lessons.mode_collapse import build_toy_gan, coverage_along
from gan_lessons.metrics import mode_coverage
from gan_lessons.models import MinibatchStd, packed_generator, toy_discriminator, toy_generator
from gan_lessons.steps import gan_step, with_packing
from gan_lessons.training import History, NonFiniteLossError

RING, RING_SIGMA = toy_modes("ring")
THREADS_BEFORE = os.environ.get("TF_NUM_INTRAOP_THREADS")


# --- datasets ----------------------------------------------------------------------------------

def test_ring_has_eight_distinct_modes_at_multiples_of_45_degrees():
    assert RING.shape == (8, 2) and RING_SIGMA == 0.01
    np.testing.assert_allclose(np.linalg.norm(RING, axis=1), 1.0)
    angles = np.degrees(np.arctan2(RING[:, 1], RING[:, 0])) % 360
    np.testing.assert_allclose(np.sort(angles), np.arange(0, 360, 45), atol=1e-9)


def test_grid_has_25_modes_two_apart():
    grid, sigma = toy_modes("grid")
    assert grid.shape == (25, 2) and sigma == 0.05
    assert sorted(set(grid[:, 0])) == [-4, -2, 0, 2, 4] == sorted(set(grid[:, 1]))
    assert len({tuple(p) for p in grid}) == 25


def test_samples_are_seeded_and_spread_like_the_mixture():
    a, b = sample_toy("grid", 20000, seed=3), sample_toy("grid", 20000, seed=3)
    assert a.shape == (20000, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sample_toy("grid", 20000, seed=4))
    grid, sigma = toy_modes("grid")
    offsets = a - grid[np.linalg.norm(a[:, None] - grid[None], axis=-1).argmin(1)]
    assert offsets.std() == pytest.approx(sigma, rel=0.05)


def test_unknown_dataset_and_bad_sample_counts_are_refused():
    with pytest.raises(UserError, match="unknown toy dataset 'moons'; choose one of ring, grid"):
        toy_modes("moons")
    for n in (0, 2.5):
        with pytest.raises(UserError, match="n must be a positive int"):
            sample_toy("ring", n)
    for seed in (-1, "0"):  # numpy's "expected non-negative integer" / "SeedSequence expects int" before
        with pytest.raises(UserError, match="seed must be a non-negative int"):
            sample_toy("ring", 4, seed=seed)
    np.testing.assert_array_equal(sample_toy("ring", 4, seed=np.int64(3)), sample_toy("ring", 4, seed=3))


def test_the_history_of_a_run_not_trained_says_to_train_first(tmp_path):
    with pytest.raises(UserError, match=r"does not exist: train first \(ModeCollapseSweep.train\(\)\)"):
        ModeCollapseSweep(quick=True, out_dir=tmp_path).history("ring", "vanilla")


# --- metrics on hand-built point sets -----------------------------------------------------------

def test_every_mode_equally_often_is_perfect():
    scores = mode_coverage(np.repeat(RING, 10, axis=0), RING, RING_SIGMA)
    assert scores["modes"] == 8 and scores["high_quality"] == 1.0
    assert scores["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert scores["counts"] == [10] * 8


def test_a_fully_collapsed_generator_scores_one_mode_and_log_k():
    scores = mode_coverage(np.repeat(RING[[5]], 100, axis=0), RING, RING_SIGMA)
    assert scores["modes"] == 1 and scores["high_quality"] == 1.0
    assert scores["reverse_kl"] == pytest.approx(math.log(8))


def test_two_modes_half_and_half_give_log_four():
    points = np.concatenate([np.repeat(RING[[0]], 50, axis=0), np.repeat(RING[[3]], 50, axis=0)])
    scores = mode_coverage(points, RING, RING_SIGMA)
    assert scores["modes"] == 2 and scores["reverse_kl"] == pytest.approx(math.log(4))


def test_high_quality_means_within_three_sigma_and_only_those_capture_modes():
    inside = RING[0] + [2.9 * RING_SIGMA, 0.0]   # nearest mode 0, within 3σ
    outside = RING[1] + [0.0, 3.1 * RING_SIGMA]  # nearest mode 1, beyond 3σ: mode 1 is not captured
    between = (RING[2] + RING[3]) / 2             # far from every mode
    scores = mode_coverage(np.array([inside, outside, between, RING[4]]), RING, RING_SIGMA)
    assert scores["high_quality"] == 0.5
    assert scores["modes"] == 2 and scores["counts"] == [1, 0, 0, 0, 1, 0, 0, 0]
    assert scores["reverse_kl"] == pytest.approx(math.log(4))


def test_no_high_quality_sample_captures_nothing():
    scores = mode_coverage(np.zeros((10, 2)), RING, RING_SIGMA)  # the centre of the ring
    assert scores["modes"] == 0 and scores["high_quality"] == 0.0 and math.isnan(scores["reverse_kl"])


def test_coverage_along_scores_each_snapshot_in_its_order():
    history = History()
    history.add_snapshot(0, np.zeros((40, 2)))                               # the untrained blob at the centre
    history.add_snapshot(200, np.repeat(RING[[3]], 40, axis=0))              # collapsed on one mode
    history.add_snapshot(400, np.concatenate([np.repeat(RING, 4, axis=0), np.zeros((8, 2))]))  # 8 modes, 32 of 40
    steps, modes, quality = coverage_along(history, "ring")
    assert steps.tolist() == [0, 200, 400]
    assert modes.tolist() == [0, 1, 8]
    assert quality.tolist() == [0.0, 1.0, 0.8]


def test_real_samples_score_like_the_gaussian_says():
    """Within 3σ of a 2-D Gaussian: 1 - exp(-9/2) = 98.9 % of the samples."""
    for name in ("ring", "grid"):
        scores = mode_coverage(sample_toy(name, 20000, seed=0), *toy_modes(name))
        assert scores["modes"] == scores["n_modes"]
        assert scores["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.003)
        assert scores["reverse_kl"] < 0.005


@pytest.mark.parametrize("points, message", [
    (np.zeros((5, 3)), "same D"),
    (np.zeros((0, 2)), "at least one sample"),
    (np.full((5, 2), np.nan), "NaN"),
])
def test_mode_coverage_refuses_bad_input(points, message):
    with pytest.raises(ValueError, match=message):
        mode_coverage(points, RING, RING_SIGMA)


# --- remedy 1: minibatch standard deviation ------------------------------------------------------

def test_minibatch_std_appends_the_mean_std_of_each_group():
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    # first group: features 0 and 1 take 0 and 2 twice each (population std 1), feature 2 is constant (0)
    x[:4] = [[0, 0, 5], [0, 2, 5], [2, 0, 5], [2, 2, 5]]
    x[4:] = x[4]  # the second group of four is four copies of one sample: no spread at all
    out = np.asarray(MinibatchStd(group_size=4)(x))
    assert out.shape == (8, 4)
    np.testing.assert_array_equal(out[:, :3], x)
    np.testing.assert_allclose(out[:4, 3], (1 + 1 + 1e-4) / 3, rtol=1e-4)  # the three stds (0 -> sqrt(eps)), averaged
    np.testing.assert_allclose(out[4:, 3], 1e-4, rtol=1e-3)  # sqrt(epsilon): a collapsed group


def test_minibatch_std_groups_do_not_mix():
    """Real and fake halves of D's batch land in different groups when n is a multiple of g."""
    x = np.concatenate([np.zeros((4, 2)), np.ones((4, 2)) * np.arange(4)[:, None]]).astype("float32")
    out = np.asarray(MinibatchStd(group_size=4)(x))
    assert out[0, 2] < 1e-3 and out[4, 2] == pytest.approx(np.arange(4).std(), rel=1e-4)


def test_minibatch_std_discriminator_reads_the_spread():
    D = toy_discriminator(hidden=(8,), minibatch_std=4)
    assert D.input.shape[1:] == (2,) and D.output.shape[1:] == (1,)
    assert any(isinstance(layer, MinibatchStd) for layer in D.layers)
    with pytest.raises(UserError, match="group size >= 2"):
        toy_discriminator(minibatch_std=1)


def test_minibatch_std_layer_survives_saving(tmp_path):
    D = toy_discriminator(hidden=(8,), minibatch_std=4)
    D.save(tmp_path / "d.keras")
    again = keras.saving.load_model(tmp_path / "d.keras")
    x = np.random.default_rng(1).standard_normal((8, 2)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), keras.ops.convert_to_numpy(D(x)), rtol=1e-6)


# --- remedy 2: PacGAN packing -------------------------------------------------------------------

def test_packed_generator_puts_pack_samples_side_by_side():
    set_seed(0)
    G = toy_generator(4, hidden=(16,), scale=2.0)
    packed = packed_generator(G, 3)
    z = np.random.default_rng(0).standard_normal((5, 3, 4)).astype("float32")
    out = keras.ops.convert_to_numpy(packed(z))
    assert out.shape == (5, 6)
    expected = keras.ops.convert_to_numpy(G(z.reshape(15, 4))).reshape(5, 6)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert packed.count_params() == G.count_params()  # the same weights, shared


def test_pacgan_discriminator_reads_packs():
    D = toy_discriminator(hidden=(8,), pack=4)
    assert D.input.shape[1:] == (8,)


def test_scale_multiplies_generator_output_and_divides_discriminator_input():
    set_seed(0)
    small, big = toy_generator(4, hidden=(8,)), toy_generator(4, hidden=(8,), scale=4.0)
    big.set_weights(small.get_weights())
    z = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(big(z)), 4 * keras.ops.convert_to_numpy(small(z)), rtol=1e-6)
    with pytest.raises(UserError, match="scale must be a positive number"):
        toy_generator(scale=0)


# --- the steps: which weights move ---------------------------------------------------------------

TINY = dict(lesson_config("mode_collapse", quick=True), latent_dim=4, g_hidden=[16], d_hidden=[16],
            batch_size=64, steps={"ring": 10, "grid": 10}, train_samples=1024, eval_samples=2500,
            snapshot_every=5, snapshot_samples=32)


@pytest.mark.parametrize("method", ["vanilla", "minibatch_std", "pacgan"])
def test_each_method_moves_d_in_its_step_and_g_in_its_own(method):
    set_seed(0)
    models, step, G = build_toy_gan(TINY, "ring", method)
    real = sample_toy("ring", 64, seed=0)
    rng = np.random.default_rng(0)
    assert_each_call_moves_the_right_network(models, lambda: step(models, real, rng))


def test_pacgan_step_feeds_d_packs_of_real_and_fake_points():
    set_seed(0)
    models, step, G = build_toy_gan(TINY, "ring", "pacgan")
    seen = []
    original = models["discriminator"].train_on_batch
    models["discriminator"].train_on_batch = lambda x, y: seen.append((x.shape, y[:, 0].tolist())) or original(x, y)
    step(models, sample_toy("ring", 64, seed=0), np.random.default_rng(0))
    (shape, labels), = seen
    assert shape == (32, 8)  # 16 real packs + 16 fake packs of 4 points
    assert labels == [1.0] * 16 + [0.0] * 16
    with pytest.raises(UserError, match="multiple of pack"):
        with_packing(gan_step, 4)(models, sample_toy("ring", 30, seed=0), np.random.default_rng(0))


def test_minibatch_std_sees_a_collapsed_fake_group():
    """With a generator stuck on one point, D's extra feature separates fakes from reals."""
    set_seed(0)
    D = toy_discriminator(hidden=(8,), minibatch_std=4)
    layer = next(layer for layer in D.layers if isinstance(layer, MinibatchStd))
    spread = keras.Model(D.input, layer.output)
    real = sample_toy("ring", 8, seed=0)
    fake = np.repeat(RING[[2]], 8, axis=0).astype("float32")
    feature = keras.ops.convert_to_numpy(spread(np.concatenate([real, fake])))[:, -1]
    assert feature[:8].min() > 0.1 and feature[8:].max() < 1e-3


# --- the lesson's runs ---------------------------------------------------------------------------

@pytest.fixture
def tiny_lesson(monkeypatch):
    patch_lesson(monkeypatch, "mode_collapse", {**TINY, "seeds": 1, "datasets": ["ring", "grid"],
                                                "methods": ["vanilla", "pacgan"]})


def test_same_seed_same_runs_and_finished_runs_are_loaded(tmp_path, tiny_lesson):
    def train(name, seed=0):
        return ModeCollapseSweep(quick=True, seed=seed, out_dir=tmp_path / name, datasets=["grid"],
                                  methods=["minibatch_std"], seeds=2).train(progress=False)

    def scores(results):
        return [{k: v for k, v in run.items() if k != "train_seconds"} for run in results["runs"]]

    a, b = train("a"), train("b")
    assert [run["seed"] for run in a["runs"]] == [0, 1]
    assert scores(a) == scores(b)
    np.testing.assert_array_equal(np.load(tmp_path / "a" / "points_grid_minibatch_std.npy"),
                                  np.load(tmp_path / "b" / "points_grid_minibatch_std.npy"))
    again = train("a")
    assert scores(again) == scores(a) and again["train_seconds"] == a["train_seconds"]  # loaded, not retrained
    assert scores(train("c", seed=5)) != scores(a)
    history = ModeCollapseSweep(quick=True, out_dir=tmp_path / "a", datasets=["grid"], methods=["minibatch_std"],
                                 seeds=2).history("grid", "minibatch_std", 1)
    assert history.snapshot_steps == [0, 5, 10] and history.snapshots[0].shape == (32, 2)
    assert history.snapshots[0].dtype == np.float32 and np.abs(history.snapshots[0]).max() > 1.0  # points, not pixels


def test_a_sweep_is_another_experiment_only_if_its_own_methods_changed(tmp_path):
    """A finished sweep of the plain GAN stays loadable when lesson 07's WGAN settings change; a sweep
    that runs a WGAN method is refused when that method's settings differ."""
    def sweep(name, methods, **overrides):
        return ModeCollapseSweep(quick=True, out_dir=tmp_path / name, datasets=["ring"], methods=methods, **overrides)

    gp = lesson_config("mode_collapse", quick=True)["wgan"]["wgan_gp"]
    other_wgan = {"wgan": {**lesson_config("mode_collapse", quick=True)["wgan"], "wgan_gp": {**gp, "n_critic": 2}}}
    sweep("plain", ["vanilla"]).write_description()
    assert "wgan" not in json.loads((tmp_path / "plain" / "experiment.json").read_text())["config"]
    sweep("plain", ["vanilla"], **other_wgan)  # no error: the plain GAN's runs are the same
    sweep("gp", ["vanilla", "wgan_gp"]).write_description()
    with pytest.raises(UserError, match="holds a checkpoint of another experiment"):
        sweep("gp", ["vanilla", "wgan_gp"], **other_wgan)


def test_runs_in_worker_processes_give_the_same_results(tmp_path, tiny_lesson, monkeypatch):
    """workers=2 trains the runs in two fresh processes; seeded runs must not notice."""
    def train(name, workers):
        return ModeCollapseSweep(quick=True, out_dir=tmp_path / name, workers=workers).train(progress=False)

    def scores(results):
        return [{k: v for k, v in run.items() if k != "train_seconds"} for run in results["runs"]]

    alone, pooled = train("alone", 1), train("pooled", 2)
    assert [(r["dataset"], r["method"]) for r in pooled["runs"]] == [
        ("ring", "vanilla"), ("ring", "pacgan"), ("grid", "vanilla"), ("grid", "pacgan")]
    assert scores(pooled) == scores(alone)
    np.testing.assert_array_equal(np.load(tmp_path / "alone" / "points_grid_pacgan.npy"),
                                  np.load(tmp_path / "pooled" / "points_grid_pacgan.npy"))
    assert os.environ.get("TF_NUM_INTRAOP_THREADS") == THREADS_BEFORE  # the parent's settings are put back
    logs = sorted((tmp_path / "pooled" / "logs").glob("worker-*.log"))
    assert 1 <= len(logs) <= 2  # the workers' start-up logs went there, not to our stderr

    def no_pool(*args, **kwargs):
        raise AssertionError("finished runs must be loaded here, not in worker processes")

    monkeypatch.setattr(mode_collapse, "ProcessPoolExecutor", no_pool)
    again = train("pooled", 2)
    assert scores(again) == scores(pooled)
    assert again["wall_seconds"] == pooled["wall_seconds"]  # the time it took to train them, not to load them


def test_ctrl_c_stops_the_worker_processes_at_once(tmp_path, tiny_lesson, ctrl_c_raises):
    """A notebook's interrupt button (SIGINT to the kernel) while two runs train in worker processes: the
    sweep stops now and its workers end; before, leaving the pool waited for every queued run to finish
    (minutes in full mode), so the runs were finished behind the student's back and the cell stayed busy."""
    sweep = ModeCollapseSweep(quick=True, out_dir=tmp_path, datasets=["ring"], steps={"ring": 5000, "grid": 5000},
                              workers=2)
    assert len(sweep.jobs()) == 2
    ctrl_c = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGINT))
    ctrl_c.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sweep.train(progress=False)
    finally:
        ctrl_c.cancel()
    assert multiprocessing.active_children() == []
    assert not any(sweep.finished_run(*job) for job in sweep.jobs())
    assert sweep.saved_so_far().startswith("0 of the 2 runs are finished")


def test_stopping_the_workers_also_ends_one_missing_from_the_pool_table():
    """A Ctrl-C can land after the pool started a worker and before it entered it in its table (a CI run under
    load left such a worker alive, session 51): stopping the workers ends every child started since the pool."""
    before = set(multiprocessing.active_children())
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        stray = spawn.Process(target=time.sleep, args=(60,))  # started, as the pool would, but not in its table
        stray.start()
        mode_collapse._stop_workers(pool, before)
    assert not stray.is_alive()
    assert set(multiprocessing.active_children()) == {child for child in before if child.is_alive()}


def test_stopping_the_workers_waits_for_a_worker_the_pool_thread_reaps():
    """The pool's own thread ends and joins its workers too: when it reaps one first, our join finds nothing left
    to reap and returned before the worker's exit was recorded, so it stayed listed as a running child (a CI run
    under load, stop 67). Here a thread ends and reaps the worker as the pool's would, and records its exit half a
    second later."""
    before = set(multiprocessing.active_children())
    spawn = multiprocessing.get_context("spawn")
    reaped = threading.Event()
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        worker = spawn.Process(target=time.sleep, args=(60,))
        worker.start()

        def end_reap_then_record():
            os.kill(worker.pid, signal.SIGTERM)
            _, status = os.waitpid(worker.pid, 0)
            reaped.set()
            time.sleep(0.5)
            worker._popen.returncode = os.waitstatus_to_exitcode(status)

        pool_thread = threading.Thread(target=end_reap_then_record)
        pool_thread.start()
        assert reaped.wait(60)
        mode_collapse._stop_workers(pool, before)
        assert set(multiprocessing.active_children()) == {child for child in before if child.is_alive()}
        pool_thread.join()
    assert worker.exitcode == -signal.SIGTERM


def test_non_finite_loss_error_survives_pickling():
    """A run that blows up in a worker process reaches the parent with its message and history."""
    history = History()
    history.append(3, {"d_loss": float("nan")})
    error = pickle.loads(pickle.dumps(NonFiniteLossError("d_loss is nan at step 3: lower the learning rate", history)))
    assert isinstance(error, NonFiniteLossError) and "lower the learning rate" in str(error)
    assert error.history.step == 3


def test_cli_trains_every_method_on_both_datasets(tmp_path, tiny_lesson, capsys):
    out = tmp_path / "run"
    assert main(["train", "mode_collapse", "--quick", "--out", str(out), "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    assert "mean ± std over seeds" in printed and "pacgan" in printed
    for dataset in ("ring", "grid"):
        for method in ("vanilla", "pacgan"):
            points = np.load(out / f"points_{dataset}_{method}.npy")
            assert points.shape == (2500, 2) and np.isfinite(points).all()
    results = json.loads((out / "results.json").read_text())
    assert results["seeds"] == [1] and len(results["runs"]) == 4
    assert set(results["summary"]) == {"ring", "grid"}
    assert set(results["summary"]["grid"]["vanilla"]) == {"modes", "high_quality", "reverse_kl"}
    assert main(["sample", str(out), "-n", "4", "--out", str(tmp_path / "x.npz")]) == 2
    assert "points_<dataset>_<method>.npy" in capsys.readouterr().err


def test_unknown_method_is_refused(tmp_path):
    with pytest.raises(UserError, match=r"\['nope'\]; datasets: ring, grid; methods: vanilla"):
        ModeCollapseSweep(quick=True, out_dir=tmp_path, methods=["vanilla", "nope"])
    with pytest.raises(UserError, match="unknown dataset 'rnig'; choose from ring, grid"):  # KeyError: 'rnig' before
        build_toy_gan(lesson_config("mode_collapse", quick=True), "rnig", "vanilla")


WGAN = lesson_config("mode_collapse", quick=True)["wgan"]


@pytest.mark.parametrize("overrides, message", [
    (dict(steps={"ring": 100}),  # KeyError: 'grid' before, once the ring's runs had trained
     r"setting 'steps' of mode_collapse lacks 'grid': change the lesson's dict, "
     r"\{\*\*lesson_config\('mode_collapse'\)\['steps'\], 'ring': 100\}"),
    (dict(steps={"ring": 100, "grid": 100, "rnig": 5}), r"'steps' of mode_collapse has 'rnig', none of 'ring', 'grid'"),
    (dict(data_scale={"ring": 1.0}), r"'data_scale' of mode_collapse lacks 'grid'"),
    (dict(methods=["wgan_gp"], wgan={"wgan_gp": {"n_critic": 1}}),  # KeyError: 'gradient_penalty' before
     r"setting wgan\['wgan_gp'\] of mode_collapse lacks 'gradient_penalty', 'clip'.*"
     r"\{\*\*lesson_config\('mode_collapse'\)\['wgan'\]\['wgan_gp'\], 'n_critic': 1\}"),
    (dict(methods=["wgan_gp"], wgan={"wgan_clip": WGAN["wgan_clip"]}), r"setting 'wgan' of mode_collapse lacks 'wgan_gp'"),
    (dict(methods=["wgan_gp"], wgan={**WGAN, "wgan_gpp": WGAN["wgan_gp"]}), r"has 'wgan_gpp', none of 'wgan_gp'"),
    (dict(methods=["wgan_gp"], wgan={**WGAN, "wgan_gp": {**WGAN["wgan_gp"], "n_critc": 1}}), r"has 'n_critc'"),
    (dict(methods=["wgan_gp"], wgan={"wgan_gp": 1}), r"wgan\['wgan_gp'\] of mode_collapse must be a dict like"),
    (dict(group_size=3), r"batch_size \(512\) must be a multiple of group_size \(3\) for minibatch_std"),
])
def test_a_sweep_refuses_a_partial_setting_before_anything_trains(tmp_path, overrides, message):
    with pytest.raises(UserError, match=message):
        ModeCollapseSweep(quick=True, out_dir=tmp_path, **overrides)


def test_a_sweep_takes_a_setting_for_the_datasets_and_methods_it_runs(tmp_path):
    merged = {**WGAN, "wgan_gp": {**WGAN["wgan_gp"], "n_critic": 1}}  # notebook 07's way
    few = ModeCollapseSweep(quick=True, out_dir=tmp_path / "few", datasets=["ring"], methods=["wgan_gp"],
                            steps={"ring": 100}, wgan=merged)
    assert few.config["steps"] == {"ring": 100} and few.config["wgan"]["wgan_gp"]["n_critic"] == 1
    sn = ModeCollapseSweep(quick=True, out_dir=tmp_path / "sn", methods=["wgan_sn"], wgan={"wgan_sn": WGAN["wgan_sn"]})
    assert sn.config["wgan"] == {"wgan_sn": WGAN["wgan_sn"]}


@pytest.mark.parametrize("lr_decay, last_rate", [(True, 0.0), (False, 4e-3)])
def test_learning_rates_decay_to_zero_or_stay_constant(lr_decay, last_rate):
    set_seed(0)
    config = dict(TINY, lr_decay=lr_decay, d_learning_rate=4e-3, g_learning_rate=2e-3)
    models, step, _ = build_toy_gan(config, "ring", "vanilla")
    real, rng = sample_toy("ring", 64, seed=0), np.random.default_rng(0)
    for _ in range(config["steps"]["ring"]):
        step(models, real, rng)
    assert float(models["discriminator"].optimizer.learning_rate) == pytest.approx(last_rate)
    assert float(models["gan"].optimizer.learning_rate) == pytest.approx(last_rate / 2)  # G's own rate, the same way


def test_published_table_shows_both_plain_gan_baselines():
    plain = {row["source"].split(" (")[0]: row for row in mode_collapse.PUBLISHED_MODE_COVERAGE if row["method"] == "GAN"}
    assert plain["Srivastava et al. 2017"]["grid"] == (3.3, 0.5)
    assert plain["Lin et al. 2018"]["ring"] == (6.3, 98.2) and plain["Lin et al. 2018"]["grid"] == (17.3, 94.8)


def test_mode_coverage_refuses_swapped_arguments_and_a_bad_sigma():
    """Silent before: mode_coverage(modes, points, sigma) scored 8 of 2,500 "modes" at 100 %, and sigma <= 0 gave
    0 modes and a NaN as if measured."""
    points = sample_toy("ring", 500, seed=0)
    with pytest.raises(ValueError, match=r"is the order mode_coverage\(points, modes, sigma\)"):
        mode_coverage(RING, points, RING_SIGMA)
    for sigma in (0.0, -RING_SIGMA, "0.01", None):
        with pytest.raises(ValueError, match="sigma must be the mixture's standard deviation"):
            mode_coverage(points, RING, sigma)


def test_a_sweep_names_its_runs_when_asked_for_one_it_does_not_have(tmp_path):
    """Misleading before: history("rnig", ...) said the file did not exist and to train first."""
    sweep = ModeCollapseSweep(quick=True, out_dir=tmp_path)
    with pytest.raises(UserError, match=r"this sweep has datasets \['ring', 'grid'\].*got 'rnig'"):
        sweep.history("rnig", "vanilla")
    with pytest.raises(UserError, match="seeds"):
        sweep.history("ring", "vanilla", seed=7)
