"""Notebook 06's exercises: score finished CycleGAN runs beyond ``evaluate()`` — does G_AB copy its input, how
much colour G_BA's drawings hide (steganography ratio of section 9), how different the translations are from
each other, how jumpy D's losses are, how much the snapshots change. One JSON line per run.

    python docs/score_cyclegan_variants.py checkpoints/cyclegan checkpoints/cyclegan-pool0 ...
"""

import json
import sys

import numpy as np

from gan_lessons import check_environment

check_environment(show=False)
from gan_lessons.data import load_lineart  # noqa: E402
from gan_lessons.lessons import load_experiment  # noqa: E402
from gan_lessons.metrics import mean_absolute_error  # noqa: E402


def mean_pairwise_l1(images, n=60):
    """Mean absolute difference between every two of the first ``n`` images."""
    x = images[:n].reshape(n, -1)
    return float(np.mean([np.abs(x[i] - x[j]).mean() for i in range(n) for j in range(i + 1, n)]))


def score(run_dir, line, colour):
    run = load_experiment(run_dir)
    history = np.load(run.out_dir / "history.npz")
    saved = run.out_dir / "metrics.json"  # written by `train`; a run trained in the notebook is scored here
    metrics = json.loads(saved.read_text()) if saved.exists() else {
        **run.evaluate(), "train_seconds": round(float(history["wall_time"]), 1)}
    coloured, drawn = run.translate(line), run.translate(colour, "b2a")
    back = mean_absolute_error(run.translate(drawn, "a2b"), colour).mean()
    row = {key: metrics[key] for key in ("mae", "sharpness_ratio", "colorfulness_ratio", "palette_distance",
                                         "b2a_mae", "cycle_mae_a", "cycle_mae_b", "train_seconds")}
    row["mae_over_identity"] = metrics["mae"] / metrics["mae_identity"]
    row["copy_distance"] = float(mean_absolute_error(coloured, line).mean())  # |G_AB(a) - a|: 0 for a copy
    row["steganography_ratio"] = float(back / mean_absolute_error(coloured, colour).mean())
    row["pairwise_l1"] = mean_pairwise_l1(coloured)
    for key in ("d_a", "d_b"):
        last = history[f"log/{key}"][-500:]
        row[f"{key}_last500"] = {"mean": float(last.mean()), "std": float(last.std()),
                                 "mean_step_change": float(np.abs(np.diff(last)).mean())}
    snaps = history["snapshots"].astype("float32") / 255
    row["snapshot_change"] = [float(np.abs(snaps[k] - snaps[k - 1]).mean()) for k in range(1, len(snaps))]
    return row


if __name__ == "__main__":
    test = load_lineart("test")
    line, colour = test["line"] / 255.0, test["color"] / 255.0
    print(json.dumps({"true_colours_pairwise_l1": mean_pairwise_l1(colour)}))
    for run_dir in sys.argv[1:]:
        print(run_dir, json.dumps(score(run_dir, line, colour)))
