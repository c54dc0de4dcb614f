"""Command line: ``python -m gan_lessons train|sample|translate|classifier`` (see README)."""

import argparse
import json
import sys
import time
from pathlib import Path

LESSON_NAMES = ["mlp_gan", "dcgan", "cgan", "mode_collapse", "pix2pix", "pix2pix_l1", "cyclegan"]


def _train(args):
    if args.lesson == "mode_collapse":
        return _train_mode_collapse(args)
    from .lessons import experiment_class

    experiment = experiment_class(args.lesson)(args.lesson, quick=args.quick, seed=args.seed, out_dir=args.out)
    mode = "quick" if experiment.quick else "full"
    print(f"{args.lesson} ({mode} mode, seed {args.seed}) -> {experiment.out_dir}")
    print("settings: " + json.dumps(experiment.config))
    started = time.perf_counter()
    history = experiment.train()
    print(f"training: {history.step} steps, {history.wall_time:.1f} s of training in all "
          f"(this run: {time.perf_counter() - started:.1f} s)")
    metrics = experiment.evaluate(n=args.eval_samples)
    metrics["steps"], metrics["train_seconds"] = history.step, round(history.wall_time, 1)
    (experiment.out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    _save_png(experiment.sample_grid(), experiment.out_dir / "samples.png")
    for key, value in metrics.items():
        if key != "confusion":
            print(f"  {key}: {value}")
    print(f"wrote {experiment.out_dir / 'metrics.json'} and {experiment.out_dir / 'samples.png'}")


def _train_mode_collapse(args):
    from .lessons import ModeCollapseLesson

    lesson = ModeCollapseLesson(quick=args.quick, seed=args.seed, out_dir=args.out)
    mode = "quick" if lesson.quick else "full"
    print(f"mode_collapse ({mode} mode, seeds {lesson.seeds}) -> {lesson.out_dir}")
    print("settings: " + json.dumps(lesson.config))
    results = lesson.train()
    print(f"training: {results['train_seconds']:.1f} s of training, {results['wall_seconds']:.1f} s in all")
    print("mean ± std over seeds: modes captured, % high-quality samples, reverse KL")
    for dataset, methods in results["summary"].items():
        for method, s in methods.items():
            kl = f"{s['reverse_kl'][0]:.3f} ± {s['reverse_kl'][1]:.3f}" if s["reverse_kl"][2] else "n/a"
            print(f"  {dataset:4s} {method:13s} {s['modes'][0]:4.1f} ± {s['modes'][1]:.1f}   "
                  f"{100 * s['high_quality'][0]:5.1f} ± {100 * s['high_quality'][1]:.1f} %   {kl}")
    print(f"wrote {lesson.out_dir / 'results.json'} and points_<dataset>_<method>.npy there")


def _save_png(grid, path):
    from PIL import Image
    import numpy as np

    grid = np.round(grid * 255).astype(np.uint8)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)


def _sample(args):
    import numpy as np

    from .lessons import load_experiment, requested_labels

    if args.n <= 0:
        raise ValueError(f"-n must be a positive number of samples, got {args.n}")
    if not args.out.endswith(".npz"):
        raise ValueError(f"--out must be an .npz file, got {args.out!r}")
    experiment = load_experiment(args.dir)
    if hasattr(experiment, "translate"):
        raise ValueError(f"{args.dir} holds an image-to-image model: use `translate {args.dir} --input IN.npz --out OUT.npz`")
    images = experiment.generate(args.n, seed=args.seed)
    arrays = {"images": images}
    if experiment.conditional:  # the digits generate() asked for
        arrays["labels"] = requested_labels(args.n).astype("int64")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
          + " (images in [0, 1])")


def _translate(args):
    import numpy as np

    from .lessons import load_experiment

    if not args.out.endswith(".npz"):
        raise ValueError(f"--out must be an .npz file, got {args.out!r}")
    if not Path(args.input).exists():
        raise FileNotFoundError(f"--input {args.input} does not exist")
    with np.load(args.input) as f:
        if "images" not in f.files:
            raise ValueError(f"{args.input} must hold an array `images` (N, S, S, 3) in [0, 1]; it holds {f.files}")
        images = f["images"]
    experiment = load_experiment(args.dir)
    if not hasattr(experiment, "translate"):
        raise ValueError(f"{args.dir} holds a {experiment.lesson} model, which makes images from noise: use `sample`")
    translated = experiment.translate(images, args.direction)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=translated)
    style = "Twitter" if args.direction == "a2b" else "Google"
    print(f"wrote {args.out}: images {translated.shape} in [0, 1] ({style} style)")


def _classifier(args):
    from .metrics import CLASSIFIER_PATH, train_classifier

    _, accuracy = train_classifier(CLASSIFIER_PATH, epochs=args.epochs)
    print(f"course classifier: test accuracy {accuracy:.4f}, saved to {CLASSIFIER_PATH}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gan_lessons", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a lesson's models (resumes from --out)")
    p.add_argument("lesson", choices=LESSON_NAMES)
    p.add_argument("--quick", action="store_true", default=None,
                   help="the short CI settings (default: GAN_LESSONS_QUICK, else full)")
    p.add_argument("--out", default=None, help="checkpoint folder (default checkpoints/LESSON)")
    p.add_argument("--seed", type=int, default=0)
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

    p = sub.add_parser("translate", help="translate emoji between Google and Twitter style with a trained "
                                         "pix2pix or cyclegan")
    p.add_argument("dir", help="a folder written by `train pix2pix` (or pix2pix_l1, cyclegan)")
    p.add_argument("--input", required=True, help="input .npz with `images` (N, S, S, 3) in [0, 1]")
    p.add_argument("--direction", choices=["a2b", "b2a"], default="a2b",
                   help="a2b: Google -> Twitter style (default); b2a: Twitter -> Google (cyclegan only)")
    p.add_argument("--out", required=True, help="output .npz (array `images`, same shape, in [0, 1])")
    p.set_defaults(func=_translate)

    p = sub.add_parser("classifier", help="retrain the course classifier (data/mnist_classifier.weights.h5)")
    p.add_argument("--epochs", type=int, default=4)
    p.set_defaults(func=_classifier)

    args = parser.parse_args(argv)
    from .data import DataUnavailableError
    from .training import NonFiniteLossError

    try:
        args.func(args)
    except (ValueError, FileNotFoundError, DataUnavailableError, NonFiniteLossError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
