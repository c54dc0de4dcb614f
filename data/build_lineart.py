"""Build data/lineart.npz and data/lineart_split.json: OpenMoji line drawings and their colours.

The npm package ``openmoji@17.0.0`` (CC BY-SA 4.0) draws every emoji twice on the same 72x72
canvas: a black line drawing (``black/svg/<HEXCODE>.svg``) and the coloured version
(``color/svg/<HEXCODE>.svg``), aligned to the pixel. Both are rasterised at 64x64 on white with
CairoSVG (a build-time dependency only: ``pip install cairosvg``).

    python data/build_lineart.py            # runs `npm pack openmoji@17.0.0` into a temporary folder
    python data/build_lineart.py DIR        # DIR already holds openmoji-17.0.0.tgz

Kept: the Unicode emoji without skin-tone variants, ordered as OpenMoji orders them. Left out
(data/README.md says why): OpenMoji's own extras (``extras-openmoji``, ``extras-unicode``:
brand logos, private-use code points, regional-indicator letters), flags (their line drawing is
an empty rectangle), line drawings with (almost) no ink, pairs whose colour version is the line
drawing itself (nothing to colour), every group of emoji that share one line drawing but differ
in colour (coloured squares, circles, hearts...: the drawing cannot tell which colour is meant),
and all but the first of emoji whose pair is the same as an earlier one's. The held-out test
split (10 %, rounded up) is drawn once with a fixed seed.
"""

import argparse
import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from split import write_pairs  # data/split.py, beside this script

PACKAGE, VERSION = "openmoji", "17.0.0"
# What `npm view openmoji@17.0.0 dist.integrity` says: sha512 of the tarball, base64.
INTEGRITY = "sha512-EBnYrNGdcdw+OSXmENeNE1yBNRu6tOraTmoOyUbJkTmvT/+XETp8RZLSJFzD3lrPc5N9CzsyPnRTk0Vp4UaI9w=="
SIZE = 64
HERE = Path(__file__).resolve().parent
TEST_FRACTION = 0.10
SPLIT_SEED = 17000064  # fixed once (OpenMoji 17, 64 px); never change it, or the test split changes
SKIN_TONES = ("1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF")
LEFT_OUT_GROUPS = ("extras-openmoji", "extras-unicode", "flags")
SAME = 0.5  # two images whose mean absolute difference (0..255) is below this are the same picture
MIN_INK = 0.01  # a line drawing needs at least 1 % of dark pixels (< 128); the thinnest real one has 2 %


def tarball_name():
    return f"{PACKAGE}-{VERSION}.tgz"


def fetch(directory):
    """``npm pack`` the package into ``directory`` (only the npm registry is needed)."""
    subprocess.run(["npm", "pack", "--silent", f"{PACKAGE}@{VERSION}"], cwd=directory, check=True,
                   stdout=subprocess.DEVNULL)


def open_checked(path):
    digest = "sha512-" + base64.b64encode(hashlib.sha512(Path(path).read_bytes()).digest()).decode()
    if digest != INTEGRITY:
        raise SystemExit(f"{path}: integrity {digest} does not match {INTEGRITY}")
    return tarfile.open(path, "r:gz")


def rasterise(svg_bytes, size=SIZE):
    """An SVG -> (size, size, 3) uint8 on white. CairoSVG refuses external files by default."""
    import cairosvg

    png = cairosvg.svg2png(bytestring=svg_bytes, output_width=size, output_height=size,
                           background_color="white")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.uint8)


def candidates(emoji):
    """The base Unicode emoji (no skin tones, no extras, no flags), in OpenMoji's order."""
    keep = [e for e in emoji
            if e["group"] not in LEFT_OUT_GROUPS and not e["skintone"]
            and not any(tone in e["hexcode"] for tone in SKIN_TONES)]
    return sorted(keep, key=lambda e: int(e["order"]))


def same_picture_groups(images):
    """Groups (lists of indices, size >= 2, in order) of images that show the same picture."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    groups, seen = [], set()
    for i in range(len(flat)):
        if i in seen:
            continue
        close = [j for j in (np.flatnonzero(np.abs(flat[i + 1:] - flat[i]).mean(1) < SAME) + i + 1).tolist()
                 if j not in seen]
        if close:
            groups.append([i, *close])
            seen.update(close)
    return groups


def mean_difference(a, b):
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def choose(emoji, line, color):
    """Indices of the pairs to keep, and {reason: [hexcodes]} of those left out."""
    names = [e["hexcode"] for e in emoji]
    left_out = {"no ink": [], "colour = line drawing": [], "same drawing, other colour": [], "duplicate": []}
    drop = set()
    for i in range(len(emoji)):
        if (line[i].mean(-1) < 128).mean() < MIN_INK:
            left_out["no ink"].append(names[i])
            drop.add(i)
        elif mean_difference(line[i], color[i]) < SAME:
            left_out["colour = line drawing"].append(names[i])
            drop.add(i)
    for group in same_picture_groups(line):
        group = [i for i in group if i not in drop]
        if len(group) < 2:
            continue
        if any(mean_difference(color[i], color[group[0]]) >= SAME for i in group[1:]):
            left_out["same drawing, other colour"] += [names[i] for i in group]
            drop.update(group)
        else:
            left_out["duplicate"] += [names[i] for i in group[1:]]
            drop.update(group[1:])
    return [i for i in range(len(emoji)) if i not in drop], left_out


def main(tar_dir, out_dir=HERE):
    with open_checked(Path(tar_dir) / tarball_name()) as tar:
        emoji = candidates(json.load(tar.extractfile("package/data/openmoji.json")))
        line = np.stack([rasterise(tar.extractfile(f"package/black/svg/{e['hexcode']}.svg").read())
                         for e in emoji])
        color = np.stack([rasterise(tar.extractfile(f"package/color/svg/{e['hexcode']}.svg").read())
                          for e in emoji])
    keep, left_out = choose(emoji, line, color)
    hexcodes = np.array([emoji[i]["hexcode"] for i in keep])
    arrays = {"line": line[keep], "color": color[keep], "hexcodes": hexcodes,
              "names": np.array([emoji[i]["annotation"] for i in keep]),
              "groups": np.array([emoji[i]["group"] for i in keep])}
    split = write_pairs(out_dir, "lineart", arrays, hexcodes, SIZE, SPLIT_SEED, TEST_FRACTION)
    print(f"{len(emoji)} base Unicode emoji, flags left out; of these, left out:")
    for reason, codes in left_out.items():
        print(f"  {reason} ({len(codes)}): {' '.join(codes)}")
    print(f"{len(hexcodes)} pairs at {SIZE}x{SIZE}: {len(split['train'])} train, {len(split['test'])} test")
    print(f"wrote {out_dir / 'lineart.npz'} ({(out_dir / 'lineart.npz').stat().st_size / 1e6:.1f} MB) "
          f"and {out_dir / 'lineart_split.json'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tar_dir", nargs="?", help=f"folder with {tarball_name()} (default: npm pack it)")
    args = parser.parse_args()
    if args.tar_dir:
        main(args.tar_dir)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            fetch(tmp)
            main(tmp)
    sys.exit(0)
