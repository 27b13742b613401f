"""The correction sweep of `correction.py`, written in PyTorch for Keras' torch
backend.

The same computation as `correction.correction_sweep` (read that module's
docstring for the math): the GRU cell (`reset_after` variant) over the three
neighbours in the previous, already corrected row, the `correct_first_row`
switch, `matmul_dtype` for mixed precision and the sweep-major layout
[steps, batch, length, F]. Each function below mirrors the function of
`correction_jax.py` (and through it of `correction.py`) named in its
docstring, line by line where the libraries allow.

Where PyTorch differs:

  * The row loops are Python loops that run eagerly, op by op, as PyTorch
    programs do (the authors' code too); each writes its row into a tensor
    allocated before the loop.
  * The gradient is a `torch.autograd.Function` whose backward loop mirrors
    `correction._backward`: it carries only the gradient flowing through the
    neighbour product and the weight gradients accumulated row by row, so
    autograd records one node per sweep instead of a dozen per row, and
    keeps none of the per-row intermediates.
  * Half-precision matmuls return float16/bfloat16, cast back to the state
    dtype, as in TensorFlow (torch.matmul has no wider result type).

Nothing here names a device: the sweep runs where `features` lie (CPU, CUDA
or any device PyTorch offers), its buffers allocated beside them.

Only Keras' torch backend imports this module (see
`spatial_dependency._sweep_for_backend`), so installs without PyTorch never
import it.
"""

import torch
import torch.nn.functional as F

from sdn_tf import arguments

# The dtypes of the carried rows (the state): those the layers use.
STATE_DTYPES = (torch.float32, torch.float64)


def neighbours(rows):
    """nb = concat(P[j-1], P[j], P[j+1]) along the features, zero padded.

    Mirrors `correction_jax.neighbours`.

    Args:
      rows: [..., length, F].

    Returns:
      [..., length, 3F].
    """
    padded = F.pad(rows, (0, 0, 1, 1))  # one zero position at either end
    return torch.cat(
        [padded[..., :-2, :], padded[..., 1:-1, :], padded[..., 2:, :]], dim=-1
    )


def neighbours_transpose_product(grads, kernel, result_dtype=None):
    """d(P) from d(nb.W): the adjoint of rows -> neighbours(rows) @ W.

    Mirrors `correction_jax.neighbours_transpose_product`. d(nb) = d(nb.W) W^T
    holds, at position j, the gradients of P[j-1], P[j] and P[j+1]; P[k]
    collects its three shares from positions k+1, k and k-1.

    Args:
      grads: [batch, length, 3F], gradients of nb.W.
      kernel: [3F, 3F].
      result_dtype: dtype of the result (and of the shares summed); defaults
        to that of `grads`.

    Returns:
      [batch, length, F].
    """
    d_nb = torch.matmul(grads, kernel.T).to(result_dtype or grads.dtype)
    d_left, d_centre, d_right = d_nb.chunk(3, dim=-1)  # [B, L, F] each
    # P[k] is the left neighbour of k+1 and the right neighbour of k-1.
    from_right = F.pad(d_left[:, 1:], (0, 0, 0, 1))
    from_left = F.pad(d_right[:, :-1], (0, 0, 1, 0))
    return d_centre + from_right + from_left


def _previous_rows(outputs, reverse):
    """The corrected row each row was corrected from (zeros for the first).

    Mirrors `correction_jax._previous_rows`.
    """
    zeros = torch.zeros_like(outputs[:1])
    if reverse:
        return torch.cat([outputs[1:], zeros], dim=0)
    return torch.cat([zeros, outputs[:-1]], dim=0)


def _matmul(a, b, dtype, state_dtype):
    """a @ b with operands in `dtype` and the result in `state_dtype`.

    Mirrors `correction._matmul` (transpose operands with `.T`).
    """
    return torch.matmul(a.to(dtype), b.to(dtype)).to(state_dtype)


