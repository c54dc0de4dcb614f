"""Data parallel training (``GAN_LESSONS_DATA_PARALLEL=1``) on two devices, simulated on the CPU with
JAX (``XLA_FLAGS=--xla_force_host_platform_device_count=2``): the same lesson, step functions and
``train_on_batch``, each batch split across the devices; its figures must stay close to one device's."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from gan_lessons import UserError, data_parallel

SCRIPT = """
import json, sys
import keras
from gan_lessons.lessons import make_experiment
run = make_experiment("mlp_gan", quick=True, out_dir=sys.argv[1], steps=40, snapshot_every=40, checkpoint_every=40,
                      batch_size=64, g_hidden=[64], d_hidden=[64])
history = run.train(progress=False)
distribution = keras.distribution.distribution()
print(json.dumps({
    "devices": len(distribution.device_mesh.devices.reshape(-1)) if distribution else 1,
    "batch_layout": str(distribution.get_data_layout((64, 28, 28, 1)).axes) if distribution else None,
    "weights_on": len(run.models["generator"].weights[0].value.sharding.device_set),
    "d_loss": history.logs["d_loss"], "g_loss": history.logs["g_loss"],
    "samples": float(run.generate(16, seed=3).mean()),
}))
"""


def _train(tmp_path, name, parallel):
    env = dict(os.environ, KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2",
               GAN_LESSONS_DATA_PARALLEL="1" if parallel else "0", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / name)], capture_output=True, text=True,
                         env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed (make install-backends)")
def test_two_simulated_devices_split_each_batch_and_train_like_one(tmp_path):
    one, two = _train(tmp_path, "one", False), _train(tmp_path, "two", True)
    assert one["devices"] == 1 and one["weights_on"] == 1
    assert two["devices"] == 2 and two["weights_on"] == 2  # G's weights replicated on both devices
    assert "batch" in two["batch_layout"]  # the batch axis is split across them
    for key in ("d_loss", "g_loss"):
        mean_one, mean_two = sum(one[key]) / len(one[key]), sum(two[key]) / len(two[key])
        assert abs(mean_one - mean_two) < 0.02, (key, mean_one, mean_two)
        assert one[key][0] == pytest.approx(two[key][0], abs=1e-3)  # the same seeds: the same first step
    assert abs(one["samples"] - two["samples"]) < 0.05


def test_the_switch_refuses_a_backend_that_cannot_distribute(monkeypatch):
    import keras

    if keras.backend.backend() == "jax":
        pytest.skip("this backend can distribute")
    monkeypatch.setenv("GAN_LESSONS_DATA_PARALLEL", "1")
    with pytest.raises(UserError, match="needs KERAS_BACKEND=jax"):
        data_parallel()
    monkeypatch.setenv("GAN_LESSONS_DATA_PARALLEL", "0")
    assert data_parallel() is None
