"""Presentation mode (gan_lessons.pretrained): a pack made from a finished run loads into a fresh folder and
gives that run's samples; other settings, or the mode off in an empty folder, train instead (a folder that
received a pack needs fresh=True); and every pack the course ships still
fits the networks the code builds today and reproduces its run's last snapshot (or its lesson-04 scores)."""

import json
import os
import shutil

import numpy as np
import pytest
from conftest import Killed, killed_at_rename

from gan_lessons import UserError, pretrained
from gan_lessons.lessons import ImageGAN, ModeCollapseSweep, NotTrainedError, base, load_experiment, registered

TINY = dict(steps=4, snapshot_every=2, checkpoint_every=2, batch_size=16, g_hidden=[16], d_hidden=[16],
            learning_rate=0.02)  # four big steps: the trained G is far from its initial weights
SHIPPED = pretrained.PRETRAINED_DIR


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Checkpoints and packs in temporary folders, presentation mode on."""
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "checkpoints")
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path / "pretrained")
    monkeypatch.setenv("GAN_LESSONS_PRETRAINED", "1")
    return tmp_path / "checkpoints", tmp_path / "pretrained"


def trained_pack(checkpoints):
    run = ImageGAN("mlp_gan", quick=False, out_dir=checkpoints / "mlp_gan", **TINY)
    run.train(progress=False)
    pretrained.make_pack(run.out_dir)
    return run


def test_a_pack_loads_the_runs_generator_and_history_into_an_empty_folder(folders, tmp_path, monkeypatch):
    checkpoints, packs = folders
    original = trained_pack(checkpoints)
    assert sorted(p.name for p in (packs / "mlp_gan").iterdir()) == [
        "checkpoint.json", "experiment.json", "generator.weights.h5", "generator_ema.weights.h5",
        "history.npz"]  # G and its average; no D, no optimizer
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "class")  # another machine, nothing trained
    shown = ImageGAN("mlp_gan", quick=False, out_dir=tmp_path / "class" / "mlp_gan", **TINY)
    assert shown.finished
    history = shown.train(progress=False)
    assert history.step == 4 and history.logs["d_loss"] == pytest.approx(original.history.logs["d_loss"], rel=1e-6)
    z = np.random.default_rng(5).standard_normal((16, 100)).astype("float32")
    ours, theirs = shown.generate(z=z), original.generate(z=z)
    assert np.abs(ours - theirs).max() < 5e-3  # float16 weights: the same images to the eye
    monkeypatch.setenv("GAN_LESSONS_PRETRAINED", "0")
    untrained = ImageGAN("mlp_gan", quick=False, out_dir=tmp_path / "off" / "mlp_gan", **TINY)
    assert not untrained.finished and np.abs(untrained.generate(z=z) - theirs).max() > 5e-2


def test_other_settings_or_the_mode_off_train_instead(folders, tmp_path, monkeypatch, capsys):
    checkpoints, packs = folders
    trained_pack(checkpoints)
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "class")
    other = ImageGAN("mlp_gan", quick=False, out_dir=tmp_path / "class" / "mlp_gan", **{**TINY, "steps": 6})
    assert not other.finished and "otros ajustes" in capsys.readouterr().out
    monkeypatch.setenv("GAN_LESSONS_PRETRAINED", "0")
    assert not ImageGAN("mlp_gan", quick=False, out_dir=tmp_path / "class" / "again", **TINY).finished


def test_one_run_can_ask_for_the_shipped_weights_or_refuse_them_whatever_the_mode_says(folders, tmp_path, monkeypatch):
    """Notebook 05 takes its L1-only reference from the course's weights unless the student trains it: with the mode
    off, ``pretrained=True`` still installs the pack (and ``shipped`` says so); with the mode on, ``pretrained=False``
    trains; a folder the student trained is theirs either way."""
    checkpoints, packs = folders
    trained_pack(checkpoints)
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "class")
    monkeypatch.setenv("GAN_LESSONS_PRETRAINED", "0")
    given = ImageGAN("mlp_gan", quick=False, out_dir=tmp_path / "class" / "mlp_gan", pretrained=True, **TINY)
    assert given.finished and given.shipped
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "student")  # another student's machine
    monkeypatch.setenv("GAN_LESSONS_PRETRAINED", "1")
    out = tmp_path / "student" / "mlp_gan"
    mine = ImageGAN("mlp_gan", quick=False, out_dir=out, pretrained=False, **TINY)
    assert not mine.finished and not mine.shipped
    mine.train(progress=False)
    again = ImageGAN("mlp_gan", quick=False, out_dir=out, pretrained=True, **TINY)
    assert again.finished and not again.shipped


def test_train_or_show_shows_the_shipped_run_without_copying_it_into_the_students_folder(folders, tmp_path,
                                                                                     monkeypatch):
    """Notebooks 04, 06 and 07 show another lesson's run that the student has not trained (the course's, from
    ``pretrained/``) without installing it: that folder belongs to the lesson's own notebook, which must still train."""
    checkpoints, packs = folders
    original = trained_pack(checkpoints)
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "student")
    monkeypatch.setenv("GAN_LESSONS_PRETRAINED", "0")
    out = tmp_path / "student" / "mlp_gan"
    shown = ImageGAN("mlp_gan", quick=False, out_dir=out, **TINY)
    history = shown.train_or_show(progress=False, shipped=True)
    assert history.logs["d_loss"] == pytest.approx(original.history.logs["d_loss"], rel=1e-6)
    z = np.random.default_rng(5).standard_normal((16, 100)).astype("float32")
    assert np.abs(shown.generate(z=z) - original.generate(z=z)).max() < 5e-3  # the course's G
    assert not shown.finished and not out.exists()  # nothing copied: the lesson's notebook still trains
    other = ImageGAN("mlp_gan", quick=False, out_dir=tmp_path / "student" / "other", **TINY)
    assert other.shipped_pack() is None  # no pack mirrors that folder: it trains
    assert other.train_or_show(progress=False, shipped=True).step == 4 and other.finished
    mine = ImageGAN("mlp_gan", quick=False, out_dir=out, **TINY)
    assert mine.train_or_show(progress=False).step == 4 and mine.finished and not mine.shipped  # shipped=False
    with np.load(packs / "mlp_gan" / "history.npz") as f:  # a pack that no longer equals the student's run
        changed_pack = {k: f[k] * 2 if k == "log/d_loss" else f[k] for k in f.files}
    np.savez(packs / "mlp_gan" / "history.npz", **changed_pack)
    again = ImageGAN("mlp_gan", quick=False, out_dir=out, **TINY)
    assert again.train_or_show(progress=False, shipped=True).logs["d_loss"] == mine.history.logs["d_loss"]  # theirs
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "third")  # where nothing was trained: the pack's
    elsewhere = ImageGAN("mlp_gan", quick=False, out_dir=tmp_path / "third" / "mlp_gan", **TINY)
    assert elsewhere.train_or_show(progress=False, shipped=True).logs["d_loss"] == pytest.approx(
        [2 * x for x in mine.history.logs["d_loss"]], rel=1e-6)


