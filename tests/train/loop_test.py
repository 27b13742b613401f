"""Tests of the shared training loop: strategies, precision, non-finite
steps, resuming, bad settings and TensorBoard summaries."""

import glob
import io
import logging
import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
import train_test_util as util

from sdn_tf.train import callbacks as callbacks_lib
from sdn_tf.train import checkpoints, loop


class LossRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


def _train(
    output_dir,
    steps,
    strategy="auto",
    nan_from=None,
    use_sdn=False,
    nan_at=(),
    callbacks=(),
    learning_rate=1e-3,
    console=None,
    **kwargs,
):
    settings = util.settings(output_dir, steps, strategy=strategy, **kwargs)
    keras.utils.set_random_seed(0)
    recorder = LossRecorder()
    result = loop.train(
        settings,
        loop.prepare(settings),
        util.build_fn(learning_rate, use_sdn=use_sdn),
        util.dataset_fn(nan_from, nan_at),
        util.record("loop"),
        extra_callbacks=[recorder, *callbacks],
        console=console,
    )
    return result, recorder.losses


def test_mirrored_over_two_devices_follows_the_one_device_trajectory(tmp_path):
    one, one_losses = _train(tmp_path / "one", 6, "one_device", batch_size=16)
    two, two_losses = _train(tmp_path / "two", 6, "mirrored", batch_size=16)
    assert (one.strategy.num_replicas_in_sync, two.strategy.num_replicas_in_sync) == (
        1,
        2,
    )
    # Same global batch, same data: the same losses up to the posterior noise,
    # which the replicas draw differently.
    np.testing.assert_allclose(two_losses, one_losses, rtol=2e-3)
    assert two_losses[-1] < two_losses[0]
    assert two.step == one.step == 6


def test_batch_not_divisible_by_the_replicas_raises_before_training(tmp_path):
    settings = util.settings(tmp_path, 2, batch_size=3, strategy="mirrored")
    with pytest.raises(ValueError, match="global batch 3 does not divide evenly"):
        loop.prepare(settings)


# float32, the default, is what every other training test runs.
@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_each_mixed_precision_trains_with_finite_loss_and_float32_variables(
    precision, tmp_path
):
    result, losses = _train(tmp_path, 3, precision=precision, use_sdn=True)
    model = result.model
    assert model.dtype_policy.name == precision
    assert np.all(np.isfinite(losses)) and int(model.skipped_steps.numpy()) == 0
    assert {v.dtype for v in model.trainable_variables} == {"float32"}
    # Likelihood and KL terms come out in float32 whatever the policy.
    terms = model.compute_terms(util.images(4))
    assert {str(t.dtype) for t in terms.values()} == {"<dtype: 'float32'>"}
    if precision == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert float(model.optimizer.dynamic_scale) > 1.0  # dynamic loss scaling


@pytest.mark.parametrize("strategy", ["auto", "mirrored"])
def test_nan_batches_stop_training_and_keep_the_last_good_checkpoint(
    strategy, tmp_path
):
    with pytest.raises(loop.TrainingStopped, match="stopped at step 7: 3 consecutive"):
        _train(
            tmp_path,
            20,
            strategy,
            nan_from=4,
            max_consecutive_skips=3,
            checkpoint_every=2,
        )
    # Steps 1-4 applied updates; 5-7 were skipped. The newest checkpoint is
    # step 6 (a step counts batches, skipped or not), and it holds the
    # weights of step 4, finite.
    latest = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    assert latest.endswith("ckpt-6")
    model = util.build_fn()()
    model.optimizer.build(model.trainable_variables)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    checkpoint.restore(latest).assert_existing_objects_matched()
    assert int(model.optimizer.iterations.numpy()) == 4
    assert int(model.skipped_steps.numpy()) == 2
    assert all(np.all(np.isfinite(v.numpy())) for v in model.trainable_variables)


