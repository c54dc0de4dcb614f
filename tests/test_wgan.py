import functools
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import assert_calls_move, changed, weights_of

from gan_lessons import set_seed
from gan_lessons.models import ClipConstraint, build_wgan, conv_critic, toy_critic, toy_generator
from gan_lessons.training import fit
from gan_lessons.wgan import VARIANTS, wgan_clip_step, wgan_gp_step, wgan_models, wgan_optimizer

REPO = Path(__file__).resolve().parent.parent


def _points(n=2048, seed=0):
    """A blob of 2-D points around (1.5, -1), far from where an untrained G puts its samples."""
    return (np.array([1.5, -1.0]) + 0.1 * np.random.default_rng(seed).standard_normal((n, 2))).astype("float32")


def _toy_wgan(variant, lr=None, seed=0, clip=0.01):
    set_seed(seed)
    G = toy_generator(4, (32,))
    C = toy_critic((64, 64), clip=clip if variant == "clip" else None, spectral_norm=variant == "sn")
    lr = lr or VARIANTS[variant]["lr"]
    return wgan_models(G, C, variant, wgan_optimizer(variant, lr), wgan_optimizer(variant, lr))


def _critic_weights_within(model, clip):
    return all(np.all(np.abs(w) <= clip + 1e-7) for w in model.get_weights())


def test_clip_constraint_keeps_every_critic_weight_in_range():
    """Even with a learning rate that moves weights far beyond c, every critic weight stays in [-c, c]
    (from the start: the builder clips the initial weights too), and many end up piled at ±c."""
    models, step = _toy_wgan("clip", lr=1e-2, clip=0.05)
    critic, data, rng = models["critic"], _points(), np.random.default_rng(0)
    assert _critic_weights_within(critic, 0.05)
    for i in range(5):
        step(models, data[i * 320:(i + 1) * 320], rng)
        assert _critic_weights_within(critic, 0.05)
    kernels = np.concatenate([w.ravel() for w in critic.get_weights()])
    assert np.mean(np.isclose(np.abs(kernels), 0.05)) > 0.3


def test_clip_constraint_round_trips_through_its_config():
    constraint = keras.constraints.deserialize(keras.constraints.serialize(ClipConstraint(0.02)))
    assert isinstance(constraint, ClipConstraint) and constraint.clip == 0.02


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_critic_moves_in_its_step_and_stays_fixed_in_gs(variant):
    """Keras 3 trainable toggle: critic_model moves the critic only, gan moves G only (n_critic = 1)."""
    models, step = _toy_wgan(variant, lr=1e-3)
    data, rng = _points(), np.random.default_rng(0)
    batches = iter(np.split(data[:64 * 3], 3))
    assert_calls_move(models, lambda: step(models, next(batches), rng, n_critic=1),
                      {"critic_model": {"critic"}, "gan": {"generator"}})


def test_n_critic_critic_updates_per_generator_update():
    models, step = _toy_wgan("gp", lr=1e-3)
    calls = []
    for key in ("critic_model", "gan"):
        original = models[key].train_on_batch
        models[key].train_on_batch = functools.partial(lambda f, k, *a, **kw: calls.append(k) or f(*a, **kw), original, key)
    sizes = []
    original_predict = models["generator"].predict_on_batch
    models["generator"].predict_on_batch = lambda z: sizes.append(len(z)) or original_predict(z)
    logs = step(models, _points()[:96], np.random.default_rng(0), n_critic=3)
    assert calls == ["critic_model"] * 3 + ["gan"]
    assert sizes == [32, 32, 32]  # the driver's batch of 96 is cut into 3 critic batches of 32
    assert set(logs) == {"d_loss", "g_loss", "w_estimate", "gradient_penalty"}


@pytest.mark.parametrize("variant, lr", [("clip", 5e-3), ("gp", 3e-3), ("sn", 3e-3)])
def test_both_networks_learn_on_a_tiny_problem(variant, lr):
    """The critic learns to score the data above G's first samples (positive, growing estimate early on);
    G's samples move to the data."""
    models, step = _toy_wgan(variant, lr=lr)
    G, data = models["generator"], _points()
    z = np.random.default_rng(1).standard_normal((512, 4)).astype("float32")
    gap_before = np.linalg.norm(G.predict_on_batch(z).mean(0) - data.mean(0))
    history = fit(step, models, data, steps=300, batch_size=64 * VARIANTS[variant]["n_critic"], progress=False)
    w = np.array(history.logs["w_estimate"])
    assert w[:5].mean() > 0 and w[5:20].mean() > w[0]
    gap_after = np.linalg.norm(G.predict_on_batch(z).mean(0) - data.mean(0))
    assert gap_after < 0.5 * gap_before


def test_same_seed_gives_the_same_losses():
    def run(seed):
        models, step = _toy_wgan("gp", lr=1e-3)
        return fit(step, models, _points(), steps=4, batch_size=320, seed=seed, progress=False).logs

    a, b, c = run(3), run(3), run(4)
    assert a == b and a["w_estimate"] != c["w_estimate"]


def test_resuming_a_gradient_penalty_run_continues_exactly(tmp_path):
    def run(steps, out_dir=None, seed=0):
        models, step = _toy_wgan("gp", lr=1e-3, seed=seed)
        return fit(step, models, _points(), steps=steps, batch_size=320, out_dir=out_dir, progress=False)

    straight = run(6)
    run(3, tmp_path)
    assert run(6, tmp_path, seed=9).logs == straight.logs


