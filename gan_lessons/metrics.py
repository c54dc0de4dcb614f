"""Numbers for generated digits, from a small MNIST classifier: the course classifier.

* FID-style score: the Fréchet distance between Gaussians fitted to the classifier's 128-d
  features of real test digits and of generated ones (Heusel et al. 2017 use Inception-v3
  features; ours are MNIST-specific, so the values are only comparable within this course).
* Inception score: exp(E_x KL(p(y|x) || p(y))) (Salimans et al. 2016); 1 = useless, 10 = every
  sample is a confident digit and all ten digits are equally frequent.
* Class histogram: the fraction of samples the classifier assigns to each digit.
"""

import numbers
from pathlib import Path

import keras
import numpy as np
from keras import layers

from . import DATA_DIR, UserError, check_count
from .data import check_image_batch, load_mnist
from .training import check_history

CLASSIFIER_PATH = DATA_DIR / "mnist_classifier.weights.h5"
_CACHE = {}


def build_classifier():
    """A small CNN: two conv/pool blocks, a 128-unit ``features`` layer, softmax over 10 digits."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, activation="relu", name="features"),
            layers.Dense(10, activation="softmax", name="probs"),
        ],
        name="course_classifier",
    )


def train_classifier(path=CLASSIFIER_PATH, epochs=4, seed=0, verbose=1):
    """Train the course classifier on MNIST's training set and save its weights to ``path``."""
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    model = build_classifier()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[..., None] / 255.0, y_train, batch_size=128, epochs=epochs, verbose=verbose)
    _, accuracy = model.evaluate(x_test[..., None] / 255.0, y_test, verbose=0)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(path)
    return model, accuracy


def test_accuracy_after_training(images, labels, steps=600, batch_size=64, seed=0):
    """Train a fresh classifier of the course architecture on ``images`` in [0, 1] (N, 28, 28, 1)
    with ``labels`` for exactly ``steps`` updates, and return its accuracy on MNIST's test set.

    A fixed number of updates (not epochs) lets sets of different sizes be compared fairly.
    """
    images = check_image_batch(images, (28, 28, 1), value_range=(0.0, 1.0))
    labels = digit_labels(labels, len(images))
    steps = check_count("steps", steps, "classifier updates")
    batch_size = check_count("batch_size", batch_size)
    keras.utils.set_random_seed(seed)
    model = build_classifier()
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        k = rng.integers(0, len(images), batch_size)
        model.train_on_batch(images[k].astype("float32"), labels[k])
    (_, _), (x_test, y_test) = load_mnist()
    probs = np.concatenate([np.asarray(model.predict_on_batch(x_test[i:i + 2000, ..., None] / 255.0))
                            for i in range(0, len(x_test), 2000)])
    return float(np.mean(np.argmax(probs, axis=1) == y_test))


def course_classifier(path=CLASSIFIER_PATH):
    """The course classifier: loaded from ``path`` (committed), or trained once (~1 min) and saved."""
    path = Path(path)
    if path not in _CACHE:
        if path.exists():
            model = build_classifier()
            model.load_weights(path)
        else:
            print(f"{path} not found: training the course classifier once (about a minute)...")
            model, accuracy = train_classifier(path, verbose=0)
            print(f"course classifier: test accuracy {accuracy:.4f}, saved to {path}")
        # one input, given as a tensor and not a list of one: torch warned on every call of the list-built model
        features = keras.Model(model.inputs[0], [model.get_layer("features").output, model.outputs[0]])
        _CACHE[path] = features
    return _CACHE[path]


def classify(images, batch_size=1000):
    """Features (N, 128) and class probabilities (N, 10) of images in [0, 1], shape (N, 28, 28, 1)."""
    images = check_image_batch(images, (28, 28, 1), value_range=(0.0, 1.0))
    batch_size = check_count("batch_size", batch_size)
    model = course_classifier()
    feats, probs = [], []
    for start in range(0, len(images), batch_size):
        f, p = model.predict_on_batch(images[start:start + batch_size].astype("float32"))
        feats.append(np.asarray(f, dtype="float64"))
        probs.append(np.asarray(p, dtype="float64"))
    return np.concatenate(feats), np.concatenate(probs)


