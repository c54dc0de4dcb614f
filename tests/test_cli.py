import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import patch_lesson

from gan_lessons import UserError, metrics, quick_mode
from gan_lessons.__main__ import main
from gan_lessons.notebook_outputs import NOISE


@pytest.fixture
def short_quick_mode(monkeypatch):
    patch_lesson(monkeypatch, "mlp_gan", dict(steps=30, snapshot_every=10, checkpoint_every=10))


def test_train_then_sample(tmp_path, short_quick_mode, capsys):
    out = tmp_path / "run"
    assert main(["train", "mlp_gan", "--quick", "--out", str(out), "--eval-samples", "500"]) == 0
    printed = capsys.readouterr().out
    assert "inception_score" in printed and "fid" in printed
    for name in ("checkpoint.json", "generator.weights.h5", "history.npz", "samples.png", "metrics.json"):
        assert (out / name).exists(), name

    assert main(["train", "mlp_gan", "--quick", "--out", str(out), "--eval-samples", "500"]) == 0
    assert "terminado, se carga" in capsys.readouterr().out

    npz = tmp_path / "samples.npz"
    assert main(["sample", str(out), "-n", "12", "--out", str(npz)]) == 0
    images = np.load(npz)["images"]
    assert images.shape == (12, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    again = tmp_path / "again.npz"
    main(["sample", str(out), "-n", "12", "--out", str(again)])
    np.testing.assert_array_equal(np.load(again)["images"], images)  # same seed, same samples

    # bad requests on the finished run: each a message that names the fix, exit 2, no traceback
    capsys.readouterr()
    assert main(["sample", str(out), "-n", "0", "--out", str(npz)]) == 2
    assert "-n must be a positive number" in capsys.readouterr().err
    assert main(["sample", str(out), "-n", "4", "--out", str(tmp_path / "s.png")]) == 2
    assert "--out must be an .npz file" in capsys.readouterr().err
    (tmp_path / "in.npz").write_text("not an npz")
    translate = ["translate", str(out), "--out", str(tmp_path / "o.npz"), "--input"]
    assert main(translate + [str(tmp_path / "in.npz")]) == 2
    assert "cannot be read as an .npz file" in capsys.readouterr().err
    np.savez(tmp_path / "in.npz", images=images)
    assert main(translate + [str(tmp_path / "in.npz")]) == 2
    assert "which makes images from noise: use `sample`" in capsys.readouterr().err


def test_ctrl_c_during_train_says_what_is_kept_and_the_same_command_goes_on(tmp_path, short_quick_mode, capsys,
                                                                            monkeypatch):
    """Ctrl-C: exit 130 (a shell's code for it) and one line instead of a traceback from deep in the backend,
    saying what the folder keeps (a checkpoint every 10 steps here); the same command then resumes."""
    from gan_lessons.training import History

    append = History.append
    out = tmp_path / "run"
    command = ["train", "mlp_gan", "--quick", "--out", str(out), "--eval-samples", "500"]
    for stop, kept in [(5, f"nothing saved yet in {out} (a checkpoint every 10 steps): the same command starts again"),
                       (15, f"{out} keeps step 10 of 30: the same command goes on from there")]:
        def ctrl_c_at(history, step, logs, stop=stop):
            if step == stop:
                raise KeyboardInterrupt
            append(history, step, logs)

        monkeypatch.setattr(History, "append", ctrl_c_at)
        try:
            assert main(command) == 130
        except KeyboardInterrupt:
            pytest.fail("Ctrl-C left `main` as a traceback")
        err = capsys.readouterr().err
        assert err == f"\ninterrupted: {kept}\n"
    monkeypatch.setattr(History, "append", append)
    assert main(command) == 0
    assert f"Checkpoint del paso 10 en {out}: se reanuda desde ahí" in capsys.readouterr().out


def test_other_settings_in_the_same_folder_are_refused(tmp_path, short_quick_mode, capsys):
    out = tmp_path / "run"
    assert main(["train", "mlp_gan", "--quick", "--out", str(out), "--eval-samples", "100"]) == 0
    assert main(["train", "mlp_gan", "--quick", "--seed", "1", "--out", str(out)]) == 2
    assert "holds a checkpoint of another experiment (mlp_gan, quick=True, seed=0: seed 0 there, 1 here)" in \
        capsys.readouterr().err
    assert main(["train", "mlp_gan", "--quick", "--set", "batch_size=32", "--out", str(out)]) == 2
    assert "batch_size 128 there, 32 here): pass another out_dir" in capsys.readouterr().err  # the setting that differs


def test_sample_from_an_empty_folder_is_a_clear_error_not_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gan_lessons", "sample", str(tmp_path), "-n", "4", "--out", str(tmp_path / "x.npz")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert "holds no trained model" in result.stderr and "python -m gan_lessons train" in result.stderr
    assert "Traceback" not in result.stderr
    # the message is all it prints: none of TensorFlow's start-up lines (absl, oneDNN, CUDA) before it
    assert not [line for line in result.stderr.splitlines() if NOISE.search(line)], result.stderr


def test_sample_from_a_mistyped_folder_says_it_does_not_exist(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "typo"), "-n", "4", "--out", str(tmp_path / "x.npz")]) == 2
    assert "typo is not a folder (it does not exist): give the folder that" in capsys.readouterr().err


