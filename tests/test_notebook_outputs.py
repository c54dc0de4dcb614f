"""Committed notebooks carry no TensorFlow start-up, CUDA or retracing noise and no absolute path, and the
source code they print is today's."""

import ast
import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys

import pytest

from gan_lessons import REPO_ROOT, models, steps
from gan_lessons.notebook_outputs import clean, problems

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_outputs_are_clean(path):
    assert problems(path) == [], f"run `python -m gan_lessons.notebook_outputs clean {path.relative_to(REPO_ROOT)}`"


PRINTED_SOURCE = re.compile(r"print\(inspect\.getsource\(([\w.]+)\)\)")
WHERE = [steps, models] + [importlib.import_module(m.name)  # where the notebooks' printed functions live
                           for m in pkgutil.iter_modules(models.__path__, "gan_lessons.models.")]


def _resolve(dotted):
    first, *rest = dotted.split(".")
    obj = next(getattr(m, first) for m in WHERE if hasattr(m, first))
    for attr in rest:
        obj = getattr(obj, attr)
    return obj


def _printed_sources():
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            lines = "".join(cell["source"]).strip().splitlines()
            names = [m[1] for m in map(PRINTED_SOURCE.fullmatch, lines) if m]
            if cell["cell_type"] == "code" and names and len(names) == len(lines):
                yield pytest.param(path, names, cell["outputs"], id=f"{path.name}:{'+'.join(names)}")


def test_every_cell_that_prints_source_is_checked():
    """The check below reads only cells made of `print(inspect.getsource(NAME))` lines: a cell that prints source
    another way (a comment after it, other code beside it) would leave the check silently, and none left, skip it."""
    printing = [(path.name, i) for path in NOTEBOOKS
                for i, cell in enumerate(json.loads(path.read_text())["cells"])
                if cell["cell_type"] == "code" and "getsource" in "".join(cell["source"])]
    assert printing and len(printing) == len(list(_printed_sources())), (
        f"cells that print source: {printing}; write each as print(inspect.getsource(NAME)) lines only")


@pytest.mark.parametrize("path, names, outputs", list(_printed_sources()))
def test_printed_source_is_todays_code(path, names, outputs):
    """A cell that only prints source code shows the code a re-run would show (outputs are committed from a
    full run, and the code may change after it)."""
    printed = "".join("".join(o["text"]) for o in outputs)  # a stream's text: one string or a list of lines
    today = "".join(inspect.getsource(_resolve(name)) + "\n" for name in names)
    assert printed == today, f"{path.name} prints old code: put today's output of that cell ({', '.join(names)}) in it"


def test_clean_drops_log_lines_and_writes_paths_relative_to_the_repository(tmp_path):
    noisy = ["WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
             "E0000 00:00:1.2 1 cuda_executor.cc:1] failed call to cuInit: INTERNAL: CUDA error\n",
             "a warning a student should see\n"]
    cells = [{"cell_type": "code", "source": "", "metadata": {}, "execution_count": 1, "outputs": [
        {"output_type": "stream", "name": "stderr", "text": noisy},
        {"output_type": "stream", "name": "stderr", "text": noisy[:2]},
        {"output_type": "stream", "name": "stdout", "text": ["saved in /home/ana/gan-course/checkpoints/mlp_gan\n"]},
        {"output_type": "execute_result", "execution_count": 1, "metadata": {},
         "data": {"text/plain": ["PosixPath('/home/ana/gan-course/checkpoints')"]}}]}]
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert len(problems(path)) == 6
    assert clean(path, root="/home/ana/gan-course") == 4
    outputs = json.loads(path.read_text())["cells"][0]["outputs"]
    assert [o.get("text") for o in outputs[:2]] == [["a warning a student should see\n"],
                                                    ["saved in checkpoints/mlp_gan\n"]]
    assert outputs[2]["data"]["text/plain"] == ["PosixPath('checkpoints')"] and problems(path) == []


