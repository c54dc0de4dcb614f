"""The exercises' solutions (Python inside the notebooks' markdown) and the notebooks' code cells share one kernel:
a solution must find the names it uses as the notebook left them, and must not rebind a name that a code cell
reads, so that a student can run a solution and then re-run any cell. Two such clashes reached a committed notebook
(session 55): a plotting loop in notebook 04 rebound `lesson`, the sweep that exercises 4 and 6 use, and exercise 4
of notebook 01 rebound `ours`, the scores that cell 33 prints."""

import collections
import json
import re
import symtable

import pytest

from gan_lessons import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9]*.ipynb"))
SOLUTION = re.compile(r"```python\n(.*?)```", re.S)


def scope(source):
    """(names the code binds at module level other than by import, names it reads from module level: at module
    level without binding them there, or as globals inside its functions, classes and comprehensions)."""
    code = "\n".join(line for line in source.split("\n") if not line.lstrip().startswith(("%", "!")))
    top = symtable.symtable(code, "cell", "exec")
    assigned = {s.get_name() for s in top.get_symbols() if s.is_assigned() and not s.is_imported()}
    reads = {s.get_name() for s in top.get_symbols()
             if s.is_referenced() and not (s.is_assigned() or s.is_imported())}
    tables = list(top.get_children())
    while tables:
        table = tables.pop()
        reads |= {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
        tables += table.get_children()
    return assigned, reads - assigned


def clashes(notebook):
    """(exercise cell, name, code cells binding it) for each name a solution reads that more than one code cell
    binds; (code cell, name) for each name a code cell reads that a solution binds."""
    cells, solutions = [], []
    for i, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            cells.append((i, *scope(source)))
        else:
            solutions += [(i, *scope(block)) for block in SOLUTION.findall(source)]
    binders = collections.defaultdict(list)
    for i, assigned, _ in cells:
        for name in assigned:
            binders[name].append(i)
    rebound = sorted({(i, name, tuple(binders[name])) for i, _, reads in solutions for name in reads
                      if len(binders[name]) > 1})
    clobbered = sorted({(i, name) for i, _, reads in cells for _, assigned, _ in solutions for name in reads
                        if name in assigned})
    return rebound, clobbered


def _notebook(*cells):
    return {"cells": [{"cell_type": kind, "source": [source]} for kind, source in cells]}


def test_clashes_are_found():
    """Notebook 04's clash (a loop variable rebinding the sweep) and notebook 01's (a solution rebinding scores a
    cell prints), in miniature; loop variables of helper functions and names a solution binds itself are fine."""
    notebook = _notebook(
        ("code", "import keras\nlesson = make_sweep()\nscores = lesson.train()"),
        ("code", "def show(name):\n    for lesson in range(3):\n        print(name, lesson)\nprint(scores)"),
        ("code", "for ax, (lesson, title) in zip(axes, pairs):\n    ax.set_title(title)"),
        ("markdown", "Ejercicio\n\n```python\np = lesson.out_dir\nscores = p.train()\nx = 1\nprint(x)\n```\n"),
    )
    assert clashes(notebook) == ([(3, "lesson", (0, 2))], [(1, "scores")])
    del notebook["cells"][2]
    notebook["cells"][-1]["source"] = ["```python\nx = lesson.out_dir\nprint(x, keras)\n```"]
    assert clashes(notebook) == ([], [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_and_cells_do_not_rebind_each_others_names(path):
    rebound, clobbered = clashes(json.loads(path.read_text()))
    assert rebound == [], ("a solution reads a name that several code cells bind (exercise cell, name, code cells): "
                           f"{rebound}; rename the later binding (a loop variable, say)")
    assert clobbered == [], (f"a code cell reads a name that a solution binds (code cell, name): {clobbered}; "
                             "give the solution's variable another name")
