"""What one call costs: lesson 01's G on a batch of 128 through predict_on_batch, predict and a direct call.

    python docs/predict_cost.py

Prints ms per call (300 calls after 20 of warm-up). Time it on free cores.
"""
import time, numpy as np
from gan_lessons.models import mlp_generator
G = mlp_generator(100, hidden=[256, 512, 1024])
z = np.random.default_rng(0).standard_normal((128, 100)).astype("float32")
CALLS = {"predict_on_batch": lambda: G.predict_on_batch(z), "predict(verbose=0)": lambda: G.predict(z, verbose=0),
         "G(z, training=False)": lambda: G(z, training=False)}
for call in CALLS.values():
    for _ in range(20): call()
for name, call in CALLS.items():
    t = time.perf_counter()
    for _ in range(300): call()
    print(f"{name}: {(time.perf_counter() - t) / 300 * 1e3:.2f} ms/call")
