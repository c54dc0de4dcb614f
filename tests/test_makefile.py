"""`make lab` / `make test` on a Python the course cannot run on: refused before anything is installed, with the fix."""

import shlex
import shutil
import subprocess
import sys

import pytest

from gan_lessons import REPO_ROOT


def _python_that_says_it_is(folder, version, in_venv=False):
    """``folder/bin/python``, a `python` whose ``sys.version_info`` reads ``version``, in a venv or not: how `make`
    meets a student's 3.10 or 3.14."""
    fake = folder / "bin" / "python"
    fake.parent.mkdir(parents=True)
    base_prefix = '\\"/elsewhere\\"' if in_venv else "sys.prefix"
    fake.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c "import sys; '
                    f'sys.version_info = {tuple(version)!r}; sys.base_prefix = {base_prefix}; exec(sys.argv[1])" '
                    '"$2"\n')  # called as `python -c CODE`
    fake.chmod(0o755)
    return fake


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("version, goal", [((3, 10, 13), "lab"), ((3, 14, 0), "test")])
def test_make_refuses_a_python_the_course_cannot_use_and_names_the_fix(tmp_path, version, goal):
    # in a folder whose name has a space and an accent, as a student's home folder may ("/home/José Pérez/...")
    python, venv = _python_that_says_it_is(tmp_path / "mi Python ñ", version), tmp_path / "venv"
    done = subprocess.run(["make", "-s", "-C", str(REPO_ROOT), goal, f"PYTHON={python}", f"VENV={venv}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"is Python {version[0]}.{version[1]}; the course needs Python 3.11, 3.12 or 3.13" in done.stderr, done.stderr
    assert f"make {goal} PYTHON=python3.12" in done.stderr and "delete" not in done.stderr  # a system Python
    assert not venv.exists()  # nothing was created or installed


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_names_a_venv_made_with_the_wrong_python(tmp_path):
    # .venv already there from an old Python: the message says to delete it, not only to pass PYTHON=
    venv = tmp_path / "venv"
    _python_that_says_it_is(venv, (3, 10, 13), in_venv=True)
    done = subprocess.run(["make", "-s", "-C", str(REPO_ROOT), "install", f"PYTHON={sys.executable}", f"VENV={venv}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "is Python 3.10;" in done.stderr and f"(delete {venv} first: it was made with this Python)" in done.stderr, \
        done.stderr
    assert not (venv / ".installed").exists()
