"""Lesson 04: mode collapse on 2-D mixtures (a ring of 8 and a grid of 25 Gaussians). The plain GAN
and each remedy (minibatch standard deviation, PacGAN), ``seeds`` seeds each: a sweep of many small
runs through the shared driver, side by side in worker processes."""

import contextlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from .. import UserError, _start_worker, set_seed
from ..data import TOY_DATASETS, sample_toy, toy_modes
from ..metrics import mode_coverage
from ..models import build_gan, packed_generator, toy_critic, toy_discriminator, toy_generator
from ..steps import gan_step, with_packing
from ..training import History, fit, read_checkpoint, training_lock
from .base import Experiment, Lesson, adam
from .wgan import lipschitz, wgan_models

SETTINGS = {
    "datasets": ["ring", "grid"],
    "methods": ["vanilla", "minibatch_std", "pacgan"],
    "seeds": 3,  # runs per (dataset, method), with seeds seed, seed + 1, ...
    "latent_dim": 8,
    "g_hidden": [128, 128, 128],
    "d_hidden": [128, 128],
    "group_size": 4,  # minibatch standard deviation over groups of this many samples
    "pack": 4,  # PacGAN4
    "g_learning_rate": 2e-3,
    "d_learning_rate": 4e-3,
    "lr_decay": True,  # both rates fall linearly to 0 over the run
    "beta_1": 0.5,
    "batch_size": 512,
    "steps": {"ring": 6000, "grid": 12000},
    "data_scale": {"ring": 1.0, "grid": 2.0},
    "train_samples": 100000,
    "eval_samples": 2500,
    "snapshot_every": 200,
    "snapshot_samples": 500,
    "workers": 2,  # runs trained side by side, one process and one thread each
    # Lesson 07's critics (methods wgan_gp, wgan_clip, wgan_sn): G as above, a critic with D's hidden
    # layers and a linear output; batch_size is the critic's batch (the driver's is n_critic times it).
    "wgan": {
        # Gulrajani et al.'s own toy script (igul222/improved_wgan_training, gan_toy.py) uses λ = 0.1 ("makes
        # things faster for toy tasks") and Adam β = (0.5, 0.9); with λ = 10 and β1 = 0 our runs drifted as one
        # blob round the ring (1/8 modes); with these, 8/8 in 3 of 3 seeds (docs/results.md, lesson 07).
        "wgan_gp": {"gradient_penalty": 0.1, "clip": 0.0, "n_critic": 5, "batch_size": 256,
                    "c_learning_rate": 1e-3, "g_learning_rate": 1e-3, "beta_1": 0.5, "beta_2": 0.9},
        "wgan_clip": {"gradient_penalty": 0.0, "clip": 0.01, "n_critic": 5, "batch_size": 256,
                      "c_learning_rate": 5e-5, "g_learning_rate": 5e-5, "beta_1": 0.0, "beta_2": 0.9},
        "wgan_sn": {"gradient_penalty": 0.0, "clip": 0.0, "n_critic": 1, "batch_size": 512,
                    "c_learning_rate": 4e-3, "g_learning_rate": 2e-3, "beta_1": 0.5, "beta_2": 0.999},
    },
}
QUICK = {"seeds": 1, "steps": {"ring": 150, "grid": 150}, "snapshot_every": 25, "workers": 1}

# Published results on the same benchmark (2,500 samples, 3σ, same datasets): modes captured and
# % of high-quality samples. Two plain-GAN baselines: VEEGAN's, and PacGAN's own (Lin et al. 2018,
# Table 1, mean of 10 runs; their code, github.com/fjxmlzn/PacGAN, synthetic_data_experiments/
# 2DRing_GAN&PacGAN/config.py: G 400-unit ReLU layers, D 200-unit maxout layers, batch 100, Adam 1e-4,
# β1 = 0.8, constant rate, 400 epochs of 100,000 points).
PUBLISHED_MODE_COVERAGE = [
    {"method": "GAN", "source": "Srivastava et al. 2017 (VEEGAN), Table 1",
     "ring": (1, 99.3), "grid": (3.3, 0.5)},
    {"method": "GAN", "source": "Lin et al. 2018 (PacGAN), Table 1", "ring": (6.3, 98.2), "grid": (17.3, 94.8)},
    {"method": "Unrolled GAN", "source": "Elfeki et al. 2019 (GDPP)", "ring": (7.6, 35.6), "grid": (23.6, 16.0)},
    {"method": "VEEGAN", "source": "Elfeki et al. 2019 (GDPP)", "ring": (8, 52.9), "grid": (24.6, 40.0)},
    {"method": "WGAN-GP", "source": "Elfeki et al. 2019 (GDPP)", "ring": (6.8, 59.6), "grid": (24.2, 28.7)},
    {"method": "PacGAN4", "source": "Lin et al. 2018, Table 1", "ring": (7.8, 95.9), "grid": (24.8, 93.6)},
]

