// cuDNN convolutions for kernels/cuda/conv.cuh, through the v7-style API cuDNN 9 still ships (it runs on the
// same engines as the graph API): one algorithm per (device, dtype, direction, settings, shape), cached.
#include "kernels/cuda/conv.cuh"

#if ASYNDGAN_HAS_CUDNN
#include <climits>
#include <map>
#include <mutex>
#include <optional>
#include <vector>
#include "base/cuda_runtime.h"
#include "kernels/cuda/conv_algo.h"
#include "kernels/cuda/handles.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/scratch.h"

namespace asyndgan::kern::cuda {
namespace {

const char* direction_name(ConvDirection dir) {
  switch (dir) {
    case ConvDirection::forward: return "forward";
    case ConvDirection::backward_data: return "backward-data";
    default: return "backward-weight";
  }
}

std::string shape_text(DType dt, const ConvShape& s) {
  return msg(dtype_name(dt), " x [", s.n, ", ", s.c_in, ", ", s.h, ", ", s.w, "] w [", s.c_out, ", ", s.c_in, ", ",
             s.kh, ", ", s.kw, "] y [", s.n, ", ", s.c_out, ", ", s.oh, ", ", s.ow, "] stride ", s.stride_h, "x",
             s.stride_w, " pad ", s.pad_h, "x", s.pad_w, s.layout == ConvLayout::nhwc ? " (NHWC)" : "");
}

std::string describe(DType dt, ConvDirection dir, const ConvShape& s) {
  return msg("conv2d ", direction_name(dir), " ", shape_text(dt, s));
}

cudnnDataType_t data_type(DType dt) {
  switch (dt) {
    case DType::f32: return CUDNN_DATA_FLOAT;
    case DType::f64: return CUDNN_DATA_DOUBLE;
    case DType::bf16: return CUDNN_DATA_BFLOAT16;
    default: throw DTypeError(msg("conv2d: cuDNN kernels exist for f32, f64 and bf16, got ", dtype_name(dt)));
  }
}

// The math type the search starts from. f32 without TF32 asks for FMA-only kernels (CUDNN_DEFAULT_MATH lets
// cuDNN round f32 inputs to TF32 on Ampere and later); bf16 needs tensor cores to be fast.
cudnnMathType_t requested_math(DType dt, const ConvMath& m) {
  if (dt == DType::bf16) return CUDNN_TENSOR_OP_MATH;
  if (dt == DType::f32 && !m.allow_tf32) return CUDNN_FMA_MATH;
  return CUDNN_DEFAULT_MATH;
}

// The legacy API describes tensors with int sizes and strides: every extent must fit.
int to_int(DType dt, const ConvShape& s, int64_t v) {
  if (v < 0 || v > INT_MAX)
    throw ValueError(msg("conv2d ", shape_text(dt, s), ": ", v, " does not fit cuDNN's 32-bit sizes; split the batch"));
  return static_cast<int>(v);
}

// Descriptors are set per call and destroyed after: that is host-only work of a few microseconds, less than
// launching the convolution, while caching them would need an owner per thread (they are not safe to share
// while a call sets the math type) and an eviction rule.
//
// Layout: the engine's tensors are NCHW. cuDNN's bf16 tensor-core kernels are usually fastest in channels-last
// (NHWC), where NCHW operands may cost them internal transposes. ConvShape::layout describes NHWC buffers
// (cuDNN's NHWC tensors and KRSC filters) so that bench/cuda_kernels_bench can measure both layouts on the
// step's shapes; using NHWC in training needs a memory-format flag on Tensor so that the norm, pad and concat
// kernels agree on the layout, and is worth it only where that measurement shows a gain.
class Descriptors {
  struct Owned {
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    Owned() {
      CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
      CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
      CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
      CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    }
    ~Owned() {
      if (conv) cudnnDestroyConvolutionDescriptor(conv);
      if (w) cudnnDestroyFilterDescriptor(w);
      if (y) cudnnDestroyTensorDescriptor(y);
      if (x) cudnnDestroyTensorDescriptor(x);
    }
  };
  Owned d_;

