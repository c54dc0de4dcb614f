"""docs/gpu_check.py (`make gpu-check`): it refuses a machine without a GPU, and reads training times from checkpoints."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("gpu_check", REPO / "docs" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(gpu_check)


def test_it_refuses_to_train_on_the_cpu_and_says_where_to_look(tmp_path):
    if gpu_check.gpus(gpu_check.devices()[2]):
        pytest.skip("a GPU is visible here: the check would train every lesson")
    out = tmp_path / "gpu-check"
    done = subprocess.run([sys.executable, str(REPO / "docs" / "gpu_check.py"), str(out), "mlp_gan"],
                          capture_output=True, text=True, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                          timeout=300)
    assert done.returncode == 1
    assert "no GPU visible to Keras" in done.stderr and "README's GPU section" in done.stderr
    assert not out.exists()  # refused before training anything


def test_training_time_adds_every_run_of_a_lesson(tmp_path):
    assert gpu_check.training_time(tmp_path) == "-"
    for run, seconds in (("ring/seed0", 10.4), ("grid/seed1", 20.3)):
        (tmp_path / run).mkdir(parents=True)
        (tmp_path / run / "checkpoint.json").write_text(json.dumps({"step": 5, "wall_time": seconds}))
    assert gpu_check.training_time(tmp_path) == "31"


def test_a_gpu_is_found_under_each_backends_name():
    assert gpu_check.gpus(["gpu:0", "gpu:1"]) == ["gpu:0", "gpu:1"]  # TensorFlow and JAX
    assert gpu_check.gpus(["cuda:0"]) == ["cuda:0"]  # torch
    assert gpu_check.gpus(["cpu:0"]) == [] and gpu_check.gpus(["cpu"]) == []
