"""The correction stage of a spatial dependency layer: one sweep (Algorithm 1).

A sweep visits the rows of a feature map one after another. Every feature
vector of row i is corrected from its three neighbours in the previous,
already corrected row (zero padding at the borders; the first row sees zero
neighbours):

    nb   = concat(P[j-1], P[j], P[j+1])                   P = corrected row i-1
    r    = sigmoid(nb.W_r + b_r + I.U_r + c_r)             reset gate
    z    = sigmoid(nb.W_z + b_z + I.U_z + c_z)             update gate
    n    = tanh(nb.W_n + b_n + r * (I.U_n + c_n))          proposal
    I'   = z * I + (1 - z) * n                             corrected row i

This is a GRU cell (the `reset_after` variant) whose input is the three
neighbours and whose hidden state is the feature vector being corrected.

Everything here works in the *sweep-major* layout [steps, batch, length, F]:
axis 0 is the axis the sweep walks along and axis 2 holds the neighbours.
The work that does not depend on the previous row, `I.U + c` for all rows,
is computed by the caller in one batched matmul and passed in as
`input_gates`; the loop body holds only the 3-neighbour product and the gate
arithmetic. Rows are read by indexing inside a `tf.while_loop` (tf.scan
would first copy every input into a tensor list), and large tensors are
never split or concatenated along the feature axis, which on CPUs costs
more than the gate arithmetic itself: the gates are split per row.

The gradient is written by hand: the backward loop carries only the
gradient that flows through the neighbour product, one transposed 1x3
convolution per row (W seen as a [1, 3, F, 3F] filter with taps j-1, j,
j+1). The chain-rule factors that do not depend on that carry are computed
for all rows at once before the loop, and the weight gradient is one
filter-gradient convolution over all rows after it. This is faster and
lighter on memory than differentiating through `tf.scan`.

Dtypes: the carried row, the gates and all elementwise math run in the
dtype of `features` (float32; float64 for exact gradient checks); the matmuls
take their operands in `matmul_dtype` (float16 or bfloat16 under a
mixed-precision policy) and their results are cast back to that state dtype.
"""

import tensorflow as tf


def _static_or_dynamic_shape(x):
    """x.shape as a list, with tensors for the dimensions unknown statically."""
    dynamic = tf.shape(x)
    return [d if d is not None else dynamic[i] for i, d in enumerate(x.shape)]


def neighbours(rows):
    """nb = concat(P[j-1], P[j], P[j+1]) along the features, zero padded.

    Args:
      rows: [..., length, F].

    Returns:
      [..., length, 3F].
    """
    rank = rows.shape.rank
    padded = tf.pad(rows, [[0, 0]] * (rank - 2) + [[1, 1], [0, 0]])
    return tf.concat(
        [padded[..., :-2, :], padded[..., 1:-1, :], padded[..., 2:, :]], axis=-1
    )


