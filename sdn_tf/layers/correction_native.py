"""The correction sweep on the native kernel: one op per sweep, one per backward.

Same inputs, math and hand-written gradient as `correction.correction_sweep`
(see that module's docstring), with the row loops moved into two CPU ops
(sdn_tf/native/correction_sweep.cc): `SdnCorrectionSweep` runs every row of
a sweep and also returns the gates r, z, n and h_n = I.U_n + c_n of every
row, which `SdnCorrectionSweepGrad`, registered as its gradient, takes to
run the whole backward sweep (the carried gradient and the weight
gradients). Each op sweeps parts of the batch on the threads of
TensorFlow's intra-op pool.

The graph path stays the reference and runs everywhere else: on GPUs and
under XLA (the ops are CPU-only and XLA cannot compile them), where the
kernel cannot be built, and in every exported SavedModel (see
`sdn_tf.native.disabled`). `use_kernel` decides for a layer's
`native_kernel` argument.

Dtypes: float32 and float64. Under a mixed-precision policy the state is
float32 and the kernel computes everything in float32, matmul operands
included: `matmul_dtype` is accepted and ignored (on CPUs a float32 GEMM is
as fast as the casts a bfloat16 one would need, and more exact).
"""

import warnings

import tensorflow as tf

from sdn_tf import native

DTYPES = (tf.float32, tf.float64)
OP_NAME = "SdnCorrectionSweep"

# The reasons already warned about in this process: one warning each.
_warned = set()


def correction_sweep(
    features,
    kernel,
    bias,
    recurrent_kernel,
    recurrent_bias,
    reverse=False,
    matmul_dtype=None,
    correct_first_row=True,
):
    """Corrects `features` row by row in one sweep, on the native kernel.

    Args:
      features, kernel, bias, recurrent_kernel, recurrent_bias, reverse,
      correct_first_row: as `correction.correction_sweep`; features float32
        or float64, the weights are cast to their dtype.
      matmul_dtype: ignored: the kernel computes in the state dtype (see the
        module docstring).

    Returns:
      [steps, batch, length, F] tensor of the features' dtype.

    Raises:
      ValueError: on features of another dtype.
      sdn_tf.native.BuildError: when the kernel cannot be built or loaded.
    """
    del matmul_dtype
    features = tf.convert_to_tensor(features)
    _check_dtype(features.dtype)
    ops = native.load()
    weights = [
        tf.cast(w, features.dtype)
        for w in (kernel, bias, recurrent_kernel, recurrent_bias)
    ]
    outputs, *_ = ops.sdn_correction_sweep(
        features,
        *weights,
        reverse=bool(reverse),
        correct_first_row=bool(correct_first_row),
    )
    return outputs


def _check_dtype(dtype):
    if tf.as_dtype(dtype) not in DTYPES:
        raise ValueError(
            "Received an invalid value for argument `features`, expected "
            f"float32 or float64 for the native sweep kernel, got {dtype!r}."
        )


@tf.RegisterGradient(OP_NAME)
def _sweep_gradient(op, d_outputs, *d_gates):
    """The backward sweep. The gates are outputs for the backward alone, so
    gradients reaching them (none in the layers) are not propagated."""
    del d_gates
    features, kernel, _, recurrent_kernel, _ = op.inputs
    return native.load().sdn_correction_sweep_grad(
        d_outputs,
        features,
        *op.outputs,
        kernel,
        recurrent_kernel,
        reverse=op.get_attr("reverse"),
    )


def _in_saved_model_trace():
    """Whether tf.saved_model.save (or Keras' export) is tracing right now."""
    try:
        from tensorflow.python.saved_model import save_context
    except ImportError:  # a future TensorFlow: disabled() still applies
        return False
    return save_context.in_save_context()


def in_xla_context():
    """Whether the ops being traced will be compiled by XLA
    (tf.function(jit_compile=True), Keras' jit_compile=True)."""
    if tf.executing_eagerly():
        return False
    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:
        return False
    return control_flow_util.GraphOrParentsInXlaContext(
        tf.compat.v1.get_default_graph()
    )


def _unavailable(dtype, xla):
    """Why the kernel cannot run a sweep here, as (reason, expected): None
    if it can; `expected` marks a choice (XLA, GPUs) rather than a fault."""
    if xla:
        return "XLA is requested (jit_compile) and cannot compile it", True
    if tf.as_dtype(dtype) not in DTYPES:
        return f"it runs float32 and float64 sweeps, not {dtype}", False
    try:
        native.load()
    except native.BuildError as error:
        return str(error), False
    return None


def use_kernel(native_kernel, dtype, xla):
    """Whether a sweep of state `dtype` traced now runs on the kernel.

    Args:
      native_kernel: the layer's argument: "auto" takes the kernel where it
        can run and no GPU is visible (there XLA's graph path is the fast
        one), with one warning per process and reason where it cannot
        (no compiler, a failed build, a dtype it lacks); True requires it;
        False never takes it. SDN_TF_NATIVE overrides it (see
        `sdn_tf.native`), `sdn_tf.native.disabled()` and a SavedModel's
        tracing override both.
      dtype: the sweep's state dtype.
      xla: whether the sweep will be compiled by XLA.

    Raises:
      RuntimeError: when the kernel is required (True, or SDN_TF_NATIVE=1)
        and cannot run, with the reason.
    """
    if native.is_disabled() or _in_saved_model_trace():
        return False
    setting = native.forced()
    if setting is None:
        setting = native_kernel
    if setting is False:
        return False
    if setting != True and tf.config.list_logical_devices("GPU"):  # noqa: E712
        return False
    why = _unavailable(dtype, xla)
    if why is None:
        return True
    reason, expected = why
    if setting is True:
        raise RuntimeError(
            f"The native sweep kernel is required (native_kernel=True or "
            f"{native.SETTING_VARIABLE}=1) but cannot run: {reason}. "
            "Use native_kernel='auto' to fall back to the TensorFlow graph path."
        )
    if not expected:
        _warn_once(reason)
    return False


def _warn_once(reason):
    if reason in _warned:
        return
    _warned.add(reason)
    warnings.warn(
        f"sdn_tf: the spatial dependency layers use the TensorFlow graph path "
        f"on CPU, slower than the native sweep kernel, because the kernel is "
        f"unavailable: {reason}\nTo get it, install a C++17 compiler (g++) or "
        f"point {native.COMPILER_VARIABLE} at one and run `python -m "
        f"sdn_tf.native`; to use the graph path without this warning, set "
        f"{native.SETTING_VARIABLE}=0 or native_kernel=False.",
        RuntimeWarning,
        stacklevel=2,
    )
