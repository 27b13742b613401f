"""SavedModel export of a trained model: python -m train.export.

    python -m train.export --output_dir=runs/density [--export_dir=...]

Rebuilds the run's model from its run_config.json (train/runs.py), restores
the newest checkpoint and writes a SavedModel whose signatures are the
model's `serving_endpoints()`: sample(num_samples, temperature),
encode(images), decode(latents), reconstruct(images) and, for the density
model, bits_per_dim(images). The EMA weights are exported when the run
keeps them. The SavedModel needs TensorFlow only, not sdn_tf.
"""

import os

import keras
from absl import app, flags, logging

from train import callbacks as callbacks_lib
from train import runs

FLAGS = flags.FLAGS


def export(model, export_dir):
    """Writes `model`'s serving endpoints, with EMA weights, to export_dir."""
    with callbacks_lib.ema_weights(model):
        archive = keras.export.ExportArchive()
        archive.track(model)
        for name, (function, signature) in model.serving_endpoints().items():
            archive.add_endpoint(name=name, fn=function, input_signature=signature)
        archive.write_out(export_dir, verbose=False)
    logging.info("Exported a SavedModel to %s.", export_dir)
    return export_dir


def main(argv):
    del argv
    model, _ = runs.load(FLAGS.output_dir)
    export(model, FLAGS.export_dir or os.path.join(FLAGS.output_dir, "saved_model"))


def define_flags():
    flags.DEFINE_string("output_dir", None, "The training run's directory.")
    flags.DEFINE_string(
        "export_dir",
        None,
        "Where to write the SavedModel (default output_dir/saved_model).",
    )
    flags.mark_flag_as_required("output_dir")


if __name__ == "__main__":
    define_flags()
    app.run(main)