def test_for_comparison_takes_the_students_run_else_the_courses_and_never_trains(folders, tmp_path, monkeypatch):
    """Notebooks 02 and 07 compare with lessons 01 and 02: the student's finished run (this mode first, then full
    mode), else the course's shipped full-mode run, read in place; with neither, an error that names the command."""
    checkpoints, packs = folders
    original = trained_pack(checkpoints)
    student = tmp_path / "student"
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", student)
    monkeypatch.setattr(base, "CHECKPOINT_DIR", student)
    monkeypatch.setenv("GAN_LESSONS_PRETRAINED", "0")
    z = np.random.default_rng(5).standard_normal((16, 100)).astype("float32")
    shown = ImageGAN.for_comparison("mlp_gan", quick=True, **TINY)
    assert not shown.quick and not shown.finished and not student.exists()  # the course's, nothing copied or trained
    assert np.abs(shown.generate(z=z) - original.generate(z=z)).max() < 5e-3
    assert shown.history.logs["d_loss"] == pytest.approx(original.history.logs["d_loss"], rel=1e-6)
    mine = ImageGAN("mlp_gan", quick=True, **{**TINY, "learning_rate": 0.01})
    mine.train(progress=False)
    mine_again = ImageGAN.for_comparison("mlp_gan", quick=True, **{**TINY, "learning_rate": 0.01})
    assert mine_again.quick and mine_again.finished
    assert mine_again.history.logs["d_loss"] == mine.history.logs["d_loss"]
    assert np.abs(mine_again.generate(z=z) - shown.generate(z=z)).max() > 5e-2  # the student's G, not the course's
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path / "nothing shipped")
    with pytest.raises(NotTrainedError, match="python -m gan_lessons train mlp_gan"):
        ImageGAN.for_comparison("mlp_gan", quick=False, **TINY)
    assert not (student / "mlp_gan").exists()