def _sqrt_psd(matrix):
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(features_a, features_b):
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2) between two feature sets."""
    features_a, features_b = np.asarray(features_a, "float64"), np.asarray(features_b, "float64")
    if features_a.ndim != 2 or features_b.ndim != 2 or features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"need two (N, D) feature arrays with the same D, got {features_a.shape} and {features_b.shape}")
    if min(len(features_a), len(features_b)) < 2:
        raise ValueError("need at least two samples in each set to estimate a covariance")
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    cov_a, cov_b = np.cov(features_a, rowvar=False), np.cov(features_b, rowvar=False)
    root_a = _sqrt_psd(cov_a)
    cross = np.trace(_sqrt_psd(root_a @ cov_b @ root_a))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def inception_score(probs, eps=1e-12):
    """exp(mean KL(p(y|x) || p(y))) for class probabilities (N, K); between 1 and K."""
    probs = np.asarray(probs, "float64")
    if probs.ndim != 2:
        raise ValueError(f"probs must be (N, K), got shape {probs.shape}")
    marginal = probs.mean(0, keepdims=True)
    kl = np.sum(probs * (np.log(probs + eps) - np.log(marginal + eps)), axis=1)
    return float(np.exp(kl.mean()))


def class_fractions(probs, n_classes=10):
    """Fraction of samples whose most likely class is each of 0..n_classes-1."""
    predicted = np.argmax(np.asarray(probs), axis=1)
    return np.bincount(predicted, minlength=n_classes) / max(len(predicted), 1)


def reference_features():
    """Course-classifier features of MNIST's 10,000 test digits (cached)."""
    if "reference" not in _CACHE:
        (_, _), (x_test, _) = load_mnist()
        _CACHE["reference"] = classify(x_test[..., None] / 255.0)[0]
    return _CACHE["reference"]


def digit_labels(labels, n, what="labels", n_classes=10):
    """``labels`` as ``n`` ints, one digit 0..n_classes-1 per image, or a ValueError that names the fix."""
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} {what} for {n} images"
                         + (": one-hot rows? pass labels.argmax(1)" if len(labels) == n_classes * n else ""))
    if labels.dtype.kind not in "iuf" or not np.all((labels >= 0) & (labels < n_classes) & (labels == np.round(labels))):
        raise ValueError(f"the {what} must be whole digits 0..{n_classes - 1}, one per image")
    return labels.astype(int)


