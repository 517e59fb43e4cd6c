// cuDNN and cuBLAS handles per thread and device, bound to the device's current stream on every lookup, and
// the checks that turn their status codes into DeviceErrors naming the failed call.
#pragma once
#include <cublas_v2.h>
#if ASYNDGAN_HAS_CUDNN
#include <cudnn.h>
#endif

namespace asyndgan::kern::cuda {

// `call` is the stringized call; the error names the function (the text before '(') and the library's reason.
void cublas_check(cublasStatus_t status, const char* call);
#define CUBLAS_CHECK(expr) ::asyndgan::kern::cuda::cublas_check((expr), #expr)

// Makes `device` current and returns this thread's cuBLAS handle for it, set to the device's current stream.
cublasHandle_t cublas_handle(int device);

#if ASYNDGAN_HAS_CUDNN
void cudnn_check(cudnnStatus_t status, const char* call);
#define CUDNN_CHECK(expr) ::asyndgan::kern::cuda::cudnn_check((expr), #expr)

// Makes `device` current and returns this thread's cuDNN handle for it, set to the device's current stream.
cudnnHandle_t cudnn_handle(int device);
#endif

}  // namespace asyndgan::kern::cuda
