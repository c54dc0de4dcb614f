"""Every lesson of the course, one module each, and the registry that maps a lesson's name to what runs it.

A lesson module owns its settings (full mode, and what quick mode changes), its ``build(config)`` and
its extras, and lists its entries in ``LESSONS``. The command line, :func:`load_experiment` and
:func:`make_experiment` read :data:`LESSONS` and nothing else. The runs form one hierarchy:

* :class:`~.base.Experiment`: settings + output folder (every lesson);
  * :class:`~.runs.Run`: one set of networks trained through the shared driver, finished/load;
    * :class:`~.runs.ImageGAN`: noise -> images (01-03; 04's `dcgan_selfcond` and `dcgan_infogan`; 07 with a
      critic), with a label policy;
    * :class:`~.pix2pix.Translation`: images -> images (05), and :class:`~.cyclegan.CycleGAN` (06);
  * :class:`~.mode_collapse.ModeCollapseSweep`: many small runs on 2-D points (04).

A new lesson adds a module here with its ``LESSONS`` and one line in the tuple below.
"""

from . import cgan, cyclegan, dcgan, dcgan_selfcond, infogan, mlp_gan, mode_collapse, pix2pix, wgan
from .base import Experiment, Lesson, read_description, registered
from .cgan import augmentation_experiment
from .cyclegan import CycleGAN
from .mode_collapse import PUBLISHED_MODE_COVERAGE, ModeCollapseSweep
from .pix2pix import Translation
from .runs import ClusterLabels, DigitLabels, ImageGAN, NoLabels, NotTrainedError, Run

LESSONS = {lesson.name: lesson
           for module in (mlp_gan, dcgan, cgan, mode_collapse, dcgan_selfcond, infogan, pix2pix, cyclegan, wgan)
           for lesson in module.LESSONS}


def lesson_config(lesson, quick=None, **overrides):
    """The settings of ``lesson`` in full or quick mode (quick=None reads GAN_LESSONS_QUICK), with
    ``overrides`` checked (unknown name or wrong type: a clear error listing the known settings)."""
    from .. import quick_mode

    return registered(lesson).config(quick_mode() if quick is None else quick, **overrides)


def make_experiment(lesson, quick=None, seed=0, out_dir=None, fresh=False, **overrides):
    """The run of ``lesson`` (an :class:`ImageGAN`, a :class:`Translation`...), built with its settings."""
    return registered(lesson).runner(lesson, quick, seed, out_dir, fresh, **overrides)


def load_experiment(out_dir):
    """Rebuild the experiment saved in ``out_dir`` and load its latest checkpoint."""
    from pathlib import Path

    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise NotTrainedError(f"{out_dir} is not a folder" + ("" if out_dir.exists() else " (it does not exist)")
                              + ": give the folder that `python -m gan_lessons train LESSON --out DIR` wrote")
    if not (out_dir / "experiment.json").exists():
        raise NotTrainedError(f"{out_dir} holds no trained model; train one first with "
                              "`python -m gan_lessons train LESSON --out DIR`")
    saved = read_description(out_dir)
    return registered(saved["lesson"]).runner.load(out_dir, saved)


__all__ = ["LESSONS", "PUBLISHED_MODE_COVERAGE", "ClusterLabels", "CycleGAN", "DigitLabels", "Experiment", "ImageGAN",
           "Lesson", "ModeCollapseSweep", "NoLabels", "NotTrainedError", "Run", "Translation",
           "augmentation_experiment", "lesson_config", "load_experiment", "make_experiment"]