TOY_METHODS = ("vanilla", "minibatch_std", "pacgan", "wgan_gp", "wgan_clip", "wgan_sn")


def toy_wgan_config(config, dataset, method):
    """The settings of a lesson-07 method (``wgan_gp``...) in lesson 04's sweep, as
    :func:`~gan_lessons.lessons.wgan.wgan_models` reads them: learning rates falling to 0 over the run."""
    return {**config["wgan"][method], "variant": method[len("wgan_"):], "steps": config["steps"][dataset],
            "lr_decay": True}


def _driver_batch(config, method):
    if method.startswith("wgan_"):
        wgan = config["wgan"][method]
        return wgan["batch_size"] * wgan["n_critic"]
    return config["batch_size"]


def build_toy_gan(config, dataset, method):
    """Models, step function and plain generator of one lesson-04 run.

    ``vanilla``: the GAN of lesson 01 (non-saturating loss) with small MLPs for 2-D points;
    ``minibatch_std``: the same, but D reads each point beside the spread of its group of
    ``group_size`` points; ``pacgan``: D judges ``pack`` points at once (PacGAN); ``wgan_gp``,
    ``wgan_clip``, ``wgan_sn``: lesson 07's critic (D's hidden layers, a linear score) with a gradient
    penalty, clipped weights or spectral normalisation, settings in ``config["wgan"][method]``.
    """
    if dataset not in TOY_DATASETS:
        raise UserError(f"unknown dataset {dataset!r}; choose from {', '.join(TOY_DATASETS)}")
    if method not in TOY_METHODS:
        raise UserError(f"unknown method {method!r}; choose from {', '.join(TOY_METHODS)}")
    c = config
    scale, steps = c["data_scale"][dataset], c["steps"][dataset]
    if method.startswith("wgan_"):
        wgan = toy_wgan_config(c, dataset, method)
        G = toy_generator(c["latent_dim"], c["g_hidden"], scale=scale)
        models, step = wgan_models(G, toy_critic(c["d_hidden"], scale=scale, **lipschitz(wgan)), wgan)
        return models, step, G
    pack = c["pack"] if method == "pacgan" else 1
    G = toy_generator(c["latent_dim"], c["g_hidden"], scale=scale)
    D = toy_discriminator(c["d_hidden"], pack=pack, scale=scale,
                          minibatch_std=c["group_size"] if method == "minibatch_std" else 0)
    trained = packed_generator(G, pack) if pack > 1 else G
    decay = steps if c.get("lr_decay", True) else 0  # 0: a constant rate
    gan = build_gan(trained, D, adam(c, "d", decay_steps=decay), adam(c, "g", decay_steps=decay))
    step = with_packing(gan_step, pack) if pack > 1 else gan_step
    return {"generator": trained, "discriminator": D, "gan": gan}, step, G


def toy_eval_z(config, seed):
    """The latent vectors a lesson-04 run's final scores are measured on: ``eval_samples`` of them, fixed by the
    run's seed."""
    return np.random.default_rng([seed, 2]).standard_normal((config["eval_samples"], config["latent_dim"]))


