// The correction sweep of a spatial dependency layer as two CPU ops: one
// runs a whole sweep (all rows), the other its whole backward sweep.
//
// Same inputs and math as `correction_sweep` in
// sdn_tf/layers/correction.py (see its module docstring), in the
// sweep-major layout [steps, batch, length, F]:
//
//   nb = concat(P[j-1], P[j], P[j+1])        P = corrected row i-1
//   r  = sigmoid(nb.W_r + b_r + I.U_r + c_r)
//   z  = sigmoid(nb.W_z + b_z + I.U_z + c_z)
//   n  = tanh(nb.W_n + b_n + r * (I.U_n + c_n))
//   I' = z * I + (1 - z) * n
//
// Rows depend only on the previous row of the same image, so each thread of
// TensorFlow's intra-op pool sweeps its own part of the batch through all
// rows, with no synchronisation between rows; the backward's weight
// gradients are summed per part and added up, in part order, at the end.
// Within a part, a row's products are single-threaded Eigen GEMMs on
// row-major maps; the gate arithmetic is plain loops over contiguous arrays
// and Eigen's vectorised sigmoid and tanh on whole arrays.
//
// Built at first use by sdn_tf/native/build.py with the flags of
// tf.sysconfig and -O3 -march=native.

#define EIGEN_USE_THREADS

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/framework/tensor.h"
#include "tensorflow/core/util/work_sharder.h"

namespace sdn_tf {
namespace {

using ::tensorflow::DEVICE_CPU;
using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <typename T>
using RowVector = Eigen::Array<T, 1, Eigen::Dynamic>;
// A contiguous array seen whole, for SIMD elementwise math.
template <typename T>
using VectorMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstVectorMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// The sizes of one sweep and where its rows lie.
struct Geometry {
  int64_t steps, batch, length, f;
  bool reverse;

  // The step visited i-th.
  int64_t Step(int64_t i) const { return reverse ? steps - 1 - i : i; }
  // Offset of images [first, ...) of `step` in a [steps, batch, length, F]
  // tensor: the images of a part are contiguous within a step.
  int64_t Offset(int64_t step, int64_t first) const {
    return ((step * batch + first) * length) * f;
  }
};

// nb [images * length, 3F]: each position's (P[j-1], P[j], P[j+1]), zero
// padded at the ends of the row.
template <typename T>
void FillNeighbours(const T* previous, int64_t images, int64_t length,
                    int64_t f, T* nb) {
  const size_t bytes = f * sizeof(T);
  for (int64_t image = 0; image < images; ++image) {
    const T* row = previous + image * length * f;
    T* out = nb + image * length * 3 * f;
    for (int64_t j = 0; j < length; ++j, out += 3 * f) {
      if (j > 0) {
        std::memcpy(out, row + (j - 1) * f, bytes);
      } else {
        std::memset(out, 0, bytes);
      }
      std::memcpy(out + f, row + j * f, bytes);
      if (j + 1 < length) {
        std::memcpy(out + 2 * f, row + (j + 1) * f, bytes);
      } else {
        std::memset(out + 2 * f, 0, bytes);
      }
    }
  }
}

// d(P) from d(nb) [images * length, 3F]: P[k] collects the gradients of its
// three appearances, at positions k+1 (as P[j-1]), k and k-1 (as P[j+1]).
template <typename T>
void GatherNeighbourGradients(const T* d_nb, int64_t images, int64_t length,
                              int64_t f, T* d_previous) {
  for (int64_t image = 0; image < images; ++image) {
    const T* in = d_nb + image * length * 3 * f;
    T* out = d_previous + image * length * f;
    for (int64_t k = 0; k < length; ++k) {
      T* o = out + k * f;
      const T* middle = in + k * 3 * f + f;
      for (int64_t c = 0; c < f; ++c) o[c] = middle[c];
      if (k + 1 < length) {
        const T* next = in + (k + 1) * 3 * f;
        for (int64_t c = 0; c < f; ++c) o[c] += next[c];
      }
      if (k > 0) {
        const T* before = in + (k - 1) * 3 * f + 2 * f;
        for (int64_t c = 0; c < f; ++c) o[c] += before[c];
      }
    }
  }
}

// Splits the batch into parts, one per thread of the intra-op pool (at most
// one image each), and runs work(part, first, end) for every part.
// How many parts ForEachPart splits a batch into: one per thread. (Four
// per thread, for the pool to balance, measured no faster on 2 cores:
// F = 32 and 200, 32x32, batch 32.)
int64_t PartCount(OpKernelContext* context, int64_t batch) {
  auto* workers = context->device()->tensorflow_cpu_worker_threads();
  const int64_t threads = std::max(1, workers->num_threads);
  return std::max<int64_t>(1, std::min<int64_t>(batch, threads));
}

void ForEachPart(OpKernelContext* context, int64_t batch, int64_t cost_per_image,
                 const std::function<void(int64_t, int64_t, int64_t)>& work) {
  auto* workers = context->device()->tensorflow_cpu_worker_threads();
  const int64_t count = PartCount(context, batch);
  auto part_range = [batch, count](int64_t part, int64_t* first, int64_t* end) {
    *first = batch * part / count;
    *end = batch * (part + 1) / count;
  };
  if (count == 1) {
    work(0, 0, batch);
    return;
  }
  // A cost far above Shard's minimum per shard, so that each part runs as a
  // shard of its own.
  const int64_t cost = std::max<int64_t>(cost_per_image, 1) * (batch / count + 1);
  ::tensorflow::Shard(
      count, workers->workers, count, std::max<int64_t>(cost, 1000000),
      [&](int64_t start, int64_t limit) {
        for (int64_t part = start; part < limit; ++part) {
          int64_t first, end;
          part_range(part, &first, &end);
          work(part, first, end);
        }
      });
}

// Checks the weights against F = features' last dimension.
absl::Status CheckWeights(const Tensor& kernel, const Tensor* bias,
                          const Tensor& recurrent_kernel,
                          const Tensor* recurrent_bias, int64_t f) {
  auto matrix = [f](const Tensor& t, int64_t rows) {
    return t.dims() == 2 && t.dim_size(0) == rows && t.dim_size(1) == 3 * f;
  };
  auto vector = [f](const Tensor* t) {
    return t == nullptr || (t->dims() == 1 && t->dim_size(0) == 3 * f);
  };
  const std::string features = std::to_string(f);
  if (!matrix(kernel, 3 * f)) {
    return absl::InvalidArgumentError(
        "kernel must be [3F, 3F] with F = " + features +
        " (the features' last dimension), got " + kernel.shape().DebugString());
  }
  if (!matrix(recurrent_kernel, f)) {
    return absl::InvalidArgumentError(
        "recurrent_kernel must be [F, 3F] with F = " + features + ", got " +
        recurrent_kernel.shape().DebugString());
  }
  if (!vector(bias) || !vector(recurrent_bias)) {
    return absl::InvalidArgumentError(
        "bias and recurrent_bias must be [3F] with F = " + features);
  }
  return absl::OkStatus();
}

template <typename T>
class CorrectionSweepOp : public OpKernel {
 public:
  explicit CorrectionSweepOp(OpKernelConstruction* context)
      : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("reverse", &reverse_));
    OP_REQUIRES_OK(context,
                   context->GetAttr("correct_first_row", &correct_first_row_));
  }

