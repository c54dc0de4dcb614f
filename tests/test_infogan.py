"""InfoGAN (`dcgan_infogan`, lesson 04's exercise): lesson 02's DCGAN with a latent code that a head Q on D's
features learns to read back."""
import keras
import numpy as np
import pytest
from conftest import LESSON_02_SHARED, assert_calls_move, changed, patch_lesson, weights_of

from gan_lessons import UserError, set_seed
from gan_lessons.__main__ import main
from gan_lessons.lessons import LESSONS, ImageGAN
from gan_lessons.lessons.infogan import LatentCodes, digits_by_code
from gan_lessons.models import build_infogan, cgan_generator, dcgan_generator, infogan_discriminator
from gan_lessons.steps import infogan_step

TINY = dict(g_channels=[8, 4], d_channels=[4, 8], latent_dim=8, batch_size=16, steps=4, snapshot_every=2,
            checkpoint_every=2, codes=3, q_hidden=8)


def tiny_infogan(k=3, info_weight=1.0, lr=1e-3):
    G = cgan_generator(8, n_classes=k, label_code="onehot", channels=(8, 4), kernel_size=3)
    D, DQ = infogan_discriminator(k, q_hidden=16, channels=(4, 8), kernel_size=3, dropout=0.0, logits=True)
    gan = build_infogan(G, D, DQ, keras.optimizers.Adam(lr, beta_1=0.5), keras.optimizers.Adam(lr, beta_1=0.5),
                        loss="mse", info_weight=info_weight)
    return {"generator": G, "discriminator": D, "gan": gan, "dq": DQ}


