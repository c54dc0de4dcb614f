import keras
import numpy as np
import pytest
from conftest import assert_each_call_moves_the_right_network, changed, weights_of

from gan_lessons import UserError, set_seed
from gan_lessons.models import build_gan
from gan_lessons.models.dcgan import dcgan_discriminator, dcgan_generator
from gan_lessons.steps import _average, update_ema, with_ema


def small_dcgan():
    set_seed(0)
    G = dcgan_generator(16, channels=(16, 8), kernel_size=3)
    D = dcgan_discriminator(channels=(8, 16), kernel_size=3)
    adam = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
    return G, D, build_gan(G, D, adam(), adam())


def test_generator_upsamples_noise_to_images_in_tanh_range():
    G, _, _ = small_dcgan()
    x = keras.ops.convert_to_numpy(G(np.random.default_rng(0).standard_normal((4, 16)).astype("float32") * 5, training=False))
    assert x.shape == (4, 28, 28, 1) and x.min() >= -1 and x.max() <= 1
    assert [type(l).__name__ for l in G.layers].count("Conv2DTranspose") == 2


def test_discriminator_uses_strided_convolutions_and_no_pooling_or_batchnorm():
    _, D, _ = small_dcgan()
    kinds = [type(l).__name__ for l in D.layers]
    assert kinds.count("Conv2D") == 2 and all(l.strides == (2, 2) for l in D.layers if type(l).__name__ == "Conv2D")
    assert not any("Pooling" in k or "BatchNormalization" in k for k in kinds)
    p = keras.ops.convert_to_numpy(D(np.zeros((3, 28, 28, 1), "float32")))
    assert p.shape == (3, 1) and ((p > 0) & (p < 1)).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"image_shape": (30, 30, 1)}, "multiples of 4"),
    ({"channels": (64,)}, "channels must have 2 entries"),
    ({"kernel_size": 0}, "kernel_size"),
    ({"activation": "tanh"}, "activation must be one of leaky_relu, relu"),
    ({"extra_convs": -1}, "extra_convs must be a non-negative int"),
])
def test_generator_rejects_bad_settings(kwargs, message):
    with pytest.raises(UserError, match=message):
        dcgan_generator(**kwargs)