def _toy_run(config, run_dir, dataset, method, seed, progress=False):
    """Train (or load) one lesson-04 run in ``run_dir``; return (scores, History, points)."""
    c = config
    set_seed(seed)
    models, step, G = build_toy_gan(c, dataset, method)
    snapshot_z = np.random.default_rng([seed, 1]).standard_normal((c["snapshot_samples"], c["latent_dim"]))
    eval_z = toy_eval_z(c, seed)
    history = fit(step, models, sample_toy(dataset, c["train_samples"], seed=seed),
                  steps=c["steps"][dataset], batch_size=_driver_batch(c, method), seed=seed,
                  sample=lambda: G.predict_on_batch(snapshot_z.astype("float32")),
                  snapshot_every=c["snapshot_every"], out_dir=run_dir, progress=progress)
    points = G.predict_on_batch(eval_z.astype("float32"))
    return mode_coverage(points, *toy_modes(dataset)), history, points


def coverage_along(history, dataset):
    """(steps, modes captured, high-quality share) of each snapshot of a lesson-04 run's ``history``, scored
    with :func:`~gan_lessons.metrics.mode_coverage` as its final samples are. A run can end with every mode
    and still have spent most of its training collapsed on one; only the snapshots say so."""
    modes, sigma = toy_modes(dataset)
    scores = [mode_coverage(points, modes, sigma) for points in history.snapshots]
    return (np.asarray(history.snapshot_steps), np.array([s["modes"] for s in scores], dtype=int),
            np.array([s["high_quality"] for s in scores]))


@contextlib.contextmanager
def _single_threaded_children():
    """Processes started inside this block use one thread for their maths (TensorFlow and
    torch/OpenMP read these variables when they start)."""
    wanted = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _stop_workers(pool, children_before):
    """Cancel the runs of ``pool`` not yet started and end the running ones at once (their runs, not
    checkpointed before their end, start again next time). Leaving the pool otherwise waits for every
    queued run to finish: minutes after a Ctrl-C. Python 3.14 calls this ``pool.terminate_workers()``.
    The workers are the child processes still running that were not in ``children_before`` (the set of
    ``multiprocessing.active_children()`` before the pool): the pool's own table of processes would miss one
    that a Ctrl-C caught between its start and its entry there. The pool's own thread ends and joins them too:
    where it reaps a worker first, ``join`` returns before that thread records the exit, so we wait for it."""
    processes = set(multiprocessing.active_children()) - children_before
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join()
        deadline = time.monotonic() + 10
        while process.is_alive() and time.monotonic() < deadline:  # (dead already: its exit is being recorded)
            time.sleep(0.01)


def _mean_std(values):
    """[mean, std, runs] over the finite values (reverse KL is undefined for a run without any
    high-quality sample); [None, None, 0] if there are none."""
    values = [v for v in values if np.isfinite(v)]
    return [float(np.mean(values)), float(np.std(values)), len(values)] if values else [None, None, 0]


def _check_entries(name, value, needed, default, merged):
    """Refuse a dict setting (``steps``, ``data_scale``, ``wgan`` and its entries) that lacks one of the ``needed``
    keys, or has one its ``default`` lacks: a missing one failed with a KeyError when its run trained, after the
    others had; an unknown one (a typo) was ignored. ``merged`` is the lesson's dict, for the fix."""
    if not isinstance(value, dict):
        raise UserError(f"setting {name} of mode_collapse must be a dict like {json.dumps(default)}, got {value!r}")
    missing, unknown = [k for k in needed if k not in value], [k for k in value if k not in default]
    if missing or unknown:
        wrong = ([f"lacks {', '.join(map(repr, missing))}"] if missing else []) + (
            [f"has {', '.join(map(repr, unknown))}, none of {', '.join(map(repr, default))}"] if unknown else [])
        yours = "".join(f", {k!r}: {v!r}" for k, v in value.items() if k in default)
        yours = yours if len(yours) <= 80 else ", ..."  # (whole WGAN entries: too long to read)
        raise UserError(f"setting {name} of mode_collapse {' and '.join(wrong)}: change the lesson's dict, "
                        f"{{**{merged}{yours}}}")


