// Marks per-element math shared by the CPU and CUDA kernels: one definition, compiled for both.
#pragma once
#if defined(__CUDACC__)
#define ASYNDGAN_HD __host__ __device__ __forceinline__
#else
#define ASYNDGAN_HD inline
#endif
