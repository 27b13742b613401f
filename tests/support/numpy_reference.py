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
