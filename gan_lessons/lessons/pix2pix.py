"""Lesson 05: Pix2Pix (Isola et al. 2017), an image-to-image translation learnt from pairs: OpenMoji's
line drawings -> the same emoji in colour (64x64, data/lineart.npz, aligned to the pixel), and
``pix2pix_l1``, the same U-Net trained with the L1 loss alone, the baseline that shows what the
adversarial term adds. The setting ``task`` swaps in the lesson's two exercises on the same networks:
``"emoji"`` (Google -> Twitter style, 32 px, pairs that do not line up) and ``"superres"`` (colour emoji
at 16 px -> 64 px, the idea of SRGAN)."""

import numbers

import numpy as np

from .. import UserError
from ..data import check_image_batch, load_emoji, load_lineart, pixelate, scale_images
from ..models import build_pix2pix, patchgan_discriminator, unet_generator
from ..steps import l1_step, pix2pix_step, with_jitter
from .base import Built, Lesson, adam, with_averages
from .runs import Run

# task -> (what the generator reads, what it makes)
TASKS = {"lineart": ("line art", "colour"), "emoji": ("Google style", "Twitter style"),
         "superres": ("16 px colour", "64 px colour")}


def task_pairs(task, split):
    """(inputs, targets) of ``split`` ("train", "test" or "all") of ``task`` as uint8 image arrays:
    line drawings and colour emoji (``"lineart"``), Google- and Twitter-style emoji (``"emoji"``), or
    colour emoji pixelated to 16 px and the originals (``"superres"``)."""
    if task not in TASKS:
        raise UserError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if task == "emoji":
        pairs = load_emoji(split)
        return pairs["google"], pairs["twitter"]
    pairs = load_lineart(split)
    return (pairs["line"] if task == "lineart" else pixelate(pairs["color"], 4)), pairs["color"]


SETTINGS = {
    "task": "lineart",  # or the exercises "emoji" and "superres" (see TASKS)
    "adversarial": True,
    "g_channels": [32, 64, 128, 128, 128],  # five halvings: 64 -> 2 (32 -> 1 in the 32-px "emoji" exercise)
    # PatchGAN: each score sees a 16x16 patch. (32, 64) scored the same at a step 28 % dearer; wider ones did
    # worse (docs/results.md)
    "d_channels": [16, 32],
    "norm": "instance",
    # Isola et al. put dropout 0.5 in the decoder's first blocks as G's only noise, which G learns to ignore. Without it
    # the test error fell on each of three seeds (0.677-0.722 -> 0.673-0.687 x doing nothing) and the palette came
    # closer (0.193-0.214 -> 0.181-0.183), at the same cost per step (docs/results.md, session 33)
    "dropout": 0.0,
    "jitter": 2,  # random shift of each pair by up to this many pixels, and left-right flips (0: off)
    "l1_weight": 100.0,  # λ of Isola et al. 2017
    # > 0: translate with a moving average of G's weights (lesson 02's EMA). Off: with the L1 loss and a rate
    # falling to 0, 0.999 changed nothing measurable here (MAE 0.701 -> 0.698 x doing nothing, palette 0.193 -> 0.199,
    # measured with dropout 0.5; docs/results.md)
    "ema_decay": 0.0,
    "ema_warmup": 10,  # how far back the average reaches (steps.with_ema): 10 as lesson 02's
    "learning_rate": 1e-3,  # falls linearly to 0 over the run
    "beta_1": 0.5,
    "lr_decay": True,
    "batch_size": 16,
    "steps": 4000,  # line art, 64 px: 5.7 min of training on 2 cores in the committed run (docs/results.md, session 43)
    "snapshot_every": 500,
    "checkpoint_every": 1000,
}
QUICK = {"steps": 50, "snapshot_every": 25, "checkpoint_every": 50}