 public:
  Descriptors(DType dt, const ConvShape& s) {
    const cudnnDataType_t data = data_type(dt);
    const int64_t x_numel = s.n * s.c_in * s.h * s.w, y_numel = s.n * s.c_out * s.oh * s.ow;
    to_int(dt, s, x_numel);
    to_int(dt, s, y_numel);
    to_int(dt, s, s.c_out * s.c_in * s.kh * s.kw);
    // The extents are given in (n, c, h, w) order for either format; the format says how memory is ordered.
    const cudnnTensorFormat_t format = s.layout == ConvLayout::nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(d_.x, format, data, to_int(dt, s, s.n), to_int(dt, s, s.c_in),
                                           to_int(dt, s, s.h), to_int(dt, s, s.w)));
    CUDNN_CHECK(cudnnSetTensor4dDescriptor(d_.y, format, data, to_int(dt, s, s.n), to_int(dt, s, s.c_out),
                                           to_int(dt, s, s.oh), to_int(dt, s, s.ow)));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(d_.w, data, format, to_int(dt, s, s.c_out), to_int(dt, s, s.c_in),
                                           to_int(dt, s, s.kh), to_int(dt, s, s.kw)));
    // Cross-correlation, as PyTorch and the CPU path compute; bf16 accumulates in f32.
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d_.conv, to_int(dt, s, s.pad_h), to_int(dt, s, s.pad_w),
                                                to_int(dt, s, s.stride_h), to_int(dt, s, s.stride_w), 1, 1,
                                                CUDNN_CROSS_CORRELATION,
                                                dt == DType::f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT));
    // The caller's output extents must be the ones cuDNN derives (for conv_transpose2d, the image it passes
    // already includes output_padding, which the floor in this formula absorbs).
    int n = 0, c = 0, h = 0, w = 0;
    CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(d_.conv, d_.x, d_.w, &n, &c, &h, &w));
    if (n != s.n || c != s.c_out || h != s.oh || w != s.ow)
      throw ShapeError(msg("conv2d ", shape_text(dt, s), ": cuDNN derives an output of [", n, ", ", c,
                           ", ", h, ", ", w, "]"));
  }
  cudnnTensorDescriptor_t x() const { return d_.x; }
  cudnnTensorDescriptor_t y() const { return d_.y; }
  cudnnFilterDescriptor_t w() const { return d_.w; }
  cudnnConvolutionDescriptor_t conv() const { return d_.conv; }
};

struct Choice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace = 0;
};

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}
std::map<ConvAlgoKey, Choice>& cache() {
  static std::map<ConvAlgoKey, Choice> c;
  return c;
}

template <class Perf>
std::vector<ConvAlgoCandidate> candidates(const std::vector<Perf>& perf, int count) {
  std::vector<ConvAlgoCandidate> out;
  for (int i = 0; i < count; ++i)
    out.push_back({static_cast<int>(perf[i].algo), perf[i].status == CUDNN_STATUS_SUCCESS, perf[i].memory,
                   perf[i].determinism == CUDNN_DETERMINISTIC, static_cast<int>(perf[i].mathType)});
  return out;
}

// The three operands in each direction's order: forward (x, w -> y), backward-data (dy, w -> dx),
// backward-weight (x, dy -> dw).
struct Operands {
  const void* a;
  const void* b;
  void* out;
};

