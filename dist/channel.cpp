// The channel ends' encode/decode/count wrappers around an implementation's byte transport.
#include "dist/channel.h"

namespace asyndgan::dist {

void Traffic::add(size_t site, MessageType type, uint64_t n) {
  if (bytes.size() <= site) {
    bytes.resize(site + 1);
    messages.resize(site + 1);
  }
  bytes[site][static_cast<size_t>(type)] += n;
  messages[site][static_cast<size_t>(type)] += 1;
}

uint64_t Traffic::site_bytes(int64_t site) const {
  uint64_t n = 0;
  for (uint64_t b : bytes.at(static_cast<size_t>(site))) n += b;
  return n;
}

uint64_t Traffic::type_bytes(MessageType t) const {
  uint64_t n = 0;
  for (const auto& row : bytes) n += row[static_cast<size_t>(t)];
  return n;
}

uint64_t Traffic::total_bytes() const {
  uint64_t n = 0;
  for (size_t s = 0; s < bytes.size(); ++s) n += site_bytes(static_cast<int64_t>(s));
  return n;
}

namespace {

void add(Traffic& t, size_t row, std::span<const uint8_t> b) { t.add(row, peek_type(b), b.size()); }

std::string tensor_text(const char* field, const Tensor& t, WireDtype wire) {
  return msg(field, " ", t.dtype() == DType::u8 ? "u8" : wire_dtype_name(wire), " ", shape_str(t.shape()));
}

}  // namespace

template <class M>
AuditEntry audit_entry(bool sent, const M& m, uint64_t bytes, WireDtype wire) {
  AuditEntry e;
  e.sent = sent;
  e.type = type_of(m);
  e.step = step_of(m);
  e.bytes = bytes;
  std::visit([&](const auto& v) {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, ConditionUpload>) e.tensors.push_back(tensor_text("conditions", v.conditions, wire));
    if constexpr (std::is_same_v<T, Request>) e.tensors.push_back(tensor_text("synthetic", v.synthetic, wire));
    if constexpr (std::is_same_v<T, Gradient>) e.tensors.push_back(tensor_text("grad", v.grad, wire));
  }, m);
  return e;
}
template AuditEntry audit_entry(bool, const ToSite&, uint64_t, WireDtype);
template AuditEntry audit_entry(bool, const ToCentral&, uint64_t, WireDtype);

namespace {

void check_site(int64_t site, int64_t n) {
  if (site < 0 || site >= n) throw ValueError(msg("channel: site ", site, " outside the run's ", n, " sites"));
}

}  // namespace

void ByteCentralChannel::count(int64_t site, std::span<const uint8_t> bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (traffic_.bytes.size() < static_cast<size_t>(num_sites())) {
    traffic_.bytes.resize(static_cast<size_t>(num_sites()));
    traffic_.messages.resize(static_cast<size_t>(num_sites()));
  }
  add(traffic_, static_cast<size_t>(site), bytes);
}

void ByteCentralChannel::send(int64_t site, const ToSite& m) {
  check_site(site, num_sites());
  std::vector<uint8_t> bytes = encode(m, wire_);
  count(site, bytes);
  send_bytes(site, std::move(bytes));
}

ToCentral ByteCentralChannel::decode_counted(int64_t site, const std::vector<uint8_t>& bytes) {
  ToCentral m = decode_to_central(bytes, wire_, landing_);  // counted only once it is known to be a valid message
  count(site, bytes);
  return m;
}

ToCentral ByteCentralChannel::receive(int64_t site, Timeout timeout) {
  check_site(site, num_sites());
  return decode_counted(site, receive_bytes(site, timeout));
}

Incoming ByteCentralChannel::receive_any(Timeout timeout) {
  auto [site, bytes] = receive_any_bytes(timeout);
  return {site, decode_counted(site, bytes)};
}

Traffic ByteCentralChannel::traffic() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Traffic t = traffic_;
  t.bytes.resize(static_cast<size_t>(num_sites()));
  t.messages.resize(static_cast<size_t>(num_sites()));
  return t;
}

void ByteSiteChannel::send(const ToCentral& m) {
  std::vector<uint8_t> bytes = encode(m, wire_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    add(traffic_, 0, bytes);
  }
  if (on_message) on_message(audit_entry(true, m, bytes.size(), wire_));
  send_bytes(std::move(bytes));
}

ToSite ByteSiteChannel::receive(Timeout timeout) {
  const std::vector<uint8_t> bytes = receive_bytes(timeout);
  ToSite m = decode_to_site(bytes, wire_, landing_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    add(traffic_, 0, bytes);
  }
  if (on_message) on_message(audit_entry(false, m, bytes.size(), wire_));
  return m;
}

Traffic ByteSiteChannel::traffic() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return traffic_;
}

}  // namespace asyndgan::dist