def test_conv_critic_scores_images_and_clips():
    critic = conv_critic(channels=(8, 16), clip=0.01)
    assert critic.output.shape == (None, 1)
    assert critic.layers[-1].activation is keras.activations.linear
    assert _critic_weights_within(critic, 0.01)
    sn = conv_critic(channels=(8,), spectral_norm=True)
    assert any(isinstance(layer, keras.layers.SpectralNormalization) for layer in sn.layers)


@pytest.mark.parametrize("call, message", [
    (lambda: wgan_gp_step(*_toy_wgan("gp")[:1], _points()[:64], np.random.default_rng(0), n_critic=0),
     "n_critic must be a whole number >= 1"),
    (lambda: wgan_gp_step(*_toy_wgan("gp")[:1], _points()[:64], np.random.default_rng(0), n_critic=5),
     "make batch_size a multiple of n_critic"),
    (lambda: toy_critic(clip=0), "clip must be a positive number"),
    (lambda: toy_critic(clip=-0.01), "clip must be a positive number"),
    (lambda: ClipConstraint(None), "clip must be a positive number"),
    (lambda: toy_critic(clip=0.01, spectral_norm=True), "choose one Lipschitz method"),
    (lambda: wgan_models(toy_generator(), toy_critic(), "clip"), "needs a critic built with clip=0.01"),
    (lambda: wgan_models(toy_generator(), toy_critic(clip=0.01), "gp"), "neither clip nor spectral_norm"),
    (lambda: wgan_models(toy_generator(), toy_critic(), "wgan"), "choose one of clip, gp, sn"),
    (lambda: wgan_models(toy_generator(), toy_critic(), "gp", gradient_penalty=0), "needs gradient_penalty > 0"),
    (lambda: build_wgan(toy_generator(), toy_critic(), "adam", "adam", gradient_penalty=-1), "λ >= 0"),
    (lambda: build_wgan(toy_generator(), toy_critic(), "adam", "adam", loss="bce"), "loss must be one of"),
    (lambda: build_wgan(toy_generator(), conv_critic(channels=(4,)), "adam", "adam"), "same sample shape"),
])
def test_bad_settings_give_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_wgan_clip_step_is_the_clip_recipe():
    assert VARIANTS["clip"]["lr"] == 5e-5 and VARIANTS["clip"]["clip"] == 0.01 and VARIANTS["clip"]["n_critic"] == 5
    assert isinstance(wgan_optimizer("clip"), keras.optimizers.RMSprop)
    adam = wgan_optimizer("gp")
    assert isinstance(adam, keras.optimizers.Adam) and (adam.beta_1, adam.beta_2) == (0.0, 0.9)
    assert wgan_clip_step.__doc__ and wgan_gp_step.__doc__


# --- The gradient penalty on each backend (the one backend-specific function) --------------------

_BACKEND_CHECK = r"""
import json
import numpy as np
import keras
from keras import layers, ops
from gan_lessons.models import GradientPenalty, build_wgan, input_gradients, toy_generator

rng = np.random.default_rng(0)
x = rng.standard_normal((6, 3)).astype("float32")

# 1. input_gradients of f(x) = sum(x^2) / 2 per sample is x itself.
square = keras.Sequential([keras.Input((3,)), layers.Lambda(lambda t: ops.sum(t * t, axis=1, keepdims=True) / 2)])
grad = ops.convert_to_numpy(input_gradients(square, ops.convert_to_tensor(x)))

# 2. The penalty of a linear critic w.x + b is (|w| - 1)^2 at every point.
critic = keras.Sequential([keras.Input((3,)), layers.Dense(1)], name="critic")
w = np.array([[0.5], [2.0], [-1.0]], "float32")
critic.layers[0].set_weights([w, np.array([0.3], "float32")])
alpha = rng.uniform(size=(6, 1)).astype("float32")
penalty = ops.convert_to_numpy(GradientPenalty(critic)([x, x[::-1].copy(), alpha]))

# 3. Trained by train_on_batch with real == fake (the score terms cancel), the penalty alone pulls |w| to 1:
#    the gradient of the gradient reaches the weights.
G = toy_generator(2, (4,), output_dim=3)
critic_model, _ = build_wgan(G, critic, keras.optimizers.SGD(0.05), "sgd", gradient_penalty=10.0)
critic.trainable = True
ones = np.ones((6, 1), "float32")
for _ in range(20):
    critic_model.train_on_batch([x, x, alpha], {"real_score": -ones, "fake_score": ones, "gradient_penalty": 0 * ones})
norm_after = float(np.linalg.norm(critic.layers[0].get_weights()[0]))
print("RESULT " + json.dumps({"backend": keras.backend.backend(), "grad_error": float(np.abs(grad - x).max()),
      "penalty": penalty.ravel().tolist(), "expected": float((np.linalg.norm(w) - 1) ** 2),
      "norm_before": float(np.linalg.norm(w)), "norm_after": norm_after}))
"""


@pytest.mark.parametrize("backend, module", [("tensorflow", "tensorflow"), ("jax", "jax"), ("torch", "torch")])
def test_gradient_penalty_matches_its_closed_form_on_each_backend(backend, module):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"the {backend} backend is not installed (pip install {module} to test it)")
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _BACKEND_CHECK], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["backend"] == backend
    assert result["grad_error"] < 1e-5
    np.testing.assert_allclose(result["penalty"], result["expected"], rtol=1e-5)
    assert abs(result["norm_after"] - 1) < 0.5 * abs(result["norm_before"] - 1)
