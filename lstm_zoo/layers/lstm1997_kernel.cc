// Fused CPU kernels of the default 1997 cell, loaded by
// lstm_zoo/layers/fast_kernel.py (compiled on first use, never required: the
// layer falls back to plain TensorFlow ops without them).
//
// Same arithmetic as the loops of lstm_zoo/layers/fast_tf.py, which they
// replace: the half state s' = s / 2, gate columns [input | output | cell / 2].
// Tensors are batch-major: inputs x (batch, T, features), outputs (batch, T, U).
//
//   z(t)   = x(t) @ kernel + bias + y_c(t-1) @ rk
//   s'(t)  = s'(t-1) + sigmoid(z_in) * tanh(z_c)
//   y_c(t) = sigmoid(z_out) * tanh(s'(t))
//
// One op call runs all T steps. Each step is cut into tiles of R batch rows by
// one packet of units (forward: the input, output and cell columns of those
// units; backward: two packets of units). A tile is a small matrix product
// with the weights ([kernel; rk] forward, rk^T backward), packed once per
// call into panels that stream from cache, followed by the cell's elementwise
// work on the tile while it is hot. Tiles are shared among the calling thread
// and helpers from the intra-op thread pool through a ticket counter; a step
// starts when every tile of the previous one is done.

#define EIGEN_USE_THREADS

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <type_traits>
#include <cmath>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "unsupported/Eigen/CXX11/Tensor"

namespace {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::TensorShape;
using tensorflow::errors::InvalidArgument;
using Device = Eigen::ThreadPoolDevice;
using Index = int64_t;

constexpr int kRows = 8;  // batch rows of a tile

inline void Pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// ---------------------------------------------------------------------------
// Thread team: tickets k = step * tiles + tile are claimed in order; a tile of
// step s runs once all tiles of step s - 1 are done.
struct Team {
  Index tiles = 0, total = 0;
  std::atomic<Index> ticket{0}, done{0}, completed{0};
  std::function<void(Index, Index)> run_tile;

  void Participate() {
    for (;;) {
      const Index k = ticket.fetch_add(1, std::memory_order_acq_rel);
      if (k >= total) return;
      const Index step = k / tiles;
      WaitFor(step);
      run_tile(step, k % tiles);
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == (step + 1) * tiles) {
        completed.store(step + 1, std::memory_order_release);
      }
    }
  }

  void WaitFor(Index steps) const {
    for (int spins = 0; completed.load(std::memory_order_acquire) < steps; ++spins) {
      if (spins < 4096) {
        Pause();
      } else {
        std::this_thread::yield();
      }
    }
  }
};

// Runs run_tile(step, tile) for steps x tiles, in step order, with up to
// d.numThreads() - 1 helpers when there is enough work per step.
void RunSteps(const Device& d, Index steps, Index tiles, double step_flops,
              std::function<void(Index, Index)> run_tile) {
  auto team = std::make_shared<Team>();
  team->tiles = tiles;
  team->total = steps * tiles;
  team->run_tile = std::move(run_tile);
  // A helper pays for itself above roughly 0.2 MFLOP a step.
  const Index helpers = std::min<Index>({static_cast<Index>(d.numThreads()) - 1, tiles - 1,
                                          static_cast<Index>(step_flops / 2e5)});
  for (Index i = 0; i < helpers; ++i) {
    // The helper holds the team: it may start after the call has returned,
    // and then finds no ticket left.
    d.enqueueNoNotification([team] { team->Participate(); });
  }
  team->Participate();
  team->WaitFor(steps);
}