def _row_order(steps, reverse):
    """The rows in the order the sweep visits them."""
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _input_gates(features, recurrent_kernel, recurrent_bias, matmul_dtype):
    """I.U + c for every row at once: [steps, batch, length, 3F].

    Mirrors `correction_jax._input_gates`.
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

    Mirrors `correction_jax._forward`, with one [.., 3F] neighbour product.
    """
    state_dtype = features.dtype
    kernel = kernel.to(matmul_dtype)
    outputs, r, z, n = (torch.empty_like(features) for _ in range(4))
    order = _row_order(features.shape[0], reverse)
    if correct_first_row:
        previous = torch.zeros_like(features[0])
    else:
        # The authors' sweep: the first row keeps I, as a GRU step whose
        # update gate is shut (z = 1, r = n = 0; see correction.py's
        # docstring); the loop starts at the second row.
        first, *order = order
        previous = features[first]
        outputs[first], r[first], z[first], n[first] = previous, 0.0, 1.0, 0.0
    for i in order:
        values, (h_r, h_z, h_n) = features[i], input_gates[i].chunk(3, dim=-1)
        nb = neighbours(previous.to(matmul_dtype))  # [batch, length, 3F]
        x = torch.matmul(nb, kernel).to(state_dtype) + bias
        x_r, x_z, x_n = x.chunk(3, dim=-1)  # [batch, length, F] each
        r_row = torch.sigmoid(x_r + h_r)
        z_row = torch.sigmoid(x_z + h_z)
        n_row = torch.tanh(x_n + r_row * h_n)
        corrected = n_row + z_row * (values - n_row)
        outputs[i], r[i], z[i], n[i] = corrected, r_row, z_row, n_row
        previous = corrected
    return outputs, r, z, n  # 4 x [steps, batch, length, F]


def _backward(
    d_outputs, features, input_gates, outputs, r, z, n, weights, reverse, matmul_dtype
):
    """Gradients of the sweep with respect to its five inputs.

    Mirrors `correction_jax._backward`; an uncorrected first row needs no
    case of its own here either (its gates z = 1, r = n = 0 zero its gate
    gradients and pass d_row through).
    """
    state_dtype = features.dtype
    f = features.shape[-1]
    kernel, recurrent_kernel = weights
    h_n = input_gates[..., 2 * f :]
    # Per-row factors of the chain rule that do not depend on the gradient
    # carried from the next row, for all rows at once:
    d_xn_per_d = (1.0 - z) * (1.0 - torch.square(n))  # dI'/d(x_n)
    d_z_per_d = (features - n) * z * (1.0 - z)  # dI'/d(z pre-activation)
    d_r_per_dxn = h_n * r * (1.0 - r)  # d(x_n)/d(r pre-activation)
    previous = _previous_rows(outputs, reverse)
    kernel_mm = kernel.to(matmul_dtype)
    recurrent_kernel_mm = recurrent_kernel.to(matmul_dtype)

    # d_from_next: the gradient reaching a row through the neighbour product
    # of the row corrected after it; the rest are the weight gradients
    # summed over the rows seen so far.
    d_from_next = torch.zeros_like(d_outputs[0])
    d_kernel = kernel.new_zeros(3 * f, 3 * f)
    d_recurrent_kernel = kernel.new_zeros(f, 3 * f)
    d_bias = kernel.new_zeros(3 * f)
    d_recurrent_bias = kernel.new_zeros(3 * f)
    d_features = torch.empty_like(features)
    for i in _row_order(features.shape[0], not reverse):
        d_row = d_outputs[i] + d_from_next  # total dL/dI' of this row
        d_xn = d_row * d_xn_per_d[i]
        d_xr = d_xn * d_r_per_dxn[i]
        d_xz = d_row * d_z_per_d[i]
        d_neighbour_gates = torch.cat([d_xr, d_xz, d_xn], dim=-1)  # [.., 3F]
        d_input_gates = torch.cat([d_xr, d_xz, d_xn * r[i]], dim=-1)
        flat_gates = d_neighbour_gates.reshape(-1, 3 * f)  # [B * L, 3F]
        flat_inputs = d_input_gates.reshape(-1, 3 * f)
        # Matmul operands, cast once each (a no-op in the state dtype).
        gates_mm = d_neighbour_gates.to(matmul_dtype)
        inputs_mm = flat_inputs.to(matmul_dtype)
        d_from_next = neighbours_transpose_product(gates_mm, kernel_mm, state_dtype)
        nb = neighbours(previous[i]).reshape(-1, 3 * f)
        d_kernel += _matmul(
            nb.T, gates_mm.reshape(-1, 3 * f), matmul_dtype, state_dtype
        )  # [3F, 3F]
        d_recurrent_kernel += _matmul(
            features[i].reshape(-1, f).T, inputs_mm, matmul_dtype, state_dtype
        )  # [F, 3F]
        d_bias += flat_gates.sum(dim=0)
        d_recurrent_bias += flat_inputs.sum(dim=0)
        d_features[i] = d_row * z[i] + _matmul(
            inputs_mm, recurrent_kernel_mm.T, matmul_dtype, state_dtype
        ).reshape(d_row.shape)  # through the gate and through I.U
    # In the order of correction_sweep's inputs.
    return d_features, d_kernel, d_bias, d_recurrent_kernel, d_recurrent_bias


