"""The measuring scripts in docs/ that the notebooks' exercises and docs/results.md name: run without their
arguments, each says how to call it (its docstring's usage line) and exits 1, instead of an IndexError."""

import subprocess
import sys

import pytest

from gan_lessons import REPO_ROOT

NEED_ARGUMENTS = ["fashion_dcgan", "fingerprint", "gan_curve", "loss_vs_quality", "score_ema", "ssgan_probe",
                  "toy_average"]


@pytest.mark.parametrize("name", NEED_ARGUMENTS)
def test_a_script_run_without_arguments_prints_its_usage(name):
    done = subprocess.run([sys.executable, str(REPO_ROOT / "docs" / f"{name}.py")], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 1
    assert f"docs/{name}.py" in done.stderr and "Traceback" not in done.stderr