// ---------------------------------------------------------------------------
// Micro-kernel: out[r][c * P + l] = sum_k a[r][k] * panel[k * C * P + c * P + l] for
// r < R (R rows at compile time), where row r of `a` is a[r * lda + k] for
// k < depth followed by a2[r * lda2 + k - depth] for the next depth2 values.
template <typename T, int R, int C>
void MicroKernel(const T* a, Index lda, Index depth, const T* a2, Index lda2, Index depth2,
                 const T* panel, T* out) {
  using Packet = typename Eigen::internal::packet_traits<T>::type;
  constexpr int P = Eigen::internal::unpacket_traits<Packet>::size;
  Packet acc[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = Eigen::internal::pset1<Packet>(T(0));
  }
  for (int segment = 0; segment < 2; ++segment) {
    const T* rows = segment == 0 ? a : a2;
    const Index stride = segment == 0 ? lda : lda2;
    const Index n = segment == 0 ? depth : depth2;
    for (Index k = 0; k < n; ++k, panel += C * P) {
      Packet w[C];
      for (int c = 0; c < C; ++c) w[c] = Eigen::internal::ploadu<Packet>(panel + c * P);
      for (int r = 0; r < R; ++r) {
        const Packet x = Eigen::internal::pset1<Packet>(rows[r * stride + k]);
        for (int c = 0; c < C; ++c) acc[r][c] = Eigen::internal::pmadd(x, w[c], acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) Eigen::internal::pstoreu(out + (r * C + c) * P, acc[r][c]);
  }
}

template <typename T, int C>
void Product(int rows, const T* a, Index lda, Index depth, const T* a2, Index lda2,
             Index depth2, const T* panel, T* out) {
  switch (rows) {
#define CASE(R) \
  case R:       \
    return MicroKernel<T, R, C>(a, lda, depth, a2, lda2, depth2, panel, out);
    CASE(8) CASE(7) CASE(6) CASE(5) CASE(4) CASE(3) CASE(2)
#undef CASE
    default:
      return MicroKernel<T, 1, C>(a, lda, depth, a2, lda2, depth2, panel, out);
  }
}

template <typename T>
constexpr int PacketSize() {
  return Eigen::internal::unpacket_traits<typename Eigen::internal::packet_traits<T>::type>::size;
}

// One packet of n <= P values: loads zero-fill and stores skip the lanes past n.
template <typename T>
struct Lanes {
  using Packet = typename Eigen::internal::packet_traits<T>::type;
  static constexpr int P = PacketSize<T>();

  static Packet Load(const T* p, Index n) {
    if (n == P) return Eigen::internal::ploadu<Packet>(p);
    alignas(64) T tmp[P] = {};
    std::copy_n(p, n, tmp);
    return Eigen::internal::pload<Packet>(tmp);
  }
  static void Store(T* p, const Packet& v, Index n) {
    if (n == P) return Eigen::internal::pstoreu(p, v);
    alignas(64) T tmp[P];
    Eigen::internal::pstore(tmp, v);
    std::copy_n(tmp, n, p);
  }
  static Packet Sigmoid(const Packet& x) {
    if constexpr (std::is_same_v<T, float>) {
      return Eigen::internal::scalar_logistic_op<float>().packetOp(x);
    } else {
      return Apply(x, [](T v) { return T(1) / (T(1) + std::exp(-v)); });
    }
  }
  static Packet Tanh(const Packet& x) {
    if constexpr (std::is_same_v<T, float>) {
      return Eigen::internal::ptanh(x);
    } else {
      return Apply(x, [](T v) { return std::tanh(v); });
    }
  }
  template <typename Fn>
  static Packet Apply(const Packet& x, Fn fn) {  // lane by lane (double: tests only)
    alignas(64) T tmp[P];
    Eigen::internal::pstore(tmp, x);
    for (int l = 0; l < P; ++l) tmp[l] = fn(tmp[l]);
    return Eigen::internal::pload<Packet>(tmp);
  }
};

// ---------------------------------------------------------------------------
template <typename T>
class Lstm1997ForwardOp : public OpKernel {
 public:
  explicit Lstm1997ForwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("store", &store_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& kernel = ctx->input(1);
    const Tensor& bias = ctx->input(2);
    const Tensor& h0 = ctx->input(3);
    const Tensor& s0 = ctx->input(4);
    const Tensor& rk = ctx->input(5);
    OP_REQUIRES(ctx, x.dims() == 3, InvalidArgument("x must be (batch, T, features)"));
    const Index batch = x.dim_size(0), steps = x.dim_size(1), features = x.dim_size(2);
    OP_REQUIRES(ctx, rk.dims() == 2 && rk.dim_size(1) == 3 * rk.dim_size(0),
                InvalidArgument("rk must be (U, 3U)"));
    const Index units = rk.dim_size(0), width = 3 * units;
    OP_REQUIRES(ctx, kernel.shape() == TensorShape({features, width}),
                InvalidArgument("kernel must be (features, 3U)"));
    OP_REQUIRES(ctx, bias.shape() == TensorShape({width}), InvalidArgument("bias must be (3U,)"));
    OP_REQUIRES(ctx, h0.shape() == TensorShape({batch, units}) && s0.shape() == h0.shape(),
                InvalidArgument("h0 and s0 must be (batch, U)"));

    Tensor *hs, *s_last, *gates, *tanh_c, *tanh_s;
    const Index stored = store_ ? steps : 0;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({batch, steps, units}), &hs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({batch, units}), &s_last));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({batch, stored, 2 * units}), &gates));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(3, TensorShape({batch, stored, units}), &tanh_c));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(4, TensorShape({batch, stored, units}), &tanh_s));
    if (batch == 0 || units == 0) return;
    std::copy_n(s0.flat<T>().data(), batch * units, s_last->flat<T>().data());
    if (steps == 0) return;

    // Panels of P units: for each row k of [kernel; rk], the input, output and
    // cell columns of those units.
    constexpr int P = PacketSize<T>();
    const Index blocks = (units + P - 1) / P, depth = features + units;
    std::vector<T> panels(blocks * depth * 3 * P, T(0));
    for (Index jb = 0; jb < blocks; ++jb) {
      for (Index k = 0; k < depth; ++k) {
        const T* w = k < features ? kernel.flat<T>().data() + k * width
                                  : rk.flat<T>().data() + (k - features) * width;
        for (int g = 0; g < 3; ++g) {
          for (Index l = 0; l < P && jb * P + l < units; ++l) {
            panels[((jb * depth + k) * 3 + g) * P + l] = w[g * units + jb * P + l];
          }
        }
      }
    }

    const T* x_data = x.flat<T>().data();
    const T* b_data = bias.flat<T>().data();
    const T* h0_data = h0.flat<T>().data();
    T* hs_data = hs->flat<T>().data();
    T* s_data = s_last->flat<T>().data();
    T* g_data = store_ ? gates->flat<T>().data() : nullptr;
    T* c_data = store_ ? tanh_c->flat<T>().data() : nullptr;
    T* u_data = store_ ? tanh_s->flat<T>().data() : nullptr;
    const bool store = store_;
    const Index row_blocks = (batch + kRows - 1) / kRows;

    auto run_tile = [&, P](Index t, Index tile) {
      const Index rb = tile / blocks, jb = tile % blocks;
      const Index r0 = rb * kRows, rows = std::min<Index>(kRows, batch - r0);
      const Index j0 = jb * P, n = std::min<Index>(P, units - j0);
      // [x(t), y_c(t - 1)] of the tile's rows; y_c(-1) = h0.
      const T* h_prev = t == 0 ? h0_data + r0 * units : hs_data + (r0 * steps + t - 1) * units;
      alignas(64) T z[kRows * 3 * P];
      Product<T, 3>(static_cast<int>(rows), x_data + (r0 * steps + t) * features,
                    steps * features, features, h_prev, t == 0 ? units : steps * units, units,
                    panels.data() + jb * depth * 3 * P, z);
      using L = Lanes<T>;
      using namespace Eigen::internal;  // packet functions
      const auto b_in = L::Load(b_data + j0, n), b_out = L::Load(b_data + units + j0, n);
      const auto b_c = L::Load(b_data + 2 * units + j0, n);
      for (Index r = 0; r < rows; ++r) {
        const Index row = (r0 + r) * steps + t;  // row of the (batch * T) outputs
        const T* zr = z + r * 3 * P;
        const auto y_in = L::Sigmoid(padd(pload<typename L::Packet>(zr), b_in));
        const auto y_out = L::Sigmoid(padd(pload<typename L::Packet>(zr + P), b_out));
        const auto tc = L::Tanh(padd(pload<typename L::Packet>(zr + 2 * P), b_c));
        if (t + 1 < steps) {  // the rows are T steps apart in memory: fetch step t + 1 early
          const Index after = row + 1;
          __builtin_prefetch(hs_data + after * units + j0, 1);
          if (store) {
            __builtin_prefetch(g_data + after * 2 * units + j0, 1);
            __builtin_prefetch(g_data + after * 2 * units + units + j0, 1);
            __builtin_prefetch(c_data + after * units + j0, 1);
            __builtin_prefetch(u_data + after * units + j0, 1);
          }
        }
        T* s_ptr = s_data + (r0 + r) * units + j0;
        const auto s = pmadd(y_in, tc, L::Load(s_ptr, n));
        const auto ts = L::Tanh(s);
        L::Store(s_ptr, s, n);
        L::Store(hs_data + row * units + j0, pmul(y_out, ts), n);
        if (store) {
          L::Store(g_data + row * 2 * units + j0, y_in, n);
          L::Store(g_data + row * 2 * units + units + j0, y_out, n);
          L::Store(c_data + row * units + j0, tc, n);
          L::Store(u_data + row * units + j0, ts, n);
        }
      }
    };
    RunSteps(ctx->eigen_device<Device>(), steps, row_blocks * blocks,
             2.0 * batch * depth * width, run_tile);
  }

 private:
  bool store_;
};