// cuDNN's own timing of every algorithm on these very buffers (it overwrites the output, which the caller is
// about to assign anyway), fastest first. Synchronizes the device: done once per key.
std::vector<ConvAlgoCandidate> find(cudnnHandle_t h, ConvDirection dir, const Descriptors& d, const Operands& o,
                                    const Scratch& ws) {
  int max = 0, got = 0;
  switch (dir) {
    case ConvDirection::forward: {
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(max);
      CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(h, d.x(), o.a, d.w(), o.b, d.conv(), d.y(), o.out, max,
                                                         &got, perf.data(), ws.ptr, ws.bytes));
      return candidates(perf, got);
    }
    case ConvDirection::backward_data: {
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(max);
      CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w(), o.b, d.y(), o.a, d.conv(), d.x(), o.out,
                                                              max, &got, perf.data(), ws.ptr, ws.bytes));
      return candidates(perf, got);
    }
    default: {
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(max);
      CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x(), o.a, d.y(), o.b, d.conv(), d.w(), o.out,
                                                                max, &got, perf.data(), ws.ptr, ws.bytes));
      return candidates(perf, got);
    }
  }
}

// Workspace an algorithm needs with a math type; SIZE_MAX where cuDNN cannot run it (never picked).
size_t workspace_size(cudnnHandle_t h, ConvDirection dir, const Descriptors& d, int algo, cudnnMathType_t math) {
  CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv(), math));
  size_t bytes = 0;
  cudnnStatus_t st;
  switch (dir) {
    case ConvDirection::forward:
      st = cudnnGetConvolutionForwardWorkspaceSize(h, d.x(), d.w(), d.conv(), d.y(),
                                                   static_cast<cudnnConvolutionFwdAlgo_t>(algo), &bytes);
      break;
    case ConvDirection::backward_data:
      st = cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w(), d.y(), d.conv(), d.x(),
                                                        static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), &bytes);
      break;
    default:
      st = cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x(), d.y(), d.conv(), d.w(),
                                                          static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), &bytes);
  }
  return st == CUDNN_STATUS_SUCCESS ? bytes : SIZE_MAX;
}

// cuDNN's heuristic ranking, with each candidate's workspace asked for explicitly. No timing, so the choice
// is the same on every run with the same card and cuDNN: what deterministic mode needs.
std::vector<ConvAlgoCandidate> heuristics(cudnnHandle_t h, ConvDirection dir, const Descriptors& d) {
  int max = 0, got = 0;
  std::vector<ConvAlgoCandidate> out;
  switch (dir) {
    case ConvDirection::forward: {
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(max);
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x(), d.w(), d.conv(), d.y(), max, &got, perf.data()));
      out = candidates(perf, got);
      break;
    }
    case ConvDirection::backward_data: {
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(max);
      CUDNN_CHECK(
          cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w(), d.y(), d.conv(), d.x(), max, &got, perf.data()));
      out = candidates(perf, got);
      break;
    }
    default: {
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max));
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(max);
      CUDNN_CHECK(
          cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x(), d.y(), d.conv(), d.w(), max, &got, perf.data()));
      out = candidates(perf, got);
    }
  }
  for (ConvAlgoCandidate& c : out)
    if (c.ok) c.workspace = workspace_size(h, dir, d, c.algo, static_cast<cudnnMathType_t>(c.math_type));
  return out;
}

