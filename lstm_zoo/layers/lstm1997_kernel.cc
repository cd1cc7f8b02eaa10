// Fused CPU kernels of the 1997 cell family (LSTM1997 with the paper's
// activations), loaded by lstm_zoo/layers/fast_kernel.py (compiled on first
// use, never required: the layer falls back to its generic Keras loop, or for
// the default cell to the TensorFlow ops of fast_tf.py, without them).
//
// One op call runs all T steps forward (Lstm1997Fused), one the backward pass
// (Lstm1997FusedBackward). Tensors are batch-major: inputs x (batch, T,
// features), outputs (batch, T, U). The work is cut into tiles of up to kRows
// batch rows with all units: a step of a tile is a small matrix product with
// the weights ([kernel; rk] forward, rk^T backward), packed once per call into
// panels that stream from cache, followed by the cell's elementwise work on
// the tile while it is hot. A tile's steps depend on its own rows only, so the
// tiles are shared among the calling thread and helpers from the intra-op
// thread pool with no barrier between steps.

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
// Thread team: tiles are claimed through a ticket counter.
struct Team {
  Index total = 0;
  std::atomic<Index> ticket{0}, done{0};
  std::function<void(Index)> run_tile;

  void Participate() {
    for (;;) {
      const Index k = ticket.fetch_add(1, std::memory_order_acq_rel);
      if (k >= total) return;
      run_tile(k);
      done.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void WaitAll() const {
    for (int spins = 0; done.load(std::memory_order_acquire) < total; ++spins) {
      if (spins < 4096) {
        Pause();
      } else {
        std::this_thread::yield();
      }
    }
  }
};

// Runs run_tile(tile) for every tile, with up to d.numThreads() - 1 helpers
// when there is enough work.
void RunTiles(const Device& d, Index tiles, double flops, std::function<void(Index)> run_tile) {
  auto team = std::make_shared<Team>();
  team->total = tiles;
  team->run_tile = std::move(run_tile);
  // A helper pays for itself above roughly 0.2 MFLOP.
  const Index helpers = std::min<Index>({static_cast<Index>(d.numThreads()) - 1, tiles - 1,
                                          static_cast<Index>(flops / 2e5)});
  for (Index i = 0; i < helpers; ++i) {
    // The helper holds the team: it may start after the call has returned,
    // and then finds no ticket left.
    d.enqueueNoNotification([team] { team->Participate(); });
  }
  team->Participate();
  team->WaitAll();
}

// ---------------------------------------------------------------------------
template <typename T>
constexpr int PacketSize() {
  return Eigen::internal::unpacket_traits<typename Eigen::internal::packet_traits<T>::type>::size;
}

// Micro-kernel: out[r][c * P + l] = sum_k a[r][k] * panel[k * C * P + c * P + l] for
// r < R (R rows at compile time), where row r of `a` is a[r * lda + k] for
// k < depth followed by a2[r * lda2 + k - depth] for the next depth2 values.
template <typename T, int R, int C>
void MicroKernel(const T* a, Index lda, Index depth, const T* a2, Index lda2, Index depth2,
                 const T* panel, T* out, Index ldo) {
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
    for (int c = 0; c < C; ++c) Eigen::internal::pstoreu(out + r * ldo + c * P, acc[r][c]);
  }
}

// Row r of the result goes to out + r * ldo (default: the rows packed, C * P apart).
template <typename T, int C>
void Product(int rows, const T* a, Index lda, Index depth, const T* a2, Index lda2,
             Index depth2, const T* panel, T* out, Index ldo = 0) {
  if (ldo == 0) ldo = C * PacketSize<T>();
  switch (rows) {
#define CASE(R) \
  case R:       \
    return MicroKernel<T, R, C>(a, lda, depth, a2, lda2, depth2, panel, out, ldo);
    CASE(8) CASE(7) CASE(6) CASE(5) CASE(4) CASE(3) CASE(2)
#undef CASE
    default:
      return MicroKernel<T, 1, C>(a, lda, depth, a2, lda2, depth2, panel, out, ldo);
  }
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
// The whole cell family in one pair of ops (Lstm1997Fused, Lstm1997FusedBackward):
// forget gates, peepholes, blocks of cells, the gates' activations as
// recurrent input, Keras masks and recurrent dropout. fast_tf.py expands the
// cell's weights to one column per cell for every gate (the columns of a
// block's gate repeated; fed-back gate activations weighted 1/S per copy),
// in the order [input | forget? | output? | cell / 2], so each cell has its
// own copy of its block's gates; only the peepholes sum over a block (`block`),
// and the fed-back gate activations are one per block. The copies are equal,
// and the gradient of the expansion sums theirs.
//
//   z(t)    = x(t) @ kernel + bias + [y_c(t-1) * dropout, gates(t-1)] @ rk
//             (gates(t-1): one per block, its first cell's copy)
//   y_in    = sigmoid(z_in + P(p_in * s'(t-1)))        P: sum over the block
//   y_f     = sigmoid(z_f + P(p_f * s'(t-1)))          (forget gate)
//   s'(t)   = y_f * s'(t-1) + y_in * tanh(z_c)         (s' = s / 2)
//   y_out   = sigmoid(z_out + P(p_out * s'(t)))        (output gate)
//   y_c(t)  = y_out * tanh(s'(t))
//
// At a masked step (mask false) the states carry over (y_c(t) = y_c(t-1)).
//
// Stored per step (store = true): acts = [y_in | y_f? | y_out? | tanh(z_c)]
// (at masked steps the carried gate activations), tanh(s'(t)), and, with a
// forget gate or peepholes, s'(t). acts has dz's shape: the backward op
// writes dz over it where TensorFlow lets it (acts' last use), so training
// holds one of the two.
struct Family {
  bool forget = false, output = false, peephole = false;
  // width: columns of z, of dz and of the stored acts. Segments of U columns:
  // input 0, forget 1, output seg_output, cell seg_cell; the peephole rows
  // [input, forget?, output] are numbered as the gate segments.
  Index units = 0, block = 1, gates = 0, width = 0, rec = 0, gate_state = 0;
  Index seg_output = 0, seg_cell = 0;

  tensorflow::Status Init(bool forget_gate, bool output_gate, Index block_size, Index u,
                          Index rk_rows, Index peep_rows, Index gate_state_width) {
    forget = forget_gate;
    output = output_gate;
    units = u;
    block = block_size;
    gates = 1 + forget + output;
    width = (gates + 1) * units;
    rec = rk_rows;
    gate_state = gate_state_width;
    seg_output = 1 + forget;
    seg_cell = gates;
    peephole = peep_rows > 0;
    if (block < 1 || units % block) return InvalidArgument("block must divide the units");
    if (rec != 0 && rec != units && rec != units + gates * (units / block))
      return InvalidArgument("rk must have 0, U or U + gates * U / block rows");
    if (gate_state != (rec > units ? gates * units : 0))
      return InvalidArgument("g0 must be (batch, gates * U) with gates fed back, else (batch, 0)");
    if (peephole && (!output || peep_rows != 2 + forget))
      return InvalidArgument("peep must be (2 + forget_gate, U), and needs the output gate");
    return absl::OkStatus();
  }
};

// out[u] = sum over u's block of p[v] * s[v] (scalar: cheap next to the product).
template <typename T>
void BlockSum(const T* p, const T* s, Index units, Index block, T* out) {
  for (Index b0 = 0; b0 < units; b0 += block) {
    T sum = 0;
    for (Index k = 0; k < block; ++k) sum += p ? p[b0 + k] * s[b0 + k] : s[b0 + k];
    for (Index k = 0; k < block; ++k) out[b0 + k] = sum;
  }
}

// Batch rows of a tile: kRows, fewer when that leaves threads idle.
Index TileRows(const Device& d, Index batch) {
  const Index threads = std::max<Index>(1, d.numThreads());
  return std::max<Index>(1, std::min<Index>(kRows, (batch + threads - 1) / threads));
}

template <typename T>
class Lstm1997FusedOp : public OpKernel {
 public:
  explicit Lstm1997FusedOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("store", &store_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("forget_gate", &forget_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("output_gate", &output_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("block", &block_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& kernel = ctx->input(1);
    const Tensor& bias = ctx->input(2);
    const Tensor& h0 = ctx->input(3);
    const Tensor& s0 = ctx->input(4);
    const Tensor& g0 = ctx->input(5);
    const Tensor& rk = ctx->input(6);
    const Tensor& peep = ctx->input(7);
    const Tensor& mask = ctx->input(8);
    const Tensor& rdmask = ctx->input(9);
    OP_REQUIRES(ctx, x.dims() == 3, InvalidArgument("x must be (batch, T, features)"));
    OP_REQUIRES(ctx, h0.dims() == 2 && g0.dims() == 2 && rk.dims() == 2 && peep.dims() == 2 &&
                         mask.dims() == 2 && rdmask.dims() == 2,
                InvalidArgument("h0, g0, rk, peep, mask and rdmask must be matrices"));
    const Index batch = x.dim_size(0), steps = x.dim_size(1), features = x.dim_size(2);
    const Index units = h0.dim_size(1);
    Family f;
    OP_REQUIRES_OK(ctx, f.Init(forget_, output_, block_, units, rk.dim_size(0),
                               peep.dim_size(0), g0.dim_size(1)));
    OP_REQUIRES(ctx, kernel.shape() == TensorShape({features, f.width}) &&
                         bias.shape() == TensorShape({f.width}) && rk.dim_size(1) == f.width,
                InvalidArgument("kernel, bias and rk must have (gates + 1) * U columns"));
    OP_REQUIRES(ctx, h0.dim_size(0) == batch && s0.shape() == h0.shape() &&
                         g0.dim_size(0) == batch && peep.dim_size(1) == units,
                InvalidArgument("h0, s0, g0 and peep do not match x"));
    OP_REQUIRES(ctx, mask.dim_size(0) == batch && (mask.dim_size(1) == 0 || mask.dim_size(1) == steps),
                InvalidArgument("mask must be (batch, T) or (batch, 0)"));
    OP_REQUIRES(ctx, rdmask.dim_size(0) == batch && (rdmask.dim_size(1) == 0 || rdmask.dim_size(1) == units),
                InvalidArgument("rdmask must be (batch, U) or (batch, 0)"));

    const bool store = store_, keep_s = store_ && (f.forget || f.peephole);
    Tensor *hs, *s_last, *g_last, *acts, *tanh_s, *ss;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({batch, steps, units}), &hs));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({batch, units}), &s_last));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({batch, f.gate_state}), &g_last));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(3, TensorShape({batch, store ? steps : 0, f.width}), &acts));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(4, TensorShape({batch, store ? steps : 0, units}), &tanh_s));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(5, TensorShape({batch, keep_s ? steps : 0, units}), &ss));
    if (batch == 0) return;
    std::copy_n(s0.flat<T>().data(), batch * units, s_last->flat<T>().data());
    std::copy_n(g0.flat<T>().data(), batch * f.gate_state, g_last->flat<T>().data());
    if (steps == 0 || units == 0) return;

    // Panels of C packets of columns; each gate segment padded to whole packets.
    constexpr int P = PacketSize<T>();
    constexpr int C = 3;
    const Index upad = (units + P - 1) / P * P;
    const Index zwidth = ((f.gates + 1) * upad + C * P - 1) / (C * P) * (C * P);
    const Index panels_n = zwidth / (C * P), depth = features + f.rec;
    std::vector<T> panels(panels_n * depth * C * P, T(0));
    for (Index jb = 0; jb < panels_n; ++jb) {
      for (Index k = 0; k < depth; ++k) {
        const T* w = k < features ? kernel.flat<T>().data() + k * f.width
                                  : rk.flat<T>().data() + (k - features) * f.width;
        for (Index l = 0; l < C * P; ++l) {
          const Index col = jb * C * P + l, seg = col / upad, u = col % upad;
          if (seg <= f.gates && u < units) panels[(jb * depth + k) * C * P + l] = w[seg * units + u];
        }
      }
    }

    const T* x_data = x.flat<T>().data();
    const T* b_data = bias.flat<T>().data();
    const T* h0_data = h0.flat<T>().data();
    const T* p_data = peep.flat<T>().data();
    const bool* m_data = mask.dim_size(1) ? mask.flat<bool>().data() : nullptr;
    const T* rd_data = rdmask.dim_size(1) ? rdmask.flat<T>().data() : nullptr;
    T* hs_data = hs->flat<T>().data();
    T* s_data = s_last->flat<T>().data();
    T* g_data = g_last->flat<T>().data();
    T* a_data = store ? acts->flat<T>().data() : nullptr;
    T* ts_data = store ? tanh_s->flat<T>().data() : nullptr;
    T* ss_data = keep_s ? ss->flat<T>().data() : nullptr;
    const Index tile_rows = TileRows(ctx->eigen_device<Device>(), batch);
    const Index tiles = (batch + tile_rows - 1) / tile_rows;

    auto run_tile = [&, P](Index tile) {
      using L = Lanes<T>;
      using Packet = typename L::Packet;
      using namespace Eigen::internal;  // packet functions
      const Index r0 = tile * tile_rows, rows = std::min<Index>(tile_rows, batch - r0);
      const Index rec = f.rec, q = f.gate_state;
      std::vector<T> rbuf(kRows * std::max<Index>(rec, 1)), z(kRows * zwidth);
      std::vector<T> peeps(3 * units);
      for (Index t = 0; t < steps; ++t) {
        // The recurrent input of each row: [y_c(t-1) * dropout, gates(t-1)].
        for (Index r = 0; r < rows && rec; ++r) {
          const Index b = r0 + r;
          const T* h_prev = t == 0 ? h0_data + b * units : hs_data + (b * steps + t - 1) * units;
          T* rb = rbuf.data() + r * rec;
          if (rd_data) {
            for (Index u = 0; u < units; ++u) rb[u] = h_prev[u] * rd_data[b * units + u];
          } else {
            std::copy_n(h_prev, units, rb);
          }
          // One copy of each block's gate activations (the block's first cell's).
          const T* g = g_data + b * q;
          for (Index k = units; k < rec; ++k) rb[k] = g[(k - units) * f.block];
        }
        for (Index jb = 0; jb < panels_n; ++jb) {
          Product<T, C>(static_cast<int>(rows), x_data + (r0 * steps + t) * features,
                        steps * features, features, rbuf.data(), rec, rec,
                        panels.data() + jb * depth * C * P, z.data() + jb * C * P, zwidth);
        }
        for (Index r = 0; r < rows; ++r) {
          const Index b = r0 + r, row = b * steps + t;
          T* s = s_data + b * units;
          T* h = hs_data + row * units;
          T* a = store ? a_data + row * f.width : nullptr;
          T* g = g_data + b * q;
          if (m_data && !m_data[row]) {  // masked: everything carries over
            const T* h_prev = t == 0 ? h0_data + b * units : h - units;
            std::copy_n(h_prev, units, h);
            if (a) {
              std::fill_n(a, f.width, T(0));
              std::copy_n(g, q, a);
              std::fill_n(ts_data + row * units, units, T(0));
            }
            if (ss_data) std::copy_n(s, units, ss_data + row * units);
            continue;
          }
          const T* zr = z.data() + r * zwidth;
          T* ps_in = peeps.data();
          T* ps_f = ps_in + units;
          T* ps_out = ps_f + units;
          // Peepholes: one cell per block inline, packet by packet; else the
          // block sums first.
          const bool block_sums = f.peephole && f.block > 1;
          if (block_sums) {
            BlockSum(p_data, s, units, f.block, ps_in);
            if (f.forget) BlockSum(p_data + units, s, units, f.block, ps_f);
          }
          for (Index j = 0; j < units; j += P) {
            const Index n = std::min<Index>(P, units - j);
            const Packet s_prev = L::Load(s + j, n);
            auto peep = [&](const T* sums, Index row_of_p) {
              return block_sums ? L::Load(sums + j, n)
                                : pmul(L::Load(p_data + row_of_p * units + j, n), s_prev);
            };
            Packet zi = padd(L::Load(zr + j, P), L::Load(b_data + j, n));
            if (f.peephole) zi = padd(zi, peep(ps_in, 0));
            const Packet y_in = L::Sigmoid(zi);
            const Index c = f.seg_cell;
            const Packet tc = L::Tanh(padd(L::Load(zr + c * upad + j, P), L::Load(b_data + c * units + j, n)));
            Packet carried = s_prev;
            if (f.forget) {
              Packet zf = padd(L::Load(zr + upad + j, P), L::Load(b_data + units + j, n));
              if (f.peephole) zf = padd(zf, peep(ps_f, 1));
              const Packet y_f = L::Sigmoid(zf);
              carried = pmul(y_f, carried);
              if (a) L::Store(a + units + j, y_f, n);
              if (q) L::Store(g + units + j, y_f, n);
            }
            L::Store(s + j, pmadd(y_in, tc, carried), n);
            if (a) {
              L::Store(a + j, y_in, n);
              L::Store(a + c * units + j, tc, n);
            }
            if (q) L::Store(g + j, y_in, n);
          }
          if (block_sums) BlockSum(p_data + f.seg_output * units, s, units, f.block, ps_out);
          for (Index j = 0; j < units; j += P) {
            const Index n = std::min<Index>(P, units - j);
            const Packet s_new = L::Load(s + j, n);
            const Packet ts = L::Tanh(s_new);
            Packet out = ts;
            if (f.output) {
              const Index o = f.seg_output;
              Packet zo = padd(L::Load(zr + o * upad + j, P), L::Load(b_data + o * units + j, n));
              if (block_sums) {
                zo = padd(zo, L::Load(ps_out + j, n));
              } else if (f.peephole) {
                zo = pmadd(L::Load(p_data + f.seg_output * units + j, n), s_new, zo);
              }
              const Packet y_out = L::Sigmoid(zo);
              out = pmul(y_out, ts);
              if (a) L::Store(a + o * units + j, y_out, n);
              if (q) L::Store(g + o * units + j, y_out, n);
            }
            L::Store(h + j, out, n);
            if (a) L::Store(ts_data + row * units + j, ts, n);
          }
          if (ss_data) std::copy_n(s, units, ss_data + row * units);
        }
      }
    };
    RunTiles(ctx->eigen_device<Device>(), tiles, 2.0 * batch * steps * depth * f.width, run_tile);
  }

 private:
  bool store_, forget_, output_;
  int block_;
};

