"""The native sweep kernel: built at first use for this machine, loaded once.

The correction sweep's fused CPU ops (correction_sweep.cc, wired to Python
in `sdn_tf.layers.correction_native`) are compiled at first use by `build` (library.py)
and cached; `python -m sdn_tf.native` builds them ahead of time. The
spatial dependency layers take them where they apply (their
`native_kernel` argument); this module holds what decides it process-wide:

  SDN_TF_NATIVE  environment variable: "1" (or "true") forces the kernel in
                 every layer, and an error where it cannot run (no compiler,
                 a failed build, XLA); "0" (or "false") forces the TensorFlow
                 graph path; "auto" or unset leaves each layer's argument.
                 Under Keras' JAX backend it has no effect.
  SDN_TF_CXX     the C++ compiler to build with (default: c++, else g++).
  disabled()     a context in which every sweep traced takes the graph
                 path: what an exported SavedModel must hold (train/export.py
                 traces in it; tf.saved_model.save's own tracing is also
                 detected).
"""

import contextlib
import os

from sdn_tf.native.library import (
    COMPILER_VARIABLE,
    BuildError,
    build,
    library_path,
)

__all__ = [
    "COMPILER_VARIABLE",
    "BuildError",
    "build",
    "disabled",
    "forced",
    "is_disabled",
    "library_path",
    "load",
]

SETTING_VARIABLE = "SDN_TF_NATIVE"
_SETTINGS = {"1": True, "true": True, "0": False, "false": False, "auto": None}

# The loaded op library, or the BuildError of the one attempt to build it:
# a process builds (or fails) once.
_loaded = {}
_disabled_depth = 0


def load():
    """The kernel's op library (tf.load_op_library), built first if needed.

    Raises:
      BuildError: when it cannot be built or loaded; the same error on every
        later call in this process.
    """
    if "library" not in _loaded and "error" not in _loaded:
        import tensorflow as tf

        try:
            _loaded["library"] = tf.load_op_library(build())
        except BuildError as error:
            _loaded["error"] = error
        except (tf.errors.NotFoundError, OSError) as error:
            _loaded["error"] = BuildError(
                f"The kernel's library {library_path()} does not load ({error}). "
                "Delete it to rebuild."
            )
    if "error" in _loaded:
        raise _loaded["error"]
    return _loaded["library"]


def forced():
    """SDN_TF_NATIVE as True (kernel), False (graph path) or None (unset or
    "auto": each layer's `native_kernel` decides).

    Raises:
      ValueError: on any other value.
    """
    value = os.environ.get(SETTING_VARIABLE, "auto").strip().lower() or "auto"
    if value not in _SETTINGS:
        raise ValueError(
            f"Received an invalid value for environment variable "
            f"`{SETTING_VARIABLE}`, expected one of {sorted(_SETTINGS)}, got "
            f"{os.environ[SETTING_VARIABLE]!r}."
        )
    return _SETTINGS[value]


@contextlib.contextmanager
def disabled():
    """Within this context every sweep traced or run takes the graph path."""
    global _disabled_depth
    _disabled_depth += 1
    try:
        yield
    finally:
        _disabled_depth -= 1


def is_disabled():
    """Whether a `disabled()` context is open."""
    return _disabled_depth > 0