  void Compute(OpKernelContext* context) override {
    const Tensor& features = context->input(0);
    const Tensor& kernel = context->input(1);
    const Tensor& bias = context->input(2);
    const Tensor& recurrent_kernel = context->input(3);
    const Tensor& recurrent_bias = context->input(4);
    OP_REQUIRES(context, features.dims() == 4,
                absl::InvalidArgumentError(
                    "features must be [steps, batch, length, F], got " +
                    features.shape().DebugString()));
    const Geometry g{features.dim_size(0), features.dim_size(1),
                     features.dim_size(2), features.dim_size(3), reverse_};
    OP_REQUIRES_OK(context, CheckWeights(kernel, &bias, recurrent_kernel,
                                         &recurrent_bias, g.f));
    // Outputs: the corrected rows, then what the backward needs: r, z, n
    // and h_n = I.U_n + c_n.
    T* out[5];
    for (int i = 0; i < 5; ++i) {
      Tensor* t = nullptr;
      OP_REQUIRES_OK(context,
                     context->allocate_output(i, features.shape(), &t));
      out[i] = t->flat<T>().data();
    }
    if (features.NumElements() == 0) return;
    const T* input = features.flat<T>().data();
    const int64_t f = g.f;
    ConstMatrixMap<T> w(kernel.flat<T>().data(), 3 * f, 3 * f);
    ConstMatrixMap<T> u(recurrent_kernel.flat<T>().data(), f, 3 * f);
    Eigen::Map<const RowVector<T>> b(bias.flat<T>().data(), 3 * f);
    Eigen::Map<const RowVector<T>> c(recurrent_bias.flat<T>().data(), 3 * f);
    const RowVector<T> bias_r_row = b.head(f) + c.head(f);
    const RowVector<T> bias_z_row = b.segment(f, f) + c.segment(f, f);
    const T* bias_r = bias_r_row.data();
    const T* bias_z = bias_z_row.data();
    const T* bias_n = b.data() + 2 * f;
    const T* recurrent_bias_n = c.data() + 2 * f;

    auto sweep_part = [&](int64_t, int64_t first, int64_t end) {
      const int64_t m = (end - first) * g.length;  // positions of a row
      std::vector<T> nb(m * 3 * f), x(m * 3 * f), own(m * 3 * f),
          pre(m * 3 * f);
      T* pre_r = pre.data();
      T* pre_z = pre_r + m * f;
      T* pre_n = pre_z + m * f;
      MatrixMap<T> nb_map(nb.data(), m, 3 * f), x_map(x.data(), m, 3 * f),
          own_map(own.data(), m, 3 * f);
      const T* previous = nullptr;
      for (int64_t i = 0; i < g.steps; ++i) {
        const int64_t at = g.Offset(g.Step(i), first);
        ConstMatrixMap<T> values_matrix(input + at, m, f);
        if (i == 0 && !correct_first_row_) {
          // The authors' sweep: the first row keeps I, a GRU step whose
          // update gate is shut (z = 1, r = n = 0), so its gate gradients
          // are zero in the backward.
          MatrixMap<T>(out[0] + at, m, f) = values_matrix;
          MatrixMap<T>(out[1] + at, m, f).setZero();
          MatrixMap<T>(out[2] + at, m, f).setOnes();
          MatrixMap<T>(out[3] + at, m, f).setZero();
          MatrixMap<T>(out[4] + at, m, f).setZero();
          previous = out[0] + at;
          continue;
        }
        // Two GEMMs: one of [nb | I] with W and U side by side in a
        // [4F, 4F] matrix (zeros where n's parts must stay apart) measured
        // 0.9x as fast at F = 32.
        own_map.noalias() = values_matrix * u;
        if (previous == nullptr) {
          x_map.setZero();  // the first row's neighbours are zeros
        } else {
          FillNeighbours(previous, end - first, g.length, f, nb.data());
          x_map.noalias() = nb_map * w;
        }
        // The pre-activations gate by gate, each a contiguous [m * F] array,
        // by plain loops: Eigen evaluates a broadcast (rowwise() + bias)
        // without SIMD, and its sigmoid and tanh with it.
        T* h = out[4] + at;
        for (int64_t p = 0; p < m; ++p) {
          const T* xp = x.data() + p * 3 * f;
          const T* up = own.data() + p * 3 * f;
          T* pr = pre_r + p * f;
          T* pz = pre_z + p * f;
          T* pn = pre_n + p * f;
          T* hp = h + p * f;
          for (int64_t k = 0; k < f; ++k) {
            pr[k] = xp[k] + up[k] + bias_r[k];
            pz[k] = xp[f + k] + up[f + k] + bias_z[k];
            pn[k] = xp[2 * f + k] + bias_n[k];
            hp[k] = up[2 * f + k] + recurrent_bias_n[k];
          }
        }
        const int64_t size = m * f;
        VectorMap<T> r(out[1] + at, size), z(out[2] + at, size),
            n(out[3] + at, size), corrected(out[0] + at, size);
        ConstVectorMap<T> values(input + at, size), h_n(h, size);
        r = VectorMap<T>(pre_r, size).logistic();
        z = VectorMap<T>(pre_z, size).logistic();
        n = (VectorMap<T>(pre_n, size) + r * h_n).tanh();
        corrected = n + z * (values - n);
        previous = out[0] + at;
      }
    };
    ForEachPart(context, g.batch, g.steps * g.length * 15 * f * f, sweep_part);
  }

