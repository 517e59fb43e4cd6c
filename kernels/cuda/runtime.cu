// The CUDA runtime services of base/cuda_runtime.h: devices and their names, one stream per device, copies
// ordered on it, and device memory from the caching allocator (kernels/cuda/allocator.cu).
#include <memory>
#include <mutex>
#include <string>
#include "base/cuda_runtime.h"
#include "base/error.h"
#include "kernels/cuda/allocator.cuh"
#include "kernels/cuda/host_allocator.cuh"
#include "kernels/cuda/launch.cuh"

namespace asyndgan::cuda_rt {
namespace {

using kern::cuda::check;

struct Probe {
  int count = 0;
  std::string reason;  // why count is 0
};

// Asked once: the answer cannot change while the process runs, and Storage asks on every allocation.
const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    cudaError_t err = cudaGetDeviceCount(&r.count);
    if (err != cudaSuccess) {
      // Initialization errors are sticky: clearing is best effort, and nothing else touches CUDA without a device.
      cudaGetLastError();
      r.count = 0;
      r.reason = err == cudaErrorNoDevice ? "no GPU visible"
                 : err == cudaErrorInsufficientDriver
                     ? "no GPU visible: no CUDA driver, or one older than this build's CUDA runtime"
                     : std::string("no GPU visible: ") + cudaGetErrorString(err);
    } else if (r.count == 0) {
      r.reason = "no GPU visible";
    }
    return r;
  }();
  return p;
}

void check_device(int device, const char* what) {
  const int n = probe().count;
  if (device < 0 || device >= n)
    throw DeviceError(msg(what, ": cuda:", device, " does not exist: this machine has ", n, " CUDA device(s)",
                          n ? msg(" (cuda:0 to cuda:", n - 1, ")") : msg(" (", probe().reason, ")"),
                          "; use one of them or 'cpu'"));
}

// Per-device state, made on first use of each device.
struct PerDevice {
  std::once_flag stream_once, name_once;
  cudaStream_t stream = nullptr;
  std::string name;
};

PerDevice& per_device(int device) {
  static PerDevice* all = new PerDevice[probe().count > 0 ? probe().count : 1];  // never freed: see allocator.cu
  return all[device];
}

// Host copies and synchronizations cannot be part of a CUDA graph (they would invalidate the capture, with a
// less helpful error from the next launch): name the call and the fix instead.
void refuse_while_capturing(cudaStream_t s, const char* what, int device) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  check(cudaStreamIsCapturing(s, &status), "cudaStreamIsCapturing");
  if (status != cudaStreamCaptureStatusNone)
    throw DeviceError(msg(what, " on cuda:", device, " while a CUDA graph captures its stream: a captured step "
                          "must keep its data on the device (copy inputs into the graph's tensors before replay, "
                          "read results after it)"));
}

}  // namespace

int device_count() { return probe().count; }

const char* no_device_reason() { return probe().reason.c_str(); }

void* device_malloc(size_t nbytes, int device) {
  check_device(device, "device_malloc");
  return kern::cuda::cached_malloc(nbytes, device);
}

void device_free(void* ptr, int device) {
  if (ptr) kern::cuda::cached_free(ptr, device);
}

void* current_stream(int device) {
  check_device(device, "current_stream");
  PerDevice& d = per_device(device);
  check(cudaSetDevice(device), "cudaSetDevice");
  // Non-blocking: never serialized against the legacy default stream that libraries may use behind our back.
  std::call_once(d.stream_once, [&] { check(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags"); });
  return d.stream;
}

void synchronize(int device) {
  const cudaStream_t s = kern::cuda::stream(device);
  refuse_while_capturing(s, "a host synchronization", device);
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
}

void memcpy(void* dst, const void* src, size_t nbytes, int kind, int device) {
  if (nbytes == 0) return;
  cudaStream_t s = kern::cuda::stream(device);
  if (kind != 2) refuse_while_capturing(s, kind == 0 ? "a host-to-device copy" : "a device-to-host copy", device);
  bool across = false;
  if (kind == 2 && device_count() > 1) {
    // A copy from another device's memory must wait for that device's queued writes to it.
    cudaPointerAttributes attr{};
    check(cudaPointerGetAttributes(&attr, src), "cudaPointerGetAttributes");
    across = attr.type == cudaMemoryTypeDevice && attr.device != device;
    if (across) synchronize(attr.device);
    check(cudaSetDevice(device), "cudaSetDevice");
  }
  const cudaMemcpyKind k = kind == 0   ? cudaMemcpyHostToDevice
                           : kind == 1 ? cudaMemcpyDeviceToHost
                                       : cudaMemcpyDefault;  // device to device, peer copies included
  // From pageable host memory the call returns once the source has been staged, so the caller may reuse it.
  check(cudaMemcpyAsync(dst, src, nbytes, k, s), "cudaMemcpyAsync");
  // To the host: the caller reads the data next. Across devices: the source's own stream does not order the
  // copy, so its block must not go back to the source device's cache while the copy still reads it.
  if (kind == 1 || across) check(cudaStreamSynchronize(s), "cudaStreamSynchronize after a copy");
}

void* host_pinned_malloc(size_t nbytes) {
  if (device_count() == 0) throw DeviceError(msg("page-locked host memory needs a GPU: ", no_device_reason()));
  return kern::cuda::pinned_malloc(nbytes);
}

void host_pinned_free(void* ptr) { kern::cuda::pinned_free(ptr); }

HostPinnedStats host_pinned_stats() { return device_count() ? kern::cuda::pinned_stats() : HostPinnedStats{}; }

MemoryStats memory_stats(int device) {
  check_device(device, "memory_stats");
  return kern::cuda::cached_stats(device);
}

void reset_peak_memory(int device) {
  check_device(device, "reset_peak_memory");
  kern::cuda::cached_reset_peak(device);
}

void empty_cache(int device) {
  check_device(device, "empty_cache");
  kern::cuda::cached_empty_cache(device);
}

const char* device_name(int device) {
  if (device < 0 || device >= device_count()) return "";
  PerDevice& d = per_device(device);
  std::call_once(d.name_once, [&] {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, device) == cudaSuccess)
      d.name = msg(prop.name, " (sm_", prop.major, prop.minor, ")");
    else
      cudaGetLastError();
  });
  return d.name.c_str();
}

}  // namespace asyndgan::cuda_rt
