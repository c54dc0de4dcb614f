"""Fingerprint of every lesson in quick mode: train each through the CLI and print its metrics and a
digest (sha256 of every array, by name) of every weight file and point file it wrote.

Used to prove that a change of code keeps behaviour: run it before and after, on the same machine,
and compare the JSON files (training is seeded and deterministic on one machine).

    python docs/fingerprint.py OUT_DIR [LESSON ...]     # writes OUT_DIR/fingerprint.json
"""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

LESSONS = ["mlp_gan", "dcgan", "cgan", "mode_collapse", "pix2pix", "pix2pix_l1", "cyclegan"]


def digest_h5(path):
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        names = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        for name in sorted(names):
            h.update(name.encode())
            h.update(np.asarray(f[name]).tobytes())
    return h.hexdigest()[:12]


def fingerprint(out, lesson):
    folder = out / lesson
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.getcwd())
    subprocess.run([sys.executable, "-m", "gan_lessons", "train", lesson, "--quick", "--out", str(folder),
                    "--eval-samples", "2000"], check=True, capture_output=True, env=env)
    row = {str(f.relative_to(folder)): digest_h5(f) for f in sorted(folder.rglob("*.weights.h5"))}
    row.update({str(f.relative_to(folder)): hashlib.sha256(np.load(f).tobytes()).hexdigest()[:12]
                for f in sorted(folder.rglob("*.npy"))})
    if (folder / "metrics.json").exists():
        metrics = json.loads((folder / "metrics.json").read_text())
        row["metrics"] = {k: v for k, v in metrics.items() if k not in ("train_seconds", "confusion")}
    if (folder / "results.json").exists():
        row["summary"] = json.loads((folder / "results.json").read_text())["summary"]
    return row


if __name__ == "__main__":
    if len(sys.argv) < 2:  # (what to pass, not an IndexError)
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    rows = {lesson: fingerprint(out, lesson) for lesson in (sys.argv[2:] or LESSONS)}
    for lesson, row in rows.items():
        print(lesson, json.dumps(row))
    (out / "fingerprint.json").write_text(json.dumps(rows, indent=1, sort_keys=True))
