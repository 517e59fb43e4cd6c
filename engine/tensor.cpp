// Tensor factories, metadata, views, copies and conversions; the differentiable ones record their backward.
#include "engine/tensor.h"
#include <cmath>
#include <cstring>
#include "engine/autograd.h"
#include "engine/backend.h"
#include "engine/rng.h"
#include "kernels/cpu/copy.h"

namespace asyndgan {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

TensorImpl& Tensor::impl() const {
  if (!impl_) throw ValueError("use of an undefined tensor (default-constructed or moved-from)");
  return *impl_;
}

namespace {
Tensor allocate(const Shape& shape, DType dtype, Device device, Storage::Host host) {
  for (int64_t s : shape)
    if (s < 0) throw ShapeError(msg("empty: negative size in shape ", shape_str(shape)));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), device, host);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl->device = device;
  return Tensor(std::move(impl));
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return allocate(shape, dtype, device, Storage::Host::pageable);
}

Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) {
  return allocate(shape, dtype, Device::cpu(), Storage::Host::pinned);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw ShapeError(msg("from_vector: ", values.size(), " values do not fill shape ", shape_str(shape)));
  Tensor t = empty(shape, dtype_of<T>::value);
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector(const std::vector<float>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<double>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<uint8_t>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<int32_t>&, const Shape&);
template Tensor Tensor::from_vector(const std::vector<int64_t>&, const Shape&);

Tensor Tensor::from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype) {
  return from_vector(values, shape).to(dtype);
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

// Fills a new f64 tensor with value(key, first, i) for element i over one reservation of Philox blocks
// (four 32-bit words per element block), then converts to `dtype`.
template <class F>
static Tensor philox_fill(const Shape& shape, Generator& gen, DType dtype, F&& value) {
  Tensor t = Tensor::empty(shape, DType::f64);
  const int64_t n = t.numel();
  const uint64_t first = gen.reserve(static_cast<uint64_t>((n + 3) / 4));
  const auto key = gen.key();
  double* p = t.data<double>();
#pragma omp parallel for if (n > (1 << 14)) schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = value(key, first, static_cast<uint64_t>(i));
  return dtype == DType::f64 ? t : t.to(dtype);
}

Tensor Tensor::randn(const Shape& shape, Generator& gen, DType dtype, double mean, double stddev) {
  return philox_fill(shape, gen, dtype, [=](kern::PhiloxKey key, uint64_t first, uint64_t i) {
    return mean + stddev * kern::philox_normal(key, first, i);
  });
}

Tensor Tensor::rand(const Shape& shape, Generator& gen, DType dtype, double low, double high) {
  return philox_fill(shape, gen, dtype, [=](kern::PhiloxKey key, uint64_t first, uint64_t i) {
    return low + (high - low) * kern::uniform01(kern::philox_word(key, first, i));
  });
}

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  int64_t dd = d < 0 ? d + n : d;
  if (dd < 0 || dd >= n) throw ShapeError(msg("size: dim ", d, " out of range for shape ", shape_str(shape())));
  return shape()[dd];
}

bool Tensor::is_pinned() const { return impl().storage->pinned(); }

bool Tensor::is_contiguous() const {
  int64_t expect = 1;
  for (size_t i = shape().size(); i-- > 0;) {
    if (shape()[i] != 1 && strides()[i] != expect) return false;
    expect *= shape()[i];
  }
  return true;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined";
  return msg(dtype_name(dtype()), shape_str(shape()), " ", device().str());
}

template <class T> T* Tensor::data() {
  if (dtype_of<T>::value != dtype())
    throw DTypeError(msg("data<", dtype_name(dtype_of<T>::value), ">() on a ", describe(), " tensor"));
  return static_cast<T*>(raw_data());
}
template <class T> const T* Tensor::data() const { return const_cast<Tensor*>(this)->data<T>(); }
template float* Tensor::data<float>();
template double* Tensor::data<double>();
template uint8_t* Tensor::data<uint8_t>();
template int32_t* Tensor::data<int32_t>();
template int64_t* Tensor::data<int64_t>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template const uint8_t* Tensor::data<uint8_t>() const;
template const int32_t* Tensor::data<int32_t>() const;
template const int64_t* Tensor::data<int64_t>() const;