def test_a_skipped_step_counts_so_the_final_checkpoint_is_written(tmp_path, caplog):
    # Batch 6 (step 7) is NaN: its update is skipped, and it is still a step
    # for the stop, the checkpoints and the messages.
    # On absl's logger itself: parsing absl flags in another test of the
    # same process sets its level, which a root-level setting does not undo.
    caplog.set_level(logging.INFO, logger="absl")
    first, losses = _train(tmp_path, 10, nan_at=(6,), checkpoint_every=5)
    assert (first.start_step, first.step, len(losses)) == (0, 10, 10)
    assert int(first.model.optimizer.iterations.numpy()) == 9
    names = sorted(p.name for p in (tmp_path / "checkpoints").glob("*.index"))
    assert names == ["ckpt-10.index", "ckpt-5.index"]
    skipped = [r.getMessage() for r in caplog.records if "update skipped" in r.message]
    assert len(skipped) == 1 and skipped[0].startswith("Step 7: ")
    caplog.clear()
    printed = io.StringIO()
    again, losses = _train(
        tmp_path,
        10,
        nan_at=(6,),
        checkpoint_every=5,
        console=callbacks_lib.Console(stream=printed),
    )
    assert (again.start_step, again.step, losses) == (10, 10, [])
    assert "The run is complete: it has 10 of 10 steps" in printed.getvalue()
    assert "update skipped" not in caplog.text


class StepRecorder(callbacks_lib.CountsSteps):
    """The counted step and the model's own at the end of every batch."""

    def __init__(self):
        super().__init__()
        self.pairs = []

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        self.pairs.append((self.step, checkpoints.training_step(self.model)))


def test_counted_steps_follow_the_models_step_across_skips_and_resumes(tmp_path):
    # The callbacks count steps in Python; the model's counters (applied
    # updates + skipped steps) are the definition they must agree with.
    first = StepRecorder()
    _train(tmp_path, 4, nan_at=(1,), checkpoint_every=2, callbacks=[first])
    resumed = StepRecorder()
    _train(tmp_path, 7, nan_at=(1,), checkpoint_every=2, callbacks=[resumed])
    assert first.pairs == [(s, s) for s in range(1, 5)]
    assert resumed.pairs == [(s, s) for s in range(5, 8)]


def test_a_run_that_never_applies_an_update_fails(tmp_path):
    with pytest.raises(loop.TrainingStopped, match="without applying a single upd"):
        _train(tmp_path, 3, nan_from=0)