class ModeCollapseSweep(Experiment):
    """Lesson 04: the plain GAN and each remedy on both 2-D mixtures, ``seeds`` seeds each.

    Every run goes through the shared driver with checkpoints in ``out_dir/<dataset>_<method>_seed<k>``
    (a finished run is loaded, not trained again). ``train()`` scores each run on ``eval_samples``
    samples, writes ``points_<dataset>_<method>.npy`` (first seed) and ``results.json`` to ``out_dir``
    and returns the results.
    """

    def __init__(self, lesson="mode_collapse", quick=None, seed=0, out_dir=None, fresh=False, **overrides):
        super().__init__(lesson, quick, seed, out_dir, fresh, **overrides)
        self.seeds = [self.seed + k for k in range(self.config["seeds"])]

    def _check_config(self):
        unknown = [d for d in self.config["datasets"] if d not in TOY_DATASETS]
        unknown += [m for m in self.config["methods"] if m not in TOY_METHODS]
        if unknown:
            raise UserError(f"unknown dataset(s)/method(s) {unknown}; datasets: {', '.join(TOY_DATASETS)}; "
                            f"methods: {', '.join(TOY_METHODS)}")
        c, default = self.config, self.spec.config(self.quick)
        swept = [m for m in c["methods"] if m in default["wgan"]]
        for key, needed in (("steps", c["datasets"]), ("data_scale", c["datasets"]), ("wgan", swept)):
            _check_entries(repr(key), c[key], needed, default[key], f"lesson_config('mode_collapse')[{key!r}]")
        for method in swept:
            _check_entries(f"wgan[{method!r}]", c["wgan"][method], default["wgan"][method], default["wgan"][method],
                           f"lesson_config('mode_collapse')['wgan'][{method!r}]")
        if "minibatch_std" in c["methods"] and c["batch_size"] % c["group_size"]:
            raise UserError(f"batch_size ({c['batch_size']}) must be a multiple of group_size ({c['group_size']}) for "
                            "minibatch_std: each group of D's batch must be all real or all fake")

    def describe(self):
        """The settings that make these runs: the ``wgan`` entries only of the WGAN methods swept, so
        that new WGAN defaults do not turn a finished sweep of the other methods into "another experiment"."""
        description = super().describe()
        config = dict(description["config"])
        swept = {method: settings for method, settings in config.pop("wgan").items() if method in config["methods"]}
        if swept:
            config["wgan"] = swept
        return {**description, "config": config}

    @classmethod
    def load(cls, out_dir, saved=None):
        raise UserError(f"{out_dir} holds a mode_collapse run, which makes no images to sample; its samples "
                        "are already in the folder (points_<dataset>_<method>.npy)")

    def run_dir(self, dataset, method, seed):
        return self.out_dir / f"{dataset}_{method}_seed{seed}"

    def train_run(self, dataset, method, seed, progress=False):
        """Train (or load) one run; return its scores, its History and its ``eval_samples`` points."""
        return _toy_run(self.config, self.run_dir(dataset, method, seed), dataset, method, seed, progress)

    def jobs(self):
        """Every (dataset, method, seed) run of the sweep, in the order of its results."""
        return [(d, m, s) for d in self.config["datasets"] for m in self.config["methods"] for s in self.seeds]

    def saved_so_far(self):
        jobs = self.jobs()
        finished = sum(self.finished_run(*job) for job in jobs)
        return (f"{finished} of the {len(jobs)} runs are finished and kept in {self.out_dir}: the same command "
                "trains the others (a run stopped midway starts again)")

    def finished_run(self, dataset, method, seed):
        meta = read_checkpoint(self.run_dir(dataset, method, seed))
        return meta is not None and meta["step"] >= self.config["steps"][dataset]

    def _all_runs(self, jobs, pending):
        """(job, (scores, history, points)) for each (dataset, method, seed) job, in order. The
        ``pending`` runs (still to train) go to ``workers`` fresh processes of one thread each (the runs
        are small, so two single-thread runs side by side use two cores better than one run on both);
        finished runs are just loaded, here."""
        workers = min(int(self.config["workers"]), len(pending))
        if workers <= 1:
            for job in jobs:
                yield job, self.train_run(*job)
            return
        children_before = set(multiprocessing.active_children())
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_start_worker, initargs=(str(self.out_dir / "logs"),)) as pool:
            try:
                with _single_threaded_children():  # the workers start here, on the first submissions
                    futures = {job: pool.submit(_toy_run, self.config, self.run_dir(*job), *job) for job in pending}
                for job in jobs:
                    yield job, futures[job].result() if job in futures else self.train_run(*job)
            except BaseException:  # Ctrl-C, a notebook's interrupt, an error: stop now, not after every run
                _stop_workers(pool, children_before)
                raise

    def train(self, progress=True):
        """Every (dataset, method, seed) run; write points and results.json; return the results. The whole
        folder is locked meanwhile (each run's folder too, by the driver): a second sweep there is refused."""
        with training_lock(self.out_dir):
            return self._train_all(progress)

    def _train_all(self, progress):
        self.write_description()
        started = time.perf_counter()
        jobs = self.jobs()
        pending = [job for job in jobs if not self.finished_run(*job)]
        runs = []
        for (dataset, method, seed), (scores, history, points) in self._all_runs(jobs, pending):
            runs.append({"dataset": dataset, "method": method, "seed": seed, **scores,
                         "train_seconds": round(history.wall_time, 1)})
            if seed == self.seed:
                np.save(self.out_dir / f"points_{dataset}_{method}.npy", points)
            if progress:
                print(f"{dataset:4s} {method:13s} semilla {seed}: {scores['modes']:2d}/{scores['n_modes']} "
                      f"modos, {100 * scores['high_quality']:5.1f} % de alta calidad, KL inversa "
                      f"{scores['reverse_kl']:.3f} ({history.wall_time:.0f} s)", flush=True)
        summary = {}
        for dataset in self.config["datasets"]:
            for method in self.config["methods"]:
                mine = [r for r in runs if r["dataset"] == dataset and r["method"] == method]
                summary.setdefault(dataset, {})[method] = {
                    key: _mean_std([r[key] for r in mine]) for key in ("modes", "high_quality", "reverse_kl")
                }
        for run in runs:  # no high-quality sample at all: no histogram, no reverse KL (JSON null)
            run["reverse_kl"] = run["reverse_kl"] if np.isfinite(run["reverse_kl"]) else None
        wall = round(time.perf_counter() - started, 1)
        previous = self.out_dir / "results.json"
        if not pending and previous.exists():  # keep the wall time of the call that trained them
            wall = json.loads(previous.read_text()).get("wall_seconds", wall)
        results = {**self.describe(), "seeds": self.seeds, "summary": summary, "runs": runs,
                   "train_seconds": round(sum(r["train_seconds"] for r in runs), 1), "wall_seconds": wall}
        (self.out_dir / "results.json").write_text(json.dumps(results, indent=1))
        return results

    def history(self, dataset, method, seed=None):
        """The saved History (losses, snapshots of points) of one finished run."""
        seed = self.seed if seed is None else seed
        if dataset not in self.config["datasets"] or method not in self.config["methods"] or seed not in self.seeds:
            raise UserError(f"this sweep has datasets {self.config['datasets']}, methods {self.config['methods']} and "
                            f"seeds {self.seeds}; got {dataset!r}, {method!r}, seed {seed!r}")
        path = self.run_dir(dataset, method, seed) / "history.npz"
        if not path.exists():
            raise UserError(f"{path} does not exist: train first (ModeCollapseSweep.train())")
        return History.load(path)

    def cli_run(self, eval_samples=None):
        results = self.train()
        yield f"training: {results['train_seconds']:.1f} s of training, {results['wall_seconds']:.1f} s in all"
        yield "mean ± std over seeds: modes captured, % high-quality samples, reverse KL"
        for dataset, methods in results["summary"].items():
            for method, s in methods.items():
                kl = f"{s['reverse_kl'][0]:.3f} ± {s['reverse_kl'][1]:.3f}" if s["reverse_kl"][2] else "n/a"
                yield (f"  {dataset:4s} {method:13s} {s['modes'][0]:4.1f} ± {s['modes'][1]:.1f}   "
                       f"{100 * s['high_quality'][0]:5.1f} ± {100 * s['high_quality'][1]:.1f} %   {kl}")
        yield f"wrote {self.out_dir / 'results.json'} and points_<dataset>_<method>.npy there"


LESSONS = (Lesson("mode_collapse", ModeCollapseSweep, SETTINGS, QUICK, None,
                  "04: mode collapse on 2-D mixtures, the plain GAN against minibatch std, PacGAN "
                  "(and lesson 07's critics: wgan_gp, wgan_clip, wgan_sn)"),)
