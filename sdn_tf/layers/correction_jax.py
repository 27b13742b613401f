"""The correction sweep of `correction.py`, written in JAX for Keras' JAX backend.

The same computation as `correction.correction_sweep` (read that module's
docstring for the math): the GRU cell (`reset_after` variant) over the three
neighbours in the previous, already corrected row, the `correct_first_row`
switch, `matmul_dtype` for mixed precision and the sweep-major layout
[steps, batch, length, F]. Each function below mirrors the TensorFlow
function named in its docstring, line by line where the two libraries
allow, so the two implementations are easy to compare.

Where JAX differs:

  * The row loops are `jax.lax.scan`s. Scan reads its inputs by slicing
    inside XLA's while loop, so it has none of the tensor-list copies that
    made `correction._loop_rows` avoid tf.scan.
  * The gradient is a `jax.custom_vjp` whose backward scan mirrors
    `correction._backward`: it carries only the gradient flowing through the
    neighbour product and the weight gradients accumulated row by row.
  * The input gates I.U + c are one [.., 3F] tensor and a row's neighbour
    product one matmul, split into the gates; TensorFlow computes them per
    gate to save op launches and copies, which XLA's fusion makes moot.
  * The adjoint of the neighbour product is one matmul with W^T followed by
    a shifted sum of its three blocks, instead of TensorFlow's transposed
    1x3 convolution; the two are the same linear map.
  * Half-precision matmuls accumulate and return the state dtype
    (`preferred_element_type`) where TensorFlow rounds the product to
    float16/bfloat16 before casting it back; the JAX result is the more
    accurate of the two.

`correction_sweep` is compiled with `jax.jit`, once per shape, dtype,
direction and `correct_first_row`.

Only Keras' JAX backend imports this module (see
`spatial_dependency._sweep_for_backend`), so TensorFlow-only installs never
import JAX.
"""

import functools

import jax
import jax.numpy as jnp


def neighbours(rows):
    """nb = concat(P[j-1], P[j], P[j+1]) along the features, zero padded.

    Mirrors `correction.neighbours`.

    Args:
      rows: [..., length, F].

    Returns:
      [..., length, 3F].
    """
    padded = jnp.pad(rows, [(0, 0)] * (rows.ndim - 2) + [(1, 1), (0, 0)])
    return jnp.concatenate(
        [padded[..., :-2, :], padded[..., 1:-1, :], padded[..., 2:, :]], axis=-1
    )


def neighbours_transpose_product(grads, kernel, result_dtype=None):
    """d(P) from d(nb.W): the adjoint of rows -> neighbours(rows) @ W.

    Mirrors `correction.neighbours_transpose_product`. d(nb) = d(nb.W) W^T
    holds, at position j, the gradients of P[j-1], P[j] and P[j+1]; P[k]
    collects its three shares from positions k+1, k and k-1.

    Args:
      grads: [batch, length, 3F], gradients of nb.W.
      kernel: [3F, 3F].
      result_dtype: dtype of the product and the result; defaults to that
        of `grads`.

    Returns:
      [batch, length, F].
    """
    d_nb = jnp.matmul(grads, kernel.T, preferred_element_type=result_dtype)
    d_left, d_centre, d_right = jnp.split(d_nb, 3, axis=-1)  # [B, L, F] each
    # P[k] is the left neighbour of k+1 and the right neighbour of k-1.
    from_right = jnp.pad(d_left[:, 1:], [(0, 0), (0, 1), (0, 0)])
    from_left = jnp.pad(d_right[:, :-1], [(0, 0), (1, 0), (0, 0)])
    return d_centre + from_right + from_left


def _previous_rows(outputs, reverse):
    """The corrected row each row was corrected from (zeros for the first).

    Mirrors `correction._previous_rows`.
    """
    zeros = jnp.zeros_like(outputs[:1])
    if reverse:
        return jnp.concatenate([outputs[1:], zeros], axis=0)
    return jnp.concatenate([zeros, outputs[:-1]], axis=0)


def _matmul(a, b, dtype, state_dtype):
    """a @ b with operands in `dtype` and the result in `state_dtype`.

    Mirrors `correction._matmul` (transpose operands with `.T`).
    """
    return jnp.matmul(
        a.astype(dtype), b.astype(dtype), preferred_element_type=state_dtype
    )


def _input_gates(features, recurrent_kernel, recurrent_bias, matmul_dtype):
    """I.U + c for every row at once: [steps, batch, length, 3F].

    `correction._input_gates` computes the same per gate, with b_r, b_z
    folded in; here they are added in the row, as in the paper.
    """
    f = features.shape[-1]
    flat = features.reshape(-1, f)  # [steps * batch * length, F]
    gates = _matmul(flat, recurrent_kernel, matmul_dtype, features.dtype)
    gates = gates + recurrent_bias
    return gates.reshape(features.shape[:-1] + (3 * f,))