def _as_filter(kernel):
    """W [3F, 3F] as the 1x3 convolution filter [1, 3, F, 3F] it amounts to."""
    three_f = kernel.shape[-1]
    return tf.reshape(kernel, [1, 3, three_f // 3, three_f])


def neighbours_transpose_product(grads, kernel):
    """d(P) from d(nb.W): the adjoint of rows -> neighbours(rows) @ W.

    Args:
      grads: [batch, length, 3F], gradients of nb.W.
      kernel: [3F, 3F].

    Returns:
      [batch, length, F].
    """
    shape = _static_or_dynamic_shape(grads)
    out = tf.nn.conv2d_transpose(
        grads[:, None],
        _as_filter(kernel),
        [shape[0], 1, shape[1], shape[2] // 3],
        1,
        "SAME",
    )
    return out[:, 0]


def neighbours_kernel_grad(rows, grads):
    """dW of neighbours(rows) @ W, summed over all leading axes.

    Args:
      rows: [..., length, F], the rows P whose neighbours were multiplied.
      grads: [..., length, 3F], gradients of the products.

    Returns:
      [3F, 3F].
    """
    f = rows.shape[-1]
    length = _static_or_dynamic_shape(rows)[-2]
    filters = tf.compat.v1.nn.conv2d_backprop_filter(
        tf.reshape(rows, [-1, 1, length, f]),
        [1, 3, f, 3 * f],
        tf.reshape(grads, [-1, 1, length, 3 * f]),
        [1, 1, 1, 1],
        "SAME",
    )
    return tf.reshape(filters, [3 * f, 3 * f])


def _loop_rows(body, sequences, initial, reverse, stacked_dtypes):
    """Runs body(carry, rows) -> (carry, outputs) along axis 0 of `sequences`.

    Like tf.scan, but rows are read by indexing, so the sequences are never
    copied into tensor lists; `outputs` are stacked along axis 0.
    """
    steps = tf.shape(sequences[0])[0]
    arrays = [tf.TensorArray(dtype, size=steps) for dtype in stacked_dtypes]

    def step(i, carry, arrays):
        index = steps - 1 - i if reverse else i
        carry, outputs = body(carry, [seq[index] for seq in sequences])
        arrays = [a.write(index, o) for a, o in zip(arrays, outputs)]
        return i + 1, carry, arrays

    _, _, arrays = tf.while_loop(
        lambda i, *_: i < steps, step, (tf.constant(0), initial, arrays)
    )
    return [a.stack() for a in arrays]


def _previous_rows(outputs, reverse):
    """The corrected row each row was corrected from (zeros for the first)."""
    zeros = tf.zeros_like(outputs[:1])
    if reverse:
        return tf.concat([outputs[1:], zeros], axis=0)
    return tf.concat([zeros, outputs[:-1]], axis=0)


def _forward(features, input_gates, kernel, bias, reverse, matmul_dtype):
    """The sweep: the corrected rows and the gates r, z, n of every row."""
    state_dtype = features.dtype
    f = features.shape[-1]
    kernel = tf.cast(kernel, matmul_dtype)

    def correct_row(previous, row):
        values, row_gates = row  # [batch, length, F], [batch, length, 3F]
        shape = _static_or_dynamic_shape(values)
        nb = tf.reshape(neighbours(tf.cast(previous, matmul_dtype)), [-1, 3 * f])
        x = tf.nn.bias_add(tf.cast(tf.matmul(nb, kernel), state_dtype), bias)
        x_r, x_z, x_n = tf.split(tf.reshape(x, shape[:-1] + [3 * f]), 3, axis=-1)
        h_r, h_z, h_n = tf.split(row_gates, 3, axis=-1)
        r = tf.sigmoid(x_r + h_r)
        z = tf.sigmoid(x_z + h_z)
        n = tf.tanh(x_n + r * h_n)
        corrected = n + z * (values - n)
        return corrected, (corrected, r, z, n)

    return _loop_rows(
        correct_row,
        [features, input_gates],
        tf.zeros_like(features[0]),
        reverse,
        [state_dtype] * 4,
    )  # 4 x [steps, batch, length, F]


def _backward(
    d_outputs, features, input_gates, outputs, r, z, n, kernel, reverse, matmul_dtype
):
    """Gradients of the sweep with respect to its four inputs."""
    state_dtype = features.dtype
    h_n = input_gates[..., 2 * features.shape[-1] :]
    # Per-row factors of the chain rule that do not depend on the gradient
    # carried from the next row, for all rows at once:
    d_xn_per_d = (1.0 - z) * (1.0 - tf.square(n))  # dI'/d(x_n)
    d_z_per_d = (features - n) * z * (1.0 - z)  # dI'/d(z pre-activation)
    d_r_per_dxn = h_n * r * (1.0 - r)  # d(x_n)/d(r pre-activation)
    kernel = tf.cast(kernel, matmul_dtype)

    def backward_row(d_from_next, row):
        # The carry is the gradient reaching this row through the neighbour
        # product of the row corrected after it.
        d_out, a, b, c, z_row, r_row = row
        d_row = d_out + d_from_next  # total dL/dI' of this row
        d_xn = d_row * a
        d_xr = d_xn * c
        d_xz = d_row * b
        d_neighbour_gates = tf.concat([d_xr, d_xz, d_xn], axis=-1)  # [.., 3F]
        d_input_gates = tf.concat([d_xr, d_xz, d_xn * r_row], axis=-1)
        d_previous = neighbours_transpose_product(
            tf.cast(d_neighbour_gates, matmul_dtype), kernel
        )
        stacked = (d_row * z_row, d_neighbour_gates, d_input_gates)
        return tf.cast(d_previous, state_dtype), stacked

    d_features, d_neighbour_gates, d_input_gates = _loop_rows(
        backward_row,
        [d_outputs, d_xn_per_d, d_z_per_d, d_r_per_dxn, z, r],
        tf.zeros_like(d_outputs[0]),
        not reverse,
        [state_dtype] * 3,
    )
    previous = tf.cast(_previous_rows(outputs, reverse), matmul_dtype)
    d_kernel = neighbours_kernel_grad(
        previous, tf.cast(d_neighbour_gates, matmul_dtype)
    )
    d_bias = tf.reduce_sum(d_neighbour_gates, axis=[0, 1, 2])
    return d_features, d_input_gates, tf.cast(d_kernel, state_dtype), d_bias


def correction_sweep(
    features, input_gates, kernel, bias, reverse=False, matmul_dtype=None
):
    """Corrects `features` row by row in one sweep (see module docstring).

    Args:
      features: [steps, batch, length, F] float32 or float64, the values I
        before the sweep; their dtype is the state dtype. The sweep walks
        along axis 0; neighbours lie along axis 2.
      input_gates: [steps, batch, length, 3F], I.U + c for every row, gate
        order (r, z, n).
      kernel: [3F, 3F], the neighbour kernel W; rows ordered (P[j-1], P[j],
        P[j+1]), columns (r, z, n).
      bias: [3F], the neighbour bias b, order (r, z, n).
      reverse: if True the sweep starts at the last step.
      matmul_dtype: dtype of the matmul operands; defaults to the state
        dtype.

    Returns:
      [steps, batch, length, F] tensor of the state dtype, the corrected rows.
    """
    features = tf.convert_to_tensor(features)
    state_dtype = features.dtype
    matmul_dtype = tf.as_dtype(matmul_dtype or state_dtype)

    @tf.custom_gradient
    def sweep(features, input_gates, kernel, bias):
        outputs, r, z, n = _forward(
            features, input_gates, kernel, bias, reverse, matmul_dtype
        )

        def grad(d_outputs):
            d_features, d_input_gates, d_kernel, d_bias = _backward(
                tf.cast(d_outputs, state_dtype),
                features,
                input_gates,
                outputs,
                r,
                z,
                n,
                kernel,
                reverse,
                matmul_dtype,
            )
            return d_features, d_input_gates, tf.cast(d_kernel, kernel.dtype), d_bias

        return outputs, grad

    return sweep(
        features,
        tf.cast(input_gates, state_dtype),
        kernel,
        tf.cast(bias, state_dtype),
    )
