"""Lesson 06 trained with the lesson's settings or others, scored on its validation pairs and on the test split:
a way to compare settings without choosing them on the test pairs.

    python docs/cyclegan_validation.py OUT_DIR [--seed N] [KEY=VALUE ...]   # as `train cyclegan --set KEY=VALUE`
    python docs/cyclegan_validation.py /tmp/cg-cycle5 cycle_weight=5
    python docs/cyclegan_validation.py checkpoints/cyclegan        # a finished run: scored, not trained

The validation pairs are domain A's: the line drawings G_AB trains on, whose colours it never sees (they are not in
domain B, the colours of the other half of the training pairs), the protocol of session 17 (whose script was not
kept). Full-mode settings, seed 0 unless ``--seed`` says; a folder that holds a finished run of those settings is
loaded, not trained. Time it on free cores (4-9 min of training).
"""
import sys

from pix2pix_validation import score_line

from gan_lessons.__main__ import _setting
from gan_lessons.data import unpaired
from gan_lessons.lessons import make_experiment
from gan_lessons.metrics import translation_scores

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    args, seed = sys.argv[2:], 0
    if args[:1] == ["--seed"]:
        seed, args = int(args[1]), args[2:]
    run = make_experiment("cyclegan", quick=False, seed=seed, out_dir=sys.argv[1], **dict(map(_setting, args)))
    history = run.train(progress=False)
    print(f"{history.step} steps, {history.wall_time:.0f} s of training")
    line, colour = run.pairs("train")
    index_a = unpaired(line, colour, seed=run.config["split_seed"])["index_a"]
    a, true_b = line[index_a] / 255.0, colour[index_a] / 255.0
    print(score_line("val", translation_scores(run.translate(a), true_b, a)))
    test = run.evaluate()
    print(score_line("test", test))
    print(f"test cycles A->B->A {test['cycle_mae_a']:.4f}, B->A->B {test['cycle_mae_b']:.4f}")
