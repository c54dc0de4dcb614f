import json

import numpy as np
import pytest

from gan_lessons import DATA_DIR, UserError
from gan_lessons.data import DataUnavailableError, load_lineart, unpaired


@pytest.fixture(scope="module")
def split():
    return json.loads((DATA_DIR / "lineart_split.json").read_text())


@pytest.fixture(scope="module")
def everything():
    return load_lineart("all")


def chroma(images):
    """Per pixel max - min over RGB, in 0..255: 0 for white, grey and black."""
    images = images.astype(np.int16)
    return images.max(-1) - images.min(-1)


def test_split_is_disjoint_covers_everything_and_holds_out_at_least_10_percent(split, everything):
    train, test = set(split["train"]), set(split["test"])
    assert len(train) == len(split["train"]) and len(test) == len(split["test"])
    assert not train & test
    codes = everything["hexcodes"].tolist()
    assert len(set(codes)) == len(codes)
    assert train | test == set(codes)
    assert len(test) >= 0.10 * len(codes)
    assert split["size"] == 64 and isinstance(split["seed"], int)


def test_the_loader_returns_the_split_it_is_asked_for(split):
    train, test = load_lineart("train"), load_lineart("test")
    assert train["hexcodes"].tolist() == split["train"] and test["hexcodes"].tolist() == split["test"]
    everything = load_lineart("all")
    where = {code: i for i, code in enumerate(everything["hexcodes"].tolist())}
    for part in (train, test):
        assert len({len(value) for value in part.values()}) == 1  # every array cut the same way
        rows = [where[code] for code in part["hexcodes"].tolist()]  # ... and each row its own emoji's
        for key in part:
            np.testing.assert_array_equal(part[key], everything[key][rows])


def test_hexcodes_are_spelt_as_openmoji_file_names_without_skin_tones_or_flags(everything):
    for code in everything["hexcodes"].tolist():
        parts = code.split("-")
        assert all(p == p.upper() and 4 <= len(p) <= 5 and int(p, 16) >= 0 for p in parts), code
        assert not {"1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF"} & set(parts), code
        assert not 0xE000 <= int(parts[0], 16) <= 0xF8FF, code  # no private-use extras
        assert not (0x1F1E6 <= int(parts[0], 16) <= 0x1F1FF), code  # no country flags
    assert "1F600" in everything["hexcodes"].tolist()  # grinning face
    assert set(everything["groups"].tolist()) <= {
        "smileys-emotion", "people-body", "component", "animals-nature", "food-drink", "travel-places",
        "activities", "objects", "symbols"}


def test_images_are_64px_uint8_rgb_on_white(everything):
    n = len(everything["hexcodes"])
    assert 1400 <= n <= 2000
    for key in ("line", "color"):
        images = everything[key]
        assert images.shape == (n, 64, 64, 3) and images.dtype == np.uint8
        assert images.min() < 32  # dark strokes
        assert images.max() == 255
        assert (images[:, 0, 0] == 255).mean() > 0.9  # corners are white background
        assert len(np.unique(images.reshape(n, -1), axis=0)) == n  # distinct pictures


def test_line_art_is_white_with_dark_strokes_and_the_colour_version_has_the_colour(everything):
    line, color = everything["line"], everything["color"]
    grey = line.mean(-1)
    white, dark = (grey > 240).mean((1, 2)), (grey < 128).mean((1, 2))
    assert (white > 0.4).all() and np.median(white) > 0.8  # mostly paper (a black square is half ink)
    assert (dark > 0.01).all() and np.median(dark) > 0.05  # every drawing has ink
    assert chroma(line).max() <= 8  # black on white, no colour
    coloured = (chroma(color) > 64).mean((1, 2))
    # OpenMoji paints many things grey (robots, elephants, tools): most emoji, not all, have colour
    assert np.median(coloured) > 0.08 and (coloured > 0.02).mean() > 0.7
    assert (np.abs(color.astype(np.int16) - line).mean((1, 2, 3)) > 0.5).all()  # something to colour


def test_line_and_colour_are_aligned_to_the_pixel(everything):
    line, color = (everything[k].astype(np.float32).mean(-1) for k in ("line", "color"))
    ink = line < 64  # the black strokes of the drawing are drawn in the colour version too
    assert (color[ink] < 128).mean() > 0.8
    shifted = np.roll(line, 3, axis=2) < 64
    assert (color[shifted] < 128).mean() < 0.6


def test_unpaired_halves_share_no_emoji_and_come_from_the_training_split(split):
    pairs = load_lineart("train")
    domains = unpaired(pairs["line"], pairs["color"], seed=0)
    a, b = set(pairs["hexcodes"][domains["index_a"]]), set(pairs["hexcodes"][domains["index_b"]])
    assert not a & b and a | b <= set(split["train"])
    assert len(a) == len(b) == len(split["train"]) // 2
    assert domains["a"].shape == domains["b"].shape == (len(a), 64, 64, 3)
    assert chroma(domains["a"]).max() <= 8 and chroma(domains["b"]).max() > 200  # line art vs colour
    np.testing.assert_array_equal(domains["a"][0], pairs["line"][domains["index_a"][0]])
    np.testing.assert_array_equal(domains["b"][0], pairs["color"][domains["index_b"][0]])
    again = unpaired(pairs["line"], pairs["color"], seed=0)
    assert again["index_a"].tolist() == domains["index_a"].tolist()


def test_unknown_split_and_missing_or_mismatched_files_name_the_fix(tmp_path):
    with pytest.raises(UserError, match="split must be one of train, test, all"):
        load_lineart("validation")
    with pytest.raises(DataUnavailableError, match=r"lineart.npz and lineart_split.json not found.*build_lineart.py"):
        load_lineart(directory=tmp_path)
    (tmp_path / "lineart.npz").write_bytes((DATA_DIR / "lineart.npz").read_bytes())
    with pytest.raises(DataUnavailableError, match=r"lineart_split.json not found.*build_lineart.py"):
        load_lineart(directory=tmp_path)
    (tmp_path / "lineart_split.json").write_text(json.dumps({"size": 64, "seed": 0, "train": ["ABCDE"], "test": []}))
    with pytest.raises(DataUnavailableError, match=r"different builds.*build_lineart.py"):
        load_lineart(directory=tmp_path)
    (tmp_path / "lineart.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataUnavailableError, match=r"damaged.*build_lineart.py"):
        load_lineart(directory=tmp_path)
