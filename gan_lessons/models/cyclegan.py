"""CycleGAN (Zhu et al. 2017): two generators, two discriminators and a cycle, trained without pairs.

G_AB turns domain A into domain B and G_BA the other way; D_A and D_B each tell their domain's real
images from translated ones. Nothing ties an output to its input but the *cycle*: G_BA(G_AB(a))
must give back a, and G_AB(G_BA(b)) must give back b. The networks are lesson 05's U-Net and an
unconditional PatchGAN with a linear output (least-squares loss, as in the paper).
"""

import keras
import numpy as np
from keras import layers

from .. import UserError


class ImagePool(keras.Model):
    """A history of ``size`` generated images that D learns from (Shrivastava et al. 2017; Zhu et al.
    2017 keep 50): D sees fakes from earlier generators too, which damps the oscillation of the game.

    While it is filling up, every new image is stored and passed on. Then each new image is, with
    probability 1/2, passed on as it is, or swapped with a random stored one, which is passed on
    instead. The pool is a Keras model holding its images as (non-trainable) variables, so the
    driver's checkpoints save it and a resumed run continues with the same history. ``size=0``
    turns it off (D sees only the current fakes, as in the TensorFlow tutorial).
    """

    def __init__(self, size=50, image_shape=(32, 32, 3), name="image_pool"):
        if not isinstance(size, int) or size < 0:
            raise UserError(f"the pool size must be a non-negative int (0 turns the pool off), got {size!r}")
        super().__init__(name=name)
        self.size = size
        self.images = self.add_weight(shape=(size, *image_shape), initializer="zeros", trainable=False,
                                      name="images")
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False, name="count")
        self.built = True

    def call(self, images):
        return images

    def query(self, images, rng):
        """The batch D should see instead of ``images`` (N, H, W, C); updates the pool."""
        images = np.asarray(images, "float32")
        if images.shape[1:] != tuple(self.images.shape[1:]):
            raise UserError(f"the pool holds images of shape {tuple(self.images.shape[1:])}, got {images.shape[1:]}: "
                            f"give the pool the shape of D's input (ImagePool(size, image_shape={images.shape[1:]}))")
        if self.size == 0:
            return images
        stored = keras.ops.convert_to_numpy(self.images).copy()
        count = int(keras.ops.convert_to_numpy(self.count))
        out = images.copy()
        for i, image in enumerate(images):
            if count < self.size:
                stored[count] = image
                count += 1
            elif rng.random() < 0.5:
                j = rng.integers(self.size)
                out[i] = stored[j]
                stored[j] = image
        self.images.assign(stored)
        self.count.assign(count)
        return out


def build_cyclegan(g_ab, g_ba, d_a, d_b, d_a_optimizer, d_b_optimizer, g_optimizer, cycle_weight=10.0,
                   identity_weight=5.0):
    """Compile both discriminators (mean squared error) and return the generators' composite model.

    Composite: inputs ``[a, b]``, six outputs, each named after its loss:
    ``adv_b`` = D_B(G_AB(a)) and ``adv_a`` = D_A(G_BA(b)) (least squares towards "real", 1);
    ``cycle_a`` = G_BA(G_AB(a)) and ``cycle_b`` = G_AB(G_BA(b)) (mean absolute error to a and b,
    weight ``cycle_weight``, λ = 10 in the paper); ``identity_a`` = G_BA(a) and ``identity_b`` =
    G_AB(b) (mean absolute error to a and b: a generator fed an image of its own output domain should
    leave it alone; weight ``identity_weight``, 0.5 λ in the paper; with weight 0 the two identity
    outputs are left out, which saves a third of the generators' work). One optimizer updates both
    generators; the step sets both ``trainable`` flags of the Ds right before each call.
    """
    for name, weight in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight)):
        if not isinstance(weight, (int, float)) or weight < 0:
            raise UserError(f"{name} must be a non-negative number, got {weight!r}")
    for d, optimizer in ((d_a, d_a_optimizer), (d_b, d_b_optimizer)):
        d.trainable = True
        d.compile(optimizer=optimizer, loss="mse")
    shape = tuple(g_ab.inputs[0].shape[1:])
    a, b = keras.Input(shape=shape, name="image_a"), keras.Input(shape=shape, name="image_b")
    fake_b, fake_a = g_ab(a), g_ba(b)
    outputs = {"adv_b": d_b(fake_b), "adv_a": d_a(fake_a), "cycle_a": g_ba(fake_b), "cycle_b": g_ab(fake_a)}
    losses, weights = ["mse", "mse", "mae", "mae"], [1.0, 1.0, float(cycle_weight), float(cycle_weight)]
    if identity_weight:
        outputs.update(identity_a=g_ba(a), identity_b=g_ab(b))
        losses, weights = losses + ["mae", "mae"], weights + [float(identity_weight)] * 2
    composite = keras.Model([a, b], [layers.Identity(name=k)(v) for k, v in outputs.items()], name="gan")
    d_a.trainable = d_b.trainable = False
    composite.compile(optimizer=g_optimizer, loss=losses, loss_weights=weights)
    return composite