def _forward(
    features, input_gates, kernel, bias, reverse, matmul_dtype, correct_first_row
):
    """The sweep: the corrected rows and the gates r, z, n of every row.

    Mirrors `correction._forward`, with one [.., 3F] neighbour product.
    """
    state_dtype = features.dtype
    f = features.shape[-1]
    kernel = kernel.astype(matmul_dtype)

    def correct_row(previous, row):
        values, row_gates = row  # [batch, length, F], [batch, length, 3F]
        nb = neighbours(previous.astype(matmul_dtype)).reshape(-1, 3 * f)
        x = jnp.matmul(nb, kernel, preferred_element_type=state_dtype) + bias
        x_r, x_z, x_n = jnp.split(
            x.reshape(values.shape[:-1] + (3 * f,)), 3, axis=-1
        )  # [batch, length, F] each
        h_r, h_z, h_n = jnp.split(row_gates, 3, axis=-1)
        r = jax.nn.sigmoid(x_r + h_r)
        z = jax.nn.sigmoid(x_z + h_z)
        n = jnp.tanh(x_n + r * h_n)
        corrected = n + z * (values - n)
        return corrected, (corrected, r, z, n)

    if correct_first_row:
        _, outputs = jax.lax.scan(
            correct_row,
            jnp.zeros_like(features[0]),
            (features, input_gates),
            reverse=reverse,
        )
        return outputs  # 4 x [steps, batch, length, F]
    # The authors' sweep: the first row keeps I, as a GRU step whose update
    # gate is shut (z = 1, r = n = 0; see correction.py's docstring). Scan
    # the other rows from it, then put the first row's outputs in place.
    if reverse:
        first, rest = features[-1], slice(None, -1)
    else:
        first, rest = features[0], slice(1, None)
    _, outputs = jax.lax.scan(
        correct_row, first, (features[rest], input_gates[rest]), reverse=reverse
    )
    zeros = jnp.zeros_like(first)
    first_outputs = (first, zeros, jnp.ones_like(first), zeros)
    return tuple(
        jnp.concatenate([o, head[None]] if reverse else [head[None], o], axis=0)
        for o, head in zip(outputs, first_outputs)
    )  # 4 x [steps, batch, length, F]


def _backward(
    d_outputs, features, input_gates, outputs, r, z, n, weights, reverse, matmul_dtype
):
    """Gradients of the sweep with respect to its five inputs.

    Mirrors `correction._backward`; an uncorrected first row needs no case
    of its own here either (its gates z = 1, r = n = 0 zero its gate
    gradients and pass d_row through).
    """
    state_dtype = features.dtype
    f = features.shape[-1]
    kernel, recurrent_kernel = weights
    h_n = input_gates[..., 2 * f :]
    # Per-row factors of the chain rule that do not depend on the gradient
    # carried from the next row, for all rows at once:
    d_xn_per_d = (1.0 - z) * (1.0 - jnp.square(n))  # dI'/d(x_n)
    d_z_per_d = (features - n) * z * (1.0 - z)  # dI'/d(z pre-activation)
    d_r_per_dxn = h_n * r * (1.0 - r)  # d(x_n)/d(r pre-activation)
    previous = _previous_rows(outputs, reverse)
    kernel_mm = kernel.astype(matmul_dtype)
    recurrent_kernel_mm = recurrent_kernel.astype(matmul_dtype)

    def backward_row(carry, row):
        # d_from_next: the gradient reaching this row through the neighbour
        # product of the row corrected after it; the rest are the weight
        # gradients summed over the rows seen so far.
        d_from_next, d_kernel, d_recurrent_kernel, d_bias, d_recurrent_bias = carry
        d_out, a, b, c, z_row, r_row, values, previous_row = row
        d_row = d_out + d_from_next  # total dL/dI' of this row
        d_xn = d_row * a
        d_xr = d_xn * c
        d_xz = d_row * b
        d_neighbour_gates = jnp.concatenate([d_xr, d_xz, d_xn], axis=-1)  # [.., 3F]
        d_input_gates = jnp.concatenate([d_xr, d_xz, d_xn * r_row], axis=-1)
        flat_gates = d_neighbour_gates.reshape(-1, 3 * f)  # [B * L, 3F]
        flat_inputs = d_input_gates.reshape(-1, 3 * f)
        # Matmul operands, cast once each (a no-op in the state dtype).
        gates_mm = d_neighbour_gates.astype(matmul_dtype)
        inputs_mm = flat_inputs.astype(matmul_dtype)
        d_previous = neighbours_transpose_product(gates_mm, kernel_mm, state_dtype)
        nb = neighbours(previous_row).reshape(-1, 3 * f)
        d_kernel += _matmul(
            nb.T, gates_mm.reshape(-1, 3 * f), matmul_dtype, state_dtype
        )  # [3F, 3F]
        d_recurrent_kernel += _matmul(
            values.reshape(-1, f).T, inputs_mm, matmul_dtype, state_dtype
        )  # [F, 3F]
        d_bias += jnp.sum(flat_gates, axis=0)
        d_recurrent_bias += jnp.sum(flat_inputs, axis=0)
        d_values = d_row * z_row + _matmul(
            inputs_mm, recurrent_kernel_mm.T, matmul_dtype, state_dtype
        ).reshape(d_row.shape)  # through the gate and through I.U
        carry = (d_previous, d_kernel, d_recurrent_kernel, d_bias, d_recurrent_bias)
        return carry, d_values

    initial = (
        jnp.zeros_like(d_outputs[0]),
        jnp.zeros((3 * f, 3 * f), state_dtype),
        jnp.zeros((f, 3 * f), state_dtype),
        jnp.zeros((3 * f,), state_dtype),
        jnp.zeros((3 * f,), state_dtype),
    )
    sums, d_features = jax.lax.scan(
        backward_row,
        initial,
        (d_outputs, d_xn_per_d, d_z_per_d, d_r_per_dxn, z, r, features, previous),
        reverse=not reverse,
    )
    _, d_kernel, d_recurrent_kernel, d_bias, d_recurrent_bias = sums
    # In the order of correction_sweep's inputs.
    return d_features, d_kernel, d_bias, d_recurrent_kernel, d_recurrent_bias