def confusion_matrix(asked, probs, n_classes=10):
    """Counts (n_classes, n_classes): row = digit asked for, column = digit the classifier reads."""
    read = np.argmax(np.asarray(probs), axis=1)
    asked = digit_labels(asked, len(read), "requested labels", n_classes)
    return np.bincount(asked * n_classes + read, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def evaluate_digits(images, asked=None):
    """FID-style score, inception score and class fractions for generated digits in [0, 1].

    With ``asked`` (the digit requested for each image, conditional GANs) it adds
    ``label_agreement``, the fraction the classifier reads as the requested digit, its value per
    digit, and the confusion matrix.
    """
    features, probs = classify(images)
    fractions = class_fractions(probs)
    scores = {
        "fid": frechet_distance(reference_features(), features),
        "inception_score": inception_score(probs),
        "class_fractions": [round(float(f), 4) for f in fractions],
        "min_class_fraction": float(fractions.min()),
        "n_samples": int(len(images)),
    }
    if asked is not None:
        confusion = confusion_matrix(asked, probs)
        scores["label_agreement"] = float(np.trace(confusion) / confusion.sum())
        per_class = np.diag(confusion) / np.maximum(confusion.sum(1), 1)
        scores["label_agreement_per_class"] = [round(float(a), 4) for a in per_class]
        scores["confusion"] = confusion.tolist()
    return scores


def spearman(a, b):
    """Spearman's rank correlation of two sequences of the same length: Pearson's correlation of their
    ranks (tied values share their mean rank). +1: b rises whenever a does; -1: b falls; 0: no order."""
    a, b = np.asarray(a, dtype="float64").ravel(), np.asarray(b, dtype="float64").ravel()
    if len(a) != len(b) or len(a) < 3:
        raise ValueError(f"spearman needs two sequences of the same length, at least 3, got {len(a)} and {len(b)}")
    bad = np.flatnonzero(~(np.isfinite(a) & np.isfinite(b)))
    if len(bad):  # NaN would be ranked as the largest value, a number that means nothing
        raise UserError(f"spearman needs finite numbers; the pairs at {bad.tolist()} hold NaN or inf (a diverged run?): "
                        "drop those pairs")

    def ranks(x):
        r = np.empty(len(x))
        r[np.argsort(x, kind="stable")] = np.arange(len(x))
        _, tie, count = np.unique(x, return_inverse=True, return_counts=True)
        return (np.bincount(tie, weights=r) / count)[tie]

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def loss_at_snapshots(history, key):
    """``(steps, values)``: for each snapshot of ``history`` after the first, its step and the mean of the
    loss ``key`` over the steps since the previous snapshot (the loss that goes with those samples)."""
    check_history(history, "loss_at_snapshots(history, key)")
    if key not in history.logs:
        raise ValueError(f"the history has no loss {key!r}; it logs {', '.join(k for k in history.logs if k != 'step')}")
    steps, values = np.asarray(history.logs["step"]), np.asarray(history.logs[key], dtype="float64")
    snaps = history.snapshot_steps
    means = [values[(steps > lo) & (steps <= hi)].mean() for lo, hi in zip(snaps[:-1], snaps[1:])]
    return np.array(snaps[1:]), np.array(means)


def mode_coverage(points, modes, sigma):
    """Mode-coverage scores of 2-D samples from a mixture with centres ``modes`` and std ``sigma``.

    The protocol of Srivastava et al. (2017) and Lin et al. (2018):
    * a sample is *high quality* if it lies within 3σ of its nearest mode;
    * a mode is *captured* if it is the nearest mode of at least one high-quality sample;
    * reverse KL: KL(p || uniform) between the histogram p of high-quality samples over the modes
      and the uniform distribution, i.e. log K − H(p); 0 when every mode gets the same share, log K
      when all of them fall on one mode (nan if no sample is of high quality).
    """
    points, modes = np.asarray(points, "float64"), np.asarray(modes, "float64")
    if points.ndim != 2 or modes.ndim != 2 or points.shape[1] != modes.shape[1]:
        raise ValueError(f"need points (N, D) and modes (K, D) with the same D, got {points.shape} and {modes.shape}")
    if not len(points):
        raise ValueError("need at least one sample")
    if len(modes) > max(len(points), 100):  # a mixture of a few modes, many samples: swapped arguments?
        raise ValueError(f"{len(modes)} modes for {len(points)} samples: is the order mode_coverage(points, modes, sigma)?")
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not sigma > 0:
        raise ValueError(f"sigma must be the mixture's standard deviation, a positive number (toy_modes(name)[1]), "
                         f"got {sigma!r}")
    if not np.isfinite(points).all():
        raise ValueError("the samples contain NaN or inf: the generator diverged")
    distances = np.linalg.norm(points[:, None, :] - modes[None, :, :], axis=-1)
    nearest = distances.argmin(1)
    good = distances[np.arange(len(points)), nearest] <= 3 * sigma
    counts = np.bincount(nearest[good], minlength=len(modes))
    p = counts / counts.sum() if counts.sum() else np.full(len(modes), np.nan)
    nonzero = p[p > 0]
    return {
        "modes": int((counts > 0).sum()),
        "n_modes": int(len(modes)),
        "high_quality": float(good.mean()),
        "reverse_kl": float(np.sum(nonzero * np.log(nonzero * len(modes)))) if counts.sum() else float("nan"),
        "counts": counts.tolist(),
    }


# --- Image-to-image translation (lessons 05 and 06) ---------------------------------------------

def _rgb_batch(images, name):
    images = check_image_batch(images, np.shape(images)[1:], value_range=(0.0, 1.0), name=name)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{name} must be RGB images shaped (N, H, W, 3) in [0, 1], got shape {images.shape}")
    return images.astype("float64")


def mean_absolute_error(images, targets):
    """Mean over pixels and channels of |images - targets|, per image (N,); both in [0, 1]."""
    images, targets = _rgb_batch(images, "images"), _rgb_batch(targets, "targets")
    if images.shape != targets.shape:
        raise ValueError(f"images {images.shape} and targets {targets.shape} must have the same shape")
    return np.abs(images - targets).mean(axis=(1, 2, 3))


def gradient_magnitude(images):
    """Sharpness: mean over pixels of sqrt(dx² + dy²) (differences to the right and down neighbour,
    per channel), per image (N,). A blurry image has a lower value than a sharp one of the same scene."""
    images = _rgb_batch(images, "images")
    dx = images[:, :-1, 1:] - images[:, :-1, :-1]
    dy = images[:, 1:, :-1] - images[:, :-1, :-1]
    return np.sqrt(dx ** 2 + dy ** 2).mean(axis=(1, 2, 3))


def colorfulness(images):
    """Colourfulness of Hasler & Süsstrunk (2003) on a 0..1 scale, per image (N,): spread and mean
    of the opponent channels rg = R - G and yb = (R + G)/2 - B. Averaging plausible colours (what an
    L1 loss does when unsure) gives duller, greyer pictures: lower values."""
    images = _rgb_batch(images, "images")
    r, g, b = images[..., 0], images[..., 1], images[..., 2]
    rg, yb = r - g, (r + g) / 2 - b
    spread = np.sqrt(rg.std(axis=(1, 2)) ** 2 + yb.std(axis=(1, 2)) ** 2)
    mean = np.sqrt(rg.mean(axis=(1, 2)) ** 2 + yb.mean(axis=(1, 2)) ** 2)
    return spread + 0.3 * mean



def hue_histogram(images, bins=24):
    """The palette of a set of images: a histogram of hue over all their pixels, each pixel weighted
    by its saturation × value (HSV; so white, grey and black pixels weigh nothing), (bins,) float64
    summing to 1, or all zeros when no pixel has any colour. Images (N, H, W, 3) in [0, 1]."""
    images = _rgb_batch(images, "images")
    if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    high, low = images.max(-1), images.min(-1)
    chroma = high - low  # = saturation × value in HSV
    r, g, b = images[..., 0], images[..., 1], images[..., 2]
    safe = np.where(chroma > 0, chroma, 1.0)
    hue = np.where(high == r, ((g - b) / safe) % 6,
                   np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6  # in [0, 1)
    index = np.minimum((hue * bins).astype(int), bins - 1)
    histogram = np.bincount(index.ravel(), weights=chroma.ravel(), minlength=bins)
    total = histogram.sum()
    return histogram / total if total > 0 else histogram


def palette_distance(outputs, targets, bins=24):
    """Total variation distance between the palettes (:func:`hue_histogram`) of all ``outputs`` and of
    all ``targets``: 0 = the same mix of hues, 1 = no hue in common. A set of images without any colour
    has no palette: against a coloured set the distance is 1, against another colourless set 0.

    Per pixel, a model that paints every emoji one safe average colour can have a low error and still
    get the palette wrong; this measures the palette of the whole set (not per image), so it does not
    say whether each emoji got *its* colours.
    """
    p, q = hue_histogram(outputs, bins), hue_histogram(targets, bins)
    if not p.any() or not q.any():
        return float(p.any() != q.any())
    return float(0.5 * np.abs(p - q).sum())


def translation_scores(outputs, targets, inputs=None):
    """Mean scores of translated images against their targets, all (N, H, W, 3) in [0, 1].

    ``mae``: mean absolute error to the target; ``gradient``, ``gradient_target``: mean gradient
    magnitude of outputs and targets, and ``sharpness_ratio`` (1 = as sharp as the targets);
    ``colorfulness``, ``colorfulness_target`` and their ``colorfulness_ratio``; ``palette_distance``
    (:func:`palette_distance`, 0 = the same palette as the targets, 1 = none in common). With
    ``inputs``, ``mae_identity``: the error of doing nothing (returning the input), the bar any
    translation must clear.
    """
    scores = {
        "mae": float(mean_absolute_error(outputs, targets).mean()),
        "gradient": float(gradient_magnitude(outputs).mean()),
        "gradient_target": float(gradient_magnitude(targets).mean()),
        "colorfulness": float(colorfulness(outputs).mean()),
        "colorfulness_target": float(colorfulness(targets).mean()),
        "palette_distance": palette_distance(outputs, targets),
        "n_images": int(len(outputs)),
    }
    if scores["gradient_target"] == 0:
        raise UserError("the targets have no edge at all (every image flat, e.g. blank), so there is no sharpness to "
                        "compare with: pass the target images, e.g. y_test")
    scores["sharpness_ratio"] = scores["gradient"] / scores["gradient_target"]
    scores["colorfulness_ratio"] = scores["colorfulness"] / max(scores["colorfulness_target"], 1e-12)
    if inputs is not None:
        scores["mae_identity"] = float(mean_absolute_error(inputs, targets).mean())
    return scores
