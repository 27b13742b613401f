"""Loads a SavedModel with TensorFlow alone and runs its signatures:
python load_saved_model.py EXPORT_DIR INPUTS.npz OUTPUTS.npz.

sdn_tf, models and train are made unimportable first, so the SavedModel
must not need them.
"""

import importlib.abc
import sys

BLOCKED = ("sdn_tf", "models", "train")


class BlockProject(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked in this process")
        return None


sys.meta_path.insert(0, BlockProject())

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main(export_dir, inputs_path, outputs_path):
    inputs = dict(np.load(inputs_path))
    model = tf.saved_model.load(export_dir)
    images = tf.constant(inputs["images"])
    outputs = {}
    outputs["reconstruct"] = model.reconstruct(images)
    codes = model.encode(images)
    outputs.update({f"encode_{k}": v for k, v in codes.items()})
    outputs["decode"] = model.decode(codes)
    outputs["sample_t0"] = model.sample(tf.constant(3), tf.constant(0.0))
    outputs["sample_t1"] = model.sample(tf.constant(3), tf.constant(1.0))
    outputs["bits_per_dim"] = model.bits_per_dim(images)
    for name in BLOCKED:
        assert name not in sys.modules, name
    np.savez(outputs_path, **{k: np.asarray(v) for k, v in outputs.items()})
    print("signatures:", sorted(model.signatures))


if __name__ == "__main__":
    main(*sys.argv[1:])