def q_accuracy(models, k, n=300, seed=1):
    """How often Q reads back the code G was given, on ``n`` fresh samples."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, k, n).astype("int32")
    images = models["generator"].predict_on_batch([rng.standard_normal((n, 8), dtype="float32"), codes])
    return float(np.mean(models["dq"].predict_on_batch(images)[1].argmax(axis=1) == codes))


def test_d_scores_the_image_alone_and_q_guesses_the_code_from_d_features():
    set_seed(0)
    D, DQ = infogan_discriminator(5, q_hidden=16, channels=(4, 8), kernel_size=3, logits=True)
    x = np.random.default_rng(0).uniform(-1, 1, (6, 28, 28, 1)).astype("float32")
    score, logits = DQ.predict_on_batch(x)
    assert len(D.inputs) == 1 and score.shape == (6, 1) and logits.shape == (6, 5)
    np.testing.assert_allclose(score, D.predict_on_batch(x), rtol=1e-5, atol=1e-6)  # one D, read twice
    D.trainable = False  # G's step: D's layers frozen, Q's head (only in DQ) still learns
    assert sorted(w.path for w in DQ.trainable_weights) == ["q_hidden/bias", "q_hidden/kernel", "q_logits/bias",
                                                            "q_logits/kernel"]
    # Q reads D's features: zero D's first convolution and neither answer depends on the image any more
    conv = D.layers[1]
    conv.set_weights([np.zeros_like(w) for w in conv.get_weights()])
    score, logits = DQ.predict_on_batch(x)
    assert np.allclose(score, score[0]) and np.allclose(logits, logits[0])


def test_infogan_step_moves_d_in_its_call_and_g_and_q_head_in_the_composite(real_images):
    set_seed(0)
    models = tiny_infogan()
    models["q_head"] = models["dq"].get_layer("q_logits")
    rng = np.random.default_rng(0)
    assert_calls_move(models, lambda: infogan_step(models, real_images[:16], rng, n_codes=3),
                      {"discriminator": {"discriminator"}, "gan": {"generator", "q_head"}})


def test_g_learns_to_draw_codes_that_q_can_read_back(real_images):
    set_seed(0)
    k, models = 3, tiny_infogan()
    before = q_accuracy(models, k)
    rng = np.random.default_rng(0)
    d0 = weights_of(models["discriminator"])
    logs = [infogan_step(models, real_images[32 * (i % 32):32 * (i % 32) + 32], rng, n_codes=k) for i in range(150)]
    assert changed(d0, weights_of(models["discriminator"]))
    info = [log["info_loss"] for log in logs]
    assert np.mean(info[:5]) > 0.8 and np.mean(info[-10:]) < 0.2  # from about ln 3 = 1.10 to a sure guess
    assert before < 0.6 and q_accuracy(models, k) > 0.95
    # D learnt too: it scores real digits above G's current fakes
    fakes = models["generator"].predict_on_batch([rng.standard_normal((64, 8), dtype="float32"),
                                                  rng.integers(0, k, 64).astype("int32")])
    assert models["discriminator"].predict_on_batch(real_images[:64]).mean() > \
        models["discriminator"].predict_on_batch(fakes).mean()


@pytest.mark.parametrize("make, message", [
    (lambda: infogan_discriminator(1), "at least 2 codes"),
    (lambda: infogan_discriminator(4, q_hidden=0), "positive ints"),
    (lambda: tiny_infogan(info_weight=-1.0), "info_weight must be a number >= 0"),
    (lambda: tiny_infogan(info_weight=True), "info_weight must be a number >= 0"),
])
def test_bad_infogan_settings_are_refused(make, message):
    with pytest.raises(UserError, match=message):
        make()


def test_an_infogan_generator_takes_z_and_a_code():
    G = dcgan_generator(8, channels=(8, 4), kernel_size=3)
    D, DQ = infogan_discriminator(3, q_hidden=8, channels=(4, 8), kernel_size=3)
    with pytest.raises(UserError, match=r"takes \[z, code\]"):
        build_infogan(G, D, DQ, keras.optimizers.Adam(), keras.optimizers.Adam())


def test_latent_codes_are_drawn_uniformly_and_shown_one_per_row():
    codes = LatentCodes(4)
    drawn = codes.draw(20000, seed=0)
    np.testing.assert_allclose(np.bincount(drawn, minlength=4) / 20000, 0.25, atol=0.015)
    assert not codes.public and codes.n_snapshot == 40 and codes.grid_columns == 10
    np.testing.assert_array_equal(codes.snapshot_labels(0), np.repeat(np.arange(4), 10))
    np.testing.assert_array_equal(LatentCodes(50).snapshot_labels(0), np.repeat(np.arange(10), 10))  # first 10


def test_infogan_lesson_is_lesson_02_with_a_code(tmp_path):
    infogan, dcgan = LESSONS["dcgan_infogan"], LESSONS["dcgan"]
    assert {k: infogan.settings[k] for k in LESSON_02_SHARED} == {k: dcgan.settings[k] for k in LESSON_02_SHARED}
    # but not z or D: InfoGAN keeps the 100 numbers and the two-convolution D without dropout it was measured with
    # (session 23); lesson 02 draws 16 since session 48, and its D has a third convolution and dropout since session 54
    assert infogan.settings["latent_dim"] == 100 and dcgan.settings["latent_dim"] == 16
    assert (infogan.settings["d_channels"], infogan.settings["dropout"]) == ([32, 64], 0.0)
    # the recipe's 6,000 steps, as the self-conditioned DCGAN
    assert infogan.settings["steps"] == LESSONS["dcgan_selfcond"].settings["steps"] == 6000
    assert infogan.settings["codes"] == 50 and infogan.settings["info_weight"] == 1.0 and infogan.quick == dcgan.quick
    with pytest.raises(UserError, match="codes must be at least 2.*`dcgan`"):
        ImageGAN("dcgan_infogan", quick=True, out_dir=tmp_path / "x", **dict(TINY, codes=1))
    exp = ImageGAN("dcgan_infogan", quick=True, out_dir=tmp_path / "run", **TINY)
    history = exp.train(progress=False)
    assert set(history.logs) >= {"d_loss", "g_loss", "info_loss"}
    assert history.snapshots[0].shape == (30, 28, 28, 1) and exp.generator is exp.models["generator_ema"]
    a, b, c = exp.generate(20, seed=3), exp.generate(20, seed=3), exp.generate(20, seed=4)
    assert a.shape == (20, 28, 28, 1) and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    shares = digits_by_code(exp, n=50)
    assert shares.shape == (3, 10) and np.allclose(shares.sum(axis=1), 1)


def test_digits_by_code_reads_each_code_samples_with_the_course_classifier(mnist):
    (x, y), _ = mnist
    ones, sevens = x[y == 1][:40, ..., None], x[y == 7][:40, ..., None]

    class ByCode:  # a stand-in run whose code 0 draws ones, code 1 sevens
        labels = LatentCodes(2)
        generator = keras.Model(*[keras.Input((4,))] * 2)  # only its input size is read

        def generate(self, z, labels):
            return (ones if labels[0] == 0 else sevens)[:len(z)] / 255.0

    shares = digits_by_code(ByCode(), n=40)
    assert shares[0, 1] > 0.95 and shares[1, 7] > 0.95


def test_digits_by_code_names_the_run_it_reads(tmp_path):
    """An AttributeError ('NoLabels' object has no attribute 'n_classes') before."""
    plain = ImageGAN("dcgan", quick=True, out_dir=tmp_path, g_channels=[8, 4], d_channels=[4, 8], latent_dim=8)
    for run, got in ((plain, "a run of dcgan, which has none"), ("dcgan_infogan", "'dcgan_infogan'")):
        with pytest.raises(UserError, match=r"latent codes of an InfoGAN run: pass make_experiment\(\"dcgan_infogan\"\) "
                                            rf"once trained, got {got}"):
            digits_by_code(run)


def test_cli_trains_and_samples_an_infogan_without_writing_codes(tmp_path, monkeypatch):
    patch_lesson(monkeypatch, "dcgan_infogan", TINY)
    out = tmp_path / "run"
    assert main(["train", "dcgan_infogan", "--quick", "--out", str(out), "--eval-samples", "100"]) == 0
    assert main(["sample", str(out), "-n", "7", "--out", str(tmp_path / "s.npz")]) == 0
    saved = np.load(tmp_path / "s.npz")
    assert saved.files == ["images"] and saved["images"].shape == (7, 28, 28, 1)  # the codes stay latent
    assert main(["train", "dcgan_infogan", "--quick", "--out", str(tmp_path / "bad"), "--set", "codes=1"]) == 2
