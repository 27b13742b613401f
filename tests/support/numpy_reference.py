"""Plain NumPy references the tests compare the TensorFlow code against.

Written from the equations, with explicit loops, and sharing no code with
the library.
"""

import math

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _same_padding(size_in, size_out, kernel, stride):
    """TensorFlow's SAME padding (before, after) for a forward convolution."""
    total = max((size_out - 1) * stride + kernel - size_in, 0)
    return total // 2, total - total // 2


def conv2d(x, kernel, bias, strides=(1, 1), padding="same"):
    """Cross-correlation as tf.nn.conv2d: x [B,H,W,C], kernel [kh,kw,C,F]."""
    b, h, w, _ = x.shape
    kh, kw, _, f = kernel.shape
    sh, sw = strides
    if padding == "same":
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
        (top, bottom), (left, right) = (
            _same_padding(h, oh, kh, sh),
            _same_padding(w, ow, kw, sw),
        )
    else:
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        top = bottom = left = right = 0
    xp = np.pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)])
    out = np.zeros((b, oh, ow, f), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out + bias


def conv2d_transpose(x, kernel, bias, strides=(1, 1), padding="same"):
    """As Keras Conv2DTranspose: x [B,H,W,C], kernel [kh,kw,F,C].

    Every input pixel scatters kernel[a, c] @ x[i, j] to output position
    (i*s + a - pad, j*s + c - pad), the pad being the one the forward
    convolution from the output size back to the input size would use.
    """
    b, h, w, _ = x.shape
    kh, kw, f, _ = kernel.shape
    sh, sw = strides
    if padding == "same":
        oh, ow = h * sh, w * sw
        top = _same_padding(oh, h, kh, sh)[0]
        left = _same_padding(ow, w, kw, sw)[0]
    else:
        oh, ow = h * sh + max(kh - sh, 0), w * sw + max(kw - sw, 0)
        top = left = 0
    out = np.zeros((b, oh, ow, f), dtype=np.float64)
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for c in range(kw):
                    oi, oj = i * sh + a - top, j * sw + c - left
                    if 0 <= oi < oh and 0 <= oj < ow:
                        out[:, oi, oj, :] += x[:, i, j, :] @ kernel[a, c].T
    return out + bias


def random_sweep_inputs(steps=5, batch=2, length=4, f=3, dtype="float64", seed=0):
    """(features [steps, batch, length, F], W, b, U, c): random inputs of one
    sweep in the sweep-major layout, features in (-1, 1) as after tanh."""
    rng = np.random.default_rng(seed)
    features = np.tanh(rng.normal(size=(steps, batch, length, f))).astype(dtype)
    recurrent_kernel = rng.normal(scale=0.5, size=(f, 3 * f)).astype(dtype)
    recurrent_bias = rng.normal(scale=0.5, size=(3 * f,)).astype(dtype)
    kernel = rng.normal(scale=0.5, size=(3 * f, 3 * f)).astype(dtype)
    bias = rng.normal(scale=0.5, size=(3 * f,)).astype(dtype)
    return features, kernel, bias, recurrent_kernel, recurrent_bias


def correction_sweep(
    features,
    kernel,
    recurrent_kernel,
    input_bias,
    recurrent_bias,
    direction,
    correct_first_row=True,
):
    """One sweep of Algorithm 1 on [B, H, W, F] features, row by row.

    For "right"/"left" the columns play the role of rows; for "up"/"left"
    the sweep starts at the far end. Neighbours are always taken in
    increasing coordinate order (j-1, j, j+1). With `correct_first_row`
    False the first row visited is left as it is and is the previous row
    of the second (the authors' loops start at the second row).
    """
    f = features.shape[-1]
    x = features.transpose(0, 2, 1, 3) if direction in ("right", "left") else features
    order = range(x.shape[1])
    if direction in ("up", "left"):
        order = reversed(order)
    out = x.copy()
    previous = np.zeros_like(x[:, 0])  # [B, length, F]
    length = x.shape[2]
    for step, i in enumerate(order):
        if step == 0 and not correct_first_row:
            previous = x[:, i]
            continue
        for j in range(length):
            left = previous[:, j - 1] if j > 0 else np.zeros_like(previous[:, j])
            right = (
                previous[:, j + 1] if j < length - 1 else np.zeros_like(previous[:, j])
            )
            nb = np.concatenate([left, previous[:, j], right], axis=-1)
            gx = nb @ kernel + input_bias
            gh = x[:, i, j] @ recurrent_kernel + recurrent_bias
            r = sigmoid(gx[:, :f] + gh[:, :f])
            z = sigmoid(gx[:, f : 2 * f] + gh[:, f : 2 * f])
            n = np.tanh(gx[:, 2 * f :] + r * gh[:, 2 * f :])
            out[:, i, j] = z * x[:, i, j] + (1 - z) * n
        previous = out[:, i]
    return out.transpose(0, 2, 1, 3) if direction in ("right", "left") else out


def spatial_dependency(x, layer):
    """The whole SpatialDependency layer from its weights, in NumPy."""
    w = lambda v: np.asarray(v, dtype=np.float64)  # noqa: E731
    conv = conv2d_transpose if layer.transpose else conv2d
    features = np.tanh(
        conv(
            w(x),
            w(layer.project_in.kernel),
            w(layer.project_in.bias),
            layer.strides,
            layer.padding,
        )
    )
    for c in layer.corrections:
        features = correction_sweep(
            features,
            w(c.kernel),
            w(c.recurrent_kernel),
            w(c.input_bias),
            w(c.recurrent_bias),
            c.direction,
            layer.correct_first_row,
        )
    return conv2d(features, w(layer.project_out.kernel), w(layer.project_out.bias))


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _softplus(x):
    return np.logaddexp(0.0, x)


def pixelcnn_pp_log_prob(x, params, num_components, num_bits, tiny_bin_threshold=1e-5):
    """Salimans et al. (2017)'s discretized logistic mixture, as in their code.

    x: [B, H, W, 3] on the [-1, 1] grid; params [B, H, W, M + 9M] in the
    sdn_tf layout (logits, then per channel M means, M log-scales, M
    coefficients). Bins whose mass is below `tiny_bin_threshold` use the
    midpoint-density approximation of the original code (1e-5 there, for
    float32). Returns log p(x) per image, float64.
    """
    m = num_components
    params = params.astype(np.float64)
    x = x.astype(np.float64)
    b, h, w, _ = x.shape
    logits = params[..., :m]
    rest = params[..., m:].reshape(b, h, w, 3, 3 * m)
    means = rest[..., :m].copy()
    log_scales = np.maximum(rest[..., m : 2 * m], -7.0)
    coeffs = np.tanh(rest[..., 2 * m :])
    xe = x[..., None]  # [B, H, W, 3, 1]
    means[..., 1, :] += coeffs[..., 0, :] * xe[..., 0, :]
    means[..., 2, :] += (
        coeffs[..., 1, :] * xe[..., 0, :] + coeffs[..., 2, :] * xe[..., 1, :]
    )
    half = 1.0 / (2**num_bits - 1)
    centered = xe - means
    inv_stdv = np.exp(-log_scales)
    plus_in = inv_stdv * (centered + half)
    min_in = inv_stdv * (centered - half)
    cdf_delta = sigmoid(plus_in) - sigmoid(min_in)
    log_cdf_plus = plus_in - _softplus(plus_in)
    log_one_minus_cdf_min = -_softplus(min_in)
    mid_in = inv_stdv * centered
    log_pdf_mid = mid_in - log_scales - 2.0 * _softplus(mid_in)
    with np.errstate(divide="ignore"):
        inner = np.where(
            cdf_delta > tiny_bin_threshold,
            np.log(np.maximum(cdf_delta, 1e-300)),
            log_pdf_mid - np.log((2**num_bits - 1) / 2.0),
        )
    log_probs = np.where(
        xe < -0.999, log_cdf_plus, np.where(xe > 0.999, log_one_minus_cdf_min, inner)
    )
    log_probs = log_probs.sum(axis=3)  # over channels: [B, H, W, M]
    log_mix = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    per_pixel = np.logaddexp.reduce(log_probs + log_mix, axis=-1)
    return per_pixel.sum(axis=(1, 2))


def grid_values(num_bits):
    """The 2**num_bits values x_k = 2k / (K - 1) - 1, as float32 computes
    them, in float64."""
    levels = 2**num_bits
    k = np.arange(levels, dtype=np.float32)
    return (k * np.float32(2.0 / (levels - 1)) - np.float32(1.0)).astype(np.float64)


def discretized_logistic_log_pmf(x, mean, log_scale, num_bits):
    """log P(x) of logistics discretized to the grid, float64, broadcasting.

    Interior values: log(F(x + h) - F(x - h)) with F the logistic CDF; the
    lowest value takes all the mass below x + h, the highest all the mass
    above x - h. Log-scales are clamped at -7.
    """
    half = 1.0 / (2**num_bits - 1)
    x, mean = np.asarray(x, np.float64), np.asarray(mean, np.float64)
    scale = np.exp(np.maximum(np.asarray(log_scale, np.float64), -7.0))
    upper = (x + half - mean) / scale
    lower = (x - half - mean) / scale
    # F(u) - F(l) = F(-l) - F(-u): subtract where both terms are small.
    flip = upper + lower > 0
    a = np.where(flip, -lower, upper)
    b = np.where(flip, -upper, lower)
    with np.errstate(over="ignore", divide="ignore"):
        interior = np.log(sigmoid(a) - sigmoid(b))
    return np.where(
        x < -1.0 + 0.5 * half,
        _log_sigmoid(upper),
        np.where(x > 1.0 - 0.5 * half, _log_sigmoid(-lower), interior),
    )


def discretized_logistic_mode(loc, log_scale, num_bits):
    """The most probable grid value of each discretized logistic, by scoring
    every grid value (the lowest of ties)."""
    grid = grid_values(num_bits)
    loc, log_scale = np.broadcast_arrays(
        np.asarray(loc, np.float64), np.asarray(log_scale, np.float64)
    )
    log_p = discretized_logistic_log_pmf(
        grid, loc[..., None], log_scale[..., None], num_bits
    )
    return grid[np.argmax(log_p, axis=-1)]


def mixture_channel_log_pmf(params, earlier, num_components, num_channels, num_bits):
    """log P(x_c = v | x_<c = earlier) for every grid value v, per pixel.

    params: [..., H, W, M + 3MC] in the sdn_tf layout; earlier: the values
    of channels 0 .. c-1, each [..., H, W]. From the joint of the first c+1
    channels, log sum_m pi_m prod_{c' <= c} P(x_c' | m), the means of G and
    B shifted by tanh(coefficients) times the earlier values (PixelCNN++,
    three channels only), normalized over v. Returns [..., H, W, K].
    """
    m, channel = num_components, len(earlier)
    params = np.asarray(params, np.float64)
    grid = grid_values(num_bits)
    logits = params[..., :m]
    rest = params[..., m:].reshape(*params.shape[:-1], num_channels, 3 * m)
    means, log_scales = rest[..., :m], rest[..., m : 2 * m]
    coeffs = np.tanh(rest[..., 2 * m :])
    # The colour prefix, with a trailing axis of the K candidates for x_c.
    prefix = [np.asarray(v, np.float64)[..., None] for v in earlier]
    prefix.append(np.broadcast_to(grid, (*params.shape[:-1], len(grid))))
    joint = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    joint = joint[..., None, :]  # [..., H, W, 1, M]
    for c in range(channel + 1):
        mean = means[..., c, :][..., None, :]
        if num_channels == 3 and c == 1:
            mean = mean + coeffs[..., None, 0, :] * prefix[0][..., None]
        if num_channels == 3 and c == 2:
            mean = (
                mean
                + coeffs[..., None, 1, :] * prefix[0][..., None]
                + coeffs[..., None, 2, :] * prefix[1][..., None]
            )
        joint = joint + discretized_logistic_log_pmf(
            prefix[c][..., None], mean, log_scales[..., c, :][..., None, :], num_bits
        )
    log_p = np.logaddexp.reduce(joint, axis=-1)  # [..., H, W, K]
    return log_p - np.logaddexp.reduce(log_p, axis=-1, keepdims=True)


def sequential_mixture_mode(params, num_components, num_channels, num_bits):
    """The channel-by-channel mode of a discretized logistic mixture.

    x_0 = argmax_v P(x_0 = v), then x_c = argmax_v P(x_c = v | x_<c), each
    over every grid value (the lowest of ties). Returns the modes and the
    conditional means E[x_c | x_<c] at those modes, both [..., H, W, C].
    """
    grid = grid_values(num_bits)
    modes, means = [], []
    for _ in range(num_channels):
        log_p = mixture_channel_log_pmf(
            params, modes, num_components, num_channels, num_bits
        )
        modes.append(grid[np.argmax(log_p, axis=-1)])
        means.append((np.exp(log_p) * grid).sum(axis=-1))
    return np.stack(modes, axis=-1), np.stack(means, axis=-1)
