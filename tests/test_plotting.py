"""The pictures of training: grids and the GIF of the snapshots, for images and for 2-D points."""

import numpy as np
import pytest
from PIL import Image

from gan_lessons.plotting import points_image, save_gif, tile
from gan_lessons.training import History


def frames_of(path, durations=None):
    gif = Image.open(path)
    frames = []
    for k in range(gif.n_frames):
        gif.seek(k)
        frames.append(np.asarray(gif.convert("L")))
        if durations is not None:
            durations.append(gif.info["duration"])
    return frames


def test_tile_lays_images_out_in_rows():
    images = np.zeros((5, 2, 3, 1), "float32")
    images[4] = 1.0
    grid = tile(images, ncols=2, pad=1, pad_value=0.5)
    assert grid.shape == (3 * 3 + 1, 2 * 4 + 1, 1)
    assert grid[7:9, 1:4].min() == 1.0 and grid[7:9, 5:8].max() == 0.5  # image 4 alone in the last row
    with pytest.raises(ValueError, match="expected one or more images"):
        tile(np.zeros((2, 3)))
    for bad in (np.zeros((0, 2, 2, 1)), np.zeros((2, 2, 2, 2))):  # no image; two channels
        with pytest.raises(ValueError, match=r"C = 1 \(grey\) or 3"):
            tile(bad)
    # values a student passes by mistake would be shown clipped: the error names the fix
    with pytest.raises(ValueError, match="divide them by 255"):
        tile(np.full((2, 2, 2, 1), 200.0))
    with pytest.raises(ValueError, match="unscale_images"):
        tile(np.full((2, 2, 2, 1), -0.7))
    assert tile(np.full((1, 2, 2, 1), 255, np.uint8), pad=0).min() == 1.0  # bytes are scaled, not refused


def test_gif_of_image_snapshots_has_one_frame_per_pick_and_lingers(tmp_path):
    history = History()
    for step in range(0, 50, 10):
        history.add_snapshot(step, np.full((4, 8, 8, 1), step / 40.0))
    durations = []
    frames = frames_of(save_gif(history, tmp_path / "a" / "train.gif", n_images=4, ncols=2, max_frames=3,
                                duration_ms=100), durations)
    assert len(frames) == 3  # snapshots 0, 2 and 4 (first, middle, last)
    assert durations == [100, 100, 400]  # the last one lingers (Pillow merges the repeated frames)
    assert frames[0].shape == (12 + 2 * 9 + 1, 2 * 9 + 1)
    assert frames[0][20, 5] < 10 and frames[2][20, 5] > 245  # step 0 black, step 40 white


def test_gif_of_point_snapshots_draws_where_the_points_are(tmp_path):
    history = History()
    history.add_snapshot(0, np.zeros((10, 2)))  # every point at the centre
    history.add_snapshot(5, np.full((10, 2), [1.0, 1.0]))  # every point at the top-right corner
    frames = frames_of(save_gif(history, tmp_path / "points.gif", lim=2.0, marks=[[-1.0, -1.0]]))
    first, last = frames[0][12:], frames[1][12:]  # below the caption
    assert first.shape == (128, 128)
    assert first[64, 64] < 10 and last[64, 64] > 245
    assert last[32, 96] < 10 and first[32, 96] > 245  # (1, 1) is a quarter down, three quarters across
    assert 150 < first[96, 32] < 200  # the mark at (-1, -1), grey in every frame


def test_points_image_refuses_bad_input():
    with pytest.raises(ValueError, match="expected points"):
        points_image(np.zeros((4, 3)), lim=1.0)
    with pytest.raises(ValueError, match="lim must be"):
        points_image(np.zeros((4, 2)), lim=0)
    with pytest.raises(ValueError, match="no snapshots"):
        save_gif(History(), "x.gif")


def test_one_image_and_a_missing_loss_are_refused_with_the_fix():
    """Silent before: tile(x[0]) drew one (H, W, C) image as a strip of H slices. plot_losses with a misspelt key
    raised a bare KeyError, and before training a NoneType error."""
    from gan_lessons.plotting import plot_losses

    image = np.random.default_rng(0).uniform(size=(28, 28, 1))
    with pytest.raises(ValueError, match=r"one image \(28, 28, 1\).*images\[None\]"):
        tile(image)
    assert tile(image[None]).shape == (30, 30, 1)
    assert tile(image[..., 0][None]).shape == (30, 30, 1)  # a batch of one grey image without its channel axis
    history = History()
    history.logs = {"step": [1, 2], "d_loss": [0.5, 0.4], "g_loss": [1.0, 0.9]}
    with pytest.raises(ValueError, match="no loss 'd_los'; it logs d_loss, g_loss"):
        plot_losses(history, keys=["d_los"])
    with pytest.raises(ValueError, match="train first"):
        plot_losses(None)
    assert len(plot_losses(history, keys="d_loss").lines) == 1  # one name is a list of one


