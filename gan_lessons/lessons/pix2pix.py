"""Lesson 05: Pix2Pix (Isola et al. 2017), an image-to-image translation learnt from pairs: Google-style
emoji -> Twitter-style emoji (32x32, data/emoji.npz), and ``pix2pix_l1``, the same U-Net trained with
the L1 loss alone, the baseline that shows what the adversarial term adds."""

import numpy as np

from .. import UserError
from ..data import check_image_batch, load_emoji, scale_images
from ..models import build_pix2pix, patchgan_discriminator, unet_generator
from ..steps import l1_step, pix2pix_step, with_jitter
from .base import Built, Lesson, adam
from .runs import Run

SETTINGS = {
    "adversarial": True,
    "g_channels": [32, 64, 128, 128, 128],  # five halvings: 32 -> 1
    "d_channels": [32, 64],  # PatchGAN: each score sees a 16x16 patch
    "norm": "instance",
    "dropout": 0.5,
    "jitter": 2,  # random shift of each pair by up to this many pixels, and left-right flips (0: off)
    "l1_weight": 100.0,  # λ of Isola et al. 2017
    "learning_rate": 1e-3,  # falls linearly to 0 over the run
    "beta_1": 0.5,
    "lr_decay": True,
    "batch_size": 16,
    "steps": 6000,
    "snapshot_every": 500,
    "checkpoint_every": 1000,
}
QUICK = {"steps": 150, "snapshot_every": 50, "checkpoint_every": 150}


def build(config):
    train = load_emoji("train")
    size = train["google"].shape[1]
    G = unet_generator(size, config["g_channels"], norm=config["norm"], dropout=config["dropout"])
    data = (scale_images(train["google"]), scale_images(train["twitter"]))
    if config["adversarial"]:
        D = patchgan_discriminator(size, config["d_channels"], norm=config["norm"])
        composite = build_pix2pix(G, D, adam(config, "d"), adam(config, "g"), l1_weight=config["l1_weight"])
        models, step = {"generator": G, "discriminator": D, "gan": composite}, pix2pix_step
    else:
        G.compile(optimizer=adam(config, "g"), loss="mae")
        models, step = {"generator": G}, l1_step
    return Built(models, with_jitter(step, config["jitter"]) if config["jitter"] else step, data)


class Translation(Run):
    """An image-to-image run: the generator's input is an image, not noise. Snapshots translate the
    first 32 test inputs; ``evaluate`` scores the whole test split, which training never sees."""

    directions = {"a2b": "generator"}  # lesson 06 adds "b2a"
    styles = {"a2b": "Twitter style", "b2a": "Google style"}  # what each direction makes

    @staticmethod
    def pairs(split):
        """(inputs, targets) of ``split`` as uint8 images: Google style and Twitter style."""
        pairs = load_emoji(split)
        return pairs["google"], pairs["twitter"]

    def _setup(self, built):
        inputs, self.fixed_targets = (a[:32] for a in self.pairs("test"))
        self.fixed_inputs = scale_images(inputs)  # in [-1, 1], what the generator reads

    def snapshot(self):
        return self._apply(self.models["generator"], self.fixed_inputs, 256)

    def translate(self, images, direction="a2b", batch_size=256):
        """Images (N, S, S, 3) in [0, 1] -> translated images in [0, 1]: ``"a2b"`` Google style to
        Twitter style; ``"b2a"`` the way back (lesson 06's second generator)."""
        if direction not in ("a2b", "b2a"):
            raise UserError(f"direction must be a2b or b2a, got {direction!r}")
        if direction not in self.directions:
            raise UserError(f"a {self.lesson} model translates one way only (a2b: Google -> Twitter); "
                            "use direction a2b, or a cyclegan model for b2a")
        generator = self.models[self.directions[direction]]
        shape = tuple(generator.inputs[0].shape[1:])
        images = check_image_batch(np.asarray(images, "float32"), shape, value_range=(0.0, 1.0))
        return self._apply(generator, scale_images(images), batch_size)

    def evaluate(self, n=None, split="test"):
        """:func:`~gan_lessons.metrics.translation_scores` on the first ``n`` pairs of ``split`` (all by
        default), with ``mae_identity``, the error of returning the input unchanged."""
        from ..metrics import translation_scores

        inputs, targets = (a[:n] / 255.0 for a in self.pairs(split))
        return translation_scores(self.translate(inputs), targets, inputs)

    def _grid_blocks(self):
        from ..data import unscale_images

        return unscale_images(self.fixed_inputs), self.snapshot(), self.fixed_targets / 255.0

    def sample_grid(self):
        """Rows of 8: inputs, outputs, targets (lesson 06: inputs, outputs, cycled back, targets), for the
        32 snapshot images of the test split."""
        from ..plotting import tile

        blocks = self._grid_blocks()
        return tile(np.concatenate([block[k:k + 8] for k in range(0, 32, 8) for block in blocks]), ncols=8)


LESSONS = (
    Lesson("pix2pix", Translation, SETTINGS, QUICK, build, "05: Pix2Pix, Google-style -> Twitter-style emoji"),
    Lesson("pix2pix_l1", Translation, {**SETTINGS, "adversarial": False}, QUICK, build,
           "05: the same U-Net trained with the L1 loss alone (baseline)"),
)
