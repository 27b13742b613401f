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

With `correct_first_row=False` the sweep is the authors' PyTorch one
(lib/nn.py of djordjemila/sdn, `_CorrectionLayer.forward0`-`forward3`,
whose loops start at the second row): the first row keeps its values I
and is the previous row P of the second. The forward loop then starts at
the second row, and the first row is recorded as a GRU step with its
update gate shut (z = 1, r = n = 0), which makes every gate gradient of
that row zero, so the backward loop needs no case of its own.

Everything here works in the *sweep-major* layout [steps, batch, length, F]:
axis 0 is the axis the sweep walks along and axis 2 holds the neighbours.
The work that does not depend on the previous row is done for all rows
before the loop, one matmul per gate: g_r = I.U_r + c_r + b_r,
g_z = I.U_z + c_z + b_z and h_n = I.U_n + c_n (b_n stays in the row, since
r multiplies h_n alone). The loop body holds only the 3-neighbour products
and the gate arithmetic, on rows flattened to [batch * length, F], with no
[.., 3F] tensor to split. Rows are read by indexing inside a
`tf.while_loop` (tf.scan would first copy every input into a tensor list).
With few features or short rows a row's ops are too small to keep two
cores busy, so the forward can sweep parts of the batch in independent
loops (`chains`) that TensorFlow's executor runs side by side.

The gradient is written by hand: the backward loop carries the gradient
that flows through the neighbour product, one transposed 1x3 convolution
per row (W seen as a [1, 3, F, 3F] filter with taps j-1, j, j+1) or, for
small rows, one matmul with W^T and a shifted sum, and the weight
gradients dW, dU, db, dc, each accumulated from the row's own
[batch * length]-row matmul. Row-sized matmuls stay in cache; one matmul
over all rows at once (a [steps * batch * length, 3F] operand, tens of MB)
ran at half their rate on CPUs, and stacking the per-row gate gradients to
feed it cost more again. The chain-rule factors that do not depend on the
carried gradient are computed for all rows at once before the loop. This
is faster and lighter on memory than differentiating through `tf.scan`.

