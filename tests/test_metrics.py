import numpy as np
import pytest

from gan_lessons import UserError
from gan_lessons.metrics import (class_fractions, classify, evaluate_digits, frechet_distance,
                                 inception_score)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    f = np.random.default_rng(0).standard_normal((2000, 5))
    assert frechet_distance(f, f) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(f, f + 3.0) == pytest.approx(5 * 9.0, rel=1e-6)


def test_frechet_distance_matches_the_closed_form_for_scaled_gaussians():
    # N(0, I) vs N(0, 4I) in D dims: Tr(I + 4I - 2*2I) = D
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((200000, 3)), 2 * rng.standard_normal((200000, 3))
    assert frechet_distance(a, b) == pytest.approx(3.0, rel=0.02)


def _with_moments(mean, cov, n=500, seed=0):
    """n points whose sample mean and covariance (np.cov) are exactly ``mean`` and ``cov``."""
    x = np.random.default_rng(seed).standard_normal((n, len(mean)))
    x -= x.mean(0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T
    return x @ np.linalg.cholesky(np.asarray(cov, float)).T + mean


def test_frechet_distance_with_covariances_that_do_not_commute():
    """Real features' covariances never commute, and then tr sqrt(Sa Sb) is not tr(sqrt(Sa) sqrt(Sb)): a case with a
    closed form (2x2: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M))) that the commuting shortcut gets wrong (2.0)."""
    a = _with_moments([0, 0], np.diag([1.0, 4.0]))
    b = _with_moments([1, 0], [[2.5, 1.5], [1.5, 2.5]], seed=1)  # diag(1, 4) turned by 45 degrees
    # |mean difference|^2 + tr Sa + tr Sb - 2 tr sqrt(Sa^1/2 Sb Sa^1/2) = 1 + 5 + 5 - 2 sqrt(12.5 + 2 * 4)
    assert frechet_distance(a, b) == pytest.approx(11 - 2 * np.sqrt(20.5), rel=1e-9)


def test_frechet_distance_refuses_mismatched_features():
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


def test_inception_score_bounds():
    confident_all_classes = np.eye(10)[np.arange(1000) % 10]
    one_class = np.eye(10)[np.zeros(1000, int)]
    unsure = np.full((1000, 10), 0.1)
    assert inception_score(confident_all_classes) == pytest.approx(10.0, rel=1e-6)
    assert inception_score(one_class) == pytest.approx(1.0, rel=1e-6)
    assert inception_score(unsure) == pytest.approx(1.0, rel=1e-6)


def test_class_fractions_count_the_most_likely_class():
    probs = np.eye(10)[[3, 3, 3, 7]]
    fractions = class_fractions(probs)
    assert fractions[3] == 0.75 and fractions[7] == 0.25 and fractions.sum() == 1.0


def test_course_classifier_recognises_real_digits(mnist):
    _, (x_test, y_test) = mnist
    features, probs = classify(x_test[:2000, ..., None] / 255.0)
    assert features.shape == (2000, 128) and probs.shape == (2000, 10)
    assert (probs.argmax(1) == y_test[:2000]).mean() > 0.98


def test_label_agreement_is_the_share_read_as_the_digit_asked_for(mnist):
    _, (x_test, y_test) = mnist
    images, labels = x_test[:1000, ..., None] / 255.0, y_test[:1000]
    right, wrong = evaluate_digits(images, asked=labels), evaluate_digits(images, asked=(labels + 1) % 10)
    assert right["label_agreement"] > 0.98 and min(right["label_agreement_per_class"]) > 0.9
    assert wrong["label_agreement"] < 0.02  # the classifier reads the digit, not the label it is given
    assert np.sum(right["confusion"], axis=1).tolist() == np.bincount(labels, minlength=10).tolist()


def test_real_digits_score_well_and_noise_scores_badly(mnist):
    """Training digits against the test-set reference: the floor every GAN is compared with."""
    (x_train, _), _ = mnist
    real = evaluate_digits(x_train[:5000, ..., None] / 255.0)
    noise = evaluate_digits(np.random.default_rng(0).uniform(0, 1, (2000, 28, 28, 1)))
    assert real["inception_score"] > 9.5 and real["min_class_fraction"] > 0.08
    assert real["fid"] < 2.0 and noise["fid"] > 100 * real["fid"]
    assert noise["inception_score"] < 2.0


def test_classify_refuses_images_in_the_tanh_range():
    with pytest.raises(UserError, match=r"must lie in \[0, 1\]"):
        classify(np.full((4, 28, 28, 1), -1.0))


def test_spearman_reads_order_not_values():
    from gan_lessons.metrics import spearman
    assert spearman([1, 2, 3, 4], [10, 200, 3000, 40000]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [5, 4, 1, 0]) == pytest.approx(-1.0)
    # one swapped pair of 4: 1 - 6 * 2 / (4 * 15) = 0.8; ties share their rank: sqrt(3) / 2
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(np.sqrt(3) / 2)
    with pytest.raises(ValueError, match="same length"):
        spearman([1, 2, 3], [1, 2])


def test_loss_at_snapshots_averages_each_loss_since_the_previous_snapshot():
    from gan_lessons.metrics import loss_at_snapshots
    from gan_lessons.training import History
    h = History()
    for step in range(1, 11):
        h.append(step, {"d_loss": float(step)})
    for step in (0, 5, 10):
        h.add_snapshot(step, np.zeros((1, 2)))
    steps, means = loss_at_snapshots(h, "d_loss")
    assert steps.tolist() == [5, 10] and means.tolist() == [3.0, 8.0]  # mean of 1..5, of 6..10
    with pytest.raises(ValueError, match="logs d_loss"):
        loss_at_snapshots(h, "w_estimate")


def test_labels_asked_for_must_be_digits():
    """Obscure before: a label 10 gave numpy's "cannot reshape array of size 110", one-hot rows a bare count."""
    from gan_lessons.metrics import confusion_matrix

    probs = np.eye(10)[np.arange(20) % 10]
    assert confusion_matrix(np.arange(20) % 10, probs).trace() == 20
    for asked in (np.arange(1, 21) % 11, np.full(20, 2.5), np.full(20, -1)):
        with pytest.raises(ValueError, match=r"whole digits 0\.\.9, one per image"):
            confusion_matrix(asked, probs)
    with pytest.raises(ValueError, match=r"one-hot rows\? pass labels\.argmax\(1\)"):
        confusion_matrix(probs, probs)


def test_counts_and_labels_of_the_classifier_helpers_are_checked_before_any_work():
    """Before: classify(batch_size=0) gave range()'s error; test_accuracy_after_training(steps=0) returned the
    untrained classifier's accuracy as a result, labels 1..10 or batch_size=0 a TF graph error, one-hot labels a
    bare count."""
    from gan_lessons.metrics import test_accuracy_after_training

    images, labels = np.zeros((20, 28, 28, 1), "float32"), np.arange(20) % 10
    for bad in (0, -1, "1000", 2.5, True):
        with pytest.raises(UserError, match=f"batch_size must be a positive int, got {bad!r}"):
            classify(images, batch_size=bad)
    assert classify(images, batch_size=np.int64(8))[1].shape == (20, 10)  # numpy ints count
    for bad in (0, -5, "600", 600.0):
        with pytest.raises(UserError, match=rf"steps must be a positive int \(classifier updates\), got {bad!r}"):
            test_accuracy_after_training(images, labels, steps=bad)
    with pytest.raises(UserError, match="batch_size must be a positive int, got 0"):
        test_accuracy_after_training(images, labels, steps=1, batch_size=0)
    with pytest.raises(ValueError, match=r"whole digits 0\.\.9, one per image"):
        test_accuracy_after_training(images, labels + 1, steps=1)
    with pytest.raises(ValueError, match=r"got 200 labels for 20 images: one-hot rows\? pass labels\.argmax\(1\)"):
        test_accuracy_after_training(images, np.eye(10)[labels], steps=1)


def test_loss_at_snapshots_needs_a_history():
    """Before: loss_at_snapshots(None, key) or on the logs dict gave an AttributeError about .logs."""
    from gan_lessons.metrics import loss_at_snapshots
    from gan_lessons.training import History

    with pytest.raises(UserError, match=r"loss_at_snapshots\(history, key\): no history yet: train first"):
        loss_at_snapshots(None, "d_loss")
    with pytest.raises(UserError, match=r"first the History that exp\.train\(\) returns \(exp\.history\); got dict"):
        loss_at_snapshots(History().logs, "d_loss")


def test_spearman_refuses_nan():
    """Silent before: a NaN was ranked as the largest value (0.8 here)."""
    from gan_lessons.metrics import spearman

    with pytest.raises(UserError, match=r"the pairs at \[2\] hold NaN or inf \(a diverged run\?\): drop those pairs"):
        spearman([1, 2, np.nan, 4], [1, 2, 3, 4])
    with pytest.raises(UserError, match=r"pairs at \[0, 3\]"):
        spearman([np.inf, 2, 3, 4], [1, 2, 3, -np.inf])
