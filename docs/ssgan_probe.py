"""A probe of issue 16 (docs/results.md, session 47; not a lever): lesson 02's DCGAN with a self-supervised
rotation loss (Chen et al. 2019, SS-GAN). D has a second head that guesses the rotation (0/90/180/270) of real
images (weight beta); G is also asked (weight alpha) that its fakes' rotations be guessable. Unconditional: no
labels, no clusters. Trains in the driver's fit to each STOP in turn (exact resume: one run) and scores the average
of G on 10,000 samples (seed 1), as ``ImageGAN.evaluate``. Prints one JSON line per stop.

    .venv/bin/python docs/ssgan_probe.py OUT STOP [STOP ...] [alpha=0.2] [beta=1.0] [latent_dim=16]
    .venv/bin/python docs/ssgan_probe.py /tmp/ss 2000 4000 6000 8500            # the paper's alpha = 0.2, beta = 1

latent_dim defaults to lesson 02's (16 since session 48); session 47's rows were measured with latent_dim=100.
"""

import json
import sys

import keras
import numpy as np
from keras import layers, ops

from gan_lessons import set_seed
from gan_lessons.data import load_mnist, scale_images, unscale_images
from gan_lessons.lessons.dcgan import PLAIN
from gan_lessons.metrics import evaluate_digits
from gan_lessons.models import dcgan_generator
from gan_lessons.steps import with_ema
from gan_lessons.training import fit

if len(sys.argv) < 3:  # (what to pass, not an IndexError)
    sys.exit(__doc__)
out, stops = sys.argv[1], [int(a) for a in sys.argv[2:] if "=" not in a]
kv = dict(a.split("=") for a in sys.argv[2:] if "=" in a)
alpha, beta = float(kv.get("alpha", 0.2)), float(kv.get("beta", 1.0))
c = {**PLAIN, "latent_dim": int(kv.get("latent_dim", PLAIN["latent_dim"]))}
set_seed(0)

def rot90(x, k):  # NHWC, k quarter turns anticlockwise (as np.rot90 on axes (1, 2))
    for _ in range(k):
        x = ops.flip(ops.transpose(x, (0, 2, 1, 3)), axis=1)
    return x

def masked_mse(y_true, y_pred):  # y_true: [target, weight]
    return ops.mean(y_true[:, 1:2] * ops.square(y_pred - y_true[:, 0:1]), axis=-1)

def masked_rot(y_true, y_pred):  # y_true: [k, weight]
    ce = keras.losses.sparse_categorical_crossentropy(ops.cast(y_true[:, 0], "int32"), y_pred, from_logits=True)
    return y_true[:, 1] * ce

def make_g(name):
    return dcgan_generator(c["latent_dim"], channels=c["g_channels"], kernel_size=c["kernel_size"],
                           extra_convs=c["g_extra_convs"], activation=c["g_activation"], name=name)

G, G_ema = make_g("generator"), make_g("generator_ema")
G_ema.set_weights(G.get_weights())
x = keras.Input((28, 28, 1))
h = x
for ch in c["d_channels"]:
    h = layers.LeakyReLU(0.2)(layers.Conv2D(ch, c["kernel_size"], strides=2, padding="same")(h))
h = layers.Flatten()(h)
D = keras.Model(x, [layers.Dense(1, name="adv")(h), layers.Dense(4, name="rot")(h)], name="discriminator")
adam = lambda: keras.optimizers.Adam(c["d_learning_rate"], beta_1=c["beta_1"])
D.trainable = True
D.compile(adam(), loss=[masked_mse, masked_rot], loss_weights=[1.0, beta])
z_in, k_in = keras.Input((c["latent_dim"],)), keras.Input((4,))
fake = G(z_in)
rotated = sum(k_in[:, j:j + 1, None, None] * rot90(fake, j) for j in range(4))
adv_out, _ = D(fake)
_, rot_out = D(rotated)
gan = keras.Model([z_in, k_in], [layers.Identity(name="adv")(adv_out), layers.Identity(name="rot")(rot_out)], name="gan")
D.trainable = False
gan.compile(adam(), loss=[masked_mse, masked_rot], loss_weights=[1.0, alpha])

def ss_step(models, real, rng):
    G, D, gan = models["generator"], models["discriminator"], models["gan"]
    n = len(real)
    fake = G.predict_on_batch(rng.standard_normal((n, c["latent_dim"]), dtype="float32"))
    k = rng.integers(0, 4, n)
    rot_real = np.stack([np.rot90(im, kk, axes=(0, 1)) for im, kk in zip(real, k)])
    one, zero = np.ones((n, 1), "float32"), np.zeros((n, 1), "float32")
    images = np.concatenate([real, fake, rot_real])
    adv_t = np.concatenate([np.hstack([one, one]), np.hstack([zero, one]), np.hstack([zero, zero])])
    rot_t = np.concatenate([np.hstack([zero, zero]), np.hstack([zero, zero]), np.hstack([k[:, None].astype("float32"), one * 2])])
    # Keras averages over the 3n images: x1.5 makes the adversarial term the mean over its 2n images (as in
    # gan_step), and the rotated reals' weight 2 x 1.5 = 3 makes the rotation term the mean over its n.
    D.trainable = True
    d = D.train_on_batch(images, [adv_t * [1, 1.5], rot_t * [1, 1.5]], return_dict=True)
    D.trainable = False
    k = rng.integers(0, 4, n)
    g = gan.train_on_batch([rng.standard_normal((n, c["latent_dim"]), dtype="float32"), np.eye(4, dtype="float32")[k]],
                           [np.hstack([one, one]), np.hstack([k[:, None].astype("float32"), one])], return_dict=True)
    return {"d_loss": d["adv_loss"], "d_rot": d["rot_loss"], "g_loss": g["adv_loss"], "g_rot": g["rot_loss"]}

models = {"generator": G, "discriminator": D, "gan": gan, "generator_ema": G_ema}
step = with_ema(ss_step, c["ema_decay"])
(x_train, _), _ = load_mnist()
data = scale_images(x_train)
rows = []
for s in stops:
    hist = fit(step, models, data, steps=s, batch_size=c["batch_size"], seed=0, out_dir=out, checkpoint_every=1000,
               progress=False)
    z = np.random.default_rng(1).standard_normal((10000, c["latent_dim"])).astype("float32")
    imgs = unscale_images(np.concatenate([keras.ops.convert_to_numpy(G_ema(z[i:i + 1000], training=False)) for i in range(0, 10000, 1000)]))
    sc = evaluate_digits(imgs)
    fr = sc["class_fractions"]
    row = {"step": s, "train_s": round(hist.wall_time, 1), "fid": round(sc["fid"], 2), "is": round(sc["inception_score"], 2),
           "least": min(fr), "most": max(fr), "d_rot": float(np.mean(hist.logs["d_rot"][-200:])),
           "g_rot": float(np.mean(hist.logs["g_rot"][-200:])), "d_loss": float(np.mean(hist.logs["d_loss"][-200:]))}
    rows.append(row)
    print(json.dumps(row), flush=True)
