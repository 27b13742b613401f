"""SavedModel export of a trained model: python -m train.export.

    python -m train.export --output_dir=runs/density [--export_dir=...]

Rebuilds the run's model from its run_config.json (train/runs.py), restores
the newest checkpoint and writes a SavedModel whose signatures are the
model's `serving_endpoints()`: sample(num_samples, temperature),
encode(images), decode(latents), reconstruct(images) and, for the density
model, bits_per_dim(images). The EMA weights are exported when the run
keeps them. The SavedModel needs TensorFlow only, not sdn_tf.
"""

# First: in a command, importing callbacks starts TensorFlow quietly.
from sdn_tf.train import callbacks as callbacks_lib  # isort: split

import os
import shutil
import tempfile

import tensorflow as tf
from absl import app, flags, logging

from sdn_tf import native
from sdn_tf.train import exits, runs

FLAGS = flags.FLAGS


def export(model, export_dir):
    """Writes `model`'s serving endpoints, with EMA weights, to export_dir.

    Each endpoint is a tf.function of its signature, traced once, by the
    save itself. (Keras' `ExportArchive` traces each twice: once outside
    the save to find the variables it uses and once inside it, where
    tf.function's cache key differs; the tiny model's export took 27-33 s
    through it against 18-22 s this way.) The module tracks every variable of
    the model, so each endpoint's captures are saved.
    """
    # The graph path of every sweep, not the native kernel's op: the
    # SavedModel must run wherever TensorFlow does, without sdn_tf.
    with callbacks_lib.ema_weights(model), native.disabled():
        module = tf.Module()
        endpoints = {}
        for name, (function, signature) in model.serving_endpoints().items():
            endpoints[name] = tf.function(
                function, input_signature=signature, autograph=False
            )
            setattr(module, name, endpoints[name])
        module.model_variables = [variable.value for variable in model.variables]
        # TF-Serving needs a default signature: the first endpoint.
        default = endpoints[next(iter(endpoints))]
        signatures = dict(endpoints, serving_default=default)
        # Written beside export_dir and moved into place: an interrupted
        # export leaves no half SavedModel under the final name.
        parent = os.path.dirname(os.path.abspath(export_dir))
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".saved_model_", dir=parent)
        try:
            tf.saved_model.save(module, staging, signatures=signatures)
            _move_into_place(staging, export_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    logging.info("Exported a SavedModel to %s.", export_dir)
    return export_dir


def _move_into_place(staging, export_dir):
    """Renames `staging` to `export_dir`, replacing what was there."""
    if os.path.lexists(export_dir):
        old = tempfile.mkdtemp(prefix=".old_saved_model_", dir=os.path.dirname(staging))
        os.replace(export_dir, os.path.join(old, "saved_model"))
        os.replace(staging, export_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, export_dir)


def is_complete(export_dir):
    """Whether `export_dir` holds a whole SavedModel (its graph and its
    variables' index), as `export` leaves one."""
    return os.path.isfile(os.path.join(export_dir, "saved_model.pb")) and (
        os.path.isfile(os.path.join(export_dir, "variables", "variables.index"))
    )


@exits.one_line_errors
def main(argv):
    del argv
    callbacks_lib.quiet_logs()
    print(f"Restoring the newest checkpoint of {FLAGS.output_dir}...", flush=True)
    with exits.refusing():
        model, _ = runs.load(FLAGS.output_dir)
    export_dir = FLAGS.export_dir or os.path.join(FLAGS.output_dir, "saved_model")
    print(f"Exporting a SavedModel to {export_dir}...", flush=True)
    export(model, export_dir)
    print(f"SavedModel:  {export_dir}", flush=True)


def define_flags(flag_values=FLAGS):
    flags.DEFINE_string(
        "output_dir", None, "The training run's directory.", flag_values=flag_values
    )
    flags.DEFINE_string(
        "export_dir",
        None,
        "Where to write the SavedModel (default output_dir/saved_model).",
        flag_values=flag_values,
    )
    flags.mark_flag_as_required("output_dir", flag_values=flag_values)


if __name__ == "__main__":
    define_flags()
    app.run(main)
