// Normalization kernels over `planes` contiguous planes of `size` elements (an NCHW tensor has N*C planes of
// H*W). Statistics come out per plane in double; callers combine planes into channels in a fixed order.
#pragma once
#include <cstdint>

namespace asyndgan::kern::cpu {

template <class T> void plane_sums(const T* x, int64_t planes, int64_t size, double* sum);
// sq[p] = sum over plane p of (x - center[p])^2.
template <class T> void plane_sq_dev(const T* x, int64_t planes, int64_t size, const double* center, double* sq);
// sum_g[p] = sum of g and sum_gx[p] = sum of g * (x - center[p]) over plane p.
template <class T> void plane_grad_sums(const T* g, const T* x, int64_t planes, int64_t size, const double* center,
                                        double* sum_g, double* sum_gx);
// out = (x - center[p]) * scale[p] + shift[p].
template <class T> void plane_normalize(const T* x, int64_t planes, int64_t size, const double* center,
                                        const double* scale, const double* shift, T* out);
// out = g * g_scale[p] + (x - center[p]) * x_scale[p] + shift[p]: the input gradient of every normalization.
template <class T> void plane_norm_backward(const T* g, const T* x, int64_t planes, int64_t size, const double* center,
                                            const double* g_scale, const double* x_scale, const double* shift, T* out);

}  // namespace asyndgan::kern::cpu
