"""The self-conditioned DCGAN (`dcgan_selfcond`, lesson 04's remedy): k-means clusters of unlabelled digits as the labels of lesson 03's cGAN."""
import keras
import numpy as np
import pytest
from conftest import LESSON_02_SHARED, assert_each_call_moves_the_right_network, changed, patch_lesson, weights_of

from gan_lessons import UserError, set_seed
from gan_lessons.__main__ import main
from gan_lessons.clusters import cluster_images, mnist_clusters
from gan_lessons.lessons import LESSONS, ClusterLabels, DigitLabels, ImageGAN
from gan_lessons.models import build_gan, cgan_discriminator, cgan_generator
from gan_lessons.steps import cgan_step

K = 5  # one k for every test, so the clustering of MNIST runs once per test session


def blobs(sizes=(50, 30, 20), seed=0):
    """Images (N, 6, 6) made of well-separated groups: group g is bright in its own block of pixels."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    x = rng.uniform(0, 10, (len(truth), 6, 6))
    for g in range(len(sizes)):
        x[truth == g, g * 2:g * 2 + 2, :] += 200
    order = rng.permutation(len(truth))
    return x[order].astype("uint8"), truth[order]


def test_well_separated_groups_are_recovered_exactly_and_numbered_by_size():
    x, truth = blobs()
    ids = cluster_images(x, 3, seed=0, pca_dims=4)
    assert ids.shape == truth.shape and ids.dtype == np.int32
    # the biggest group (50 images) is cluster 0, then 30 -> 1, 20 -> 2: the same partition, exactly
    np.testing.assert_array_equal(ids, truth)


def test_clusters_are_deterministic_for_a_seed_and_cover_every_id():
    x, _ = blobs((40, 40, 40, 40))
    x = x.astype("float32") / 255.0 + np.random.default_rng(1).uniform(0, 0.3, x.shape)  # floats are fine too
    a, b = cluster_images(x, 6, seed=3), cluster_images(x, 6, seed=3)
    np.testing.assert_array_equal(a, b)
    assert set(a.tolist()) == set(range(6))
    counts = np.bincount(a)
    assert (np.diff(counts) <= 0).all()  # 0 = largest


@pytest.mark.parametrize("x, k, message", [
    (np.zeros((10, 36)), 2, r"\(N, H, W\) or \(N, H, W, C\)"),
    (np.zeros((10, 6, 6)), 0, "between 1 and the 10 images"),
    (np.zeros((10, 6, 6)), 11, "between 1 and the 10 images"),
    (np.zeros((10, 6, 6)), 2.5, "whole number of clusters"),
])
def test_bad_cluster_requests_are_refused(x, k, message):
    with pytest.raises(UserError, match=message):
        cluster_images(x, k)


@pytest.mark.parametrize("bad", [{"pca_dims": 0}, {"iters": 1.5}])
def test_bad_pca_and_iteration_settings_are_refused(bad):
    with pytest.raises(UserError, match="pca_dims and iters must be positive ints"):
        cluster_images(np.zeros((10, 6, 6)), 2, **bad)


def test_mnist_clusters_group_similar_digits(mnist):
    (_, y_train), _ = mnist
    ids = mnist_clusters(K)
    assert ids.shape == (60000,) and ids.min() == 0 and ids.max() == K - 1
    again = mnist_clusters(K)
    np.testing.assert_array_equal(ids, again)  # the same clusters (cached)...
    again[:] = -1
    assert mnist_clusters(K).min() == 0  # ...and each caller gets its own copy: changing one spoils no other
    # no labels went in, yet each cluster is dominated by a few digits: far from the 10 % of chance
    purity = sum(np.bincount(y_train[ids == j]).max() for j in range(K)) / len(ids)
    assert purity > 0.3, purity


def test_label_policies_draw_clusters_by_size_and_digits_in_turn():
    probs = np.array([0.5, 0.3, 0.15, 0.05, 0.0])
    clusters = ClusterLabels(probs)
    labels = clusters.draw(20000, seed=0)
    np.testing.assert_allclose(np.bincount(labels, minlength=5) / 20000, probs, atol=0.015)
    np.testing.assert_array_equal(labels, clusters.draw(20000, seed=0))
    assert not np.array_equal(labels[:100], clusters.draw(100, seed=1))
    assert not clusters.public  # sample writes no cluster ids
    np.testing.assert_array_equal(DigitLabels().draw(12), np.arange(12) % 10)  # lesson 03: digits in turn
    assert DigitLabels().public


def test_cgan_step_asks_for_labels_with_the_given_probabilities(real_images):
    set_seed(0)
    G = cgan_generator(8, n_classes=4, label_dim=2, channels=(8, 4), kernel_size=3)
    D = cgan_discriminator(n_classes=4, channels=(4, 8), kernel_size=3)
    models = {"generator": G, "discriminator": D,
              "gan": build_gan(G, D, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))}
    asked = []
    for key in ("discriminator", "gan"):
        original = models[key].train_on_batch
        models[key].train_on_batch = lambda x, y, original=original: asked.append(x[1][-64:]) or original(x, y)
    rng = np.random.default_rng(0)
    batch = (real_images[:64], np.full(64, 3, "int32"))
    for _ in range(3):
        cgan_step(models, batch, rng, n_classes=4, label_probs=[0.9, 0.1, 0.0, 0.0])
    asked = np.concatenate(asked)
    assert set(asked.tolist()) <= {0, 1} and np.mean(asked == 0) > 0.75


def tiny_self_conditioned(out_dir, **overrides):
    settings = dict(g_channels=[8, 4], d_channels=[4, 8], latent_dim=8, g_label_dim=4, batch_size=16, steps=4,
                    snapshot_every=2, checkpoint_every=2, clusters=K)
    return ImageGAN("dcgan_selfcond", quick=True, out_dir=out_dir, **dict(settings, **overrides))


def test_default_codes_g_reads_a_one_hot_cluster_d_projects_it(tmp_path):
    exp = tiny_self_conditioned(tmp_path)
    assert exp.models["generator"].get_layer("g_label_code").outputs[0].shape[-1] == K  # one-hot of the cluster
    # D's convolutions read the image alone, whatever k is (k one-hot planes would make its first layer dearer)
    D = exp.models["discriminator"]
    assert D.get_layer("dcgan_features").inputs[0].shape[1:] == (28, 28, 1)
    assert D.get_layer("d_label_projection").get_weights()[0].shape[0] == K


def test_projection_discriminator_starts_blind_to_the_label_and_reads_it_through_its_features():
    set_seed(0)
    D = cgan_discriminator(n_classes=4, label_code="projection", channels=(4, 8), kernel_size=3)
    assert D.get_layer("dcgan_features").inputs[0].shape[1:] == (28, 28, 1)  # no label planes: no extra cost
    image = np.repeat(np.random.default_rng(1).uniform(-1, 1, (1, 28, 28, 1)).astype("float32"), 4, axis=0)
    labels = np.arange(4, dtype="int32")
    p = keras.ops.convert_to_numpy(D([image, labels]))[:, 0]
    assert ((p > 0) & (p < 1)).all() and np.allclose(p, p[0])  # label vectors start at 0: lesson 02's D
    table = D.get_layer("d_label_projection")
    table.set_weights([np.random.default_rng(2).normal(0, 0.1, table.get_weights()[0].shape)])
    assert np.unique(np.round(keras.ops.convert_to_numpy(D([image, labels]))[:, 0], 6)).size == 4
    with pytest.raises(UserError, match="label_code must be one of"):
        cgan_generator(8, label_code="projection")  # G has no features to project on


@pytest.mark.parametrize("g_code, d_code, wrong", [("onehot", "embedding", 0.0), ("embedding", "onehot", 0.5),
                                                   ("onehot", "projection", 0.5)])
def test_self_conditioned_step_trains_d_then_g_on_cluster_ids(tmp_path, g_code, d_code, wrong):
    exp = tiny_self_conditioned(tmp_path, label_code=g_code, d_label_code=d_code, wrong_label_fraction=wrong)
    images, ids = exp.data
    np.testing.assert_array_equal(ids, mnist_clusters(K))  # the cluster ids, not the digit labels
    asked = exp.labels.draw(20000)  # G is asked for each cluster as often as it holds training digits
    np.testing.assert_allclose(np.bincount(asked, minlength=K), np.bincount(ids, minlength=K) * 20000 / len(ids),
                               rtol=0.1)
    assert not exp.labels.public and exp.generator is exp.models["generator_ema"]
    e0 = weights_of(exp.models["generator_ema"])
    rng = np.random.default_rng(0)
    assert_each_call_moves_the_right_network(exp.models, lambda: exp.step(exp.models, (images[:16], ids[:16]), rng))
    assert changed(e0, weights_of(exp.models["generator_ema"]))


def test_self_conditioned_generate_draws_clusters_by_size_and_is_seeded(tmp_path):
    exp = tiny_self_conditioned(tmp_path)
    history = exp.train(progress=False)
    assert history.snapshots[0].shape == (64, 28, 28, 1)
    assert exp.fixed_labels.shape == (64,) and len(set(exp.fixed_labels.tolist())) > 1  # several clusters shown
    np.testing.assert_array_equal(exp.fixed_labels, tiny_self_conditioned(tmp_path / "again").fixed_labels)
    a, b, c = exp.generate(30, seed=4), exp.generate(30, seed=4), exp.generate(30, seed=5)
    assert a.shape == (30, 28, 28, 1) and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    z = np.random.default_rng(0).standard_normal((3, 8)).astype("float32")
    assert not np.allclose(exp.generate(z=z, labels=[0, 0, 0]), exp.generate(z=z, labels=[K - 1] * 3))
    with pytest.raises(UserError, match=f"between 0 and {K - 1} \\(cluster ids\\)"):
        exp.generate(z=z, labels=[0, 1, K])
    scores = exp.evaluate(n=200)
    assert "label_agreement" not in scores and np.isfinite(scores["fid"])


def test_plain_dcgan_is_lesson_02_and_self_conditioning_needs_clusters(tmp_path):
    exp = ImageGAN("dcgan", quick=True, out_dir=tmp_path / "plain", g_channels=[8, 4], d_channels=[4, 8],
                   latent_dim=8, batch_size=16, steps=2)
    assert len(exp.generator.inputs) == 1 and isinstance(exp.data, np.ndarray) and not exp.labels.takes_labels
    assert exp.generate(5).shape == (5, 28, 28, 1)
    with pytest.raises(UserError, match="not conditional"):
        exp.generate(z=np.zeros((2, 8), "float32"), labels=[0, 1])
    with pytest.raises(UserError, match="unknown setting 'clusters' for dcgan"):
        ImageGAN("dcgan", quick=True, out_dir=tmp_path / "x", clusters=5)
    with pytest.raises(UserError, match="clusters must be at least 2.*`dcgan`"):
        tiny_self_conditioned(tmp_path / "y", clusters=0)


def test_self_conditioned_lesson_trains_lesson_02s_networks_with_its_recipe():
    selfcond, dcgan = LESSONS["dcgan_selfcond"], LESSONS["dcgan"]
    assert selfcond.settings["clusters"] == 50 and selfcond.settings["d_label_code"] == "projection"
    assert selfcond.quick == dcgan.quick
    assert {k: selfcond.settings[k] for k in LESSON_02_SHARED} == {k: dcgan.settings[k] for k in LESSON_02_SHARED}
    assert {k: selfcond.settings[k] for k in ("g_channels", "d_channels", "dropout", "loss", "lr_decay", "steps")} == {
        "g_channels": [64, 32], "d_channels": [32, 64], "dropout": 0.0, "loss": "lsgan", "lr_decay": False,
        "steps": 6000}
    # Notebook 04 says how the two D differ: lesson 02's has a third convolution and dropout (session 54).
    assert dcgan.settings["d_channels"] == [32, 64, 128] and dcgan.settings["dropout"] == 0.3


def test_lesson_03_keeps_its_settings():
    cgan = LESSONS["cgan"].settings
    assert "clusters" not in cgan and cgan["label_code"] == "onehot" and cgan["wrong_label_fraction"] == 0.5
    assert cgan["steps"] == 6000 and cgan["batch_size"] == 64 and LESSONS["cgan"].quick["steps"] == 150
    with pytest.raises(UserError, match="unknown setting"):
        ImageGAN("cgan", quick=True, clusters=3)


def test_cli_trains_and_samples_a_self_conditioned_dcgan(tmp_path, monkeypatch):
    patch_lesson(monkeypatch, "dcgan_selfcond", dict(steps=4, snapshot_every=2, checkpoint_every=2, clusters=K,
                                            g_channels=[8, 4], d_channels=[4, 8]))
    out = tmp_path / "run"
    assert main(["train", "dcgan_selfcond", "--quick", "--out", str(out), "--eval-samples", "100"]) == 0
    assert main(["sample", str(out), "-n", "7", "--out", str(tmp_path / "s.npz")]) == 0
    assert main(["sample", str(out), "-n", "7", "--out", str(tmp_path / "t.npz")]) == 0
    saved = np.load(tmp_path / "s.npz")
    assert saved.files == ["images"] and saved["images"].shape == (7, 28, 28, 1)  # no labels: unconditional
    np.testing.assert_array_equal(saved["images"], np.load(tmp_path / "t.npz")["images"])


def test_digits_over_training_of_the_plain_and_the_self_conditioned_dcgan(tmp_path, monkeypatch):
    import gan_lessons.training
    from gan_lessons.lessons.dcgan_selfcond import digits_over_training

    tiny = dict(g_channels=[8, 4], d_channels=[4, 8], latent_dim=8, batch_size=16, steps=4, snapshot_every=2,
                checkpoint_every=2)
    out_dirs = {"dcgan": tmp_path / "plain", "dcgan_selfcond": tmp_path / "selfcond"}
    overrides = {"dcgan": tiny, "dcgan_selfcond": dict(tiny, clusters=K, g_label_dim=4)}
    shares = digits_over_training(quick=True, out_dirs=out_dirs, overrides=overrides)
    for lesson in ("dcgan", "dcgan_selfcond"):
        steps, digits = shares[lesson]
        np.testing.assert_array_equal(steps, [0, 2, 4])  # the start, then every 2 steps
        assert digits.shape == (10, len(steps)) and np.allclose(digits.sum(axis=0), 1)
    # finished: loaded, not retrained (a retrained seeded run would give the same shares, so training must not run)
    monkeypatch.setattr(gan_lessons.training, "_run_step", lambda *args: pytest.fail("a finished run was retrained"))
    again = digits_over_training(quick=True, out_dirs=out_dirs, overrides=overrides)
    for lesson in ("dcgan", "dcgan_selfcond"):
        np.testing.assert_array_equal(again[lesson][1], shares[lesson][1])


def test_digits_over_training_shows_the_shipped_runs_without_taking_the_lessons_folders(tmp_path, monkeypatch):
    """Notebook 04 shows lesson 02's DCGAN and the self-conditioned one from the course's runs (``pretrained/``)
    unless the student trained them, and copies nothing into their folders (notebook 02 must still train lesson 02
    there); ``fresh`` trains again the lesson it names, and only that one."""
    from gan_lessons import pretrained
    from gan_lessons.lessons.dcgan_selfcond import digits_over_training
    from gan_lessons.training import read_checkpoint

    lessons = ("dcgan", "dcgan_selfcond")
    tiny = dict(g_channels=[8, 4], d_channels=[4, 8], latent_dim=8, batch_size=16, steps=4, snapshot_every=2,
                checkpoint_every=2)
    overrides = {"dcgan": tiny, "dcgan_selfcond": dict(tiny, clusters=K, g_label_dim=4)}
    monkeypatch.setenv("GAN_LESSONS_PRETRAINED", "0")
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path / "pretrained")
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "course")
    course = digits_over_training(quick=False, out_dirs={name: tmp_path / "course" / name for name in lessons},
                                  overrides=overrides)
    for name in lessons:
        pretrained.make_pack(tmp_path / "course" / name)
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "student")  # a machine that trained nothing
    student = {name: tmp_path / "student" / name for name in lessons}
    shown = digits_over_training(quick=False, out_dirs=student, overrides=overrides, shipped=True)
    for name in lessons:
        np.testing.assert_array_equal(shown[name][1], course[name][1])  # the course run's histogram
        assert read_checkpoint(student[name]) is None  # read from pretrained/, not trained, nothing copied
    again = digits_over_training(quick=False, out_dirs=student, overrides=overrides, shipped=True,
                                 fresh=["dcgan_selfcond"])
    assert read_checkpoint(student["dcgan"]) is None
    assert read_checkpoint(student["dcgan_selfcond"])["step"] == 4  # trained here, with the course's seed:
    np.testing.assert_array_equal(again["dcgan_selfcond"][1], course["dcgan_selfcond"][1])  # the same run
    with pytest.raises(UserError, match="fresh names lessons"):
        digits_over_training(quick=False, out_dirs=student, overrides=overrides, fresh="dcgan_selfcond")
    without = digits_over_training(quick=False, out_dirs=student, overrides=dict(overrides, dcgan=dict(tiny, steps=2)),
                                   shipped=True)  # other settings than the pack's: trained here
    assert read_checkpoint(student["dcgan"])["step"] == 2 and len(without["dcgan"][0]) == 2


def test_digits_over_training_refuses_a_misspelt_lesson_in_its_settings(tmp_path):
    """Silent before: overrides={"dcgan_selfcon": ...} was ignored, and the run used the lesson's own settings."""
    from gan_lessons.lessons.dcgan_selfcond import digits_over_training

    for bad in (dict(overrides={"dcgan_selfcon": {"clusters": 10}}), dict(out_dirs={"dcgn": tmp_path})):
        with pytest.raises(UserError, match=r"names lessons \['dcg.*it takes 'dcgan' and 'dcgan_selfcond'"):
            digits_over_training(quick=True, **bad)


def test_digit_shares_needs_a_history_with_snapshots():
    """Before: digit_shares(None) gave "'NoneType' object has no attribute 'snapshots'", and a history without
    snapshots numpy's "need at least one array to stack"."""
    from gan_lessons.lessons.dcgan_selfcond import digit_shares
    from gan_lessons.training import History

    with pytest.raises(UserError, match=r"digit_shares\(history\): no history yet: train first"):
        digit_shares(None)
    with pytest.raises(UserError, match=r"digit_shares\(history\): this history has no snapshots: pass sample="):
        digit_shares(History())