class _Sweep(torch.autograd.Function):
    """The sweep as one autograd node with the hand-written backward.

    `reverse`, `matmul_dtype` and `correct_first_row` choose the
    computation; they get no gradient. Mirrors `correction_jax._sweep`.
    """

    @staticmethod
    def forward(
        ctx,
        features,
        kernel,
        bias,
        recurrent_kernel,
        recurrent_bias,
        reverse,
        matmul_dtype,
        correct_first_row,
    ):
        input_gates = _input_gates(
            features, recurrent_kernel, recurrent_bias, matmul_dtype
        )
        outputs, r, z, n = _forward(
            features,
            input_gates,
            kernel,
            bias,
            reverse,
            matmul_dtype,
            correct_first_row,
        )
        ctx.save_for_backward(
            features, input_gates, outputs, r, z, n, kernel, recurrent_kernel
        )
        ctx.reverse, ctx.matmul_dtype = reverse, matmul_dtype
        return outputs

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_outputs):
        features, input_gates, outputs, r, z, n, kernel, recurrent_kernel = (
            ctx.saved_tensors
        )
        gradients = _backward(
            d_outputs.to(features.dtype),
            features,
            input_gates,
            outputs,
            r,
            z,
            n,
            (kernel, recurrent_kernel),
            ctx.reverse,
            ctx.matmul_dtype,
        )
        return (*gradients, None, None, None)


def _as_dtype(dtype, name):
    """`dtype` (a torch dtype or its name: "bfloat16", "float32", ...) as a
    floating torch dtype, or the ValueError for argument `name`."""
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    arguments.check(
        isinstance(dtype, torch.dtype) and dtype.is_floating_point,
        name,
        "a floating-point dtype (a torch dtype or its name)",
        dtype,
    )
    return dtype


def _check_shapes(features, weights):
    """A [steps, batch, length, F] state of a layer's dtype and weights of
    F's sizes (see `correction_sweep`), or the ValueError naming the first
    argument that is not."""
    arguments.check(
        features.ndim == 4 and features.dtype in STATE_DTYPES,
        "features",
        "a float32 or float64 tensor [steps, batch, length, F]",
        f"{features.dtype} of shape {tuple(features.shape)}",
    )
    f = features.shape[-1]
    expected = {
        "kernel": (3 * f, 3 * f),
        "bias": (3 * f,),
        "recurrent_kernel": (f, 3 * f),
        "recurrent_bias": (3 * f,),
    }
    for (name, shape), weight in zip(expected.items(), weights):
        arguments.check(
            tuple(weight.shape) == shape,
            name,
            f"shape {shape} for F = {f} features",
            f"shape {tuple(weight.shape)}",
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
    in PyTorch, with the same arguments and result (read its docstring).

    Differences: `features` and the weights are torch tensors (or what
    `torch.as_tensor` takes), `matmul_dtype` a torch dtype or its name, and
    the result is a torch tensor on the device of `features`.

    Raises:
      ValueError: on features that are not float32 or float64 of rank 4, on
        weights whose shapes do not fit their F, and on a `matmul_dtype`
        that is no floating-point dtype.
    """
    features = torch.as_tensor(features)
    weights = [
        torch.as_tensor(w, device=features.device)
        for w in (kernel, bias, recurrent_kernel, recurrent_bias)
    ]
    _check_shapes(features, weights)
    state_dtype = features.dtype
    matmul_dtype = _as_dtype(matmul_dtype or state_dtype, "matmul_dtype")
    # As correction_sweep does in TensorFlow: weights enter the sweep in the
    # state dtype; autograd takes their gradients back through the cast.
    # Rows are read one at a time, so they should be contiguous: a layer
    # hands over a transposed (strided) view.
    return _Sweep.apply(
        features.contiguous(),
        *(w.to(state_dtype) for w in weights),
        bool(reverse),
        matmul_dtype,
        bool(correct_first_row),
    )