def test_the_mode_off_still_loads_a_folder_that_received_the_pack_and_fresh_trains_it(folders, tmp_path,
                                                                                         monkeypatch):
    """What README and pretrained/README promise a student who switches the mode off after a class."""
    checkpoints, packs = folders
    trained_pack(checkpoints)
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "class")  # another machine, nothing trained
    out = tmp_path / "class" / "mlp_gan"
    assert ImageGAN("mlp_gan", quick=False, out_dir=out, **TINY).finished  # the pack is copied into out
    monkeypatch.setenv("GAN_LESSONS_PRETRAINED", "0")
    assert ImageGAN("mlp_gan", quick=False, out_dir=out, **TINY).finished  # still the pack, not a new training
    again = ImageGAN("mlp_gan", quick=False, out_dir=out, fresh=True, **TINY)
    assert not again.finished and again.train(progress=False).step == 4
    assert not json.loads((out / "checkpoint.json").read_text()).get("pretrained")


def test_use_pretrained_switches_the_mode(monkeypatch):
    monkeypatch.setenv("GAN_LESSONS_PRETRAINED", "0")  # recorded, so what use_pretrained writes is undone after
    monkeypatch.delenv("GAN_LESSONS_PRETRAINED")
    assert pretrained.use_pretrained() is False
    assert pretrained.use_pretrained(True) is True and pretrained.pretrained_mode()
    assert pretrained.use_pretrained(None) is True
    assert pretrained.use_pretrained(False) is False


def test_only_finished_full_mode_runs_are_packed(folders):
    checkpoints, packs = folders
    quick = ImageGAN("mlp_gan", quick=True, out_dir=checkpoints / "quick", **TINY)
    quick.train(progress=False)
    with pytest.raises(UserError, match="quick-mode run"):
        pretrained.make_pack(quick.out_dir, packs / "quick")
    stopped = ImageGAN("mlp_gan", quick=False, out_dir=checkpoints / "stopped", **TINY)
    stopped.train(progress=False)
    meta = json.loads((stopped.out_dir / "checkpoint.json").read_text())
    (stopped.out_dir / "checkpoint.json").write_text(json.dumps({**meta, "steps": 8}))  # as if interrupted
    with pytest.raises(UserError, match="stopped at step 4 of 8"):
        pretrained.make_pack(stopped.out_dir, packs / "stopped")



def test_a_run_killed_as_its_last_checkpoint_took_its_name_is_packed_whole(folders, monkeypatch):
    """Killed after its last checkpoint was on disk, before checkpoint.json said so: the run is finished and
    packed as such (the pack used to read the old checkpoint.json and say "stopped at step 2 of 4"), with
    none of the checkpoint's in-between files."""
    checkpoints, packs = folders
    rename = os.replace
    killed_at_the_last_rename, _ = killed_at_rename(  # the second checkpoint.json: steps 2 and 4 (the last)
        lambda renames: sum(str(d).endswith("checkpoint.json") for d in renames) == 2)
    run = ImageGAN("mlp_gan", quick=False, out_dir=checkpoints / "mlp_gan", **TINY)
    monkeypatch.setattr("gan_lessons.training.os.replace", killed_at_the_last_rename)
    with pytest.raises(Killed):
        run.train(progress=False)
    monkeypatch.setattr("gan_lessons.training.os.replace", rename)
    pretrained.make_pack(run.out_dir, packs / "mlp_gan")
    assert json.loads((packs / "mlp_gan" / "checkpoint.json").read_text())["step"] == 4
    assert sorted(p.name for p in (packs / "mlp_gan").iterdir()) == [
        "checkpoint.json", "experiment.json", "generator.weights.h5", "generator_ema.weights.h5", "history.npz"]