 private:
  bool reverse_;
  bool correct_first_row_;
};

template <typename T>
class CorrectionSweepGradOp : public OpKernel {
 public:
  explicit CorrectionSweepGradOp(OpKernelConstruction* context)
      : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("reverse", &reverse_));
  }

  void Compute(OpKernelContext* context) override {
    const Tensor& features = context->input(1);
    const Tensor& kernel = context->input(7);
    const Tensor& recurrent_kernel = context->input(8);
    OP_REQUIRES(context, features.dims() == 4,
                absl::InvalidArgumentError(
                    "features must be [steps, batch, length, F], got " +
                    features.shape().DebugString()));
    for (int i : {0, 2, 3, 4, 5, 6}) {
      OP_REQUIRES(context, context->input(i).shape() == features.shape(),
                  absl::InvalidArgumentError(
                      "the sweep's outputs, gates and their gradients must "
                      "have the features' shape " +
                      features.shape().DebugString() + ", input " +
                      std::to_string(i) + " has " +
                      context->input(i).shape().DebugString()));
    }
    const Geometry g{features.dim_size(0), features.dim_size(1),
                     features.dim_size(2), features.dim_size(3), reverse_};
    const int64_t f = g.f;
    OP_REQUIRES_OK(context,
                   CheckWeights(kernel, nullptr, recurrent_kernel, nullptr, f));
    Tensor *d_features, *d_kernel, *d_bias, *d_recurrent_kernel,
        *d_recurrent_bias;
    OP_REQUIRES_OK(context, context->allocate_output(0, features.shape(),
                                                     &d_features));
    OP_REQUIRES_OK(context,
                   context->allocate_output(1, kernel.shape(), &d_kernel));
    OP_REQUIRES_OK(context,
                   context->allocate_output(2, TensorShape({3 * f}), &d_bias));
    OP_REQUIRES_OK(context, context->allocate_output(3, recurrent_kernel.shape(),
                                                     &d_recurrent_kernel));
    OP_REQUIRES_OK(context, context->allocate_output(4, TensorShape({3 * f}),
                                                     &d_recurrent_bias));
    MatrixMap<T> d_w(d_kernel->flat<T>().data(), 3 * f, 3 * f);
    MatrixMap<T> d_u(d_recurrent_kernel->flat<T>().data(), f, 3 * f);
    Eigen::Map<RowVector<T>> d_b(d_bias->flat<T>().data(), 3 * f);
    Eigen::Map<RowVector<T>> d_c(d_recurrent_bias->flat<T>().data(), 3 * f);
    d_w.setZero();
    d_u.setZero();
    d_b.setZero();
    d_c.setZero();
    if (features.NumElements() == 0) return;

    const T* d_outputs = context->input(0).flat<T>().data();
    const T* input = features.flat<T>().data();
    const T* outputs = context->input(2).flat<T>().data();
    const T* reset = context->input(3).flat<T>().data();
    const T* update = context->input(4).flat<T>().data();
    const T* proposal = context->input(5).flat<T>().data();
    const T* recurrent_proposal = context->input(6).flat<T>().data();
    T* d_input = d_features->flat<T>().data();
    ConstMatrixMap<T> w(kernel.flat<T>().data(), 3 * f, 3 * f);
    ConstMatrixMap<T> u(recurrent_kernel.flat<T>().data(), f, 3 * f);

    // Per-part weight gradients, summed in part order at the end.
    const int64_t parts = PartCount(context, g.batch);
    std::vector<Matrix<T>> part_d_w(parts), part_d_u(parts);
    std::vector<RowVector<T>> part_d_b(parts), part_d_c(parts);

    auto sweep_part = [&](int64_t part, int64_t first, int64_t end) {
      const int64_t m = (end - first) * g.length;
      Matrix<T>& dw = part_d_w[part];
      Matrix<T>& du = part_d_u[part];
      RowVector<T>& db = part_d_b[part];
      RowVector<T>& dc = part_d_c[part];
      dw.setZero(3 * f, 3 * f);
      du.setZero(f, 3 * f);
      db.setZero(3 * f);
      dc.setZero(3 * f);
      // gates: d of the neighbour pre-activations (x_r, x_z, x_n); inputs:
      // d of I.U + c, (x_r, x_z, x_n * r).
      Matrix<T> gates(m, 3 * f), inputs(m, 3 * f), nb(m, 3 * f),
          d_nb(m, 3 * f);
      Matrix<T> d_from_next = Matrix<T>::Zero(m, f);
      for (int64_t i = g.steps - 1; i >= 0; --i) {
        const int64_t at = g.Offset(g.Step(i), first);
        ConstMatrixMap<T> d_out(d_outputs + at, m, f), values(input + at, m, f),
            r(reset + at, m, f), z(update + at, m, f), n(proposal + at, m, f),
            h_n(recurrent_proposal + at, m, f);
        MatrixMap<T> d_values(d_input + at, m, f);
        // The chain rule through I' = n + z * (I - n), by plain loops that
        // compile to SIMD; d_values starts with the path through the gate.
        for (int64_t p = 0; p < m; ++p) {
          const int64_t row = p * f;
          T* gp = gates.data() + p * 3 * f;
          T* ip = inputs.data() + p * 3 * f;
          T* dv = d_values.data() + row;
          const T* carried = d_from_next.data() + row;
          for (int64_t k = 0; k < f; ++k) {
            const int64_t e = row + k;
            const T d = d_out.data()[e] + carried[k];  // total dL/dI'
            const T zk = z.data()[e], nk = n.data()[e], rk = r.data()[e];
            const T d_xn = d * (T(1) - zk) * (T(1) - nk * nk);
            const T d_xz = d * (values.data()[e] - nk) * zk * (T(1) - zk);
            const T d_xr = d_xn * h_n.data()[e] * rk * (T(1) - rk);
            gp[k] = d_xr;
            gp[f + k] = d_xz;
            gp[2 * f + k] = d_xn;
            ip[k] = d_xr;
            ip[f + k] = d_xz;
            ip[2 * f + k] = d_xn * rk;
            dv[k] = d * zk;
          }
          T* dbp = db.data();
          T* dcp = dc.data();
          for (int64_t c = 0; c < 3 * f; ++c) {
            dbp[c] += gp[c];
            dcp[c] += ip[c];
          }
        }
        du.noalias() += values.transpose() * inputs;
        d_values.noalias() += inputs * u.transpose();  // through I.U
        if (i > 0) {
          // The previous row (the first row's is zeros: no gradient).
          const T* previous = outputs + g.Offset(g.Step(i - 1), first);
          FillNeighbours(previous, end - first, g.length, f, nb.data());
          dw.noalias() += nb.transpose() * gates;
          d_nb.noalias() = gates * w.transpose();
          GatherNeighbourGradients(d_nb.data(), end - first, g.length, f,
                                   d_from_next.data());
        }
      }
    };
    ForEachPart(context, g.batch, g.steps * g.length * 30 * f * f, sweep_part);
    for (int64_t part = 0; part < parts; ++part) {
      d_w += part_d_w[part];
      d_u += part_d_u[part];
      d_b += part_d_b[part];
      d_c += part_d_c[part];
    }
  }

 private:
  bool reverse_;
};