// Backpropagation through time from the stored activations (all tensors
// batch-major, like the forward op's):
//   dh(t)  = dh_out(t) + dz(t+1) @ rk^T     (truncated: dh_out(t) only)
//   ds'(t) = ds'(t+1) + dh(t) * y_out * (1 - tanh(s')^2)
//   dz(t)  = [ds' tanh(z_c) y_in', dh tanh(s') y_out', ds' y_in (1 - tanh(z_c)^2)]
// (y' = y (1 - y)). Returns every dz(t), and dh, ds' before the first step
// (dh0 = dz(0) @ rk^T; 0 when truncated).
template <typename T>
class Lstm1997BackwardOp : public OpKernel {
 public:
  explicit Lstm1997BackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("truncated", &truncated_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& dh_out = ctx->input(0);
    const Tensor& ds_last = ctx->input(1);
    const Tensor& gates = ctx->input(2);
    const Tensor& tanh_c = ctx->input(3);
    const Tensor& tanh_s = ctx->input(4);
    const Tensor& rk = ctx->input(5);
    OP_REQUIRES(ctx, dh_out.dims() == 3, InvalidArgument("dh_out must be (batch, T, U)"));
    const Index batch = dh_out.dim_size(0), steps = dh_out.dim_size(1);
    const Index units = dh_out.dim_size(2), width = 3 * units;
    OP_REQUIRES(ctx, rk.shape() == TensorShape({units, width}),
                InvalidArgument("rk must be (U, 3U)"));
    OP_REQUIRES(ctx, gates.shape() == TensorShape({batch, steps, 2 * units}) &&
                         tanh_c.shape() == dh_out.shape() && tanh_s.shape() == dh_out.shape() &&
                         ds_last.shape() == TensorShape({batch, units}),
                InvalidArgument("stored activations do not match dh_out"));

    Tensor *dz, *dh0, *ds0;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({batch, steps, width}), &dz));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({batch, units}), &dh0));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({batch, units}), &ds0));
    if (batch == 0 || units == 0) return;
    T* ds_data = ds0->flat<T>().data();
    T* dh0_data = dh0->flat<T>().data();
    std::copy_n(ds_last.flat<T>().data(), batch * units, ds_data);
    if (steps == 0) {
      std::fill_n(dh0_data, batch * units, T(0));
      return;
    }

    // Panels of 2P units of rk^T: for each k < 3U, rk[unit, k] of those units.
    constexpr int P = PacketSize<T>();
    constexpr int C = 2;
    const Index blocks = (units + C * P - 1) / (C * P);
    std::vector<T> panels(blocks * width * C * P, T(0));
    const T* w = rk.flat<T>().data();
    for (Index jb = 0; jb < blocks; ++jb) {
      for (Index k = 0; k < width; ++k) {
        for (Index l = 0; l < C * P && jb * C * P + l < units; ++l) {
          panels[(jb * width + k) * C * P + l] = w[(jb * C * P + l) * width + k];
        }
      }
    }

    const T* dho = dh_out.flat<T>().data();
    const T* g_data = gates.flat<T>().data();
    const T* c_data = tanh_c.flat<T>().data();
    const T* u_data = tanh_s.flat<T>().data();
    T* dz_data = dz->flat<T>().data();
    const Index row_blocks = (batch + kRows - 1) / kRows;

    // Step i = 0..T: time t = T - 1 - i; step T only computes dh0. With the
    // truncated gradient no error flows through rk: dh(t) = dh_out(t), dh0 = 0.
    const bool truncated = truncated_;
    auto run_tile = [&, P](Index i, Index tile) {
      const Index t = steps - 1 - i;
      const Index rb = tile / blocks, jb = tile % blocks;
      const Index r0 = rb * kRows, rows = std::min<Index>(kRows, batch - r0);
      const Index j0 = jb * C * P, n = std::min<Index>(C * P, units - j0);
      alignas(64) T acc[kRows * C * P];
      if (i == 0 || truncated) {
        std::fill_n(acc, kRows * C * P, T(0));
      } else {
        Product<T, C>(static_cast<int>(rows), dz_data + (r0 * steps + t + 1) * width,
                      steps * width, width, nullptr, 0, 0, panels.data() + jb * width * C * P,
                      acc);
      }
      using L = Lanes<T>;
      using Packet = typename L::Packet;
      using namespace Eigen::internal;  // packet functions
      const Packet one = pset1<Packet>(T(1));
      for (Index r = 0; r < rows; ++r) {
        for (int c = 0; c < C; ++c) {
          const Index j = j0 + c * P, m = std::min<Index>(P, units - j);
          if (m <= 0) break;
          Packet dh = pload<Packet>(acc + (r * C + c) * P);
          if (t < 0) {
            L::Store(dh0_data + (r0 + r) * units + j, dh, m);
            continue;
          }
          const Index row = (r0 + r) * steps + t;
          if (t > 0) {  // the rows are T steps apart in memory: fetch step t - 1 early
            const Index before = row - 1;
            __builtin_prefetch(g_data + before * 2 * units + j);
            __builtin_prefetch(g_data + before * 2 * units + units + j);
            __builtin_prefetch(c_data + before * units + j);
            __builtin_prefetch(u_data + before * units + j);
            __builtin_prefetch(dho + before * units + j);
            __builtin_prefetch(dz_data + before * width + j, 1);
            __builtin_prefetch(dz_data + before * width + units + j, 1);
            __builtin_prefetch(dz_data + before * width + 2 * units + j, 1);
          }
          const Packet y_in = L::Load(g_data + row * 2 * units + j, m);
          const Packet y_out = L::Load(g_data + row * 2 * units + units + j, m);
          const Packet tc = L::Load(c_data + row * units + j, m);
          const Packet ts = L::Load(u_data + row * units + j, m);
          dh = padd(dh, L::Load(dho + row * units + j, m));
          T* ds_ptr = ds_data + (r0 + r) * units + j;
          const Packet ds = pmadd(pmul(dh, y_out), psub(one, pmul(ts, ts)), L::Load(ds_ptr, m));
          L::Store(ds_ptr, ds, m);
          T* d = dz_data + row * width + j;
          L::Store(d, pmul(pmul(ds, tc), pmul(y_in, psub(one, y_in))), m);
          L::Store(d + units, pmul(pmul(dh, ts), pmul(y_out, psub(one, y_out))), m);
          L::Store(d + 2 * units, pmul(pmul(ds, y_in), psub(one, pmul(tc, tc))), m);
        }
      }
    };
    if (truncated) {
      // No error crosses between rows or units: each tile runs all its steps,
      // with no barrier between them.
      RunSteps(ctx->eigen_device<Device>(), 1, row_blocks * blocks, 16.0 * batch * units * steps,
               [&](Index, Index tile) {
                 for (Index i = 0; i <= steps; ++i) run_tile(i, tile);
               });
    } else {
      RunSteps(ctx->eigen_device<Device>(), steps + 1, row_blocks * blocks,
               2.0 * batch * units * width, run_tile);
    }
  }

 private:
  bool truncated_;
};

}  // namespace