def _shipped():
    return sorted(path.parent for path in SHIPPED.rglob("experiment.json")) if SHIPPED.exists() else []


def test_the_course_ships_a_pack_for_every_lesson_a_notebook_presents():
    """The test below is one case per pack found: without `pretrained/` it would skip, not fail."""
    names = {path.relative_to(SHIPPED).parts[0] for path in _shipped()}
    assert {"mlp_gan", "dcgan", "cgan", "mode_collapse", "dcgan_selfcond", "pix2pix", "pix2pix_l1", "cyclegan",
            "wgan"} <= names, names


@pytest.mark.parametrize("pack", _shipped(), ids=lambda path: str(path.relative_to(SHIPPED)))
def test_shipped_weights_fit_todays_networks_and_reproduce_their_run(pack, tmp_path):
    """Catches a network changed after its weights were shipped: loading fails ("do not fit"), or the
    samples no longer match the run's last snapshot (lesson 04: its scores in results.json)."""
    saved = json.loads((pack / "experiment.json").read_text())
    assert saved["quick"] is False
    if saved["lesson"] == "mode_collapse":
        base = registered("mode_collapse").config(False)
        overrides = {k: v for k, v in saved["config"].items() if base[k] != v}
        shutil.copytree(pack, tmp_path / "pack")  # (the sweep takes each run's training lock: not in the repository)
        sweep = ModeCollapseSweep(out_dir=tmp_path / "pack", seed=saved["seed"], quick=False, **overrides)
        results = json.loads((pack / "results.json").read_text())
        for run in results["runs"][:: max(1, len(results["runs"]) // 6)]:
            scores = sweep.train_run(run["dataset"], run["method"], run["seed"])[0]
            assert scores["modes"] == run["modes"], run
            assert scores["high_quality"] == pytest.approx(run["high_quality"], abs=0.01), run
        return
    meta = json.loads((pack / "checkpoint.json").read_text())
    shown = load_experiment(pack)
    if not meta["models"]:  # a history-only pack (a run that its notebook only plots)
        return
    last = shown.history.snapshots[-1].astype(int)
    again = np.round(np.clip(shown.snapshot(), 0, 1) * 255).astype(int)
    assert again.shape == last.shape
    assert np.abs(again - last).mean() < 1.0 and np.mean(np.abs(again - last) > 8) < 0.01


def test_the_packing_command_refuses_a_mistyped_flag_instead_of_packing_the_weights(tmp_path):
    """`python -m gan_lessons.pretrained --history_only DIR` (an underscore) used to ignore the flag and pack the
    weights too; an unknown option, or no folder, now stops with the usage and writes nothing."""
    import subprocess
    import sys

    for args in (["--history_only", str(tmp_path)], []):
        done = subprocess.run([sys.executable, "-m", "gan_lessons.pretrained", *args], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode != 0 and "usage: python -m gan_lessons.pretrained [--history-only]" in done.stderr
        assert ("unknown option --history_only" in done.stderr) == bool(args)
    assert not list(tmp_path.iterdir())


def test_use_pretrained_takes_a_switch_not_a_string(monkeypatch):
    """Silent before: PRESENTACION = "False" (a string) turned presentation mode on."""
    monkeypatch.delenv("GAN_LESSONS_PRETRAINED", raising=False)
    with pytest.raises(UserError, match="use_pretrained takes True, False or None"):
        pretrained.use_pretrained("False")
    assert pretrained.use_pretrained(False) is False and pretrained.use_pretrained(True) is True
