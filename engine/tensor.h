// Tensor: a strided view (shape, strides, offset, dtype, device) onto reference-counted storage, with autograd state.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>
#include "engine/device.h"
#include "base/dtype.h"
#include "base/error.h"
#include "engine/storage.h"

namespace asyndgan {

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

class Node;
class Generator;
class Tensor;

struct TensorImpl {
  StoragePtr storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;        // in elements
  DType dtype = DType::f32;
  Device device;

  // autograd state
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;         // set on results of differentiable ops
  std::shared_ptr<Node> grad_accumulator;  // lazily created for leaves that require grad
  std::shared_ptr<TensorImpl> grad;
  std::string name;  // optional, used in error messages and by nn parameters
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories (all contiguous) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  static Tensor from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype);
  static Tensor scalar(double value, DType dtype = DType::f32);
  // Random fills from a counter-based Philox generator: the same numbers whatever the thread count.
  static Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32, double mean = 0, double stddev = 1);
  static Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32, double low = 0, double high = 1);
  static Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
  static Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
  static Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
  // A host tensor in page-locked memory (ordinary host memory where there is no GPU): the staging buffer of
  // host<->device copies that run at the bus's full rate, and asynchronously from the host to a device.
  static Tensor empty_pinned(const Shape& shape, DType dtype = DType::f32);

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().device; }
  int64_t offset() const { return impl().offset; }
  bool is_contiguous() const;
  bool is_pinned() const;  // host memory that is page-locked (engine/storage.h)
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  std::string describe() const;  // "f32[2, 3] cpu"
  const std::string& name() const { return impl().name; }
  Tensor& set_name(std::string n) { impl().name = std::move(n); return *this; }

  // ---- data access (host tensors; checks dtype) ----
  template <class T> T* data();
  template <class T> const T* data() const;
  void* raw_data();
  const void* raw_data() const;
  template <class T> std::vector<T> to_vector() const;  // contiguous copy as T (converts)
  std::vector<double> to_doubles() const;
  double item() const;  // single-element tensors only

  // ---- copies, conversions, views ----
  Tensor contiguous() const;      // self if already contiguous (differentiable)
  Tensor clone() const;           // new contiguous storage (differentiable)
  Tensor to(DType dtype) const;   // conversion; differentiable between floating types
  Tensor to(Device device) const;  // from pinned memory to a device: returns once the copy is queued
  Tensor to_pinned_host() const;   // a contiguous host copy in pinned memory (not recorded by autograd)
  Tensor view(const Shape& shape) const;     // contiguous tensors only; no copy (differentiable)
  Tensor reshape(const Shape& shape) const;  // view when possible, else copy (differentiable)
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;  // no copy (differentiable)
  void copy_(const Tensor& src);  // in place, not recorded by autograd; shapes must match
  void fill_(double value);       // in place, not recorded by autograd

  // ---- autograd ----
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool on);  // leaves only
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  Tensor grad() const;
  void set_grad(const Tensor& g);
  void zero_grad();  // drops the gradient
  Tensor detach() const;  // shares storage, no autograd history
  // Reverse-mode backward from this tensor. A scalar may omit the gradient (ones); any other shape must
  // supply dL/dself of the same shape, as the central node does with gradients that arrive from sites.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Builds a tensor that views `base`'s storage with a new shape, strides and offset (no autograd).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

// Argument checks shared by all ops; each throws a typed error whose message names the op and shapes.
void check_defined(const char* op, const Tensor& t, const char* arg);
void check_same_dtype_device(const char* op, const Tensor& a, const Tensor& b);
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);
void check_dim(const char* op, const Tensor& t, int64_t dim, const char* arg);

}  // namespace asyndgan