Dtypes: the carried row, the gates, all elementwise math and the weight
gradient accumulators run in the dtype of `features` (float32; float64 for
exact gradient checks); the matmuls take their operands in `matmul_dtype`
(float16 or bfloat16 under a mixed-precision policy) and their results are
cast back to that state dtype.
"""

import tensorflow as tf

from sdn_tf import arguments


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


def neighbours_transpose_product(grads, kernel, result_dtype=None):
    """d(P) from d(nb.W): the adjoint of rows -> neighbours(rows) @ W.

    A transposed 1x3 convolution for rows whose products are convolutions
    or that hold many values (see TRANSPOSE_CONVOLUTION_MIN_VALUES); for the
    others d(nb) = d(nb.W) W^T, one matmul, holds at position j the
    gradients of P[j-1], P[j] and P[j+1], and P[k] collects its three shares
    from positions k+1, k and k-1.

    Args:
      grads: [batch, length, 3F], gradients of nb.W.
      kernel: [3F, 3F].
      result_dtype: dtype of the result (and of the shares summed); defaults
        to that of `grads`.

    Returns:
      [batch, length, F].
    """
    result_dtype = result_dtype or grads.dtype
    shape = _static_or_dynamic_shape(grads)
    f = grads.shape[-1] // 3
    if transpose_by_convolution(f, grads.shape[0], grads.shape[1]):
        out = tf.nn.conv2d_transpose(
            grads[:, None], _as_filter(kernel), [shape[0], 1, shape[1], f], 1, "SAME"
        )
        return tf.cast(out[:, 0], result_dtype)
    flat = tf.reshape(grads, [-1, 3 * f])
    d_nb = tf.cast(tf.matmul(flat, kernel, transpose_b=True), result_dtype)
    padded = tf.pad(tf.reshape(d_nb, shape), [[0, 0], [1, 1], [0, 0]])
    return padded[:, 2:, :f] + padded[:, 1:-1, f : 2 * f] + padded[:, :-2, 2 * f :]


def _loop_rows(
    body,
    sequences,
    initial,
    reverse,
    stacked_dtypes,
    return_carry=False,
    first_outputs=None,
):
    """Runs body(carry, rows) -> (carry, outputs) along axis 0 of `sequences`.

    Like tf.scan, but rows are read by indexing, so the sequences are never
    copied into tensor lists; `outputs` are stacked along axis 0. With
    `return_carry`, returns (stacked outputs, final carry). With
    `first_outputs`, the body skips the first row (in loop order), whose
    outputs are `first_outputs`, and starts at the second with `initial`.
    """
    steps = tf.shape(sequences[0])[0]
    arrays = [tf.TensorArray(dtype, size=steps) for dtype in stacked_dtypes]
    start = 0
    if first_outputs is not None:
        first = steps - 1 if reverse else 0
        arrays = [a.write(first, o) for a, o in zip(arrays, first_outputs)]
        start = 1

    def step(i, carry, arrays):
        index = steps - 1 - i if reverse else i
        carry, outputs = body(carry, [seq[index] for seq in sequences])
        arrays = [a.write(index, o) for a, o in zip(arrays, outputs)]
        return i + 1, carry, arrays

    _, carry, arrays = tf.while_loop(
        lambda i, *_: i < steps, step, (tf.constant(start), initial, arrays)
    )
    stacked = [a.stack() for a in arrays]
    return (stacked, carry) if return_carry else stacked


def _previous_rows(outputs, reverse):
    """The corrected row each row was corrected from (zeros for the first)."""
    zeros = tf.zeros_like(outputs[:1])
    if reverse:
        return tf.concat([outputs[1:], zeros], axis=0)
    return tf.concat([zeros, outputs[:-1]], axis=0)


def _matmul(a, b, dtype, state_dtype, **kwargs):
    """a @ b with operands in `dtype` and the result in `state_dtype`."""
    product = tf.matmul(tf.cast(a, dtype), tf.cast(b, dtype), **kwargs)
    return tf.cast(product, state_dtype)


def _input_gates(features, recurrent_kernel, recurrent_bias, bias, matmul_dtype):
    """The parts of the gates that do not depend on the previous row.

    For all rows at once, each [steps, batch * length, F]:
    g_r = I.U_r + c_r + b_r, g_z = I.U_z + c_z + b_z and h_n = I.U_n + c_n.
    One matmul per gate, so the row loop never splits a [.., 3F] tensor; b_r
    and b_z are added here once instead of once per row.
    """
    shape = _static_or_dynamic_shape(features)
    f = features.shape[-1]
    flat = tf.reshape(features, [-1, f])  # [steps * batch * length, F]
    own_bias = [bias[:f], bias[f : 2 * f], tf.zeros_like(bias[:f])]
    gates = []
    for gate in range(3):
        columns = slice(gate * f, (gate + 1) * f)
        product = _matmul(
            flat, recurrent_kernel[:, columns], matmul_dtype, features.dtype
        )
        offset = recurrent_bias[columns] + own_bias[gate]
        gates.append(tf.reshape(product + offset, [shape[0], -1, f]))
    return gates


# From this many features up, and along rows of at least this length, a
# row's neighbour products are three 1x3 convolutions (no [.., 3F] neighbour
# tensor is built, no product is split); otherwise one matmul of the
# concatenated neighbours, because there each op's fixed cost outweighs the
# memory traffic saved (fewer, larger ops), and oneDNN's convolution of short
# rows runs far below its rate. Measured on 2026-11-30, one sweep alone
# (interleaved in one process): at 32 features (16x16) the convolutions
# were 20% slower; at 64, 128 and 200 features 6-18% faster along rows of
# 16 and 32; along rows of 4 the forward took 1.09-1.82x the matmul's time
# (64-200 features, batch 8-64), along rows of 8 0.91-1.41x.
CONVOLUTION_MIN_FEATURES = 64
CONVOLUTION_MIN_LENGTH = 16


def products_by_convolution(features, length):
    """Whether rows of `length` positions with `features` features get their
    neighbour products by convolution (see CONVOLUTION_MIN_FEATURES); an
    unknown length (None) counts as long."""
    long_rows = length is None or length >= CONVOLUTION_MIN_LENGTH
    return features >= CONVOLUTION_MIN_FEATURES and long_rows


# The backward's adjoint of the neighbour products is a transposed
# convolution where the forward's products are convolutions, and also for
# rows of at least this many values (batch * length * F); below, one matmul
# and a shifted sum. Measured on 2026-11-30, forward+backward time of one
# sweep, matmul against transposed convolution: F = 8 and 16 (batch 8-16,
# 16x16 and 32x32): 0.62-0.86x; F = 32, batch 32: 0.85x (8x8), 0.91-0.97x
# (16x16), 1.05-1.08x (32x32, 32,768 values); F = 64 and 200, rows of 4 and
# 8: 0.86-0.91x.
TRANSPOSE_CONVOLUTION_MIN_VALUES = 32768


def transpose_by_convolution(features, batch, length):
    """Whether the adjoint of the neighbour products of rows [batch, length,
    features] is a transposed convolution (see
    TRANSPOSE_CONVOLUTION_MIN_VALUES); unknown sizes (None) count as large."""
    if products_by_convolution(features, length):
        return True
    if batch is None or length is None:
        return True
    return batch * length * features >= TRANSPOSE_CONVOLUTION_MIN_VALUES


def _neighbour_products(kernel, matmul_dtype, state_dtype, length):
    """A function of the previous row P [batch, length, F] to nb.W_r, nb.W_z,
    nb.W_n, each [batch * length, F] in the state dtype; `length` is the
    static length of the rows (None if unknown)."""
    three_f = kernel.shape[-1]
    f = three_f // 3
    kernel = tf.cast(kernel, matmul_dtype)
    if products_by_convolution(f, length):
        filters = tf.split(_as_filter(kernel), 3, axis=-1)  # 3 x [1, 3, F, F]

        def by_convolution(previous):
            image_row = previous[:, None]  # [batch, 1, length, F]
            return [
                tf.reshape(
                    tf.cast(tf.nn.conv2d(image_row, w, 1, "SAME"), state_dtype),
                    [-1, f],
                )
                for w in filters
            ]

        return by_convolution

    def by_matmul(previous):
        nb = tf.reshape(neighbours(previous), [-1, three_f])
        return tf.split(tf.cast(tf.matmul(nb, kernel), state_dtype), 3, axis=-1)

    return by_matmul


# Two loops where a row's neighbour products are one matmul (see
# CONVOLUTION_MIN_FEATURES), whose ops are then too small to keep two cores
# busy each, and where the row is big enough to pay for a second loop: from
# CHAINS_MIN_ROW_VALUES values a row (batch * length * F). Measured on
# 2026-11-30 (2 cores), forward time of two loops over one: F = 32, batch
# 32: 0.72x (32x32) to 0.93x (8x8); F = 48, batch 32: 0.73-0.76x (16x16,
# 32x32); F = 64-200, batch 8-64, rows of 4 or 8: 0.64-0.96x; F = 16,
# batch 16, 16x16 (4,096 values): 0.92x; F = 8, batch 8, 16x16 and 8x8
# (1,024 and 512 values): 1.22x and 1.16x; convolution rows (F = 64-200,
# 16x16 and 32x32): 1.10-1.17x. Each loop also costs ~0.09 s to trace.
CHAINS_MIN_ROW_VALUES = 4096


def forward_chains(features):
    """How many independent row loops the forward sweep of `features` runs.

    2 (the batch halves) when the neighbour products are a matmul, the rows
    big enough and the batch size known and even (see
    CHAINS_MIN_ROW_VALUES), else 1. The backward sweep always runs one
    loop: split like the forward, forward+backward took 1.01-1.21x the
    time (its rows already hold four independent matmuls).
    """
    _, batch, length, f = features.shape
    if batch is None or length is None or f is None or batch % 2:
        return 1
    by_matmul = not products_by_convolution(f, length)
    if by_matmul and batch * length * f >= CHAINS_MIN_ROW_VALUES:
        return 2
    return 1


def _forward(
    features, gates, kernel, bias, reverse, matmul_dtype, correct_first_row, chains
):
    """The sweep: the corrected rows and the gates r, z, n of every row.

    With `chains` > 1 the batch is split into that many parts, each swept
    by a loop of its own (the rows of one part never meet another's).
    """
    if chains == 1:
        return _forward_chain(
            features, gates, kernel, bias, reverse, matmul_dtype, correct_first_row
        )
    parts = zip(
        tf.split(features, chains, axis=1),
        *[tf.split(g, chains, axis=1) for g in gates],
    )
    results = [
        _forward_chain(
            part, gate_parts, kernel, bias, reverse, matmul_dtype, correct_first_row
        )
        for part, *gate_parts in parts
    ]
    return [tf.concat(t, axis=1) for t in zip(*results)]


def _forward_chain(
    features, gates, kernel, bias, reverse, matmul_dtype, correct_first_row
):
    """One row loop: the corrected rows and the gates r, z, n of every row.

    Rows are [batch * length, F] inside the loop; `gates` are
    `_input_gates`' (g_r, g_z, h_n).
    """
    state_dtype = features.dtype
    shape = _static_or_dynamic_shape(features)
    f = features.shape[-1]
    products = _neighbour_products(kernel, matmul_dtype, state_dtype, features.shape[2])
    bias_n = bias[2 * f :]
    rows = tf.reshape(features, [shape[0], -1, f])  # [steps, batch * length, F]

    def correct_row(previous, row):
        values, g_r, g_z, h_n = row  # each [batch * length, F]
        x_r, x_z, x_n = products(tf.reshape(tf.cast(previous, matmul_dtype), shape[1:]))
        r = tf.sigmoid(x_r + g_r)
        z = tf.sigmoid(x_z + g_z)
        n = tf.tanh(tf.nn.bias_add(x_n, bias_n) + r * h_n)
        corrected = n + z * (values - n)
        return corrected, (corrected, r, z, n)

    if correct_first_row:
        initial, first_outputs = tf.zeros_like(rows[0]), None
    else:
        # The authors' sweep: the first row keeps I, as a GRU step whose
        # update gate is shut (z = 1, r = n = 0; see the module docstring).
        first = rows[-1] if reverse else rows[0]  # [batch * length, F]
        zeros = tf.zeros_like(first)
        initial, first_outputs = first, (first, zeros, tf.ones_like(first), zeros)
    stacked = _loop_rows(
        correct_row,
        [rows, *gates],
        initial,
        reverse,
        [state_dtype] * 4,
        first_outputs=first_outputs,
    )
    return [tf.reshape(t, shape) for t in stacked]  # 4 x [steps, batch, length, F]


def _backward(
    d_outputs, features, h_n, outputs, r, z, n, weights, reverse, matmul_dtype
):
    """Gradients of the sweep with respect to its five inputs.

    `weights` are (kernel W, recurrent_kernel U) in the state dtype. An
    uncorrected first row (correct_first_row=False) needs no case here: its
    gates z = 1, r = n = 0 zero its gate gradients and pass d_row through.
    """
    state_dtype = features.dtype
    f = features.shape[-1]
    kernel, recurrent_kernel = weights
    h_n = tf.reshape(h_n, _static_or_dynamic_shape(features))  # I.U_n + c_n
    # Per-row factors of the chain rule that do not depend on the gradient
    # carried from the next row, for all rows at once:
    d_xn_per_d = (1.0 - z) * (1.0 - tf.square(n))  # dI'/d(x_n)
    d_z_per_d = (features - n) * z * (1.0 - z)  # dI'/d(z pre-activation)
    d_r_per_dxn = h_n * r * (1.0 - r)  # d(x_n)/d(r pre-activation)
    previous = _previous_rows(outputs, reverse)
    kernel_mm = tf.cast(kernel, matmul_dtype)
    recurrent_kernel_mm = tf.cast(recurrent_kernel, matmul_dtype)

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
        d_neighbour_gates = tf.concat([d_xr, d_xz, d_xn], axis=-1)  # [.., 3F]
        d_input_gates = tf.concat([d_xr, d_xz, d_xn * r_row], axis=-1)
        flat_gates = tf.reshape(d_neighbour_gates, [-1, 3 * f])  # [B * L, 3F]
        flat_inputs = tf.reshape(d_input_gates, [-1, 3 * f])
        # Matmul operands, cast once each (a no-op in the state dtype).
        gates_mm = tf.cast(d_neighbour_gates, matmul_dtype)
        inputs_mm = tf.cast(flat_inputs, matmul_dtype)
        d_previous = neighbours_transpose_product(gates_mm, kernel_mm, state_dtype)
        nb = tf.reshape(neighbours(previous_row), [-1, 3 * f])
        d_kernel += _matmul(
            nb,
            tf.reshape(gates_mm, [-1, 3 * f]),
            matmul_dtype,
            state_dtype,
            transpose_a=True,
        )  # [3F, 3F]
        d_recurrent_kernel += _matmul(
            tf.reshape(values, [-1, f]),
            inputs_mm,
            matmul_dtype,
            state_dtype,
            transpose_a=True,
        )  # [F, 3F]
        d_bias += tf.reduce_sum(flat_gates, axis=0)
        d_recurrent_bias += tf.reduce_sum(flat_inputs, axis=0)
        d_values = d_row * z_row + tf.reshape(
            _matmul(
                inputs_mm,
                recurrent_kernel_mm,
                matmul_dtype,
                state_dtype,
                transpose_b=True,
            ),
            _static_or_dynamic_shape(d_row),
        )  # through the gate and through I.U
        carry = (
            d_previous,
            d_kernel,
            d_recurrent_kernel,
            d_bias,
            d_recurrent_bias,
        )
        return carry, (d_values,)

    initial = (
        tf.zeros_like(d_outputs[0]),
        tf.zeros([3 * f, 3 * f], state_dtype),
        tf.zeros([f, 3 * f], state_dtype),
        tf.zeros([3 * f], state_dtype),
        tf.zeros([3 * f], state_dtype),
    )
    (d_features,), sums = _loop_rows(
        backward_row,
        [d_outputs, d_xn_per_d, d_z_per_d, d_r_per_dxn, z, r, features, previous],
        initial,
        not reverse,
        [state_dtype],
        return_carry=True,
    )
    _, d_kernel, d_recurrent_kernel, d_bias, d_recurrent_bias = sums
    # In the order of correction_sweep's inputs.
    return d_features, d_kernel, d_bias, d_recurrent_kernel, d_recurrent_bias


def _check_chains(chains, batch):
    """`chains` as an int: a positive integer that divides a known batch."""
    chains = arguments.positive_integer(chains, "chains")
    arguments.check(
        chains == 1 or (batch is not None and batch % chains == 0),
        "chains",
        f"a divisor of the statically known batch size {batch}",
        chains,
    )
    return chains


def correction_sweep(
    features,
    kernel,
    bias,
    recurrent_kernel,
    recurrent_bias,
    reverse=False,
    matmul_dtype=None,
    correct_first_row=True,
    chains=1,
):
    """Corrects `features` row by row in one sweep (see module docstring).

    Args:
      features: [steps, batch, length, F] float32 or float64, the values I
        before the sweep; their dtype is the state dtype. The sweep walks
        along axis 0; neighbours lie along axis 2.
      kernel: [3F, 3F], the neighbour kernel W; rows ordered (P[j-1], P[j],
        P[j+1]), columns (r, z, n).
      bias: [3F], the neighbour bias b, order (r, z, n).
      recurrent_kernel: [F, 3F], U, which multiplies the row's own values.
      recurrent_bias: [3F], c, added to I.U.
      reverse: if True the sweep starts at the last step.
      matmul_dtype: dtype of the matmul operands; defaults to the state
        dtype.
      correct_first_row: if True (Algorithm 1) the first row is corrected
        from zero neighbours; if False it keeps its values, as in the
        authors' PyTorch code.
      chains: independent row loops of the forward sweep, each over a part
        of the batch (which `chains` must divide); `forward_chains(features)`
        gives the number measured faster on CPUs. Outside XLA only: a
        compiled loop runs its chains one after the other.

    Returns:
      [steps, batch, length, F] tensor of the state dtype, the corrected rows.
    """
    features = tf.convert_to_tensor(features)
    state_dtype = features.dtype
    matmul_dtype = tf.as_dtype(matmul_dtype or state_dtype)
    chains = _check_chains(chains, features.shape[1])

    @tf.custom_gradient
    def sweep(features, kernel, bias, recurrent_kernel, recurrent_bias):
        gates = _input_gates(
            features, recurrent_kernel, recurrent_bias, bias, matmul_dtype
        )
        outputs, r, z, n = _forward(
            features,
            gates,
            kernel,
            bias,
            reverse,
            matmul_dtype,
            correct_first_row,
            chains,
        )

        def grad(d_outputs):
            return _backward(
                tf.cast(d_outputs, state_dtype),
                features,
                gates[2],
                outputs,
                r,
                z,
                n,
                (kernel, recurrent_kernel),
                reverse,
                matmul_dtype,
            )

        return outputs, grad

    return sweep(
        features,
        tf.cast(kernel, state_dtype),
        tf.cast(bias, state_dtype),
        tf.cast(recurrent_kernel, state_dtype),
        tf.cast(recurrent_bias, state_dtype),
    )