def test_save_gif_names_its_arguments_when_given_them_the_wrong_way(tmp_path):
    history = History()
    history.add_snapshot(0, np.zeros((4, 8, 8, 1)))
    with pytest.raises(ValueError, match=r"save_gif\(history, path\): first the History"):
        save_gif(tmp_path / "a.gif", history)
    with pytest.raises(ValueError, match="train first"):
        save_gif(None, tmp_path / "a.gif")
    with pytest.raises(ValueError, match=r"path must be a \.gif file name"):
        save_gif(history, tmp_path)
    assert save_gif(history, tmp_path / "a.gif").exists()


def test_tile_refuses_nan_images():
    """Silent before: a diverged generator's NaN images were drawn (all-NaN gave only numpy's warning)."""
    images = np.full((4, 8, 8, 1), 0.5)
    images[2, 3, 3] = np.nan
    with pytest.raises(ValueError, match=r"images contain NaN or inf \(1 of 256 values\): did the generator diverge"):
        tile(images)
    with pytest.raises(ValueError, match="NaN or inf"):
        tile(np.full((4, 8, 8, 1), np.inf))


def test_tile_warns_that_a_uint8_mask_is_drawn_black():
    """Silent before: a uint8 0/1 mask was drawn as bytes, black. Warned, not refused: a generator that makes
    black images gives such bytes too."""
    mask = (np.random.default_rng(0).uniform(size=(4, 8, 8, 1)) > 0.5).astype(np.uint8)
    with pytest.warns(UserWarning, match=r"pixels of 0\.\.255; .*0/1 mask\?.*x\.astype\('float32'\)"):
        assert tile(mask).max() == 1.0  # the white padding; the images are 0 and 1/255
    assert tile(mask.astype("float32"), pad=0).max() == 1.0


def test_counts_given_to_the_pictures_must_be_positive_ints(tmp_path):
    """Before: tile(ncols=-2) gave numpy's "negative dimensions", ncols='8' or 2.5 a TypeError, ncols=0 meant auto
    (undocumented); plot_losses(smooth='100' or 2.5) a TypeError; save_gif(max_frames=0) an IndexError,
    scale=0 PIL's "cannot write empty image", duration_ms='300' a PIL TypeError, n_images=-1 dropped an image."""
    from gan_lessons.plotting import plot_losses

    images = np.zeros((5, 2, 2, 1))
    for bad in (-2, 0, "8", 2.5):
        with pytest.raises(ValueError, match=rf"ncols must be a positive int \(None: about square\), got {bad!r}"):
            tile(images, ncols=bad)
    assert tile(images, ncols=np.int64(5), pad=0).shape == (2, 10, 1) and tile(images, pad=0).shape == (4, 6, 1)
    history = History()
    history.logs = {"step": [1, 2, 3], "d_loss": [0.5, 0.4, 0.3]}
    for bad in ("100", 2.5, 0):
        with pytest.raises(ValueError, match=rf"smooth must be a positive int \(steps to average over; 1: none\), "
                                             rf"got {bad!r}"):
            plot_losses(history, smooth=bad)
    assert len(plot_losses(history, smooth=np.int64(2)).lines) == 2  # the faint losses and their average
    history.add_snapshot(0, np.zeros((4, 8, 8, 1)))
    for name, bad in (("max_frames", 0), ("max_frames", -3), ("scale", 0), ("scale", 1.5), ("n_images", -1)):
        with pytest.raises(ValueError, match=rf"{name} must be a positive int.*, got {bad!r}"):
            save_gif(history, tmp_path / "a.gif", **{name: bad})
    for bad in ("300", 0, -10):
        with pytest.raises(ValueError, match=rf"duration_ms must be a positive number of milliseconds .*, got {bad!r}"):
            save_gif(history, tmp_path / "a.gif", duration_ms=bad)
    assert save_gif(history, tmp_path / "a.gif", max_frames=np.int64(2), scale=np.int64(2), duration_ms=50.0).exists()


def test_a_run_or_nothing_given_for_its_history_is_refused_with_the_fix(tmp_path):
    """Before: plot_losses(exp) gave "'ImageGAN' object is not iterable", save_gif(exp) an AttributeError."""
    from gan_lessons.plotting import plot_losses

    run = type("ImageGAN", (), {"history": None})()  # what a run looks like here: it holds .history
    with pytest.raises(ValueError, match=r"plot_losses\(history\): got the ImageGAN itself: pass its History, "
                                         r"exp\.history"):
        plot_losses(run)
    sweep = type("ModeCollapseSweep", (), {"history": lambda self, dataset, method, seed=None: None})()
    with pytest.raises(ValueError, match=r"save_gif\(history, path\): got the ModeCollapseSweep itself: pass its "
                                         r"History, sweep\.history\(dataset, method, seed\)"):
        save_gif(sweep, tmp_path / "a.gif")
    with pytest.raises(ValueError, match=r"save_gif\(history, path\): no history yet: train first"):
        save_gif(None, tmp_path / "a.gif")
