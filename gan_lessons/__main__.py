"""Command line: ``python -m gan_lessons train|sample|translate|classifier`` (see README)."""

import argparse
import json
import sys
from pathlib import Path

from . import UserError


def _setting(text):
    """``key=value`` of ``--set``: the value read as JSON (20, 1e-3, true, [64, 32]), else as a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set takes key=value, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


# Words that `make_experiment` takes beside the lesson's settings, and what `train` offers for each instead of --set.
NOT_SETTINGS = {"lesson": "the lesson's name", "quick": "--quick", "seed": "--seed N", "out_dir": "--out DIR",
                "fresh": "a new --out DIR (or delete the folder)", "pretrained": "GAN_LESSONS_PRETRAINED=1"}


def _train(args):
    from .lessons import make_experiment

    if args.eval_samples < 1:  # refused before training, not after it
        raise UserError(f"--eval-samples must be at least 1, got {args.eval_samples}")
    settings = dict(args.set)
    for key in settings.keys() & NOT_SETTINGS.keys():  # (seed used to crash, fresh and pretrained to act unasked)
        raise UserError(f"--set {key}=... is not a setting of {args.lesson}: use {NOT_SETTINGS[key]} instead")
    run = make_experiment(args.lesson, quick=args.quick, seed=args.seed, out_dir=args.out, **settings)
    print(f"{args.lesson} ({'quick' if run.quick else 'full'} mode, seed {args.seed}) -> {run.out_dir}")
    print("settings: " + json.dumps(run.config))
    try:
        for line in run.cli_run(args.eval_samples):
            print(line, flush=True)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(run.saved_so_far()) from None


def _output_npz(path):
    """``path`` (``--out`` of sample and translate) once its folder exists: refused before any work if it is not an
    .npz file name, is a folder, or its folder cannot be made."""
    if not path.endswith(".npz"):
        raise UserError(f"--out must be an .npz file, got {path!r}")
    if Path(path).is_dir():
        raise UserError(f"--out {path} is a folder: give a file name inside it, e.g. {Path(path) / 'out.npz'}")
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--out {path}: cannot make its folder ({err}); choose another place") from err
    return path


def _save_npz(path, **arrays):
    import numpy as np

    try:
        np.savez_compressed(path, **arrays)
    except OSError as err:
        raise UserError(f"--out {path} cannot be written ({err}); choose another place") from err


def _sample(args):
    from .lessons import ImageGAN, load_experiment

    if args.n <= 0:
        raise UserError(f"-n must be a positive number of samples, got {args.n}")
    if args.seed < 0:
        raise UserError(f"--seed must be 0 or more, got {args.seed}")
    _output_npz(args.out)
    run = load_experiment(args.dir)
    if not isinstance(run, ImageGAN):
        raise UserError(f"{args.dir} holds a {run.lesson} model, which translates images: use "
                        f"`translate {args.dir} --input IN.npz --out OUT.npz`")
    arrays = run.sample_arrays(args.n, seed=args.seed)
    _save_npz(args.out, **arrays)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()) + " (images in [0, 1])")


def _translate(args):
    import zipfile

    import numpy as np

    from .lessons import Translation, load_experiment

    _output_npz(args.out)
    try:
        f = np.load(args.input)
        if not isinstance(f, np.lib.npyio.NpzFile):
            raise UserError(f"--input {args.input} holds one bare array, not an .npz file with an array `images`: "
                            "write it with np.savez(PATH, images=x)")
        with f:
            if "images" not in f.files:
                raise UserError(f"{args.input} must hold an array `images` (N, S, S, 3) in [0, 1]; it holds {f.files}")
            images = f["images"]
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        if isinstance(err, UserError):
            raise
        raise UserError(f"--input {args.input} cannot be read as an .npz file ({err})") from err
    run = load_experiment(args.dir)
    if not isinstance(run, Translation):
        raise UserError(f"{args.dir} holds a {run.lesson} model, which makes images from noise: use `sample`")
    translated = run.translate(images, args.direction)
    _save_npz(args.out, images=translated)
    print(f"wrote {args.out}: images {translated.shape} in [0, 1] ({run.styles[args.direction]})")


def _classifier(args):
    from .metrics import CLASSIFIER_PATH, train_classifier

    if args.epochs < 1:  # it would overwrite the course's scoring model with an untrained one
        raise UserError(f"--epochs must be at least 1, got {args.epochs}")
    _, accuracy = train_classifier(CLASSIFIER_PATH, epochs=args.epochs)
    print(f"course classifier: test accuracy {accuracy:.4f}, saved to {CLASSIFIER_PATH}")


def _parser():
    from .lessons import LESSONS

    parser = argparse.ArgumentParser(prog="python -m gan_lessons", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a lesson's models (resumes from --out)",
                       epilog="lessons: " + "; ".join(f"{k}: {v.summary}" for k, v in LESSONS.items()))
    p.add_argument("lesson", choices=list(LESSONS))
    p.add_argument("--quick", action="store_true", default=None,
                   help="the short CI settings (default: GAN_LESSONS_QUICK, else full)")
    p.add_argument("--out", default=None, help="checkpoint folder (default: the repository's checkpoints/LESSON, checkpoints/LESSON-quick in quick mode; GAN_LESSONS_CHECKPOINTS replaces checkpoints/)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                   help="change one setting of the lesson (repeatable), e.g. --set steps=2000")
    p.add_argument("--eval-samples", type=int, default=10000,
                   help="samples to score at the end (image lessons; mode_collapse scores 2,500 per run)")
    p.set_defaults(func=_train)

    p = sub.add_parser("sample", help="write N samples of a trained model to an .npz file")
    p.add_argument("dir", help="a folder written by `train`")
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--out", required=True, help="output .npz (array `images`, (N, H, W, C) in [0, 1]; "
                   "for cgan also `labels`, the digit asked for, cycling 0..9)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_sample)

    p = sub.add_parser("translate", help="translate images with a trained pix2pix or cyclegan")
    p.add_argument("dir", help="a folder written by `train pix2pix` (or pix2pix_l1, cyclegan)")
    p.add_argument("--input", required=True, help="input .npz with `images` (N, S, S, 3) in [0, 1]")
    p.add_argument("--direction", choices=["a2b", "b2a"], default="a2b",
                   help="a2b: the lesson's translation (default); b2a: the way back (cyclegan only)")
    p.add_argument("--out", required=True, help="output .npz (array `images`, same shape, in [0, 1])")
    p.set_defaults(func=_translate)

    p = sub.add_parser("classifier", help="retrain the course classifier (data/mnist_classifier.weights.h5)")
    p.add_argument("--epochs", type=int, default=4)
    p.set_defaults(func=_classifier)

    return parser


def main(argv=None):
    from . import check_environment

    try:
        check_environment(show=False)  # Keras imported without TensorFlow's C++ start-up lines; too old a Keras named
        args = _parser().parse_args(argv)
        args.func(args)
    except UserError as err:  # an expected mistake: its message names the fix; a bug keeps its traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # Ctrl-C: no traceback, but what `train` keeps and how to go on
        print("\ninterrupted" + (f": {stop}" if str(stop) else ""), file=sys.stderr)
        return 130  # the shells' code for a command stopped by Ctrl-C (128 + SIGINT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
