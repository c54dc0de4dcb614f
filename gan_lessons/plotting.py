"""Pictures of training: image grids, loss curves and a GIF of the snapshots."""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def tile(images, ncols=None, pad=1, pad_value=1.0):
    """Arrange images (N, H, W, C) in [0, 1] (or uint8) into one (rows*H, ncols*W, C) array."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = images.astype("float32") / 255.0
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"expected images shaped (N, H, W) or (N, H, W, C), got {images.shape}")
    n, h, w, c = images.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
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
    """Plot per-step losses (faint) and their moving average over ``smooth`` steps."""
    logs = history.logs if hasattr(history, "logs") else history
    keys = keys or [k for k in logs if k != "step"]
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


def save_gif(history, path, n_images=36, ncols=6, max_frames=16, scale=1, duration_ms=300):
    """Write a GIF of the first ``n_images`` of each snapshot in ``history``.

    At most ``max_frames`` snapshots, evenly spaced, the first and last included; small enough to
    embed in a notebook (a few hundred kB).
    """
    from PIL import Image, ImageDraw

    if not history.snapshots:
        raise ValueError("this history has no snapshots: pass sample= and snapshot_every= to fit()")
    picks = np.unique(np.linspace(0, len(history.snapshots) - 1, max_frames).round().astype(int))
    frames = []
    for k in picks:
        grid = np.round(tile(history.snapshots[k][:n_images], ncols) * 255).astype(np.uint8)
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
