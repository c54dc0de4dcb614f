import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import types

import keras
import numpy as np
import pytest
from conftest import Killed, another_process_training, changed, killed_at_rename, make_tiny_gan, weights_of

from gan_lessons import UserError
from gan_lessons.models import build_gan, mlp_discriminator, mlp_generator
from gan_lessons.steps import gan_step
from gan_lessons.training import (CheckpointError, History, NonFiniteLossError, fit, load_checkpoint, read_checkpoint,
                                  save_checkpoint)


def _fit(models, data, **kwargs):
    kwargs.setdefault("steps", 6)
    kwargs.setdefault("batch_size", 32)
    kwargs.setdefault("progress", False)
    return fit(gan_step, models, data, **kwargs)


def test_same_seed_gives_the_same_losses(real_images):
    a = _fit(make_tiny_gan(seed=3), real_images, seed=5)
    b = _fit(make_tiny_gan(seed=3), real_images, seed=5)
    c = _fit(make_tiny_gan(seed=3), real_images, seed=6)
    assert a.logs == b.logs
    assert a.logs["g_loss"] != c.logs["g_loss"]


def test_fit_turns_off_the_tensorflow_rewrite_that_reads_weights_after_their_update(real_images):
    """A student's own models, never seeded by set_seed, still train without the race of
    gan_lessons.tensorflow_reads_before_updates: fit turns the dependency optimizer off itself."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("a TensorFlow setting")
    import tensorflow as tf

    models = make_tiny_gan()  # (seeds, which turns it off too)
    tf.config.optimizer.set_experimental_options({"dependency_optimization": True})
    try:
        _fit(models, real_images, steps=1)
        assert tf.config.optimizer.get_experimental_options()["dependency_optimization"] is False
    finally:
        tf.config.optimizer.set_experimental_options({"dependency_optimization": False})


def test_resuming_from_a_checkpoint_continues_exactly(real_images, tmp_path):
    straight = _fit(make_tiny_gan(), real_images, steps=10)
    _fit(make_tiny_gan(), real_images, steps=5, out_dir=tmp_path)
    resumed = _fit(make_tiny_gan(seed=99), real_images, steps=10, out_dir=tmp_path)  # other init: weights come from disk
    assert resumed.logs == straight.logs


def test_resuming_in_a_later_epoch_continues_exactly(real_images, tmp_path):
    """Each epoch's order is drawn from (seed, epoch): a run resumed inside its second epoch sees the batches it would
    have seen. (A single generator drawing one permutation per epoch would replay epoch 0's order after a resume.)"""
    data = real_images[:96]  # 3 batches of 32 an epoch: 10 steps cross three epoch boundaries
    straight = _fit(make_tiny_gan(), data, steps=10)
    _fit(make_tiny_gan(), data, steps=5, out_dir=tmp_path)  # stops in epoch 1
    assert _fit(make_tiny_gan(seed=99), data, steps=10, out_dir=tmp_path).logs == straight.logs


def test_ctrl_c_while_a_checkpoint_is_written_waits_for_its_last_file(real_images, tmp_path, monkeypatch,
                                                                       ctrl_c_raises):
    """Ctrl-C (a notebook's interrupt button sends the same SIGINT) in the middle of the step-4 checkpoint,
    after the weights were written and as the history is: it takes effect once the whole checkpoint is on
    disk, so the run resumes exactly. Taken at once, it left step 4's weights beside step 2's history and
    checkpoint.json, and the resumed run trained on from step 2 with weights two steps ahead."""
    straight = _fit(make_tiny_gan(), real_images, steps=6)
    save, saves = History.save, []

    def ctrl_c_then_save(history, path):
        saves.append(history.step)
        if history.step == 4:
            os.kill(os.getpid(), signal.SIGINT)
        save(history, path)

    monkeypatch.setattr(History, "save", ctrl_c_then_save)
    with pytest.raises(KeyboardInterrupt):
        _fit(make_tiny_gan(), real_images, steps=6, checkpoint_every=2, out_dir=tmp_path)
    monkeypatch.undo()
    assert saves == [2, 4]
    assert read_checkpoint(tmp_path)["step"] == 4  # the checkpoint Ctrl-C came into was finished, not dropped
    assert History.load(tmp_path / "history.npz").step == 4
    assert not list(tmp_path.glob("*.partial.*")) and not list(tmp_path.glob("*.staged.*"))
    resumed = _fit(make_tiny_gan(seed=99), real_images, steps=6, out_dir=tmp_path)
    assert resumed.logs == straight.logs


def test_a_process_killed_while_a_checkpoint_is_written_resumes_exactly(real_images, tmp_path, monkeypatch):
    """The out-of-memory killer (in a notebook: "The kernel appears to have died") or a `kill -9` can end the
    process between any two files of a checkpoint, and no Python code runs after it. At every such instant of
    the step-4 checkpoint the folder still holds one step whole (2 or 4), and training from it goes on exactly.
    The files used to take their names one by one: killed after the networks' files and before the random
    state's, the run resumed from step 2 with step 4's weights."""
    straight = _fit(make_tiny_gan(), real_images, steps=6)
    replace, calls = killed_at_rename(lambda renames: False)
    monkeypatch.setattr("gan_lessons.training.os.replace", replace)
    _fit(make_tiny_gan(), real_images, steps=2, checkpoint_every=2, out_dir=tmp_path / "count")
    per_checkpoint = len(calls)  # the renames of one checkpoint
    ours = [p.name for p in (tmp_path / "count").iterdir()]
    assert per_checkpoint >= 5  # three models, the random state and the history at least
    for k in range(1, per_checkpoint + 1):
        out = tmp_path / f"killed_before_rename_{k}"
        replace, _ = killed_at_rename(lambda renames: len(renames) == per_checkpoint + k)  # step 4's, after step 2's
        monkeypatch.setattr("gan_lessons.training.os.replace", replace)
        with pytest.raises(Killed):
            _fit(make_tiny_gan(), real_images, steps=6, checkpoint_every=2, out_dir=out)
        monkeypatch.undo()
        if k % 2:  # read first (notebook 04 and `sample` read a run they don't train), or trained at once
            # before the first rename (checkpoint.staged.json's) step 4 is not whole; after it, reading completes it
            assert read_checkpoint(out)["step"] == (2 if k == 1 else 4)
        resumed = _fit(make_tiny_gan(seed=99), real_images, steps=6, out_dir=out)
        assert resumed.logs == straight.logs, f"killed before rename {k} of {per_checkpoint}"
        assert sorted(p.name for p in out.iterdir()) == sorted(ours)  # no file left half-way


# A child process that trains the tiny GAN of conftest 6 steps with a checkpoint every 2, and kills itself (SIGKILL:
# nothing runs after it, no `finally`, no h5py clean-up) at one instant of the step-4 checkpoint, named by argv[2].
_KILLED_CHILD = """
import os, signal, sys
sys.path.insert(0, sys.argv[3])
import h5py
from conftest import make_tiny_gan
from gan_lessons.data import load_mnist, scale_images
from gan_lessons.steps import gan_step
from gan_lessons.training import fit
import gan_lessons.training as training

where, counts = sys.argv[2], {"close": 0, "replace": 0}
close, replace = h5py.File.close, os.replace

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def close_or_die(f):
    counts["close"] += 1
    if where == "inside step 4's second weights file" and counts["close"] == 5:  # 3 files a checkpoint
        die()  # written, not closed: HDF5 has not flushed it
    close(f)

def replace_or_die(src, dst):
    counts["replace"] += 1
    name, step4 = os.path.basename(dst), counts["close"] > 3
    if step4 and ((where == "before step 4 is staged" and name == "checkpoint.staged.json")
                  or (where == "half-way through step 4's renames" and name == "discriminator.weights.h5")
                  or (where == "before step 4's checkpoint.json" and name == "checkpoint.json")):
        die()
    replace(src, dst)

h5py.File.close = close_or_die
training.os.replace = replace_or_die
(x_train, _), _ = load_mnist()
fit(gan_step, make_tiny_gan(), scale_images(x_train[:2048]), steps=6, batch_size=32, checkpoint_every=2,
    out_dir=sys.argv[1], progress=False)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this system")
@pytest.mark.parametrize("where, kept", [("inside step 4's second weights file", 2), ("before step 4 is staged", 2),
                                         ("half-way through step 4's renames", 4), ("before step 4's checkpoint.json", 4)])
def test_a_process_killed_for_real_during_a_checkpoint_resumes_exactly(real_images, tmp_path, where, kept):
    """The test above stands for the kill with an exception, after which `finally` blocks and context managers still
    run; a real `kill -9` runs nothing more, and may come while h5py has a file open. A child process kills itself
    at four instants of the step-4 checkpoint: the folder then reads as one step whole, and training it again goes on
    exactly, leaving no file of the dead process behind."""
    out = tmp_path / "run"
    child = subprocess.run([sys.executable, "-c", _KILLED_CHILD, str(out), where, os.path.dirname(__file__)],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert read_checkpoint(out)["step"] == kept
    straight = _fit(make_tiny_gan(), real_images, steps=6)
    resumed = _fit(make_tiny_gan(seed=99), real_images, steps=6, out_dir=out)
    assert resumed.logs == straight.logs
    assert sorted(p.name for p in out.iterdir()) == sorted(  # the finished run's files, no more
        [f"{m}.weights.h5" for m in ("discriminator", "gan", "generator")] + [
            "checkpoint.json", "history.npz", "rng_state.npz"])


@pytest.mark.parametrize("full", ["before", "while writing"])
def test_a_full_disk_stops_with_what_is_kept_and_the_same_command_goes_on(real_images, tmp_path, monkeypatch, full):
    """A disk without room for the step-4 checkpoint: known before writing (nothing is written: h5py, failing in the
    middle of a file, crashes the process when it exits), or found while writing (the disk filled up meanwhile).
    Either way a message with the fix and the step kept, no file half-written, and once there is room the run
    goes on exactly. It used to be h5py's traceback, files left behind and, at exit, a segmentation fault."""
    straight = _fit(make_tiny_gan(), real_images, steps=6)
    save_weights, saves = keras.Model.save_weights, []

    def full_disk_at_step_4(model, path, *args, **kwargs):
        saves.append(path)
        if len(saves) > 4:  # the step-2 checkpoint's three models and step 4's first (a partial file) were written
            raise OSError(errno.ENOSPC, "Can't synchronously write data (file write failed: ...)")
        return save_weights(model, path, *args, **kwargs)

    def room_for_step_2_only(path):
        saves.append(path)
        return types.SimpleNamespace(free=10 ** 9 if len(saves) == 1 else 10 ** 5)  # 1 GB, then 100 kB

    if full == "before":
        monkeypatch.setattr("gan_lessons.training.shutil.disk_usage", room_for_step_2_only)
    else:
        monkeypatch.setattr(keras.Model, "save_weights", full_disk_at_step_4)
    why = r"No space left on device" if full == "while writing" else r"it needs about \d+ MB, 0 MB are free"
    with pytest.raises(UserError, match=re.escape(f"cannot write the checkpoint of step 4 in {tmp_path} (") + why
                       + re.escape("): free some space there or pass another out_dir / --out; the folder keeps step 2 "
                                   "of 6, where the same command goes on")):
        _fit(make_tiny_gan(), real_images, steps=6, checkpoint_every=2, out_dir=tmp_path)
    monkeypatch.undo()
    assert not list(tmp_path.glob("*.partial.*")) and not list(tmp_path.glob("*.staged.*"))
    assert read_checkpoint(tmp_path)["step"] == 2
    assert _fit(make_tiny_gan(seed=99), real_images, steps=6, out_dir=tmp_path).logs == straight.logs


FILL_A_TINY_DISK = """
import sys, types
import numpy as np
import gan_lessons.training as training
from gan_lessons import UserError
from gan_lessons.steps import gan_step
from conftest import make_tiny_gan
training.shutil = types.SimpleNamespace(disk_usage=lambda path: types.SimpleNamespace(free=10 ** 12))  # room, it says
images = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype("float32")
try:
    training.fit(gan_step, make_tiny_gan(), images, steps=4, batch_size=16, checkpoint_every=2, out_dir=sys.argv[1],
                 progress=False)
except UserError as err:
    print(err)
    print(sorted(p.name for p in __import__("pathlib").Path(sys.argv[1]).iterdir()))  # (the disk ends with us)
    sys.exit(2)
"""


def _private_tmpfs(size):
    """A command prefix that runs a command with a tmpfs of ``size`` mounted on its last argument, in a mount
    namespace of its own (gone when the command ends); None where this cannot be done (not root, no unshare)."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size={size} tmpfs /mnt"],
                           capture_output=True)
    return None if probe.returncode else ["unshare", "-m", "sh", "-c",
                                          f'mount -t tmpfs -o size={size} tmpfs "$0" && exec "$@"']


TINY_DISK = _private_tmpfs("200k")  # probed once, when the tests are collected


@pytest.mark.skipif(TINY_DISK is None, reason="needs root and unshare to mount a small disk")
def test_a_disk_that_fills_while_h5py_writes_ends_with_the_message_not_a_crash(tmp_path):
    """The disk check passes (here: made to see 1 TB) and the disk fills during an h5py write: HDF5 keeps the failed
    file open and must flush it to close it, which on the full disk crashed the process as it exited (segmentation
    fault, exit code 139; a notebook's kernel dies). Now the message with the fix, exit code 2, nothing left."""
    tiny = tmp_path / "disk"
    tiny.mkdir()
    command = TINY_DISK + [str(tiny), sys.executable, "-c", FILL_A_TINY_DISK, str(tiny / "run")]
    tests = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stdout.startswith(f"cannot write the checkpoint of step 2 in {tiny / 'run'} (No space left on device)")
    assert "__dealloc__" not in done.stderr
    left = done.stdout.splitlines()[-1]  # what the folder held after the message
    assert left.startswith("[") and ".partial." not in left and "staged" not in left, left


@pytest.mark.skipif(sys.platform == "win32", reason="no training lock on Windows")
def test_a_folder_that_another_process_trains_is_refused_until_that_process_ends(real_images, tmp_path):
    """Notebook 04 loads lesson 02's run, or trains it if unfinished: while a `train dcgan` in a terminal (here a
    child process that holds the folder's lock) is still training it, the notebook used to resume the same run
    beside it, both writing the same files. Now it is refused with the fix, and once the other process is gone
    (killed: the lock dies with it), the folder trains as usual."""
    with another_process_training(tmp_path) as pid:
        with pytest.raises(UserError, match=re.escape(f"{tmp_path} is being trained by another process (pid {pid}: ")
                           + ".*let it finish, then run this again"):
            _fit(make_tiny_gan(), real_images, steps=2, out_dir=tmp_path)
        assert read_checkpoint(tmp_path) is None  # nothing was trained or written
    assert _fit(make_tiny_gan(), real_images, steps=2, out_dir=tmp_path).step == 2
    assert not (tmp_path / "training.lock").exists()  # the folder holds the run only


def test_without_flock_as_on_windows_a_run_trains_and_leaves_no_lock_file(real_images, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` fails, as on Windows
    assert _fit(make_tiny_gan(), real_images, steps=2, out_dir=tmp_path).step == 2
    assert read_checkpoint(tmp_path)["step"] == 2 and not (tmp_path / "training.lock").exists()


def test_finished_checkpoint_is_loaded_not_retrained(real_images, tmp_path):
    models = make_tiny_gan()
    _fit(models, real_images, steps=4, out_dir=tmp_path)
    reloaded = make_tiny_gan(seed=42)
    history = _fit(reloaded, real_images, steps=4, out_dir=tmp_path)
    assert history.step == 4 and len(history.logs["d_loss"]) == 4
    for name in ("generator", "discriminator"):
        assert not changed(weights_of(models[name]), weights_of(reloaded[name]))


def test_checkpoint_of_other_models_is_refused(real_images, tmp_path):
    _fit(make_tiny_gan(), real_images, steps=2, out_dir=tmp_path)
    with pytest.raises(UserError, match="holds models"):
        load_checkpoint(tmp_path, {"generator": make_tiny_gan()["generator"]})


def test_models_not_in_a_dict_are_refused(real_images, tmp_path):
    """A TypeError ('<' not supported between instances of 'Functional' and 'Functional') before."""
    _fit(make_tiny_gan(), real_images, steps=2, out_dir=tmp_path)
    models = make_tiny_gan()
    for wrong in (list(models.values()), (models, gan_step, models["generator"])):  # build_toy_gan's three values
        with pytest.raises(UserError, match=r"models must be the dict of a run's models.*models, step, G = "
                                            r"build_toy_gan\(\.\.\.\)\), got a (list|tuple)"):
            load_checkpoint(tmp_path, wrong)


def _toy_wgan_models(method):
    from gan_lessons.lessons import lesson_config
    from gan_lessons.lessons.mode_collapse import build_toy_gan

    config = lesson_config("mode_collapse", quick=True, latent_dim=2, g_hidden=[4], d_hidden=[4])
    return build_toy_gan(config, "ring", method)[0]


def test_a_checkpoint_of_another_wgan_method_is_refused(tmp_path):
    """Lesson 07's clipped critic loaded into models built for the gradient penalty: only Keras's warning that it
    skipped the optimizer state before (the weights have the same shapes; the optimizers differ)."""
    save_checkpoint(tmp_path, _toy_wgan_models("wgan_clip"), History(), 5)
    assert read_checkpoint(tmp_path)["optimizers"] == {"critic_model": "RMSprop", "gan": "RMSprop"}
    assert load_checkpoint(tmp_path, _toy_wgan_models("wgan_clip")).step == 0
    with pytest.raises(CheckpointError, match=r"trained with optimizers \{'critic_model': 'RMSprop', 'gan': 'RMSprop'\}, "
                                              r"these models have \{'critic_model': 'Adam', 'gan': 'Adam'\}.*build them "
                                              r"with the method of that folder's run"):
        load_checkpoint(tmp_path, _toy_wgan_models("wgan_gp"))


def test_a_checkpoint_written_before_optimizers_were_recorded_still_loads(real_images, tmp_path):
    models = make_tiny_gan()
    _fit(models, real_images, steps=2, out_dir=tmp_path)
    meta = read_checkpoint(tmp_path)
    assert meta.pop("optimizers") == {"discriminator": "Adam", "gan": "Adam"}
    (tmp_path / "checkpoint.json").write_text(json.dumps(meta))
    reloaded = make_tiny_gan(seed=1)
    assert load_checkpoint(tmp_path, reloaded).step == 2
    assert not changed(weights_of(models["generator"]), weights_of(reloaded["generator"]))


def test_a_truncated_checkpoint_is_called_damaged_and_keeps_its_cause(real_images, tmp_path):
    _fit(make_tiny_gan(), real_images, steps=2, out_dir=tmp_path)
    path = tmp_path / "generator.weights.h5"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="is damaged") as info:
        load_checkpoint(tmp_path, make_tiny_gan())
    assert isinstance(info.value.__cause__, OSError) and "other settings" not in str(info.value)


def test_a_checkpoint_of_other_shapes_is_called_other_settings(real_images, tmp_path):
    _fit(make_tiny_gan(), real_images, steps=2, out_dir=tmp_path)
    G = mlp_generator(8, hidden=(64,))  # 64 hidden units where the checkpoint has 32
    D = mlp_discriminator(hidden=(32,))
    other = {"generator": G, "discriminator": D,
             "gan": build_gan(G, D, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))}
    with pytest.raises(CheckpointError, match="made with other settings") as info:
        load_checkpoint(tmp_path, other)
    assert info.value.__cause__ is not None and "damaged" not in str(info.value)


def test_nan_in_the_data_stops_training_with_a_message(real_images):
    poisoned = real_images[:64].copy()
    poisoned[:] = np.nan
    with pytest.raises(NonFiniteLossError, match=r"step 1: \w*loss = nan.*lower the learning rate") as info:
        _fit(make_tiny_gan(), poisoned, steps=5)
    assert info.value.history.step == 1


@pytest.mark.parametrize("diverges_at", [1, 30])
def test_a_training_stopped_by_an_error_ends_the_progress_bars_line(real_images, capsys, diverges_at):
    """The bar redraws one line on stdout; an error midway (here a NaN at step 30; a full disk, a bug) is printed on
    stderr, in a terminal on the same line: "... g_loss: 0.5412error: training stopped at step 30 ...". The line is
    ended first, and nothing is added when the bar has not been drawn yet (a NaN at step 1)."""
    def step(models, batch, rng):
        step.calls += 1
        return {"loss": float("nan") if step.calls == diverges_at else 1.0}

    step.calls = 0
    with pytest.raises(NonFiniteLossError, match=f"step {diverges_at}:"):
        fit(step, make_tiny_gan(), real_images, steps=50, batch_size=8)
    out = capsys.readouterr().out
    # (a redraw narrower than the last one is padded with spaces: a slow box may redraw between steps 1 and 29)
    assert re.search(r"loss: 1\.0000 *\n$", out) if diverges_at == 30 else out == ""


def test_non_finite_loss_keeps_the_last_good_checkpoint(real_images, tmp_path):
    calls = []

    def exploding_step(models, batch, rng):
        calls.append(1)
        logs = gan_step(models, batch, rng)
        return {**logs, "g_loss": float("inf")} if len(calls) == 5 else logs

    with pytest.raises(NonFiniteLossError, match=r"step 5: g_loss = inf.*last good checkpoint") as info:
        fit(exploding_step, make_tiny_gan(), real_images, steps=8, batch_size=32, out_dir=tmp_path,
            checkpoint_every=2, progress=False)
    assert info.value.history.step == 5
    assert History.load(tmp_path / "history.npz").step == 4


def test_snapshots_are_taken_from_the_start_to_the_end(real_images):
    models = make_tiny_gan()
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    history = _fit(models, real_images, steps=10, snapshot_every=4,
                   sample=lambda: (models["generator"].predict_on_batch(z) + 1) / 2)
    assert history.snapshot_steps == [0, 4, 8, 10]
    assert history.snapshots[0].shape == (4, 28, 28, 1) and history.snapshots[0].dtype == np.uint8
    assert not np.array_equal(history.snapshots[0], history.snapshots[-1])


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 5000}, "batch_size must be an int between 1 and the 2048"),
    ({"steps": -1}, "steps must be"),
])
def test_fit_rejects_bad_settings(real_images, kwargs, message):
    with pytest.raises(UserError, match=message):
        _fit(make_tiny_gan(), real_images, **kwargs)


def test_fit_rejects_data_of_different_lengths(real_images):
    with pytest.raises(UserError, match="same length"):
        _fit(make_tiny_gan(), (real_images, np.zeros(10)))


def test_both_networks_learn_on_mnist(real_images):
    """D learns to tell real digits from G's first attempts; G's samples move towards the data."""
    models = make_tiny_gan()
    G, D = models["generator"], models["discriminator"]
    z = np.random.default_rng(7).standard_normal((256, 8)).astype("float32")
    first_fakes = G.predict_on_batch(z)
    real_mean = real_images.mean(0)
    gap_before = np.abs(first_fakes.mean(0) - real_mean).mean()
    _fit(models, real_images, steps=600, batch_size=64)
    d_real = float(D.predict_on_batch(real_images[:256]).mean())
    d_first_fakes = float(D.predict_on_batch(first_fakes).mean())
    assert d_real - d_first_fakes > 0.5, (d_real, d_first_fakes)
    gap_after = np.abs(G.predict_on_batch(z).mean(0) - real_mean).mean()
    assert gap_after < 0.5 * gap_before, (gap_before, gap_after)


def test_images_on_another_scale_or_a_list_are_refused_before_training(real_images):
    """Silent before: pixels (0..255) or a sample() returning the generator's [-1, 1] trained and were snapshot
    clipped; a list of (inputs, targets) was read as two training examples."""
    from gan_lessons.data import unscale_images

    models = make_tiny_gan()
    for pixels in (np.round((real_images + 1) * 127.5).astype(np.uint8), (real_images + 1) * 127.5):
        with pytest.raises(UserError, match=r"image data must lie in \[-1, 1\].*scale_images"):
            _fit(models, pixels, steps=1)
    with pytest.raises(UserError, match=r"not a list: tuple\(data\)"):
        _fit(models, [real_images, real_images], steps=1)
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    raw = lambda: models["generator"].predict_on_batch(z).reshape(4, 28, 28, 1)  # noqa: E731
    with pytest.raises(UserError, match=r"sample\(\) must return images in \[0, 1\].*unscale_images"):
        _fit(models, real_images, steps=1, sample=raw, snapshot_every=1)
    history = _fit(models, real_images, steps=1, sample=lambda: unscale_images(raw()), snapshot_every=1)
    assert history.snapshots[-1].dtype == np.uint8
