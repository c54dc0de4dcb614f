"""GPU check: every lesson trained in full mode on this machine's accelerator, one after the other,
with wall times and figures printed as a Markdown table for docs/results.md.

    KERAS_BACKEND=jax make gpu-check       # or: python docs/gpu_check.py [OUT_DIR] [LESSON ...]

It first refuses to run without a GPU (Keras would silently train on the CPU), and records what it ran
on: backend, devices, GPU name and driver (nvidia-smi), package versions. The README's GPU route is
what it checks: `pip install -r requirements.txt`, then `pip install "jax[cuda13]"` in the same
environment and KERAS_BACKEND=jax (run on an H200 in sessions 30 and 32: lessons 02, 05, 06, 07; docs/results.md),
or a torch GPU build, or `pip install "tensorflow[and-cuda]"` (not yet run on a GPU).
"""
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path


def devices():
    import keras

    from gan_lessons import _devices  # keras.distribution lists devices on TensorFlow and JAX; torch asks torch.cuda

    return keras.backend.backend(), keras.__version__, _devices(keras)


def gpu_name():
    if not shutil.which("nvidia-smi"):
        return "nvidia-smi not found"
    out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                         capture_output=True, text=True)
    return out.stdout.strip() or out.stderr.strip()


def figures(folder):
    if (folder / "results.json").exists():  # lesson 04: modes and high quality of the best method per dataset
        summary = json.loads((folder / "results.json").read_text())["summary"]
        return "; ".join(f"{d} {m}: {s['modes'][0]:.1f} modes, {100 * s['high_quality'][0]:.1f} %"
                         for d, methods in summary.items() for m, s in methods.items())
    metrics = json.loads((folder / "metrics.json").read_text())
    keys = ("fid", "inception_score", "min_class_fraction", "label_agreement", "mae", "mae_identity",
            "palette_distance", "cycle_mae_a")
    return ", ".join(f"{k} {metrics[k]:.4g}" for k in keys if isinstance(metrics.get(k), (int, float)))


def training_time(folder):
    """Seconds inside the training loop (the checkpoint's ``wall_time``; lesson 04 keeps one per run)."""
    from gan_lessons.training import read_checkpoint

    times = [read_checkpoint(path.parent).get("wall_time", 0) for path in folder.rglob("checkpoint.json")]
    return f"{sum(times):.0f}" if times else "-"


def gpus(found):
    """The GPUs among Keras's device names (``gpu:0`` on TensorFlow and JAX, ``cuda:0`` on torch)."""
    return [d for d in found if d.startswith(("gpu", "cuda"))]


def main(out=Path("checkpoints/gpu-check"), lessons=()):
    backend, version, found = devices()
    if not gpus(found):
        sys.exit(f"no GPU visible to Keras ({backend}: {found}); see the README's GPU section")
    from gan_lessons.lessons import LESSONS

    print(f"Keras {version}, backend {backend}, devices {found}, GPU {gpu_name()}, Python {platform.python_version()}")
    print("| lesson | wall time (s) | of it training (s) | figures |\n|---|---|---|---|")
    for lesson in lessons or LESSONS:
        folder = out / lesson
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gan_lessons", "train", lesson, "--out", str(folder)], check=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", GAN_LESSONS_QUICK="0"),
                       stdout=subprocess.DEVNULL)
        print(f"| {lesson} | {time.perf_counter() - started:.0f} | {training_time(folder)} | {figures(folder)} |", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("checkpoints/gpu-check"), sys.argv[2:])