// Backpropagation through time from the stored activations:
//   dh(t)    = dh_out(t) + (dz(t+1) @ rk^T)[cells] * dropout   (truncated: dh_out)
//   dg(t)    = (dz(t+1) @ rk^T)[gates]                         (truncated: 0)
//   dz_out   = (dh tanh(s') + dg_out) y_out'
//   ds'     += dh y_out (1 - tanh(s')^2) + p_out P(dz_out)      (no peephole term truncated)
//   dz_c     = ds' y_in (1 - tanh(z_c)^2)
//   dz_in    = (ds' tanh(z_c) + dg_in) y_in'
//   dz_f     = (ds' s'(t-1) + dg_f) y_f'
//   ds'(t-1) = ds' y_f + p_in P(dz_in) + p_f P(dz_f)
// At a masked step dz(t) = 0 and dh, dg, ds' pass on (dh gains dh_out(t)).
// Returns every dz(t) and the errors reaching h0, s'0 and g0.
template <typename T>
class Lstm1997FusedBackwardOp : public OpKernel {
 public:
  explicit Lstm1997FusedBackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ctx->GetAttr("truncated", &truncated_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("forget_gate", &forget_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("output_gate", &output_));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("block", &block_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& dh_out = ctx->input(0);
    const Tensor& ds_last = ctx->input(1);
    const Tensor& dg_last = ctx->input(2);
    const Tensor& acts = ctx->input(3);
    const Tensor& tanh_s = ctx->input(4);
    const Tensor& ss = ctx->input(5);
    const Tensor& s0 = ctx->input(6);
    const Tensor& rk = ctx->input(7);
    const Tensor& peep = ctx->input(8);
    const Tensor& mask = ctx->input(9);
    const Tensor& rdmask = ctx->input(10);
    OP_REQUIRES(ctx, dh_out.dims() == 3 && acts.dims() == 3 && ss.dims() == 3,
                InvalidArgument("dh_out, acts and ss must be (batch, T, .)"));
    OP_REQUIRES(ctx, dg_last.dims() == 2 && rk.dims() == 2 && peep.dims() == 2 &&
                         mask.dims() == 2 && rdmask.dims() == 2,
                InvalidArgument("dg_last, rk, peep, mask and rdmask must be matrices"));
    const Index batch = dh_out.dim_size(0), steps = dh_out.dim_size(1), units = dh_out.dim_size(2);
    Family f;
    OP_REQUIRES_OK(ctx, f.Init(forget_, output_, block_, units, rk.dim_size(0),
                               peep.dim_size(0), dg_last.dim_size(1)));
    const bool need_s = f.forget || f.peephole;
    OP_REQUIRES(ctx, acts.shape() == TensorShape({batch, steps, f.width}) &&
                         tanh_s.shape() == dh_out.shape() && ds_last.shape() == TensorShape({batch, units}) &&
                         s0.shape() == ds_last.shape() && dg_last.dim_size(0) == batch &&
                         rk.dim_size(1) == f.width && peep.dim_size(1) == units &&
                         ss.shape() == TensorShape({batch, need_s ? steps : 0, units}),
                InvalidArgument("stored activations do not match dh_out"));
    OP_REQUIRES(ctx, mask.dim_size(0) == batch && (mask.dim_size(1) == 0 || mask.dim_size(1) == steps),
                InvalidArgument("mask must be (batch, T) or (batch, 0)"));
    OP_REQUIRES(ctx, rdmask.dim_size(0) == batch && (rdmask.dim_size(1) == 0 || rdmask.dim_size(1) == units),
                InvalidArgument("rdmask must be (batch, U) or (batch, 0)"));

    // dz over acts where this is acts' last use: each row's activations are
    // read before its dz is written (see run_tile).
    Tensor *dz, *dh0, *ds0, *dg0;
    OP_REQUIRES_OK(ctx, ctx->forward_input_or_allocate_output(
                            {3}, 0, TensorShape({batch, steps, f.width}), &dz));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({batch, units}), &dh0));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(2, TensorShape({batch, units}), &ds0));
    OP_REQUIRES_OK(ctx, ctx->allocate_output(3, TensorShape({batch, f.gate_state}), &dg0));
    if (batch == 0) return;
    T* ds_data = ds0->flat<T>().data();
    T* dh0_data = dh0->flat<T>().data();
    T* dg0_data = dg0->flat<T>().data();
    std::copy_n(ds_last.flat<T>().data(), batch * units, ds_data);
    std::copy_n(dg_last.flat<T>().data(), batch * f.gate_state, dg0_data);
    std::fill_n(dh0_data, batch * units, T(0));
    if (steps == 0 || units == 0) return;

    // Panels of rk^T: C packets of its rows (the recurrent inputs) by all columns.
    constexpr int P = PacketSize<T>();
    constexpr int C = 2;
    const bool recurrent = !truncated_ && f.rec > 0;
    const Index rpad = (f.rec + C * P - 1) / (C * P) * (C * P), panels_n = rpad / (C * P);
    std::vector<T> panels(recurrent ? panels_n * f.width * C * P : 0, T(0));
    for (Index jb = 0; jb < panels_n && recurrent; ++jb) {
      for (Index k = 0; k < f.width; ++k) {
        for (Index l = 0; l < C * P && jb * C * P + l < f.rec; ++l) {
          panels[(jb * f.width + k) * C * P + l] = rk.flat<T>()((jb * C * P + l) * f.width + k);
        }
      }
    }

    const T* dho = dh_out.flat<T>().data();
    const T* a_data = acts.flat<T>().data();
    const T* ts_data = tanh_s.flat<T>().data();
    const T* ss_data = need_s ? ss.flat<T>().data() : nullptr;
    const T* s0_data = s0.flat<T>().data();
    const T* p_data = peep.flat<T>().data();
    const bool* m_data = mask.dim_size(1) ? mask.flat<bool>().data() : nullptr;
    const T* rd_data = rdmask.dim_size(1) ? rdmask.flat<T>().data() : nullptr;
    T* dz_data = dz->flat<T>().data();
    const Index tile_rows = TileRows(ctx->eigen_device<Device>(), batch);
    const Index tiles = (batch + tile_rows - 1) / tile_rows;
    const bool truncated = truncated_;

    auto run_tile = [&, P](Index tile) {
      using L = Lanes<T>;
      using Packet = typename L::Packet;
      using namespace Eigen::internal;  // packet functions
      const Packet one = pset1<Packet>(T(1));
      const Index r0 = tile * tile_rows, rows = std::min<Index>(tile_rows, batch - r0);
      const Index q = f.gate_state;
      // dh(t) and dg(t) reaching step t from later steps, per row.
      T* dha = dh0_data + r0 * units;
      T* dga = dg0_data + r0 * q;
      std::vector<T> dr(kRows * std::max<Index>(rpad, 1)), sums(units);
      for (Index t = steps - 1; t >= 0; --t) {
        for (Index r = 0; r < rows; ++r) {
          const Index b = r0 + r, row = b * steps + t;
          T* d = dz_data + row * f.width;
          const T* dhr = dho + row * units;
          T* dh_acc = dha + r * units;
          if (m_data && !m_data[row]) {
            for (Index u = 0; u < units; ++u) dh_acc[u] += dhr[u];
            std::fill_n(d, f.width, T(0));
            continue;
          }
          const T* a = a_data + row * f.width;
          const T* dg = dga + r * q;
          T* ds = ds_data + b * units;
          const Index o = f.seg_output, c = f.seg_cell;
          const T* tsr = ts_data + row * units;
          // The peepholes' errors back to the states: one cell per block
          // inline, else through block sums after each pass.
          const bool peep_inline = f.peephole && !truncated && f.block == 1;
          const bool block_sums = f.peephole && !truncated && f.block > 1;
          for (Index j = 0; j < units; j += P) {
            const Index n = std::min<Index>(P, units - j);
            const Packet dh = padd(L::Load(dhr + j, n), L::Load(dh_acc + j, n));
            const Packet ts = L::Load(tsr + j, n);
            const Packet slope = psub(one, pmul(ts, ts));
            Packet k_s = slope;
            Packet ds_new = L::Load(ds + j, n);
            if (f.output) {
              const Packet y_out = L::Load(a + o * units + j, n);
              Packet dy = pmul(dh, ts);
              if (q) dy = padd(dy, L::Load(dg + o * units + j, n));
              const Packet dz_out = pmul(dy, pmul(y_out, psub(one, y_out)));
              L::Store(d + o * units + j, dz_out, n);
              k_s = pmul(y_out, slope);
              if (peep_inline) {
                ds_new = pmadd(L::Load(p_data + f.seg_output * units + j, n), dz_out, ds_new);
              }
            }
            L::Store(ds + j, pmadd(dh, k_s, ds_new), n);
          }
          if (block_sums) {
            BlockSum<T>(nullptr, d + o * units, units, f.block, sums.data());
            for (Index u = 0; u < units; ++u) ds[u] += p_data[f.seg_output * units + u] * sums[u];
          }
          const T* s_prev = need_s ? (t == 0 ? s0_data + b * units : ss_data + (row - 1) * units) : nullptr;
          for (Index j = 0; j < units; j += P) {
            const Index n = std::min<Index>(P, units - j);
            const Packet dsv = L::Load(ds + j, n);
            const Packet y_in = L::Load(a + j, n);
            const Packet tc = L::Load(a + c * units + j, n);
            L::Store(d + c * units + j, pmul(pmul(dsv, y_in), psub(one, pmul(tc, tc))), n);
            Packet dy = pmul(dsv, tc);
            if (q) dy = padd(dy, L::Load(dg + j, n));
            const Packet dz_in = pmul(dy, pmul(y_in, psub(one, y_in)));
            L::Store(d + j, dz_in, n);
            Packet ds_prev = dsv;
            if (f.forget) {
              const Packet y_f = L::Load(a + units + j, n);
              Packet dyf = pmul(dsv, L::Load(s_prev + j, n));
              if (q) dyf = padd(dyf, L::Load(dg + units + j, n));
              const Packet dz_f = pmul(dyf, pmul(y_f, psub(one, y_f)));
              L::Store(d + units + j, dz_f, n);
              ds_prev = pmul(dsv, y_f);
              if (peep_inline) ds_prev = pmadd(L::Load(p_data + units + j, n), dz_f, ds_prev);
            }
            if (peep_inline) ds_prev = pmadd(L::Load(p_data + j, n), dz_in, ds_prev);
            L::Store(ds + j, ds_prev, n);
          }
          if (block_sums) {
            BlockSum<T>(nullptr, d, units, f.block, sums.data());
            for (Index u = 0; u < units; ++u) ds[u] += p_data[u] * sums[u];
            if (f.forget) {
              BlockSum<T>(nullptr, d + units, units, f.block, sums.data());
              for (Index u = 0; u < units; ++u) ds[u] += p_data[units + u] * sums[u];
            }
          }
        }
        // The errors reaching step t - 1 through the recurrent weights.
        if (recurrent) {
          for (Index jb = 0; jb < panels_n; ++jb) {
            Product<T, C>(static_cast<int>(rows), dz_data + (r0 * steps + t) * f.width,
                          steps * f.width, f.width, nullptr, 0, 0,
                          panels.data() + jb * f.width * C * P, dr.data() + jb * C * P, rpad);
          }
        }
        for (Index r = 0; r < rows; ++r) {
          const Index row = (r0 + r) * steps + t;
          if (m_data && !m_data[row]) continue;
          T* dh_acc = dha + r * units;
          T* dg = dga + r * q;
          if (!recurrent) {
            std::fill_n(dh_acc, units, T(0));
            std::fill_n(dg, q, T(0));
            continue;
          }
          const T* drr = dr.data() + r * rpad;
          const T* rd = rd_data ? rd_data + (r0 + r) * units : nullptr;
          for (Index u = 0; u < units; ++u) dh_acc[u] = rd ? drr[u] * rd[u] : drr[u];
          // The error of a block's fed-back gate goes to the copy that was fed back.
          std::fill_n(dg, q, T(0));
          for (Index k = units; k < f.rec; ++k) dg[(k - units) * f.block] = drr[k];
        }
      }
    };
    RunTiles(ctx->eigen_device<Device>(), tiles,
             (recurrent ? 2.0 * f.rec * f.width : 20.0 * units) * batch * steps, run_tile);
  }

 private:
  bool truncated_, forget_, output_;
  int block_;
};

}  // namespace

