"""Score the EMA copy and G as is of finished image-GAN runs (lesson 02's exercise 2), 10,000 samples each:

    .venv/bin/python docs/score_ema.py checkpoints/dcgan checkpoints/dcgan-ema9999 ...
"""

import sys

from gan_lessons.lessons import load_experiment

if len(sys.argv) < 2:  # (what to pass, not silence)
    sys.exit(__doc__)
for out_dir in sys.argv[1:]:
    run = load_experiment(out_dir)
    for name in ("generator_ema", "generator"):
        m = run.evaluate(n=10000, generator=run.models[name])
        print(f"{out_dir}  {name:13s}  FID-style {m['fid']:.2f}  IS {m['inception_score']:.2f}  "
              f"least digit {100 * m['min_class_fraction']:.1f} %")
