"""Presentation mode: the course ships the generators of every lesson's full run (``pretrained/``), so that
an instructor can run any notebook top to bottom in a minute without training.

``GAN_LESSONS_PRETRAINED=1`` (or ``use_pretrained(True)`` in a notebook) turns it on. Then an experiment whose
output folder holds no checkpoint of its own, and whose settings are those a pack was made with, gets the
pack copied into that folder as a finished checkpoint: the generators' weights, the history (losses and
snapshots, so the plots and GIFs are those of the real run) and the experiment's description. The
discriminators are not shipped: a pretrained run can be shown, sampled and scored, not trained further
(train it yourself with ``fresh=True`` or in an empty folder: turning the mode off does not retrain a folder
that has already received the pack).

A pack mirrors a full-mode output folder (``checkpoints/<lesson>``, and lesson 04's run sub-folders): per run
``checkpoint.json`` (with ``"pretrained": true`` and the shipped models' names), ``history.npz`` (losses in float32)
and one ``<name>.weights.h5`` per model whose name starts with ``generator`` (and, packed with ``--critics``,
the discriminator or critic), without optimizer state, in float16 except files under 1 MB (``SMALL``: the 2-D
networks, lessons 02 and 07's generators); the folder's ``*.json`` files (its description, lesson 04's results)
beside them. ``python -m gan_lessons.pretrained checkpoints/<lesson> ...`` makes packs from finished runs.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from . import CHECKPOINT_DIR, REPO_ROOT, UserError, switched_on

PRETRAINED_DIR = Path(os.environ.get("GAN_LESSONS_PRETRAINED_DIR", REPO_ROOT / "pretrained"))


def pretrained_mode():
    """True when ``GAN_LESSONS_PRETRAINED`` asks for the shipped weights (``1``, ``true``, ``yes``)."""
    return switched_on("GAN_LESSONS_PRETRAINED")


def use_pretrained(on=None):
    """Turn presentation mode on (``True``) or off (``False``) for this process, or leave it as the environment
    says (``None``); return whether it is on. Experiments created afterwards follow it."""
    if on is not None and not isinstance(on, bool):  # bool("False") would be True
        raise UserError(f"use_pretrained takes True, False or None (the environment decides), got {on!r}")
    if on is not None:
        os.environ["GAN_LESSONS_PRETRAINED"] = "1" if on else "0"
    return pretrained_mode()


def _mirror(out_dir):
    """Where the pack of ``out_dir`` lives: its path under the checkpoint folder, under ``pretrained/``
    (a ValueError for a folder outside the checkpoint folder)."""
    return PRETRAINED_DIR / Path(out_dir).resolve().relative_to(CHECKPOINT_DIR.resolve())


def pack_for(out_dir):
    """The shipped pack that mirrors ``out_dir`` (a folder under the checkpoint folder), or None."""
    try:
        pack = _mirror(out_dir)
    except ValueError:
        return None
    return pack if (pack / "experiment.json").exists() else None


def install(out_dir, matches, on=None):
    """Copy the pack of ``out_dir`` into it when ``on`` (None: when presentation mode is on), the folder holds no
    experiment yet and ``matches(description)`` accepts the pack's experiment.json; return whether it did."""
    pack = pack_for(out_dir) if (pretrained_mode() if on is None else on) else None
    if pack is None or (Path(out_dir) / "experiment.json").exists():
        return False
    if not matches(json.loads((pack / "experiment.json").read_text())):
        print(f"Los pesos del curso para {Path(out_dir).name} son de otros ajustes; se entrena.")
        return False
    shutil.copytree(pack, out_dir, dirs_exist_ok=True)
    return True


def load_generators(out_dir, meta, models):
    """Load a pretrained checkpoint (``meta["pretrained"]``): the weights of the generators it names into
    ``models``; everything else keeps its initial weights."""
    missing = [name for name in meta["models"] if name not in models]
    if missing:
        raise ValueError(f"the pretrained weights are for models {missing}, which these models lack")
    for name in meta["models"]:
        model = models[name]
        skip = [model.optimizer] if getattr(model, "optimizer", None) is not None else None
        model.load_weights(Path(out_dir) / f"{name}.weights.h5", objects_to_skip=skip)


# bytes: a generator file below this keeps float32 (lesson 04's 2-D nets, 0.16 MB each; lessons 02 and 07's G, 0.58 MB)
SMALL = 1_000_000


