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
  start_build()  compiles the kernel in a background thread, so a first
                 run's start-up (data, model) overlaps the build; `load`
                 waits for it.
"""

import contextlib
import os
import threading

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
    "start_build",
]

SETTING_VARIABLE = "SDN_TF_NATIVE"
_SETTINGS = {"1": True, "true": True, "0": False, "false": False, "auto": None}

# The loaded op library, or the BuildError of the one attempt to build it:
# a process builds (or fails) once.
_loaded = {}
# The thread of `start_build`, and the BuildError it met, if any.
_background = {}
_disabled_depth = 0


def load():
    """The kernel's op library (tf.load_op_library), built first if needed.

    Raises:
      BuildError: when it cannot be built or loaded; the same error on every
        later call in this process.
    """
    _join_background_build()
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


def start_build():
    """Starts building the kernel in a background thread, where a first use
    would build it: the compiler runs on another core while the caller goes
    on (a command reads its data and builds its model meanwhile, about half
    of the build's minute on a 2-core CPU), and `load` waits for it. A failed
    build is not retried: `load` raises its error.

    Returns:
      The thread, or None when there is nothing to build: the library is
      cached, SDN_TF_NATIVE turns the kernel off, or a build already started.
    """
    if forced() is False or "thread" in _background or _loaded:
        return None
    if os.path.exists(library_path()):
        return None

    def build_and_keep_the_error():
        try:
            build()
        except BuildError as error:
            _background["error"] = error

    thread = threading.Thread(
        target=build_and_keep_the_error, name="sdn_tf.native build", daemon=True
    )
    _background["thread"] = thread
    thread.start()
    return thread


def _join_background_build():
    """Waits for `start_build`'s thread; its error becomes `load`'s."""
    thread = _background.get("thread")
    if thread is not None:
        thread.join()
    if "error" in _background and "error" not in _loaded:
        _loaded["error"] = _background["error"]


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
