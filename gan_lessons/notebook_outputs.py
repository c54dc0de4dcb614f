"""What a committed notebook may show: no TensorFlow start-up, CUDA or retracing log lines, and no
absolute path of the computer that ran it.

``python -m gan_lessons.notebook_outputs clean NOTEBOOK ...`` rewrites executed notebooks (``make
notebooks-full`` runs it after each): it drops those log lines from the printed outputs (a stream left
empty is removed) and writes paths inside the repository relative to it. ``problems(path)`` lists what
is still wrong; tests/test_notebook_outputs.py runs it on every committed notebook.
"""

import json
import re
import sys
from pathlib import Path

from . import REPO_ROOT

NOISE = re.compile(r"absl::InitializeLog|^[IWE]\d{4} |cuInit|cudart_stub|oneDNN custom operations|cpu_feature_guard|"
                   r"To enable the following instructions|rebuild TensorFlow|retracing|WARNING:tensorflow|"
                   r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered")
ABSOLUTE_PATH = re.compile(r"(?<![\w.])(/(home|root|tmp|work|Users|mnt|content|var/folders)/[^\s'\"),]*|[A-Z]:\\\\Users\\\\\S*)")


def _texts(output):
    if "text" in output:
        yield "text", output["text"]
    for kind, value in output.get("data", {}).items():
        if kind.startswith("text/"):
            yield kind, value


def problems(path):
    """(cell number, what) for every forbidden line in the outputs of the notebook at ``path``."""
    found = []
    for number, cell in enumerate(json.loads(Path(path).read_text())["cells"]):
        for output in cell.get("outputs", []):
            for _, value in _texts(output):
                for line in ("".join(value) if isinstance(value, list) else value).splitlines():
                    if NOISE.search(line) or ABSOLUTE_PATH.search(line):
                        found.append((number, line[:120]))
    return found


def _relative(text, root):
    return text.replace(root + "/", "").replace(root, ".")


def clean(path, root=str(REPO_ROOT)):
    """Rewrite the notebook at ``path`` as described above; return how many lines were dropped."""
    path = Path(path)
    notebook = json.loads(path.read_text())
    dropped = 0
    for cell in notebook["cells"]:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                lines = "".join(output["text"]).splitlines(keepends=True)
                clean_lines = [line for line in lines if not NOISE.search(line)]
                dropped += len(lines) - len(clean_lines)
                if not "".join(clean_lines).strip():
                    continue
                output["text"] = clean_lines
            for kind, value in _texts(output):
                text = _relative("".join(value) if isinstance(value, list) else value, root)
                new = text.splitlines(keepends=True) if isinstance(value, list) else text
                if kind == "text":
                    output["text"] = new
                else:
                    output["data"][kind] = new
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return dropped


if __name__ == "__main__":
    if sys.argv[1:2] != ["clean"] or len(sys.argv) < 3:
        sys.exit("usage: python -m gan_lessons.notebook_outputs clean NOTEBOOK ...")
    for name in sys.argv[2:]:
        print(f"{name}: {clean(name)} log lines dropped; left: {problems(name) or 'nothing'}")