def build(config):
    inputs, targets = task_pairs(config["task"], "train")
    size = inputs.shape[1]

    def generator(name="generator"):
        return unet_generator(size, config["g_channels"], norm=config["norm"], dropout=config["dropout"], name=name)

    G = generator()
    data = (scale_images(inputs), scale_images(targets))
    if config["adversarial"]:
        D = patchgan_discriminator(size, config["d_channels"], norm=config["norm"])
        composite = build_pix2pix(G, D, adam(config, "d"), adam(config, "g"), l1_weight=config["l1_weight"])
        models, step = {"generator": G, "discriminator": D, "gan": composite}, pix2pix_step
    else:
        G.compile(optimizer=adam(config, "g"), loss="mae")
        models, step = {"generator": G}, l1_step
    step = with_jitter(step, config["jitter"]) if config["jitter"] else step
    return with_averages(Built(models, step, data), config, ["generator"], generator)


class Translation(Run):
    """An image-to-image run: the generator's input is an image, not noise. Snapshots translate the
    first 32 test inputs; ``evaluate`` scores the whole test split, which training never sees."""

    directions = {"a2b": "generator"}  # lesson 06 adds "b2a"

    @property
    def styles(self):
        """What each direction makes, e.g. {"a2b": "colour", "b2a": "line art"}."""
        made_from, made = TASKS[self.config["task"]]
        return {"a2b": made, "b2a": made_from}

    def pairs(self, split):
        """(inputs, targets) of ``split`` of this run's task as uint8 images (:func:`task_pairs`)."""
        return task_pairs(self.config["task"], split)

    def _setup(self, built):
        inputs, self.fixed_targets = (a[:32] for a in self.pairs("test"))
        self.fixed_inputs = scale_images(inputs)  # in [-1, 1], what the generator reads

    def first_pairs(self, n, split):
        """The first ``n`` pairs of ``split`` (all with None) as uint8 images; ``n`` must be a positive count."""
        if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1):
            raise UserError(f"n must be a positive number of {split} pairs (None: all of them), got {n!r}")
        return tuple(a[:n] for a in self.pairs(split))

    def translator(self, direction="a2b"):
        """The network that translates ``direction``: its weight-averaged copy if the run keeps one."""
        name = self.directions[direction]
        return self.models.get(f"{name}_ema", self.models[name])

    def snapshot(self):
        return self._apply(self.translator(), self.fixed_inputs, 256)

    def translate(self, images, direction="a2b", batch_size=256):
        """Images (N, S, S, 3) in [0, 1] -> translated images in [0, 1]: ``"a2b"`` the lesson's way (line
        art to colour); ``"b2a"`` the way back (lesson 06's second generator)."""
        if direction not in ("a2b", "b2a"):
            raise UserError(f"direction must be a2b or b2a, got {direction!r}")
        if direction not in self.directions:
            way = " -> ".join(TASKS[self.config["task"]])
            raise UserError(f"a {self.lesson} model translates one way only (a2b: {way}); "
                            "use direction a2b, or a cyclegan model for b2a")
        generator = self.translator(direction)
        shape = tuple(generator.inputs[0].shape[1:])
        images = check_image_batch(np.asarray(images, "float32"), shape, value_range=(0.0, 1.0))
        return self._apply(generator, scale_images(images), batch_size)

    def evaluate(self, n=None, split="test"):
        """:func:`~gan_lessons.metrics.translation_scores` on the first ``n`` pairs of ``split`` (all by
        default), with ``mae_identity``, the error of returning the input unchanged."""
        from ..metrics import translation_scores

        inputs, targets = (a / 255.0 for a in self.first_pairs(n, split))
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
    Lesson("pix2pix", Translation, SETTINGS, QUICK, build, "05: Pix2Pix, line drawing -> colour (OpenMoji, 64 px)"),
    Lesson("pix2pix_l1", Translation, {**SETTINGS, "adversarial": False}, QUICK, build,
           "05: the same U-Net trained with the L1 loss alone (baseline)"),
)