# reverse, matmul_dtype and correct_first_row choose the computation; they
# are static (hashable) arguments, not differentiated.
@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7))
def _sweep(
    features,
    kernel,
    bias,
    recurrent_kernel,
    recurrent_bias,
    reverse,
    matmul_dtype,
    correct_first_row,
):
    outputs, _ = _sweep_forward(
        features,
        kernel,
        bias,
        recurrent_kernel,
        recurrent_bias,
        reverse,
        matmul_dtype,
        correct_first_row,
    )
    return outputs


def _sweep_forward(
    features,
    kernel,
    bias,
    recurrent_kernel,
    recurrent_bias,
    reverse,
    matmul_dtype,
    correct_first_row,
):
    """The corrected rows, and what the backward pass keeps of the forward."""
    input_gates = _input_gates(features, recurrent_kernel, recurrent_bias, matmul_dtype)
    outputs, r, z, n = _forward(
        features, input_gates, kernel, bias, reverse, matmul_dtype, correct_first_row
    )
    residuals = (features, input_gates, outputs, r, z, n, kernel, recurrent_kernel)
    return outputs, residuals


def _sweep_backward(reverse, matmul_dtype, correct_first_row, residuals, d_outputs):
    """The gradients of `_sweep`'s five array inputs (see `_backward`)."""
    del correct_first_row  # _backward needs no case for it
    features, input_gates, outputs, r, z, n, kernel, recurrent_kernel = residuals
    return _backward(
        d_outputs.astype(features.dtype),
        features,
        input_gates,
        outputs,
        r,
        z,
        n,
        (kernel, recurrent_kernel),
        reverse,
        matmul_dtype,
    )


_sweep.defvjp(_sweep_forward, _sweep_backward)


@functools.partial(
    jax.jit, static_argnames=("reverse", "matmul_dtype", "correct_first_row")
)
def _compiled_sweep(
    features,
    kernel,
    bias,
    recurrent_kernel,
    recurrent_bias,
    reverse,
    matmul_dtype,
    correct_first_row,
):
    state_dtype = features.dtype
    # As correction_sweep does in TensorFlow: weights enter the sweep in
    # the state dtype; autodiff takes their gradients back through the cast.
    return _sweep(
        features,
        kernel.astype(state_dtype),
        bias.astype(state_dtype),
        recurrent_kernel.astype(state_dtype),
        recurrent_bias.astype(state_dtype),
        reverse,
        matmul_dtype,
        correct_first_row,
    )


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
    """Corrects `features` row by row in one sweep: `correction.correction_sweep`
    in JAX, with the same arguments and result (read its docstring).

    Differences: `features` is an array (float64 needs `jax_enable_x64`), and
    the result is a JAX array.
    """
    features = jnp.asarray(features)
    matmul_dtype = jnp.dtype(matmul_dtype or features.dtype)
    return _compiled_sweep(
        features,
        jnp.asarray(kernel),
        jnp.asarray(bias),
        jnp.asarray(recurrent_kernel),
        jnp.asarray(recurrent_bias),
        reverse=bool(reverse),
        matmul_dtype=matmul_dtype,
        correct_first_row=bool(correct_first_row),
    )
