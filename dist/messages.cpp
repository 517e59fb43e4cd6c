// Encoding and validated decoding of the protocol messages (layout in dist/messages.h).
#include "dist/messages.h"
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace asyndgan::dist {

const char* message_type_name(MessageType t) {
  switch (t) {
    case MessageType::hello: return "hello";
    case MessageType::conditions: return "conditions";
    case MessageType::request: return "request";
    case MessageType::gradient: return "gradient";
    case MessageType::control: return "control";
    case MessageType::failure: return "failure";
  }
  return "unknown";
}

namespace {

// Tensor data and every integer are copied as they lie in memory: the wire is little-endian, as are the
// machines this runs on (x86-64, AArch64).
static_assert(std::endian::native == std::endian::little, "the wire format assumes a little-endian host");


constexpr uint32_t kMaxDims = 8;

class Writer {
 public:
  // counting: tensor data is counted, not converted or copied (encoded_size).
  Writer(MessageType t, WireDtype wire, bool counting = false) : wire_(wire), counting_(counting) {
    u8(kProtocolVersion);
    u8(static_cast<uint8_t>(t));
  }
  void u8(uint8_t v) { out_.push_back(v); }
  template <class T>
  void le(T v) {  // integers and doubles
    static_assert(std::is_trivially_copyable_v<T>);
    const size_t at = out_.size();  // resize + memcpy: GCC 12 misreads insert() of a small array as overflowing
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &v, sizeof(T));
  }
  void str(const std::string& s) {
    le<uint32_t>(static_cast<uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  // u8 as it is; f32 in the wire dtype, converted on the tensor's device before it is copied to the host.
  void tensor(const Tensor& t, const char* field) {
    if (!t.defined()) throw ValueError(msg("message encode: tensor '", field, "' is undefined"));
    if (t.dtype() != DType::f32 && t.dtype() != DType::u8)
      throw DTypeError(msg("message encode: tensor '", field, "' is ", t.describe(), "; the protocol carries f32 or u8"));
    const DType wire = t.dtype() == DType::u8 ? DType::u8 : wire_storage(wire_);
    if (counting_) {
      u8(static_cast<uint8_t>(wire));
      le<uint32_t>(static_cast<uint32_t>(t.dim()));
      for (int64_t d : t.shape()) le<int64_t>(d);
      skipped_ += static_cast<uint64_t>(t.numel()) * dtype_size(wire);
      return;
    }
    // A device tensor crosses once, at the bus's full rate, into a pinned block the next message reuses.
    const Tensor c = t.device().is_cuda() ? t.to(wire).to_pinned_host() : t.to(wire).contiguous();
    u8(static_cast<uint8_t>(c.dtype()));
    le<uint32_t>(static_cast<uint32_t>(c.dim()));
    for (int64_t d : c.shape()) le<int64_t>(d);
    const auto* b = static_cast<const uint8_t*>(c.raw_data());
    out_.insert(out_.end(), b, b + c.numel() * static_cast<int64_t>(dtype_size(wire)));
  }
  void settings(const Settings& list) {
    le<uint64_t>(list.size());
    for (const Setting& s : list) {
      str(s.key);
      str(s.value);
    }
  }
  std::vector<uint8_t> take() { return std::move(out_); }
  uint64_t size() const { return out_.size() + skipped_; }

 private:
  WireDtype wire_;
  bool counting_ = false;
  uint64_t skipped_ = 0;
  std::vector<uint8_t> out_;
};

class Reader {
 public:
  Reader(std::span<const uint8_t> b, const char* type, WireDtype wire, Device landing)
      : b_(b), type_(type), wire_(wire), landing_(landing) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(msg("malformed '", type_, "' message (", b_.size(), " bytes): ", what, " at byte ", pos_,
                          "; the sender speaks another protocol version or the bytes were damaged"));
  }
  void need(uint64_t n, const char* field) {
    if (n > b_.size() - pos_) fail(msg("field '", field, "' needs ", n, " bytes but ", b_.size() - pos_, " remain"));
  }
  uint8_t u8(const char* field) {
    need(1, field);
    return b_[pos_++];
  }
  template <class T>
  T le(const char* field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  int64_t count(const char* field, uint64_t item_bytes) {
    const uint64_t n = le<uint64_t>(field);
    if (item_bytes > 0 && n > (b_.size() - pos_) / item_bytes)
      fail(msg("field '", field, "' claims ", n, " items of ", item_bytes, " bytes but ", b_.size() - pos_, " bytes remain"));
    return static_cast<int64_t>(n);
  }
  std::string str(const char* field) {
    const uint32_t n = le<uint32_t>(field);
    need(n, field);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  Settings settings(const char* field) {
    const int64_t n = count(field, 8);  // two string lengths at least
    Settings out;
    for (int64_t i = 0; i < n; ++i) {
      Setting s;
      s.key = str(field);
      s.value = str(field);
      out.push_back(std::move(s));
    }
    return out;
  }
  // A condition map (u8) as it is; a floating field in the run's wire dtype, as a host f32 tensor.
  Tensor tensor(const char* field, bool floating) {
    const DType want = floating ? wire_storage(wire_) : DType::u8;
    const uint8_t code = u8(field);
    if (code != static_cast<uint8_t>(want) && floating)
      fail(msg("tensor '", field, "' has dtype code ", int(code), "; this run's wire dtype is ", wire_dtype_name(wire_),
               " (code ", int(static_cast<uint8_t>(want)), "): the sender's dist.wire_dtype differs"));
    if (code != static_cast<uint8_t>(want))
      fail(msg("tensor '", field, "' has dtype code ", int(code), ", expected ", int(static_cast<uint8_t>(want))));
    const uint32_t nd = le<uint32_t>(field);
    if (nd > kMaxDims) fail(msg("tensor '", field, "' has ", nd, " dimensions (at most ", kMaxDims, ")"));
    Shape shape(nd);
    uint64_t numel = 1, extent = 1;  // extent: the product of the non-zero dimensions (the strides' span)
    const uint64_t esize = dtype_size(want);
    const uint64_t room = b_.size() - pos_;
    for (uint32_t d = 0; d < nd; ++d) {
      const int64_t s = le<int64_t>(field);
      if (s < 0) fail(msg("tensor '", field, "' has negative dimension ", s));
      shape[d] = s;
      if (s == 0) {
        numel = 0;
        continue;
      }
      // Bounded by the bytes the message holds, even for an empty tensor (whose other dimensions would still
      // overflow the strides): no product below can wrap.
      if (extent > room / esize / static_cast<uint64_t>(s))
        fail(msg("tensor '", field, "' shape is larger than the message"));
      extent *= static_cast<uint64_t>(s);
      numel *= static_cast<uint64_t>(s);
    }
    need(numel * esize, field);
    // For a device, in the wire dtype (fewer bytes over the bus) through pinned memory: the copy is queued and
    // the pinned block is held back until it has been read.
    const bool to_device = floating && landing_.is_cuda();
    Tensor t = to_device ? Tensor::empty_pinned(shape, want) : Tensor::empty(shape, want);
    std::memcpy(t.raw_data(), b_.data() + pos_, numel * esize);
    pos_ += numel * esize;
    if (to_device) t = t.to(landing_);
    return floating && want != DType::f32 ? t.to(DType::f32) : t;
  }
  void end() {
    if (pos_ != b_.size()) fail(msg(b_.size() - pos_, " trailing bytes"));
  }

 private:
  std::span<const uint8_t> b_;
  const char* type_;
  WireDtype wire_;
  Device landing_;
  size_t pos_ = 2;
};

void write(Writer& w, const Hello& m) {
  w.u8(m.protocol);
  w.str(m.contract_hash);
  w.settings(m.contract);
  w.settings(m.declared);
  w.str(m.site);
  w.le<int64_t>(m.samples);
  w.le<int64_t>(m.height);
  w.le<int64_t>(m.width);
  for (const auto* list : {&m.condition_channels, &m.image_channels}) {
    w.le<uint64_t>(list->size());
    for (const auto& s : *list) w.str(s);
  }
  w.le<uint64_t>(m.has_modality.size());
  for (uint8_t v : m.has_modality) w.u8(v);
}

void write(Writer& w, const ConditionUpload& m) {
  w.le<uint64_t>(m.keys.size());
  for (uint64_t k : m.keys) w.le<uint64_t>(k);
  w.tensor(m.conditions, "conditions");
}

void write(Writer& w, const Request& m) {
  if (m.aug.size() != m.keys.size())
    throw ValueError(msg("request encode: ", m.keys.size(), " keys but ", m.aug.size(), " augmentations"));
  w.le<int64_t>(m.step);
  w.le<int64_t>(m.crop);
  w.le<uint64_t>(m.keys.size());
  for (size_t i = 0; i < m.keys.size(); ++i) {
    w.le<uint64_t>(m.keys[i]);
    w.le<int32_t>(m.aug[i].top);
    w.le<int32_t>(m.aug[i].left);
    w.u8(m.aug[i].flip ? 1 : 0);
  }
  w.tensor(m.synthetic, "synthetic");
}

void write(Writer& w, const Gradient& m) {
  w.le<int64_t>(m.step);
  w.le<int64_t>(m.samples);
  for (double v : {m.stats.d_loss, m.stats.g_gan, m.stats.g_l1, m.stats.g_loss, m.stats.d_real, m.stats.d_fake}) w.le<double>(v);
  w.tensor(m.grad, "grad");
  if (!m.refused.empty() && static_cast<int64_t>(m.refused.size()) != m.samples)
    throw ValueError(msg("gradient encode: ", m.refused.size(), " refusal flags for ", m.samples, " rows"));
  w.le<uint64_t>(m.refused.size());
  for (uint8_t v : m.refused) w.u8(v);
  w.str(m.refusal);
  w.u8(m.stats_withheld ? 1 : 0);
  w.le<double>(m.epsilon);
}

void write(Writer& w, const Control& m) {
  w.u8(static_cast<uint8_t>(m.kind));
  w.le<int64_t>(m.step);
  w.le<double>(m.value);
}

void write(Writer& w, const Failure& m) { w.str(m.reason); }

template <class M>
MessageType type_for();
template <> MessageType type_for<Hello>() { return MessageType::hello; }
template <> MessageType type_for<ConditionUpload>() { return MessageType::conditions; }
template <> MessageType type_for<Request>() { return MessageType::request; }
template <> MessageType type_for<Gradient>() { return MessageType::gradient; }
template <> MessageType type_for<Control>() { return MessageType::control; }
template <> MessageType type_for<Failure>() { return MessageType::failure; }

template <class Variant>
std::vector<uint8_t> encode_variant(const Variant& v, WireDtype wire) {
  return std::visit([wire](const auto& m) {
    Writer w(type_for<std::decay_t<decltype(m)>>(), wire);
    write(w, m);
    return w.take();
  }, v);
}

template <class Variant>
uint64_t size_variant(const Variant& v, WireDtype wire) {
  return std::visit([wire](const auto& m) {
    Writer w(type_for<std::decay_t<decltype(m)>>(), wire, /*counting=*/true);
    write(w, m);
    return w.size();
  }, v);
}

Tensor through_wire(const Tensor& t, WireDtype wire) {
  if (t.dtype() == DType::u8) return t.clone();
  if (t.dtype() != DType::f32) throw DTypeError(msg("message: tensor ", t.describe(), "; the protocol carries f32 or u8"));
  return wire_storage(wire) == DType::f32 ? t.detach().clone() : t.detach().to(wire_storage(wire)).to(DType::f32);
}

template <class Variant>
Variant carried_variant(const Variant& v, WireDtype wire) {
  return std::visit([wire](const auto& m) -> Variant {
    using M = std::decay_t<decltype(m)>;
    M c = m;
    if constexpr (std::is_same_v<M, ConditionUpload>) c.conditions = through_wire(m.conditions, wire);
    if constexpr (std::is_same_v<M, Request>) c.synthetic = through_wire(m.synthetic, wire);
    if constexpr (std::is_same_v<M, Gradient>) c.grad = through_wire(m.grad, wire);
    return c;
  }, v);
}

Hello read_hello(Reader& r) {
  Hello m;
  m.protocol = r.u8("protocol");
  if (m.protocol != kProtocolVersion)
    r.fail(msg("hello of protocol ", int(m.protocol), "; this build speaks ", int(kProtocolVersion)));
  m.contract_hash = r.str("contract_hash");
  m.contract = r.settings("contract");
  m.declared = r.settings("declared");
  m.site = r.str("site");
  m.samples = r.le<int64_t>("samples");
  m.height = r.le<int64_t>("height");
  m.width = r.le<int64_t>("width");
  for (auto* list : {&m.condition_channels, &m.image_channels}) {
    const int64_t n = r.count("channels", 4);
    for (int64_t i = 0; i < n; ++i) list->push_back(r.str("channel name"));
  }
  const int64_t n = r.count("has_modality", 1);
  for (int64_t i = 0; i < n; ++i) m.has_modality.push_back(r.u8("has_modality"));
  if (m.samples < 0 || m.height < 0 || m.width < 0) r.fail("negative count or size");
  if (m.has_modality.size() != m.image_channels.size()) r.fail("has_modality does not match the image channels");
  return m;
}

ConditionUpload read_conditions(Reader& r) {
  ConditionUpload m;
  const int64_t n = r.count("keys", 8);
  m.keys.resize(static_cast<size_t>(n));
  for (auto& k : m.keys) k = r.le<uint64_t>("keys");
  m.conditions = r.tensor("conditions", false);
  if (m.conditions.dim() != 4 || m.conditions.size(0) != n) r.fail("conditions are not [keys, C, H, W]");
  return m;
}

Request read_request(Reader& r) {
  Request m;
  m.step = r.le<int64_t>("step");
  m.crop = r.le<int64_t>("crop");
  const int64_t n = r.count("keys", 17);
  for (int64_t i = 0; i < n; ++i) {
    m.keys.push_back(r.le<uint64_t>("keys"));
    data::CropFlip a;
    a.top = r.le<int32_t>("top");
    a.left = r.le<int32_t>("left");
    const uint8_t f = r.u8("flip");
    if (f > 1) r.fail("flip is neither 0 nor 1");
    a.flip = f == 1;
    m.aug.push_back(a);
  }
  m.synthetic = r.tensor("synthetic", true);
  if (m.synthetic.dim() != 4 || m.synthetic.size(0) != n) r.fail("synthetic images are not [keys, C, h, w]");
  if (m.crop < 0) r.fail("negative crop");
  return m;
}

Gradient read_gradient(Reader& r) {
  Gradient m;
  m.step = r.le<int64_t>("step");
  m.samples = r.le<int64_t>("samples");
  for (double* v : {&m.stats.d_loss, &m.stats.g_gan, &m.stats.g_l1, &m.stats.g_loss, &m.stats.d_real, &m.stats.d_fake})
    *v = r.le<double>("stats");
  m.grad = r.tensor("grad", true);
  if (m.grad.dim() != 4 || m.grad.size(0) != m.samples) r.fail("grad is not [samples, C, h, w]");
  const int64_t n = r.count("refused", 1);
  if (n != 0 && n != m.samples) r.fail(msg(n, " refusal flags for ", m.samples, " rows"));
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t v = r.u8("refused");
    if (v > 1) r.fail("a refusal flag is neither 0 nor 1");
    m.refused.push_back(v);
  }
  m.refusal = r.str("refusal");
  const uint8_t withheld = r.u8("stats_withheld");
  if (withheld > 1) r.fail("stats_withheld is neither 0 nor 1");
  m.stats_withheld = withheld == 1;
  m.epsilon = r.le<double>("epsilon");
  if (!(m.epsilon >= 0) || !std::isfinite(m.epsilon)) r.fail(msg("epsilon ", m.epsilon, " is not a finite number >= 0"));
  return m;
}

Control read_control(Reader& r) {
  Control m;
  const uint8_t k = r.u8("kind");
  if (k >= kControlKinds) r.fail(msg("unknown control kind ", int(k)));
  m.kind = static_cast<ControlKind>(k);
  m.step = r.le<int64_t>("step");
  m.value = r.le<double>("value");
  return m;
}

Failure read_failure(Reader& r) { return Failure{r.str("reason")}; }

}  // namespace

int64_t Gradient::answered() const {
  return samples - static_cast<int64_t>(std::count(refused.begin(), refused.end(), uint8_t{1}));
}

MessageType type_of(const ToSite& m) {
  return std::visit([](const auto& v) { return type_for<std::decay_t<decltype(v)>>(); }, m);
}

MessageType type_of(const ToCentral& m) {
  return std::visit([](const auto& v) { return type_for<std::decay_t<decltype(v)>>(); }, m);
}

std::vector<uint8_t> encode(const ToSite& m, WireDtype wire) { return encode_variant(m, wire); }
std::vector<uint8_t> encode(const ToCentral& m, WireDtype wire) { return encode_variant(m, wire); }

MessageType peek_type(std::span<const uint8_t> bytes) {
  if (bytes.size() < 2) throw FormatError(msg("malformed message: ", bytes.size(), " bytes, shorter than its 2-byte header"));
  if (bytes[0] != kProtocolVersion)
    throw FormatError(msg("message of protocol version ", int(bytes[0]), "; this build speaks version ", int(kProtocolVersion),
                          ": run the same asyndgan version at the central node and every site"));
  if (bytes[1] >= kMessageTypes) throw FormatError(msg("message of unknown type ", int(bytes[1])));
  return static_cast<MessageType>(bytes[1]);
}

int64_t peek_step(std::span<const uint8_t> bytes) {
  const MessageType t = peek_type(bytes);
  const size_t at = t == MessageType::control ? 3 : 2;
  if ((t != MessageType::request && t != MessageType::gradient && t != MessageType::control) || bytes.size() < at + 8) return 0;
  int64_t step;
  std::memcpy(&step, bytes.data() + at, 8);
  return step;
}

uint64_t encoded_size(const ToSite& m, WireDtype wire) { return size_variant(m, wire); }
uint64_t encoded_size(const ToCentral& m, WireDtype wire) { return size_variant(m, wire); }
ToSite carried(const ToSite& m, WireDtype wire) { return carried_variant(m, wire); }
ToCentral carried(const ToCentral& m, WireDtype wire) { return carried_variant(m, wire); }

int64_t step_of(const ToSite& m) {
  if (auto* r = std::get_if<Request>(&m)) return r->step;
  if (auto* c = std::get_if<Control>(&m)) return c->step;
  return 0;
}
int64_t step_of(const ToCentral& m) {
  if (auto* g = std::get_if<Gradient>(&m)) return g->step;
  return 0;
}

ToSite decode_to_site(std::span<const uint8_t> bytes, WireDtype wire, Device landing) {
  const MessageType t = peek_type(bytes);
  Reader r(bytes, message_type_name(t), wire, landing);
  ToSite out;
  if (t == MessageType::request) out = read_request(r);
  else if (t == MessageType::control) out = read_control(r);
  else if (t == MessageType::failure) out = read_failure(r);
  else r.fail("a site receives only request, control and failure messages");
  r.end();
  return out;
}

ToCentral decode_to_central(std::span<const uint8_t> bytes, WireDtype wire, Device landing) {
  const MessageType t = peek_type(bytes);
  Reader r(bytes, message_type_name(t), wire, landing);
  ToCentral out;
  if (t == MessageType::hello) out = read_hello(r);
  else if (t == MessageType::conditions) out = read_conditions(r);
  else if (t == MessageType::gradient) out = read_gradient(r);
  else if (t == MessageType::failure) out = read_failure(r);
  else r.fail("the central node receives only hello, conditions, gradient and failure messages");
  r.end();
  return out;
}

}  // namespace asyndgan::dist
