import subprocess
import sys

import numpy as np
import pytest

from conftest import patch_lesson

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


def test_other_settings_in_the_same_folder_are_refused(tmp_path, short_quick_mode, capsys):
    out = tmp_path / "run"
    assert main(["train", "mlp_gan", "--quick", "--out", str(out), "--eval-samples", "100"]) == 0
    assert main(["train", "mlp_gan", "--quick", "--seed", "1", "--out", str(out)]) == 2
    assert "holds a checkpoint of another experiment" in capsys.readouterr().err


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


def test_unknown_lesson_is_refused():
    with pytest.raises(SystemExit) as info:
        main(["train", "no_such_lesson"])
    assert info.value.code == 2