REGISTER_OP("Lstm1997Fused")
    .Input("x: T")
    .Input("kernel: T")
    .Input("bias: T")
    .Input("h0: T")
    .Input("s0: T")
    .Input("g0: T")
    .Input("rk: T")
    .Input("peep: T")
    .Input("mask: bool")
    .Input("rdmask: T")
    .Output("hs: T")
    .Output("s_last: T")
    .Output("g_last: T")
    .Output("acts: T")
    .Output("tanh_s: T")
    .Output("ss: T")
    .Attr("T: {float, double}")
    .Attr("forget_gate: bool = false")
    .Attr("output_gate: bool = true")
    .Attr("block: int = 1")
    .Attr("store: bool = true")
    .Attr("truncated: bool = false")  // read by the gradient (fast_tf._fused_gradient)
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      using tensorflow::shape_inference::DimensionHandle;
      bool store, forget, output;
      TF_RETURN_IF_ERROR(c->GetAttr("store", &store));
      TF_RETURN_IF_ERROR(c->GetAttr("forget_gate", &forget));
      TF_RETURN_IF_ERROR(c->GetAttr("output_gate", &output));
      const bool peephole = c->Value(c->Dim(c->input(7), 0)) > 0;
      DimensionHandle batch = c->Dim(c->input(0), 0), steps = c->Dim(c->input(0), 1);
      DimensionHandle units = c->Dim(c->input(3), 1), acts;
      TF_RETURN_IF_ERROR(c->Multiply(units, 2 + forget + output, &acts));
      DimensionHandle none = c->MakeDim(0);
      c->set_output(0, c->MakeShape({batch, steps, units}));
      c->set_output(1, c->MakeShape({batch, units}));
      c->set_output(2, c->MakeShape({batch, c->Dim(c->input(5), 1)}));
      c->set_output(3, c->MakeShape({batch, store ? steps : none, acts}));
      c->set_output(4, c->MakeShape({batch, store ? steps : none, units}));
      c->set_output(5, c->MakeShape({batch, store && (forget || peephole) ? steps : none, units}));
      return absl::OkStatus();
    });

