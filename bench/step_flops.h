// Convolution FLOPs of one AsynDGAN iteration, counted analytically from pix2pix's unet and NLayer PatchGAN
// (all 4x4 kernels, padding 1). Only convolutions count: norms, activations, losses and Adam are O(elements),
// under 1% of the multiply-adds at 256x256.
//
// Per layer, forward = 2 x MACs; the data gradient and the weight gradient each cost the forward again.
// What one iteration needs (per site, batch B; dist runs some of these passes merged, e.g. fake and real through
// a D as one batch when its norm is per-sample, which changes no FLOP count):
//   G:  forward; backward for the weights and for the data of every layer but the first (x needs no grad).
//   each of the M discriminators: forward on (x, fake) and on (x, real), backward for weights and for the
//       data of all but the first layer, both times (the D step); then forward on (x, fake) again and backward
//       for the data of every layer including the first (dL/dfake), no weight gradient (D is not updated).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace asyndgan::bench {

struct ConvCost {
  double macs = 0;  // per image
  bool first = false;
};

inline int64_t conv_out(int64_t in, int64_t stride) { return (in + 2 - 4) / stride + 1; }

// pix2pix UnetGenerator with num_downs = log2(size): block k (0 = outermost) maps size/2^k to size/2^(k+1) and
// back; channels c_in -> ngf -> 2ngf -> 4ngf -> 8ngf ... down, and twice the inner channels (the skip concat)
// into every up-convolution but the innermost.
inline std::vector<ConvCost> unet_convs(int64_t size, int64_t c_in, int64_t c_out, int64_t ngf) {
  int64_t depth = 0;
  while ((int64_t{1} << depth) < size) ++depth;
  std::vector<ConvCost> v;
  for (int64_t k = 0; k < depth; ++k) {
    const int64_t outer = k == 0 ? c_out : ngf * std::min<int64_t>(int64_t{1} << (k - 1), 8);
    const int64_t inner = ngf * std::min<int64_t>(int64_t{1} << k, 8);
    const int64_t in = k == 0 ? c_in : outer;
    const double pixels = static_cast<double>(size >> (k + 1)) * static_cast<double>(size >> (k + 1));
    v.push_back({static_cast<double>(in * inner * 16) * pixels, k == 0});  // down: per output pixel
    const int64_t up_in = k == depth - 1 ? inner : 2 * inner;
    v.push_back({static_cast<double>(up_in * outer * 16) * pixels, false});  // up (transposed): per input pixel
  }
  return v;
}

// pix2pix NLayerDiscriminator: n_layers stride-2 convolutions (ndf, 2ndf, ... capped at 8ndf), one stride-1 to
// min(2^n_layers, 8) ndf, one stride-1 to a single logit map.
inline std::vector<ConvCost> patchgan_convs(int64_t size, int64_t c_in, int64_t ndf, int64_t n_layers) {
  std::vector<ConvCost> v;
  int64_t s = size, c = c_in;
  auto add = [&](int64_t cout, int64_t stride) {
    s = conv_out(s, stride);
    v.push_back({static_cast<double>(c * cout * 16) * static_cast<double>(s * s), v.empty()});
    c = cout;
  };
  add(ndf, 2);
  for (int64_t n = 1; n < n_layers; ++n) add(ndf * std::min<int64_t>(int64_t{1} << n, 8), 2);
  add(ndf * std::min<int64_t>(int64_t{1} << n_layers, 8), 1);
  add(1, 1);
  return v;
}

// FLOPs of one iteration: `sites` sites, each with `batch` images and `modalities` discriminators whose input is
// the condition plus one modality.
inline double asyndgan_step_flops(int64_t size, int64_t batch, int64_t sites, int64_t cond, int64_t modalities) {
  double fwd_g = 0, data_g = 0, fwd_d = 0, data_d_inner = 0, data_d_all = 0;
  for (const ConvCost& l : unet_convs(size, cond, modalities, 64)) {
    fwd_g += 2 * l.macs;
    if (!l.first) data_g += 2 * l.macs;
  }
  for (const ConvCost& l : patchgan_convs(size, cond + 1, 64, 3)) {
    fwd_d += 2 * l.macs;
    data_d_all += 2 * l.macs;
    if (!l.first) data_d_inner += 2 * l.macs;
  }
  const double g = fwd_g + fwd_g /* weights */ + data_g;
  const double d_step = 2 * (fwd_d + fwd_d /* weights */ + data_d_inner);
  const double d_gen = fwd_d + data_d_all;
  return static_cast<double>(batch * sites) * (g + static_cast<double>(modalities) * (d_step + d_gen));
}

}  // namespace asyndgan::bench
