"""Pictures of training: image grids, loss curves and a GIF of the snapshots."""

import numbers
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import UserError, check_count
from .data import as_image_batch, into_unit_range, refuse_non_finite
from .training import check_history


def tile(images, ncols=None, pad=1, pad_value=1.0):
    """Arrange images (N, H, W, C) in [0, 1] (or uint8) into one (rows*H, ncols*W, C) array; ``ncols=None``: as
    many columns as rows, or one more."""
    images = as_image_batch(images, allow_empty=False)
    if images.dtype == np.uint8:
        if images.max() == 1:  # not refused: a generator that makes black gives such bytes too
            warnings.warn(f"uint8 images are drawn as pixels of 0..255; {into_unit_range(images)}", stacklevel=2)
        images = images.astype("float32") / 255.0
    refuse_non_finite(images)
    low, high = float(images.min()), float(images.max())
    if low < -1e-3 or high > 1 + 1e-3:  # shown clipped, they would look wrong with no word why
        raise ValueError(f"images must lie in [0, 1] (or be uint8), got values in [{low:.3g}, {high:.3g}]; "
                         + into_unit_range(images))
    n, h, w, c = images.shape
    ncols = int(np.ceil(np.sqrt(n))) if ncols is None else check_count("ncols", ncols, "None: about square")
    nrows = int(np.ceil(n / ncols))
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), pad_value, "float32")
    for k in range(n):
        r, q = divmod(k, ncols)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = images[k]
    return grid


def show_grid(images, ncols=None, title=None, ax=None, size=4.0):
    """Show a grid of images in [0, 1]; returns the matplotlib Axes."""
    grid = tile(images, ncols)
    if ax is None:
        _, ax = plt.subplots(figsize=(size, size * grid.shape[0] / grid.shape[1]))
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_losses(history, keys=None, smooth=100, ax=None, title="Pérdidas durante el entrenamiento"):
    """Plot per-step losses (faint) and their moving average over ``smooth`` steps (1: no average)."""
    logs = history if isinstance(history, dict) else check_history(history, "plot_losses(history)").logs
    smooth = check_count("smooth", smooth, "steps to average over; 1: none")
    keys = [keys] if isinstance(keys, str) else keys or [k for k in logs if k != "step"]
    missing = [key for key in keys if key not in logs]
    if missing:
        raise ValueError(f"this history has no loss {', '.join(map(repr, missing))}; it logs "
                         f"{', '.join(k for k in logs if k != 'step')}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    steps = np.asarray(logs["step"])
    for key in keys:
        values = np.asarray(logs[key], dtype="float64")
        line, = ax.plot(steps, values, alpha=0.2, lw=0.5)
        if len(values) >= smooth > 1:
            kernel = np.ones(smooth) / smooth
            ax.plot(steps[smooth - 1:], np.convolve(values, kernel, "valid"), color=line.get_color(),
                    label=f"{key} (media de {smooth} pasos)")
        else:
            line.set_alpha(1.0)
            line.set_label(key)
    ax.set_xlabel("paso")
    ax.set_ylabel("pérdida")
    ax.set_title(title)
    ax.legend()
    return ax


def points_image(points, lim, size=128, marks=()):
    """Draw 2-D points (N, 2) as a (size, size, 1) picture in [0, 1]: white background, each point a dark
    pixel, ``marks`` (e.g. the true modes) as grey crosses; the square [-lim, lim]^2, y upwards."""
    points = np.asarray(points, dtype="float32")
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"expected points shaped (N, 2), got {points.shape}")
    if not lim or lim <= 0:
        raise ValueError(f"lim must be a positive half-width of the square to draw, got {lim!r}")

    def pixels(xy):
        xy = np.asarray(xy, dtype="float32").reshape(-1, 2)
        col = np.floor((xy[:, 0] + lim) / (2 * lim) * size).astype(int)
        row = np.floor((lim - xy[:, 1]) / (2 * lim) * size).astype(int)
        inside = (col >= 0) & (col < size) & (row >= 0) & (row < size)
        return row[inside], col[inside]

    picture = np.ones((size, size, 1), "float32")
    for r, c in zip(*pixels(marks)):
        for dr, dc in ((0, 0), (-2, 0), (-1, 0), (1, 0), (2, 0), (0, -2), (0, -1), (0, 1), (0, 2)):
            if 0 <= r + dr < size and 0 <= c + dc < size:
                picture[r + dr, c + dc] = 0.7
    picture[pixels(points)] = 0.0
    return picture


def save_gif(history, path, n_images=36, ncols=6, max_frames=16, scale=1, duration_ms=300, lim=None, marks=()):
    """Write a GIF of the first ``n_images`` of each snapshot in ``history``.

    At most ``max_frames`` snapshots, evenly spaced, the first and last included; small enough to
    embed in a notebook (a few hundred kB). Snapshots of 2-D points (lesson 04) are drawn with
    :func:`points_image` on the square [-lim, lim]^2 (default: just wide enough for every snapshot),
    with ``marks`` (the true modes) in grey.
    """
    from PIL import Image, ImageDraw

    check_history(history, "save_gif(history, path)", needs="snapshots")
    if Path(path).suffix.lower() != ".gif":
        raise ValueError(f"path must be a .gif file name, e.g. {Path(path) / 'entrenamiento.gif'}, got {path}")
    n_images, max_frames = check_count("n_images", n_images), check_count("max_frames", max_frames)
    scale = check_count("scale", scale, "a GIF pixel per picture pixel, or more")
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, numbers.Real) or not duration_ms > 0:
        raise UserError(f"duration_ms must be a positive number of milliseconds per frame, got {duration_ms!r}")
    points = history.snapshots[0].ndim == 2
    if points and lim is None:
        lim = 1.1 * max(float(np.abs(s).max()) for s in history.snapshots) or 1.0
    picks = np.unique(np.linspace(0, len(history.snapshots) - 1, max_frames).round().astype(int))
    frames = []
    for k in picks:
        snapshot = history.snapshots[k]
        grid = points_image(snapshot, lim, marks=marks) if points else tile(snapshot[:n_images], ncols)
        grid = np.round(grid * 255).astype(np.uint8)
        grid = np.repeat(np.repeat(grid, scale, 0), scale, 1)
        mode = "L" if grid.shape[-1] == 1 else "RGB"
        frame = Image.fromarray(grid[..., 0] if mode == "L" else grid, mode)
        canvas = Image.new(mode, (frame.width, frame.height + 12), "white")
        canvas.paste(frame, (0, 12))
        ImageDraw.Draw(canvas).text((2, 0), f"paso {history.snapshot_steps[k]}", fill="black")
        frames.append(canvas if mode == "L" else canvas.quantize(128))
    frames += [frames[-1]] * 3  # linger on the result
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0,
                   optimize=True)
    return path


def save_png(grid, path):
    """Write a picture in [0, 1], (H, W, 1) or (H, W, 3), as a PNG file."""
    from PIL import Image

    grid = np.round(np.clip(grid, 0, 1) * 255).astype(np.uint8)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)
    return Path(path)