@pytest.mark.parametrize("kwargs, message", [({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
                                             ({"channels": ()}, "channels must be a non-empty tuple")])
def test_discriminator_rejects_bad_settings(kwargs, message):
    with pytest.raises(UserError, match=message):
        dcgan_discriminator(**kwargs)


def test_generator_with_radfords_relu_swaps_every_leaky_relu_and_nothing_else():
    kinds = [type(l).__name__ for l in dcgan_generator(16, channels=(16, 8), extra_convs=1, activation="relu").layers]
    leaky = [type(l).__name__ for l in dcgan_generator(16, channels=(16, 8), extra_convs=1).layers]
    assert kinds.count("ReLU") == leaky.count("LeakyReLU") == 4 and "LeakyReLU" not in kinds
    assert [k for k in kinds if k != "ReLU"] == [k for k in leaky if k != "LeakyReLU"]


def test_colour_images_of_other_sizes():
    G = dcgan_generator(8, image_shape=(32, 32, 3), channels=(8, 4))
    D = dcgan_discriminator(image_shape=(32, 32, 3), channels=(4, 8))
    assert G.output.shape[1:] == (32, 32, 3) and D.input.shape[1:] == (32, 32, 3)


def test_ema_moves_a_fraction_of_the_way():
    G, _, _ = small_dcgan()
    E = keras.models.clone_model(G)
    E.set_weights([np.zeros_like(w) for w in G.get_weights()])
    update_ema(E, G, decay=0.75)
    for e, w in zip(E.get_weights(), G.get_weights()):
        np.testing.assert_allclose(e, 0.25 * w, rtol=1e-6, atol=1e-7)
    E.set_weights([np.full_like(w, 2.0) for w in G.get_weights()])  # a copy that is not zero: the decay * copy term
    update_ema(E, G, decay=0.75)
    for e, w in zip(E.get_weights(), G.get_weights()):
        np.testing.assert_allclose(e, 0.75 * 2.0 + 0.25 * w, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("decay", [1.5, -1, "0.999", float("nan"), True])
def test_ema_refuses_a_decay_outside_zero_to_one(decay):
    """1.5 and -1 extrapolated the weights before (max |w| 1.14 after one call); a string failed in float - str."""
    G, _, _ = small_dcgan()
    E = keras.models.clone_model(G)
    E.set_weights(G.get_weights())
    with pytest.raises(UserError, match=r"decay must be a number in \[0, 1\].*0.999 typical"):
        update_ema(E, G, decay)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the compiled average is TensorFlow's branch")
def test_the_compiled_average_gives_the_eager_loops_bits():
    """On TensorFlow the average runs compiled; the committed runs were made with the eager loop, so the two
    must agree to the last bit, through a warm-up's decays and the cap, with G moving between updates."""
    G, _, _ = small_dcgan()
    compiled, eager = keras.models.clone_model(G), keras.models.clone_model(G)
    start = [w + 1.0 for w in G.get_weights()]
    compiled.set_weights(start)
    eager.set_weights(start)
    rng = np.random.default_rng(0)
    for t in range(30):
        G.set_weights([w + rng.standard_normal(w.shape).astype("float32") for w in G.get_weights()])
        decay = min(0.999, (1 + t) / (10 + t))
        update_ema(compiled, G, decay)
        _average(list(zip(eager.weights, G.weights)), decay, 1.0 - decay)
    for a, b, w in zip(compiled.get_weights(), eager.get_weights(), G.get_weights()):
        assert not np.array_equal(a, w)  # the copies moved but did not catch up
        np.testing.assert_array_equal(a, b)


def _average_of_a_run(warmup, steps):
    """The EMA copy of a one-weight "generator" whose weight is set to s at step s (s = 1..steps), from 0."""
    G = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    G.compile(optimizer="sgd", loss="mse")
    E = keras.models.clone_model(G)
    G.set_weights([np.zeros((1, 1))])
    E.set_weights(G.get_weights())

    def step(models, batch, rng):  # stands in for a training step: moves G and counts G's optimizer step
        models["generator"].optimizer.iterations.assign_add(1)
        s = float(keras.ops.convert_to_numpy(models["generator"].optimizer.iterations))
        models["generator"].set_weights([np.full((1, 1), s)])
        return {}

    averaged = with_ema(step, ema_decay=0.9999, warmup=warmup)
    for _ in range(steps):
        averaged({"generator": G, "generator_ema": E}, None, None)
    return float(E.get_weights()[0][0, 0])


def test_the_warm_up_sets_how_far_back_the_moving_average_reaches():
    t = 30  # the weight was 0 at the start and s after step s, so a mean weighted by w_s is sum(w_s s) / sum(w_s)
    # warmup 2: every step weighs the same (the start counts twice): the running mean of 0, 0, 1, ..., t
    assert _average_of_a_run(2, t) == pytest.approx(sum(range(t + 1)) / (t + 2), rel=1e-5)
    # warmup 4: step s weighs (s + 2)(s + 3), the start 8 (polynomial-decay averaging)
    w = {s: (s + 2) * (s + 3) for s in range(1, t + 1)}
    four = _average_of_a_run(4, t)
    assert four == pytest.approx(sum(s * ws for s, ws in w.items()) / (8 + sum(w.values())), rel=1e-5)
    ten = _average_of_a_run(10, t)
    assert sum(range(t + 1)) / (t + 2) < four < ten < t  # a longer warm-up keeps more recent weights
    with pytest.raises(UserError, match="warm-up must be a number >= 2"):
        with_ema(lambda *a: {}, warmup=1)


def tiny_dcgan_experiment(out_dir, lesson="dcgan", **overrides):
    from gan_lessons.lessons import ImageGAN

    settings = dict(g_channels=[8, 4], d_channels=[4, 8], latent_dim=8, batch_size=16, steps=6,
                    snapshot_every=3, checkpoint_every=3)
    settings.update(overrides)
    return ImageGAN(lesson, quick=True, out_dir=out_dir, **settings)


def test_dcgan_lesson_step_trains_d_then_g_and_only_averages_the_ema_copy(tmp_path):
    exp = tiny_dcgan_experiment(tmp_path)
    G, D, E = exp.models["generator"], exp.models["discriminator"], exp.models["generator_ema"]
    assert exp.generator is E  # samples come from the average
    g0, d0, e0 = weights_of(G), weights_of(D), weights_of(E)
    batch = exp.data[:16]
    exp.step(exp.models, batch, np.random.default_rng(0))
    g1, d1, e1 = weights_of(G), weights_of(D), weights_of(E)
    assert changed(g0, g1) and changed(d0, d1) and changed(e0, e1)
    # first step: decay = min(0.999, 2/11) -> the copy moves 9/11 of the way to G
    decay = 2 / 11
    for e_old, e_new, g_new in zip(e0, e1, g1):
        np.testing.assert_allclose(e_new, decay * e_old + (1 - decay) * g_new, rtol=1e-5, atol=1e-6)
    # each later step: D's call first, moving D only, then the composite's, moving G only
    rng = np.random.default_rng(1)
    assert_each_call_moves_the_right_network(exp.models, lambda: exp.step(exp.models, batch, rng), steps=2)


@pytest.mark.parametrize("lesson, kwargs", [("dcgan", {"lr_decay": True}),
                                            ("dcgan", {"loss": "hinge", "spectral_norm": True, "lr_decay": True}),
                                            ("dcgan_selfcond", {"clusters": 5, "lr_decay": True}),
                                            ("dcgan_infogan", {"codes": 3, "q_hidden": 8, "lr_decay": True})],
                         ids=["plain_decay", "hinge_sn_decay", "selfcond_decay", "infogan_decay"])
def test_interrupted_dcgan_run_resumes_exactly_with_lr_schedule_and_ema(tmp_path, lesson, kwargs):
    straight = tiny_dcgan_experiment(tmp_path / "a", lesson, **kwargs)
    assert straight.config["lr_decay"]
    h_straight = straight.train(progress=False)

    interrupted = tiny_dcgan_experiment(tmp_path / "b", lesson, **kwargs)
    calls, step = [], interrupted.step

    def step_then_crash(*args):
        if len(calls) == 3:
            raise KeyboardInterrupt  # the student closes the laptop after step 3
        calls.append(1)
        return step(*args)

    interrupted.step = step_then_crash
    with pytest.raises(KeyboardInterrupt):
        interrupted.train(progress=False)
    resumed = tiny_dcgan_experiment(tmp_path / "b", lesson, **kwargs)
    h_resumed = resumed.train(progress=False)
    assert h_resumed.logs == h_straight.logs
    for a, b in zip(weights_of(straight.models["generator_ema"]), weights_of(resumed.models["generator_ema"])):
        np.testing.assert_array_equal(a, b)


def test_gan_losses_by_name_and_their_targets():
    from gan_lessons.models import gan_loss
    from gan_lessons.models.gan import hinge_generator_loss

    hinge = keras.losses.get(gan_loss("hinge")[0])  # Keras reads target 0 as -1: max(0, 1 + D(fake)) for fakes
    np.testing.assert_allclose(np.asarray(hinge(np.array([[1.0], [0.0]]), np.array([[0.5], [0.5]]))), [0.5, 1.5])
    np.testing.assert_allclose(np.asarray(hinge_generator_loss(np.ones((2, 1)), np.array([[0.5], [2.0]]))),
                               [-0.5, -2.0])  # G raises D's score on its fakes, without a ceiling
    assert gan_loss("bce")[2] and not gan_loss("lsgan")[2]
    with pytest.raises(UserError, match="unknown loss 'wasserstein'; choose one of bce, hinge, lsgan"):
        gan_loss("wasserstein")


@pytest.mark.parametrize("loss", ["hinge", "lsgan"])
def test_hinge_and_least_squares_ds_give_a_raw_score_and_each_call_moves_its_network(tmp_path, loss):
    from conftest import assert_each_call_moves_the_right_network

    exp = tiny_dcgan_experiment(tmp_path, loss=loss)
    D = exp.models["discriminator"]
    kernel, bias = D.layers[-1].get_weights()
    D.layers[-1].set_weights([kernel, bias + 10.0])  # a large bias: a sigmoid squeezes it below 1, a raw score keeps it
    score = keras.ops.convert_to_numpy(D(np.zeros((2, 28, 28, 1), "float32"), training=False))
    assert D.layers[-1].get_config()["activation"] == "linear" and (score > 1).all()
    D.layers[-1].set_weights([kernel, bias])
    rng = np.random.default_rng(0)
    logs = exp.step(exp.models, exp.data[:16], rng)
    assert np.isfinite(list(logs.values())).all()
    assert_each_call_moves_the_right_network(exp.models, lambda: exp.step(exp.models, exp.data[:16], rng))


def test_spectrally_normalised_d_learns_and_g_step_only_rescales_its_kernels(tmp_path):
    exp = tiny_dcgan_experiment(tmp_path, loss="hinge", spectral_norm=True)
    G, D = exp.models["generator"], exp.models["discriminator"]
    assert [type(l).__name__ for l in D.layers].count("SpectralNormalization") == 3  # 2 convs + the dense head
    D(exp.data[:4], training=True)
    dense = D.layers[-1].layer.kernel
    assert np.linalg.norm(np.asarray(dense)) == pytest.approx(1.0, rel=1e-4)  # a vector: its norm is its σ
    rng = np.random.default_rng(0)
    for _ in range(2):
        D.trainable = True
        d0, g0 = [np.array(w) for w in D.trainable_weights], weights_of(G)
        exp.models["discriminator"].train_on_batch(np.concatenate([exp.data[:8], exp.data[8:16]]),
                                                   np.concatenate([np.ones((8, 1)), np.zeros((8, 1))]))
        d1 = [np.array(w) for w in D.trainable_weights]
        assert changed(d0, d1) and not changed(g0, weights_of(G))  # D's step: D learns, G does not
        D.trainable = False
        exp.models["gan"].train_on_batch(rng.standard_normal((8, 8)).astype("float32"), np.ones((8, 1)))
        assert changed(g0, weights_of(G))  # G's step: G learns...
        D.trainable = True
        for before, after in zip(d1, [np.array(w) for w in D.trainable_weights]):  # ...D is only rescaled
            scale = float((before * after).sum() / (after * after).sum()) if after.any() else 1.0
            np.testing.assert_allclose(before, scale * after, rtol=1e-4, atol=1e-6)


def test_batchnorm_in_d_learns_batch_statistics_in_its_step_and_is_frozen_in_gs(tmp_path):
    # Lesson 02's exercise 3: D's BatchNorm follows the batch in D's own step; inside the composite it is frozen,
    # runs in inference mode and its moving statistics stay where D's step left them.
    exp = tiny_dcgan_experiment(tmp_path, d_batchnorm=True)
    D, gan = exp.models["discriminator"], exp.models["gan"]
    (bn,) = [l for l in D.layers if type(l).__name__ == "BatchNormalization"]
    assert D.layers.index(bn) > [type(l).__name__ for l in D.layers].index("Conv2D") + 1  # not on D's first layer
    stats = lambda: [np.array(keras.ops.convert_to_numpy(w)) for w in (bn.moving_mean, bn.moving_variance)]  # noqa: E731
    rng = np.random.default_rng(0)
    before = stats()
    D.trainable = True
    D.train_on_batch(exp.data[:16], np.ones((16, 1), "float32"))
    after_d = stats()
    assert changed(before, after_d)
    D.trainable = False
    gan.train_on_batch(rng.standard_normal((16, 8)).astype("float32"), np.ones((16, 1), "float32"))
    assert not changed(after_d, stats())