REGISTER_OP("Lstm1997Forward")
    .Input("x: T")
    .Input("kernel: T")
    .Input("bias: T")
    .Input("h0: T")
    .Input("s0: T")
    .Input("rk: T")
    .Output("hs: T")
    .Output("s_last: T")
    .Output("gates: T")
    .Output("tanh_c: T")
    .Output("tanh_s: T")
    .Attr("T: {float, double}")
    .Attr("store: bool = true")
    .Attr("truncated: bool = false")  // read by the gradient (fast_tf._kernel_gradient)
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      using tensorflow::shape_inference::DimensionHandle;
      bool store;
      TF_RETURN_IF_ERROR(c->GetAttr("store", &store));
      DimensionHandle batch = c->Dim(c->input(0), 0), steps = c->Dim(c->input(0), 1);
      DimensionHandle units = c->Dim(c->input(5), 0), two_units;
      TF_RETURN_IF_ERROR(c->Multiply(units, 2, &two_units));
      DimensionHandle stored = store ? steps : c->MakeDim(0);
      c->set_output(0, c->MakeShape({batch, steps, units}));
      c->set_output(1, c->MakeShape({batch, units}));
      c->set_output(2, c->MakeShape({batch, stored, two_units}));
      c->set_output(3, c->MakeShape({batch, stored, units}));
      c->set_output(4, c->MakeShape({batch, stored, units}));
      return absl::OkStatus();
    });