// The cached choice for this call, searching on a miss. The search runs under the cache lock, so two threads
// meeting a new shape time it once, and never while the other's search occupies the device.
Choice choose(cudnnHandle_t h, DType dt, ConvDirection dir, const ConvShape& s, const ConvMath& m,
              const Descriptors& d, const Operands& o, int device) {
  const cudnnMathType_t math = requested_math(dt, m);
  const bool deterministic = m.deterministic;
  const size_t limit = m.workspace_limit;
  const ConvAlgoKey key{device, static_cast<int64_t>(dt), static_cast<int64_t>(dir), static_cast<int64_t>(math),
                        deterministic, static_cast<int64_t>(limit), s.n, s.c_in, s.h, s.w, s.c_out, s.kh, s.kw,
                        s.stride_h, s.stride_w, s.pad_h, s.pad_w, static_cast<int64_t>(s.layout)};
  std::lock_guard<std::mutex> lock(cache_mutex());
  if (auto it = cache().find(key); it != cache().end()) return it->second;

  CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv(), math));
  ConvAlgoPolicy policy{limit, deterministic, math == CUDNN_FMA_MATH ? static_cast<int>(CUDNN_FMA_MATH) : -1};
  std::vector<ConvAlgoCandidate> found;
  if (deterministic) {
    found = heuristics(h, dir, d);
  } else {
    // Timing needs the workspace up front. Short of memory, time the algorithms that need none (implicit
    // GEMM always qualifies) rather than fail; that choice stays cached for the process.
    std::optional<Scratch> ws;
    try {
      ws.emplace(limit, device);
    } catch (const DeviceError&) {
      ws.emplace(0, device);
    }
    policy.workspace_limit = ws->bytes;
    found = find(h, dir, d, o, *ws);
  }
  const int i = pick_conv_algo(found, policy);
  if (i < 0)
    throw DeviceError(msg(describe(dt, dir, s), ": no cuDNN algorithm fits (", found.size(),
                          " candidates; workspace limit ", policy.workspace_limit >> 20, " MiB",
                          deterministic ? ", deterministic only" : "",
                          math == CUDNN_FMA_MATH ? ", f32 without TF32" : "", ")"));
  const Choice choice{found[i].algo, static_cast<cudnnMathType_t>(found[i].math_type), found[i].workspace};
  cache().emplace(key, choice);
  return choice;
}

template <class Scalar>
void run_typed(cudnnHandle_t h, ConvDirection dir, const Descriptors& d, const Operands& o, const Choice& c,
               const Scratch& ws) {
  const Scalar one = 1, zero = 0;  // beta 0: every direction assigns its output
  switch (dir) {
    case ConvDirection::forward:
      CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x(), o.a, d.w(), o.b, d.conv(),
                                          static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), ws.ptr, ws.bytes, &zero,
                                          d.y(), o.out));
      break;
    case ConvDirection::backward_data:
      CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w(), o.b, d.y(), o.a, d.conv(),
                                               static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws.ptr, ws.bytes,
                                               &zero, d.x(), o.out));
      break;
    default:
      CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x(), o.a, d.y(), o.b, d.conv(),
                                                 static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), ws.ptr,
                                                 ws.bytes, &zero, d.w(), o.out));
  }
}

void convolve(DType dt, ConvDirection dir, const ConvShape& s, const ConvMath& m, const Operands& o, int device) {
  const Descriptors d(dt, s);
  cudnnHandle_t h = cudnn_handle(device);
  const Choice c = choose(h, dt, dir, s, m, d, o, device);
  // cuDNN picks tensor-core or FMA kernels from the algorithm and the descriptor's math type together.
  CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv(), c.math));
  const Scratch ws(c.workspace, device);
  if (dt == DType::f64)
    run_typed<double>(h, dir, d, o, c, ws);  // scaling factors are double for double data, float otherwise
  else
    run_typed<float>(h, dir, d, o, c, ws);
}

}  // namespace

void conv2d_forward(DType dt, const ConvShape& s, const ConvMath& m, const void* x, const void* w, void* y,
                    int device) {
  convolve(dt, ConvDirection::forward, s, m, {x, w, y}, device);
}

void conv2d_backward_data(DType dt, const ConvShape& s, const ConvMath& m, const void* dy, const void* w, void* dx,
                          int device) {
  convolve(dt, ConvDirection::backward_data, s, m, {dy, w, dx}, device);
}

void conv2d_backward_weight(DType dt, const ConvShape& s, const ConvMath& m, const void* x, const void* dy, void* dw,
                            int device) {
  convolve(dt, ConvDirection::backward_weight, s, m, {x, dy, dw}, device);
}

size_t conv_algorithm_cache_size() {
  std::lock_guard<std::mutex> lock(cache_mutex());
  return cache().size();
}

}  // namespace asyndgan::kern::cuda

#else  // a CUDA build without cuDNN: engine/cuda/conv_ops.cpp registers no convolution entries

namespace asyndgan::kern::cuda {
size_t conv_algorithm_cache_size() { return 0; }
}  // namespace asyndgan::kern::cuda

#endif