void* Tensor::raw_data() {
  auto& i = impl();
  return static_cast<char*>(i.storage->data()) + i.offset * static_cast<int64_t>(dtype_size(i.dtype));
}
const void* Tensor::raw_data() const { return const_cast<Tensor*>(this)->raw_data(); }

template <class T> std::vector<T> Tensor::to_vector() const {
  Tensor c = detach().to(Device::cpu()).to(dtype_of<T>::value).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector() const;
template std::vector<double> Tensor::to_vector() const;
template std::vector<uint8_t> Tensor::to_vector() const;
template std::vector<int32_t> Tensor::to_vector() const;
template std::vector<int64_t> Tensor::to_vector() const;

std::vector<double> Tensor::to_doubles() const { return to_vector<double>(); }

double Tensor::item() const {
  if (numel() != 1) throw ShapeError(msg("item: tensor of shape ", shape_str(shape()), " has ", numel(), " elements, not 1"));
  return to_doubles()[0];
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl().storage;
  impl->offset = offset;
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = base.dtype();
  impl->device = base.device();
  return Tensor(std::move(impl));
}

// Contiguous copy of `src` converted to `dtype`, on src's device, without autograd.
static Tensor materialize(const Tensor& src, DType dtype, const char* op) {
  Tensor out = Tensor::empty(src.shape(), dtype, src.device());
  if (src.device().is_cpu())
    kern::cpu::copy_strided(src.raw_data(), src.dtype(), src.shape().data(), src.strides().data(),
                            static_cast<int>(src.dim()), out.raw_data(), dtype);
  else
    backend::cuda(op).copy(src, out);
  return out;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = materialize(*this, dtype(), "contiguous");
  record(out, "contiguous", {*this}, [](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = materialize(*this, dtype(), "clone");
  record(out, "clone", {*this}, [](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::to(DType dt) const {
  if (dt == dtype()) return *this;
  Tensor out = materialize(*this, dt, "to(dtype)");
  if (is_floating(dt) && is_floating(dtype())) {
    DType from = dtype();
    record(out, "to_dtype", {*this},
           [from](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g.to(from)}; });
  }
  return out;
}

Tensor Tensor::to(Device dev) const {
  if (dev == device()) return *this;
  if (dev.is_cuda() && dev.index >= cuda_device_count())
    throw DeviceError(msg("to(", dev.str(), "): this machine has ", cuda_device_count(),
                          " CUDA device(s); use 'cpu' or an existing cuda:N"));
  Tensor src = contiguous();  // on the source device: the bytes then cross in one copy
  Tensor out = empty(shape(), dtype(), dev);
  copy_bytes(out.raw_data(), dev, src.raw_data(), src.device(), nbytes());
  Device from = device();
  record(out, "to_device", {src}, [from](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g.to(from)}; });
  return out;
}

Tensor Tensor::to_pinned_host() const {
  const Tensor src = contiguous();
  Tensor out = empty_pinned(shape(), dtype());
  copy_bytes(out.raw_data(), Device::cpu(), src.raw_data(), src.device(), nbytes());
  return out;
}

Tensor Tensor::view(const Shape& new_shape) const {
  Shape s = new_shape;
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) throw ShapeError(msg("view: more than one -1 in ", shape_str(new_shape)));
      infer = static_cast<int64_t>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0 && known > 0) s[infer] = numel() / known;
  if (shape_numel(s) != numel())
    throw ShapeError(msg("view: shape ", shape_str(new_shape), " does not match ", numel(), " elements of ", shape_str(shape())));
  if (!is_contiguous()) throw ShapeError(msg("view: tensor of shape ", shape_str(shape()), " is not contiguous; use reshape"));
  Tensor out = make_view(*this, s, contiguous_strides(s), offset());
  Shape old = shape();
  record(out, "view", {*this}, [old](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{g.contiguous().view(old)};
  });
  return out;
}

Tensor Tensor::reshape(const Shape& new_shape) const { return contiguous().view(new_shape); }

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  int64_t n = dim();
  int64_t dd = d < 0 ? d + n : d;
  if (dd < 0 || dd >= n) throw ShapeError(msg("narrow: dim ", d, " out of range for shape ", shape_str(shape())));
  if (start < 0 || length < 0 || start + length > shape()[dd])
    throw ShapeError(msg("narrow: [", start, ", ", start + length, ") out of range for dim ", dd, " of shape ", shape_str(shape())));
  Shape s = shape();
  s[dd] = length;
  Tensor out = make_view(*this, s, strides(), offset() + start * strides()[dd]);
  Shape full_shape = shape();
  record(out, "narrow", {*this}, [full_shape, dd, start, length](const Tensor& g, const std::vector<bool>&) {
    Tensor gin = Tensor::zeros(full_shape, g.dtype(), g.device());
    gin.narrow(dd, start, length).copy_(g);
    return std::vector<Tensor>{gin};
  });
  return out;
}

void Tensor::copy_(const Tensor& src) {
  if (src.shape() != shape())
    throw ShapeError(msg("copy_: source shape ", shape_str(src.shape()), " does not match destination ", shape_str(shape())));
  if (src.device() == device() && device().is_cuda()) {
    backend::cuda("copy_").copy(src, *this);  // converts, and takes care of overlap with self
    return;
  }
  if (!(src.device() == device())) {
    // Across devices only contiguous bytes of one dtype cross: convert and gather on the source device.
    Tensor s = src.is_contiguous() && src.dtype() == dtype() ? src : materialize(src, dtype(), "copy_");
    if (is_contiguous()) {
      copy_bytes(raw_data(), device(), s.raw_data(), s.device(), nbytes());
    } else {
      Tensor staged = empty(shape(), dtype(), device());
      copy_bytes(staged.raw_data(), device(), s.raw_data(), s.device(), nbytes());
      copy_(staged);
    }
    return;
  }
  Tensor c = materialize(src, dtype(), "copy_");  // handles overlap with self and dtype conversion
  kern::cpu::scatter_strided(c.raw_data(), shape().data(), strides().data(), static_cast<int>(dim()), raw_data(), dtype());
}

void Tensor::fill_(double value) {
  if (device().is_cuda()) {
    backend::cuda("fill_").fill(*this, value);
  } else if (is_contiguous()) {
    kern::cpu::fill(raw_data(), dtype(), numel(), value);
  } else {
    copy_(full(shape(), value, dtype(), Device::cpu()));
  }
}

Tensor& Tensor::set_requires_grad(bool on) {
  if (!is_leaf()) throw ValueError("set_requires_grad: only leaf tensors can change requires_grad; use detach()");
  if (on && !is_floating(dtype())) throw DTypeError(msg("set_requires_grad: a ", describe(), " tensor cannot require grad"));
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined() && g.shape() != shape())
    throw ShapeError(msg("set_grad: gradient shape ", shape_str(g.shape()), " does not match tensor ", shape_str(shape())));
  impl().grad = g.defined() ? g.impl_ptr() : nullptr;
}

void Tensor::zero_grad() { impl().grad = nullptr; }

Tensor Tensor::detach() const {
  Tensor out = make_view(*this, shape(), strides(), offset());
  out.impl().name = name();
  return out;
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  asyndgan::backward({*this}, {grad}, retain_graph);
}

void check_defined(const char* op, const Tensor& t, const char* arg) {
  if (!t.defined()) throw ValueError(msg(op, ": argument '", arg, "' is an undefined tensor"));
}

void check_same_dtype_device(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw DTypeError(msg(op, ": dtype mismatch, ", a.describe(), " vs ", b.describe()));
  if (!(a.device() == b.device()))
    throw DeviceError(msg(op, ": device mismatch, ", a.describe(), " vs ", b.describe()));
}

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  check_same_dtype_device(op, a, b);
  if (a.shape() != b.shape())
    throw ShapeError(msg(op, ": shape mismatch, ", shape_str(a.shape()), " vs ", shape_str(b.shape())));
}

void check_dim(const char* op, const Tensor& t, int64_t d, const char* arg) {
  if (t.dim() != d)
    throw ShapeError(msg(op, ": '", arg, "' must be ", d, "-D, got shape ", shape_str(t.shape())));
}

}  // namespace asyndgan