REGISTER_OP("Lstm1997FusedBackward")
    .Input("dh_out: T")
    .Input("ds_last: T")
    .Input("dg_last: T")
    .Input("acts: T")
    .Input("tanh_s: T")
    .Input("ss: T")
    .Input("s0: T")
    .Input("rk: T")
    .Input("peep: T")
    .Input("mask: bool")
    .Input("rdmask: T")
    .Output("dz: T")
    .Output("dh0: T")
    .Output("ds0: T")
    .Output("dg0: T")
    .Attr("T: {float, double}")
    .Attr("forget_gate: bool = false")
    .Attr("output_gate: bool = true")
    .Attr("block: int = 1")
    .Attr("truncated: bool = false")
    .SetShapeFn([](tensorflow::shape_inference::InferenceContext* c) {
      using tensorflow::shape_inference::DimensionHandle;
      bool forget, output;
      TF_RETURN_IF_ERROR(c->GetAttr("forget_gate", &forget));
      TF_RETURN_IF_ERROR(c->GetAttr("output_gate", &output));
      DimensionHandle batch = c->Dim(c->input(0), 0), steps = c->Dim(c->input(0), 1);
      DimensionHandle units = c->Dim(c->input(0), 2), width;
      TF_RETURN_IF_ERROR(c->Multiply(units, 2 + forget + output, &width));
      c->set_output(0, c->MakeShape({batch, steps, width}));
      c->set_output(1, c->MakeShape({batch, units}));
      c->set_output(2, c->MakeShape({batch, units}));
      c->set_output(3, c->MakeShape({batch, c->Dim(c->input(2), 1)}));
      return absl::OkStatus();
    });

#define REGISTER(T)                                                                         \
  REGISTER_KERNEL_BUILDER(                                                                  \
      Name("Lstm1997Fused").Device(tensorflow::DEVICE_CPU).TypeConstraint<T>("T"),          \
      Lstm1997FusedOp<T>);                                                                  \
  REGISTER_KERNEL_BUILDER(                                                                  \
      Name("Lstm1997FusedBackward").Device(tensorflow::DEVICE_CPU).TypeConstraint<T>("T"),  \
      Lstm1997FusedBackwardOp<T>);
REGISTER(float)
REGISTER(double)
#undef REGISTER