def test_unknown_lesson_is_refused():
    with pytest.raises(SystemExit) as info:
        main(["train", "no_such_lesson"])
    assert info.value.code == 2


def test_bad_requests_are_refused_before_any_work(tmp_path, capsys, monkeypatch):
    folder, a_file, nowhere = tmp_path / "folder.npz", tmp_path / "a_file", str(tmp_path / "no_run")
    folder.mkdir()
    a_file.write_text("")
    np.save(tmp_path / "bare.npy", np.zeros((2, 64, 64, 3)))
    monkeypatch.setattr(metrics, "train_classifier", lambda *args, **kwargs: pytest.fail("the classifier was retrained"))
    train = ["train", "mlp_gan", "--quick", "--out", str(tmp_path / "run"), "--set"]
    for argv, message in [
        (["sample", nowhere, "-n", "4", "--out", str(folder)], "is a folder: give a file name inside it"),
        (["sample", nowhere, "-n", "4", "--out", str(a_file / "x.npz")], "cannot make its folder"),
        (["sample", nowhere, "-n", "4", "--seed", "-1", "--out", str(tmp_path / "x.npz")], "--seed must be 0 or more"),
        (["translate", nowhere, "--input", str(tmp_path / "bare.npy"), "--out", str(tmp_path / "x.npz")],
         "holds one bare array, not an .npz file with an array `images`: write it with np.savez(PATH, images=x)"),
        (["classifier", "--epochs", "0"], "--epochs must be at least 1"),  # it would overwrite the scoring model
        (["train", "mlp_gan", "--quick", "--out", str(tmp_path / "run"), "--eval-samples", "0"],
         "--eval-samples must be at least 1"),
        (["train", "mlp_gan", "--quick", "--out", str(a_file / "run")],
         f"cannot write the run's folder {a_file / 'run'} ("),  # (Not a directory): pass another out_dir / --out
        (["train", "mode_collapse", "--quick", "--out", str(a_file / "sweep")],
         f"cannot write the run's folder {a_file / 'sweep'} ("),
        (train + ["learning_rate=-1"], "'learning_rate' of mlp_gan must be a number > 0, got -1.0"),
        (train + ["steps=0"], "'steps' of mlp_gan must be a number ≥ 1, got 0"),
        (train + ["checkpoint_every=-3"], "'checkpoint_every' of mlp_gan must be a number ≥ 0"),
        (train + ["ema_decay=1.5"], "'ema_decay' of mlp_gan must be a number in [0, 1)"),
        (["train", "wgan", "--quick", "--out", str(tmp_path / "run"), "--set", "n_critic=0"],
         "'n_critic' of wgan must be a number ≥ 1"),
        (train + ["seed=1"], "--set seed=... is not a setting of mlp_gan: use --seed N instead"),  # was a TypeError
        (train + ["fresh=true"], "--set fresh=... is not a setting of mlp_gan: use a new --out DIR"),  # it deleted
        (train + ["pretrained=true"], "use GAN_LESSONS_PRETRAINED=1 instead"),  # it installed the shipped run
    ]:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv
    # a refused setting leaves no folder behind, where a corrected retry would meet "another experiment"
    assert not (tmp_path / "run").exists() and not (tmp_path / "x.npz").exists()


def test_switches_refuse_a_value_that_is_neither_on_nor_off(monkeypatch):
    for value, on in [("1", True), ("yes", True), (" ON ", True), ("0", False), ("", False), ("off", False)]:
        monkeypatch.setenv("GAN_LESSONS_QUICK", value)
        assert quick_mode() is on
    for value in ("2", "maybe", "sí"):  # once silently "off": a full run where a quick one was meant
        monkeypatch.setenv("GAN_LESSONS_QUICK", value)
        with pytest.raises(UserError, match=f"GAN_LESSONS_QUICK='{value}' is neither on nor off: set it to 1"):
            quick_mode()


def test_an_unknown_keras_backend_is_named_without_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gan_lessons", "sample", str(tmp_path), "-n", "4", "--out", str(tmp_path / "x.npz")],
        capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "pytorch"},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "KERAS_BACKEND='pytorch' is not a Keras backend: use one of tensorflow, jax, torch" in result.stderr