class _RaiseOutOfRange(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch == 2:
            raise tf.errors.OutOfRangeError(None, None, "No space left on device")


def test_out_of_range_in_a_callback_is_not_taken_for_the_end_of_data(tmp_path):
    # Keras fit ends quietly on OutOfRangeError, as if the data ran out.
    with pytest.raises(loop.TrainingStopped, match="ended at step 3 of 6"):
        _train(tmp_path, 6, callbacks=[_RaiseOutOfRange()])


def test_an_output_dir_that_is_not_a_writable_directory_is_refused(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ValueError, match=r"`output_dir`.*writable.*\(a file\)"):
        loop.prepare(util.settings(a_file, 2))
    with pytest.raises(ValueError, match=r"`output_dir`.*writable.*Not a directory"):
        loop.prepare(util.settings(a_file / "run", 2))


def test_an_output_dir_whose_parts_are_unusable_is_refused_at_start(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoints").write_text("")
    with pytest.raises(ValueError, match=r"`output_dir`.*its checkpoints is a file"):
        loop.check_output_dir(str(tmp_path / "run"))
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    with pytest.raises(
        ValueError, match=r"symbolic link that leads to no directory: Too many levels"
    ):
        loop.check_output_dir(str(tmp_path / "loop"))


def test_rerunning_resumes_from_the_newest_checkpoint(tmp_path, capsys):
    first, _ = _train(tmp_path, 4)
    weights = [v.numpy() for v in first.model.trainable_variables]
    printed = io.StringIO()
    second, losses = _train(
        tmp_path, 6, verbose="auto", console=callbacks_lib.Console(stream=printed)
    )
    assert (second.start_step, second.step, len(losses)) == (4, 6, 2)
    # One bar over the run's steps (a line each, not a terminal), not Keras'
    # bar per epoch.
    lines = printed.getvalue().splitlines()
    parameters = second.model.count_params()
    assert lines[0] == (
        f"Model: SDNVAE, {parameters:,} parameters. Resuming at step 4 of 6."
    )
    assert [line.split(" [")[0] for line in lines[1:]] == ["Step 5/6", "Step 6/6"]
    assert "Epoch" not in capsys.readouterr().out
    third, _ = _train(tmp_path, 4)  # nothing left to do: restores only
    assert (third.start_step, third.step) == (6, 6)
    assert not all(
        np.array_equal(a, b.numpy())
        for a, b in zip(weights, third.model.trainable_variables)
    )


def test_an_output_directory_of_another_run_is_refused(tmp_path):
    _train(tmp_path, 2)
    settings = util.settings(tmp_path, 4)
    with pytest.raises(ValueError, match="holds checkpoints of a different run"):
        loop.train(
            settings,
            loop.prepare(settings),
            util.build_fn(),
            util.dataset_fn(),
            util.record("another"),
        )


def _events(log_dir):
    scalars, images = {}, set()
    for path in glob.glob(os.path.join(log_dir, "events*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                if tensor.dtype == object:  # encoded images
                    images.add(value.tag)
                else:
                    scalars.setdefault(value.tag, []).append((event.step, tensor))
    return scalars, images


def test_tensorboard_scalars_and_images(tmp_path):
    settings = util.settings(tmp_path, 4, log_every=2, image_every=4)
    keras.utils.set_random_seed(0)
    loop.train(
        settings,
        loop.prepare(settings),
        util.build_fn(),
        util.dataset_fn(),
        util.record("summaries"),
        image_fn=lambda model: {"samples": model.sample(4, 1.0)},
        scalar_fn=lambda model: {"kl_per_layer/layer_00": model.layer_kl[0]},
    )
    scalars, images = _events(str(tmp_path / "logs"))
    for tag in (
        "train/loss",
        "train/bpd",
        "train/kl_bpd",
        "train/learning_rate",
        "train/skipped_steps",
        "train/images_per_second",
        "kl_per_layer/layer_00",
    ):
        assert [step for step, _ in scalars[tag]] == [2, 4], tag
    assert scalars["train/learning_rate"][0][1] == pytest.approx(1e-3)
    assert images == {"samples"}


# --- The console ------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _fake_model(step):
    """What the step-counting callbacks read of a model."""
    return types.SimpleNamespace(
        optimizer=types.SimpleNamespace(iterations=tf.Variable(step, dtype=tf.int64)),
        skipped_steps=tf.Variable(0, dtype=tf.int64),
    )


def _progress(stream, start, total, verbose="auto", enabled=True):
    progress = callbacks_lib.Progress(
        callbacks_lib.Console(enabled, stream), total, verbose
    )
    progress.set_model(_fake_model(start))
    progress.on_train_begin()
    for batch in range(total - start):
        logs = {"loss": 9.0 - batch, "bpd": np.float32(8.5), "skipped_steps": 0}
        progress.on_train_batch_end(batch, logs)
    progress.on_train_end()


def test_progress_prints_a_line_per_tenth_of_the_run_when_not_a_terminal():
    printed = io.StringIO()
    _progress(printed, 10, 40)  # resumed at step 10: a line every 4 steps
    lines = printed.getvalue().splitlines()
    assert [line.split(" [")[0] for line in lines] == [
        f"Step {step}/40"
        for step in (11, *range(12, 41, 4))  # 11: traced
    ]
    assert lines[-1].startswith("Step 40/40 [########################] 100% ")
    assert " in all - loss -20.0000 - bpd 8.5000" in lines[-1]
    assert "left - loss" in lines[1] and "\r" not in printed.getvalue()


def test_progress_redraws_one_line_on_a_terminal_and_ends_it():
    printed = _Terminal()
    _progress(printed, 0, 5)
    text = printed.getvalue()
    assert text.startswith("\rStep 0/5 [") and text.endswith("\n")
    assert text.count("\n") == 1  # one bar, ended once
    assert "\rStep 5/5 [########################] 100%" in text
    console = callbacks_lib.Console(stream=printed)
    console.draw("Step 1/5")
    console.say("Computing the mig metric (3 of 4)...")  # starts a line of its own
    assert printed.getvalue().endswith(
        "Step 1/5\x1b[K\nComputing the mig metric (3 of 4)...\n"
    )


def test_a_disabled_console_prints_nothing():
    # The workers of a multi-worker run other than the chief.
    printed = _Terminal()
    _progress(printed, 0, 5, enabled=False)
    callbacks_lib.Console(False, printed).say("Data: ...")
    assert printed.getvalue() == ""