def test_check_environment_says_what_to_do_with_an_old_keras(monkeypatch, capsys):
    import keras

    from gan_lessons import UserError, check_environment

    assert check_environment() is keras
    assert f"Keras {keras.__version__}, backend {keras.backend.backend()}" in capsys.readouterr().out
    monkeypatch.setattr(keras, "__version__", "3.10.0")  # what Colab shipped when the course began
    with pytest.raises(UserError, match=r'pip install -U "keras>=3.15,<3.16".*Reiniciar sesión'):
        check_environment(show=False)


_A_LESSON_STARTS = """
import sys
import numpy as np
import gan_lessons
gan_lessons.check_environment(show=False)
gan_lessons.set_seed(0)                     # Keras seeds TensorFlow too, on every backend, if it is installed
from gan_lessons.metrics import classify
classify(np.zeros((4, 28, 28, 1), "float32"))  # the course classifier, as every MNIST lesson scores
from gan_lessons.lessons import make_experiment
make_experiment("dcgan", quick=True, out_dir=sys.argv[1], steps=2, snapshot_every=1).train(progress=False)
print("done")
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_a_lesson_starts_without_tensorflow_lines_or_warnings_on_each_backend(backend, tmp_path):
    # What a notebook's first cells, its scores and its training do, on the backends the README offers: nothing on
    # stderr. On JAX and torch, Keras imported TensorFlow later, outside check_environment's silence (its absl and
    # oneDNN lines), and torch warned about the classifier's one input given as a list; on TensorFlow, Grappler logged
    # "E0000 ... remapper failed: INVALID_ARGUMENT" at the first step of every convolutional D (a harmless error, in red).
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"the {backend} backend is not installed (make install-backends)")
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env["KERAS_BACKEND"] = backend
    done = subprocess.run([sys.executable, "-c", _A_LESSON_STARTS, str(tmp_path / "run")], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr[-3000:]
    assert done.stderr == "", done.stderr[-3000:]


def _first_cell_until_the_package_is_imported(path):
    """The notebook's environment cell (its first code cell) up to its ``from gan_lessons import ...`` line, which
    needs only the standard library: what runs in a Python where the course is not installed yet (Colab)."""
    code = next(c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    source = "".join(code["source"])
    return source[:source.index("from gan_lessons.pretrained")]


def _run_first_cell(path, cwd):
    """That part of the cell in a Python without site-packages (so without the course), with ``subprocess.run``
    recorded instead of run (the pip install itself is the package registry's business), then ``gan_lessons``
    imported as the rest of the cell imports it."""
    script = ("import subprocess\ncalls = []\nsubprocess.run = lambda args, **kwargs: calls.append(args)\n"
              + _first_cell_until_the_package_is_imported(path)
              + "import gan_lessons\nprint(gan_lessons.__file__)\nprint(calls)\n")
    return subprocess.run([sys.executable, "-S", "-E", "-c", script], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_installs_and_imports_the_course_in_a_python_without_it(path):
    # A kernel that started before `pip install -e ..` does not read the .pth file that install writes: without the
    # cell's own help the import that follows fails (it did in a fresh venv, session 39).
    done = _run_first_cell(path, cwd=REPO_ROOT / "notebooks")
    assert done.returncode == 0, done.stderr
    where, calls = done.stdout.splitlines()
    assert where == str(REPO_ROOT / "gan_lessons" / "__init__.py")
    (python, *pip), = ast.literal_eval(calls)
    assert os.path.realpath(python) == os.path.realpath(sys.executable)  # the kernel's own Python, however it was named
    assert pip == ["-m", "pip", "install", "-q", "-e", ".."]


def test_first_cell_outside_the_repository_says_what_to_do(tmp_path):
    (tmp_path / "notebooks").mkdir()
    done = _run_first_cell(NOTEBOOKS[0], cwd=tmp_path / "notebooks")
    assert done.returncode != 0 and "ModuleNotFoundError" not in done.stderr
    assert "FileNotFoundError: Este cuaderno necesita el repositorio del curso: clónalo" in done.stderr
