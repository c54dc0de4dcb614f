"""Modes captured along each run of a lesson-04 sweep: for every seed of one (dataset, method), the modes and
% high-quality samples of its 500-point snapshots (``lessons.mode_collapse.coverage_along``: ``mode_coverage``,
as the final scores), and the share of snapshots in which the generator held at most one mode (collapsed). A
run that ends with 8 modes may have spent most of its training collapsed; the final table cannot say so.

    .venv/bin/python docs/mode_timeline.py SWEEP_DIR [DATASET] [METHOD] [--columns N]
    .venv/bin/python docs/mode_timeline.py checkpoints/mode_collapse ring vanilla
    .venv/bin/python docs/mode_timeline.py pretrained/mode_collapse grid vanilla --columns 12

SWEEP_DIR is the folder of ``train mode_collapse`` (or a pack of it in ``pretrained/``); defaults: ring,
vanilla, 16 columns (snapshots evenly picked, the last one included).
"""

import argparse
from pathlib import Path

import numpy as np

from gan_lessons import UserError
from gan_lessons.lessons.mode_collapse import coverage_along
from gan_lessons.training import History


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("dataset", nargs="?", default="ring")
    parser.add_argument("method", nargs="?", default="vanilla")
    parser.add_argument("--columns", type=int, default=16)
    args = parser.parse_args(argv)
    sweep, dataset, method, columns = args.sweep, args.dataset, args.method, args.columns
    paths = sorted(sweep.glob(f"{dataset}_{method}_seed*/history.npz"))
    if not paths:
        raise UserError(f"no {dataset}_{method}_seed*/history.npz in {sweep}: train the sweep first "
                        "(python -m gan_lessons train mode_collapse --out DIR)")
    for path in paths:
        steps, modes, quality = coverage_along(History.load(path), dataset)
        picks = np.unique(np.linspace(0, len(steps) - 1, columns).round().astype(int))
        half = len(steps) // 2
        print(f"{path.parent.name}: collapsed (≤ 1 mode) in {np.mean(modes <= 1):.0%} of {len(steps)} snapshots "
              f"({np.mean(modes[:half] <= 1):.0%} of the first half, {np.mean(modes[half:] <= 1):.0%} of the second)")
        print("  step " + " ".join(f"{s:>6d}" for s in steps[picks]))
        print("  modes" + " ".join(f"{m:>3d}/{100 * q:2.0f}" for m, q in zip(modes[picks], quality[picks])))


if __name__ == "__main__":
    main()
