import json

import numpy as np
import pytest

from gan_lessons import DATA_DIR, UserError
from gan_lessons.data import DataUnavailableError, load_emoji


@pytest.fixture(scope="module")
def split():
    return json.loads((DATA_DIR / "emoji_split.json").read_text())


def test_split_is_disjoint_covers_everything_and_holds_out_at_least_10_percent(split):
    train, test = set(split["train"]), set(split["test"])
    assert len(train) == len(split["train"]) and len(test) == len(split["test"])
    assert not train & test
    everything = load_emoji("all")
    assert train | test == set(everything["codes"].tolist())
    assert len(test) >= 0.10 * len(everything["codes"])


def test_the_loader_returns_the_split_it_is_asked_for(split):
    train, test = load_emoji("train"), load_emoji("test")
    assert train["codes"].tolist() == split["train"] and test["codes"].tolist() == split["test"]
    assert not set(train["codes"].tolist()) & set(test["codes"].tolist())
    everything = load_emoji("all")
    where = {code: i for i, code in enumerate(everything["codes"].tolist())}
    for part in (train, test):  # each image is its own code's (not only the codes: the images follow them)
        rows = [where[code] for code in part["codes"].tolist()]
        for style in ("google", "twitter"):
            np.testing.assert_array_equal(part[style], everything[style][rows])


def test_images_are_paired_rgb_on_white_with_the_recorded_size(split):
    everything = load_emoji("all")
    size = split["size"]
    assert everything["google"].shape == everything["twitter"].shape == (1911, size, size, 3)
    for style in ("google", "twitter"):
        images = everything[style]
        assert images.dtype == np.uint8 and images.max() == 255 and images.min() == 0
        assert (images[:, 0, 0] == 255).mean() > 0.8  # corners are mostly white background
        assert len(np.unique(images.reshape(len(images), -1), axis=0)) > 1800  # real, distinct pictures
    # the two styles of one emoji are closer than two different emoji
    g, t = (everything[s].astype("float32") for s in ("google", "twitter"))
    same = np.abs(g - t).mean()
    shuffled = np.abs(g - t[np.random.default_rng(0).permutation(len(t))]).mean()
    assert same < 0.8 * shuffled


def test_unknown_split_and_missing_files_name_the_fix(tmp_path):
    with pytest.raises(UserError, match="split must be one of train, test, all"):
        load_emoji("validation")
    with pytest.raises(DataUnavailableError, match=r"emoji.npz and emoji_split.json not found.*build_emoji.py"):
        load_emoji(directory=tmp_path)


def test_jitter_moves_input_and_target_together_and_pads_with_white():
    from gan_lessons.data import jitter_pairs

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 8, 8, 3)).astype("float32")
    y = -x  # a pair whose target is a pixel-wise function of its input
    jx, jy = jitter_pairs(x, y, np.random.default_rng(1), max_shift=2)
    assert jx.shape == x.shape and jx.dtype == x.dtype
    padded = jx == 1.0
    np.testing.assert_array_equal(jy[~padded], -jx[~padded])  # the same shift and flip for both
    assert (jy[padded] == 1.0).all()
    # on black images, what comes in at the edges is white (1), and nothing else is new
    zx, zy = jitter_pairs(np.zeros_like(x), np.zeros_like(y), np.random.default_rng(1), max_shift=2)
    assert set(np.unique(zx)) == set(np.unique(zy)) == {0.0, 1.0}
    np.testing.assert_array_equal(zx == 1.0, padded)  # the same shifts, so the same edges
    assert not np.array_equal(jx, x)
    moved = [not np.array_equal(jx[k], x[k]) for k in range(64)]
    assert 40 < sum(moved) <= 64  # most pairs change (a zero shift without flip leaves a few alone)
    same = jitter_pairs(x, y, np.random.default_rng(1), max_shift=2)
    np.testing.assert_array_equal(same[0], jx)  # seeded