absl::Status SweepShape(InferenceContext* c) {
  ShapeHandle features;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 4, &features));
  for (int i = 0; i < 5; ++i) c->set_output(i, features);
  return absl::OkStatus();
}

absl::Status SweepGradShape(InferenceContext* c) {
  ShapeHandle features, kernel, recurrent_kernel;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 4, &features));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(7), 2, &kernel));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(8), 2, &recurrent_kernel));
  c->set_output(0, features);
  c->set_output(1, kernel);
  c->set_output(2, c->Vector(c->Dim(kernel, 1)));
  c->set_output(3, recurrent_kernel);
  c->set_output(4, c->Vector(c->Dim(kernel, 1)));
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("SdnCorrectionSweep")
    .Input("features: T")
    .Input("kernel: T")
    .Input("bias: T")
    .Input("recurrent_kernel: T")
    .Input("recurrent_bias: T")
    .Output("outputs: T")
    .Output("reset: T")
    .Output("update: T")
    .Output("proposal: T")
    .Output("recurrent_proposal: T")
    .Attr("T: {float, double}")
    .Attr("reverse: bool = false")
    .Attr("correct_first_row: bool = true")
    .SetShapeFn(SweepShape)
    .Doc(R"doc(
One correction sweep over features [steps, batch, length, F] (see
sdn_tf/layers/correction.py). Returns the corrected rows and, for the
backward, the gates r, z, n and h_n = I.U_n + c_n of every row.
)doc");