def _half_weights(source, target):
    """Copy a Keras ``.weights.h5`` without its optimizer state, float32 arrays stored as float16 unless the
    file is small: lesson 04 scores 2-D points against a 3-sigma border, and float16's rounding moved a few of
    its 2,500 points across it (24 instead of 25 modes in one run); in float32 every score is the run's."""
    import h5py

    half = Path(source).stat().st_size >= SMALL
    with h5py.File(source, "r") as old, h5py.File(target, "w") as new:
        new.attrs.update(old.attrs)

        def copy(name, item):
            if name.split("/")[0] == "optimizer":
                return
            if isinstance(item, h5py.Group):
                new.require_group(name).attrs.update(item.attrs)
                return
            data = item[()]
            if half and getattr(data, "dtype", None) == np.float32:
                data = data.astype(np.float16)
            new.create_dataset(name, data=data, **({"compression": "gzip"} if np.ndim(data) else {}))

        old.visititems(copy)


def _small_history(source, target):
    """The history of ``source`` with its per-step losses in float32 and snapshots of points in float16."""
    with np.load(source) as f:
        arrays = {key: f[key] for key in f.files}
    for key, value in arrays.items():
        if key.startswith("log/") and value.dtype == np.float64:
            arrays[key] = value.astype(np.float32)
        elif key == "snapshots" and value.dtype == np.float32:  # 2-D points (lesson 04): plots need no more
            arrays[key] = value.astype(np.float16)
    np.savez_compressed(target, **arrays)


def make_pack(out_dir, pack=None, weights=True, critics=False):
    """Write the pack of the finished full-mode output folder ``out_dir`` (default: its mirror under
    ``pretrained/``); return its size in bytes. ``weights=False`` ships the history alone, for a run that a
    notebook only plots (its generators then keep the weights they had before ``train()``); ``critics=True``
    ships the discriminator or critic too, for a notebook that looks at it (lesson 07's clipped weights)."""
    out_dir = Path(out_dir)
    pack = Path(pack) if pack is not None else _mirror(out_dir)
    description = json.loads((out_dir / "experiment.json").read_text())
    if description.get("quick"):
        raise UserError(f"{out_dir} is a quick-mode run: the course ships full-mode runs only")
    runs = sorted(path.parent for path in out_dir.rglob("checkpoint.json"))
    if not runs:
        raise UserError(f"{out_dir} holds no finished run to pack: train it first (python -m gan_lessons train LESSON "
                        f"--out {out_dir})")
    if pack.exists():
        shutil.rmtree(pack)
    extra = ("discriminator", "critic") if critics else ()
    from .training import read_checkpoint  # (here: the notebooks import this module before Keras is set up)

    for run in runs:
        meta = read_checkpoint(run)  # (completes one whose writing a killed process left staged)
        if meta["step"] < meta["steps"]:
            raise UserError(f"{run} stopped at step {meta['step']} of {meta['steps']}: finish it first")
        target = pack / run.relative_to(out_dir)
        target.mkdir(parents=True, exist_ok=True)
        names = [name for name in meta["models"] if name.startswith("generator") or name in extra] if weights else []
        for name in names:
            _half_weights(run / f"{name}.weights.h5", target / f"{name}.weights.h5")
        _small_history(run / "history.npz", target / "history.npz")
        meta = {"step": meta["step"], "steps": meta["steps"], "wall_time": meta["wall_time"], "models": names,
                "pretrained": True, "optimizer_targets": {}}
        (target / "checkpoint.json").write_text(json.dumps(meta, indent=1))
    for path in out_dir.rglob("*.json"):
        if not path.name.startswith("checkpoint."):  # (nor a staged or partial one a killed process left)
            (pack / path.relative_to(out_dir)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, pack / path.relative_to(out_dir))
    return sum(path.stat().st_size for path in pack.rglob("*") if path.is_file())


USAGE = "usage: python -m gan_lessons.pretrained [--history-only] [--critics] FOLDER ..."

if __name__ == "__main__":
    flags = {arg for arg in sys.argv[1:] if arg.startswith("-")}
    folders = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    if flags - {"--history-only", "--critics"} or not folders:  # (a mistyped flag would pack the weights too)
        unknown = sorted(flags - {"--history-only", "--critics", "-h", "--help"})
        sys.exit((f"error: unknown option {', '.join(unknown)}\n" if unknown else "") + USAGE)
    for folder in folders:
        size = make_pack(folder, weights="--history-only" not in flags, critics="--critics" in flags)
        print(f"{folder}: {size / 1e6:.2f} MB")
