// kernels/cuda/conv.cuh in channels-last layout: each direction of a cuDNN convolution over NHWC buffers (KRSC
// filters) gives the NCHW results, reordered. What bench/cuda_kernels_bench --conv-layouts times.
#include <doctest/doctest.h>
#include "cuda/cuda_case.h"
#include "engine/cuda/numerics.h"
#include "kernels/cuda/conv.cuh"

using namespace asyndgan;

#if ASYNDGAN_HAS_CUDNN
TEST_CASE("cuDNN conv2d on NHWC buffers: forward, backward-data and backward-weight equal the NCHW results") {
  struct C {
    int64_t n, c_in, c_out, size, k, stride, pad;
  };
  // The PatchGAN's stride-2 and stride-1 layers and the U-Net's encoder conv at small sizes; odd channel counts.
  const C cases[] = {{2, 6, 16, 16, 4, 2, 1}, {2, 32, 64, 9, 4, 1, 1}, {3, 5, 7, 11, 3, 1, 1}, {1, 64, 1, 8, 4, 1, 1}};
  for (const DType dt : {DType::f32, DType::bf16}) {
    for (const C& c : cases) {
      kern::cuda::ConvShape s;
      s.n = c.n, s.c_in = c.c_in, s.c_out = c.c_out, s.h = s.w = c.size, s.kh = s.kw = c.k;
      s.stride_h = s.stride_w = c.stride, s.pad_h = s.pad_w = c.pad;
      s.oh = s.ow = (c.size + 2 * c.pad - c.k) / c.stride + 1;
      const std::string what = msg(dtype_name(dt), " n ", c.n, " ", c.c_in, "->", c.c_out, " @", c.size, " k ", c.k,
                                   " stride ", c.stride);
      CAPTURE(what);
      Generator gen(5);
      const Shape xs{s.n, s.c_in, s.h, s.w}, ws{s.c_out, s.c_in, s.kh, s.kw}, ys{s.n, s.c_out, s.oh, s.ow};
      // Values rounded to the dtype first, so both layouts see exactly the same inputs.
      auto values = [&](const Shape& sh) { return Tensor::randn(sh, gen).to(dt).to(DType::f32).to_doubles(); };
      const std::vector<double> x = values(xs), w = values(ws), dy = values(ys);
      std::vector<double> results[2][3];
      for (int layout = 0; layout < 2; ++layout) {
        const bool nhwc = layout == 1;
        s.layout = nhwc ? kern::cuda::ConvLayout::nhwc : kern::cuda::ConvLayout::nchw;
        auto up = [&](const std::vector<double>& v, const Shape& sh) {
          return Tensor::from_doubles(nhwc ? test::channels_last(v, sh[0], sh[1], sh[2], sh[3], false) : v, sh, dt)
              .to(test::kGpu);
        };
        auto down = [&](const Tensor& t, const Shape& sh) {
          const std::vector<double> v = t.to(Device::cpu()).to_doubles();
          return nhwc ? test::channels_last(v, sh[0], sh[1], sh[2], sh[3], true) : v;
        };
        const Tensor xd = up(x, xs), wd = up(w, ws), dyd = up(dy, ys);
        Tensor yd = Tensor::empty(ys, dt, test::kGpu), dxd = Tensor::empty(xs, dt, test::kGpu),
               dwd = Tensor::empty(ws, dt, test::kGpu);
        const kern::cuda::ConvMath m = backend::conv_math();
        kern::cuda::conv2d_forward(dt, s, m, xd.raw_data(), wd.raw_data(), yd.raw_data(), 0);
        kern::cuda::conv2d_backward_data(dt, s, m, dyd.raw_data(), wd.raw_data(), dxd.raw_data(), 0);
        kern::cuda::conv2d_backward_weight(dt, s, m, xd.raw_data(), dyd.raw_data(), dwd.raw_data(), 0);
        results[layout][0] = down(yd, ys);
        results[layout][1] = down(dxd, xs);
        results[layout][2] = down(dwd, ws);
      }
      const double tol = test::cuda_tolerance(dt);
      CHECK(test::relative_error(results[1][0], results[0][0]) <= tol);
      CHECK(test::relative_error(results[1][1], results[0][1]) <= tol);
      CHECK(test::relative_error(results[1][2], results[0][2]) <= tol);
    }
  }
}
#endif
