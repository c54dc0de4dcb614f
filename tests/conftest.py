import contextlib
import os
import signal
import subprocess
import sys

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


# The image-to-image tests' networks: a 3-level U-Net and a 2-layer PatchGAN (32 px inputs).
TINY_TRANSLATOR = {"g_channels": [8, 16, 16], "d_channels": [8, 16]}

# The settings lesson 04's self-conditioned DCGAN and InfoGAN share with lesson 02 (its D and z differ).
LESSON_02_SHARED = ("g_channels", "g_extra_convs", "kernel_size", "batch_size", "ema_decay", "beta_1",
                    "g_learning_rate", "d_learning_rate", "loss", "lr_decay", "snapshot_every", "steps")


@contextlib.contextmanager
def another_process_training(*folders):
    """A child process that holds the training lock of ``folders`` (as a `train` in a terminal, or another
    notebook's kernel, does while it trains them); yields its pid, and kills it at the end."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import contextlib, sys, time\nfrom gan_lessons.training import training_lock\n"
         "with contextlib.ExitStack() as locks:\n    for folder in sys.argv[1:]:\n"
         "        locks.enter_context(training_lock(folder))\n    print('training', flush=True); time.sleep(120)",
         *map(str, folders)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "training\n"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


class Killed(BaseException):
    """The process dying at that instant (the out-of-memory killer, `kill -9`): no code runs after it."""


def killed_at_rename(when):
    """``os.replace`` as the checkpoint writer sees it, the process dying just before the rename at which
    ``when(destinations so far, this one included)`` is true; returns it and that list of destinations."""
    calls, rename = [], os.replace

    def replace(src, dst):
        calls.append(dst)
        if when(calls):
            raise Killed
        rename(src, dst)

    return replace, calls


def make_tiny_gan(seed=0, lr=1e-3, dropout=0.2):
    set_seed(seed)
    G = mlp_generator(8, hidden=(32,))
    D = mlp_discriminator(hidden=(32,), dropout=dropout)
    gan = build_gan(G, D, keras.optimizers.Adam(lr, beta_1=0.5), keras.optimizers.Adam(lr, beta_1=0.5))
    return {"generator": G, "discriminator": D, "gan": gan}


@pytest.fixture
def tiny_gan():
    return make_tiny_gan()


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raises KeyboardInterrupt, as in a terminal or a notebook, for the test's duration. A process started in
    the background by a shell without job control (`cmd &` in a script, nohup) inherits SIGINT ignored, and Python
    then leaves it ignored: there Ctrl-C does nothing at all, and the tests of what Ctrl-C does would fail."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def weights_of(model):
    return [np.array(w) for w in model.get_weights()]


def changed(before, after):
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


def train_beside_its_average(plain, make_averaged):
    """Train ``plain`` (a run without an average), then build (``make_averaged()``) and train the same run with
    its copy ``generator_ema``; check that G trains exactly as without the copy, and that the copy moved and
    differs from G. Returns the averaged run. (One run built and trained after the other: on torch, Keras'
    unseeded Dropout draws from torch's global generator, which the other run would otherwise advance.)"""
    plain.train(progress=False)
    averaged = make_averaged()
    assert set(averaged.models) == set(plain.models) | {"generator_ema"}
    G, E = averaged.models["generator"], averaged.models["generator_ema"]
    start = weights_of(E)
    averaged.train(progress=False)
    for a, b in zip(weights_of(plain.models["generator"]), weights_of(G)):
        np.testing.assert_array_equal(a, b)  # G trains exactly as without the copy
    assert changed(start, weights_of(E)) and changed(weights_of(G), weights_of(E))
    return averaged


def spy_train_on_batch(key, models, watched, log):
    """Wrap models[key].train_on_batch to record which of the ``watched`` networks each call changes."""
    original = models[key].train_on_batch

    def wrapped(*args, **kwargs):
        before = {k: weights_of(models[k]) for k in watched}
        out = original(*args, **kwargs)
        log.append((key, {k: changed(before[k], weights_of(models[k])) for k in watched}))
        return out

    models[key].train_on_batch = wrapped


def assert_calls_move(models, one_step, moves, steps=3):
    """Run ``one_step`` ``steps`` times. ``moves`` maps each model whose ``train_on_batch`` the step calls,
    in call order, to the networks that call must change; every other network it names must stay fixed."""
    watched = sorted(set().union(*moves.values()))
    log = []
    for key in moves:
        spy_train_on_batch(key, models, watched, log)
    for _ in range(steps):
        one_step()
    assert [key for key, _ in log] == list(moves) * steps
    for key, moved in log:
        assert moved == {k: k in moves[key] for k in watched}, key


def assert_each_call_moves_the_right_network(models, one_step, steps=3):
    """D's train_on_batch must move D only, the composite's G only."""
    assert_calls_move(models, one_step, {"discriminator": {"discriminator"}, "gan": {"generator"}}, steps)


def patch_lesson(monkeypatch, name, quick=None, **settings):
    """Give the registry's lesson ``name`` other settings (and quick-mode changes) for one test."""
    import dataclasses

    from gan_lessons.lessons import LESSONS

    spec = LESSONS[name]
    monkeypatch.setitem(LESSONS, name, dataclasses.replace(
        spec, settings={**spec.settings, **settings}, quick={**spec.quick, **(quick or {})}))


def train_then_translate(out, lesson, images, capsys, printed_keys, *translate_args):
    """``train LESSON --quick --out OUT`` through the CLI, then ``translate`` ``images`` with the finished run.

    Checks that training printed ``printed_keys`` and wrote its picture and metrics, and that the translated
    images have the input's shape and values in [0, 1]. Returns what ``translate`` printed and its command
    (without ``translate_args``), whose input and output files lie beside ``out``."""
    from gan_lessons.__main__ import main

    assert main(["train", lesson, "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert all(key in printed for key in printed_keys), printed
    assert (out / "samples.png").exists() and (out / "metrics.json").exists()
    np.savez(out.parent / "in.npz", images=images)
    command = ["translate", str(out), "--input", str(out.parent / "in.npz"), "--out", str(out.parent / "o.npz")]
    assert main([*command, *translate_args]) == 0
    translated = np.load(out.parent / "o.npz")["images"]
    assert translated.shape == images.shape and translated.min() >= 0 and translated.max() <= 1
    return capsys.readouterr().out, command