REGISTER_OP("SdnCorrectionSweepGrad")
    .Input("d_outputs: T")
    .Input("features: T")
    .Input("outputs: T")
    .Input("reset: T")
    .Input("update: T")
    .Input("proposal: T")
    .Input("recurrent_proposal: T")
    .Input("kernel: T")
    .Input("recurrent_kernel: T")
    .Output("d_features: T")
    .Output("d_kernel: T")
    .Output("d_bias: T")
    .Output("d_recurrent_kernel: T")
    .Output("d_recurrent_bias: T")
    .Attr("T: {float, double}")
    .Attr("reverse: bool = false")
    .SetShapeFn(SweepGradShape)
    .Doc(R"doc(
The backward sweep of SdnCorrectionSweep: gradients of its five inputs from
those of its corrected rows and the forward's outputs.
)doc");

#define REGISTER_SWEEP_KERNELS(T)                                       \
  REGISTER_KERNEL_BUILDER(                                              \
      Name("SdnCorrectionSweep").Device(DEVICE_CPU).TypeConstraint<T>("T"), \
      CorrectionSweepOp<T>);                                            \
  REGISTER_KERNEL_BUILDER(Name("SdnCorrectionSweepGrad")                \
                              .Device(DEVICE_CPU)                       \
                              .TypeConstraint<T>("T"),                  \
                          CorrectionSweepGradOp<T>);

REGISTER_SWEEP_KERNELS(float)
REGISTER_SWEEP_KERNELS(double)

#undef REGISTER_SWEEP_KERNELS

}  // namespace sdn_tf