REGISTER_OP("Lstm1997Backward")
    .Input("dh_out: T")
    .Input("ds_last: T")
    .Input("gates: T")
    .Input("tanh_c: T")
    .Input("tanh_s: T")
    .Input("rk: T")
    .Output("dz: T")
    .Output("dh0: T")
    .Output("ds0: T")
    .Attr("T: {float, double}")
    .Attr("truncated: bool = false")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      using tensorflow::shape_inference::DimensionHandle;
      DimensionHandle batch = c->Dim(c->input(0), 0), steps = c->Dim(c->input(0), 1);
      DimensionHandle units = c->Dim(c->input(0), 2), width;
      TF_RETURN_IF_ERROR(c->Multiply(units, 3, &width));
      c->set_output(0, c->MakeShape({batch, steps, width}));
      c->set_output(1, c->MakeShape({batch, units}));
      c->set_output(2, c->MakeShape({batch, units}));
      return absl::OkStatus();
    });

#define REGISTER(T)                                                                   \
  REGISTER_KERNEL_BUILDER(                                                            \
      Name("Lstm1997Forward").Device(tensorflow::DEVICE_CPU).TypeConstraint<T>("T"),  \
      Lstm1997ForwardOp<T>);                                                          \
  REGISTER_KERNEL_BUILDER(                                                            \
      Name("Lstm1997Backward").Device(tensorflow::DEVICE_CPU).TypeConstraint<T>("T"), \
      Lstm1997BackwardOp<T>);
REGISTER(float)
REGISTER(double)
#undef REGISTER
