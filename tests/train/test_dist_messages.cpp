// Protocol tests: every message survives encode/decode exactly; truncated, padded, mistyped or lying bytes
// are FormatErrors; the channel counts exactly the encoded bytes per site and message type.
#include <doctest/doctest.h>
#include "dist/in_process_channel.h"
#include "dist/messages.h"
#include "base/error.h"
#include "engine/rng.h"

using namespace asyndgan;
using namespace asyndgan::dist;

namespace {

Hello hello() { return Hello{"cbica", 3, 16, 16, {"background", "tumor", "brain"}, {"t1", "t2"}, {1, 0}}; }

ConditionUpload upload() {
  ConditionUpload m;
  m.keys = {0x0123456789abcdefull, 42, ~0ull};
  m.conditions = Tensor::empty({3, 3, 4, 5}, DType::u8);
  for (int64_t i = 0; i < m.conditions.numel(); ++i) m.conditions.data<uint8_t>()[i] = static_cast<uint8_t>(i * 7);
  return m;
}

Request request() {
  Generator g(3);
  Request m;
  m.step = 12;
  m.crop = 4;
  m.keys = {42, 42};
  m.aug = {{1, 2, true}, {0, 3, false}};
  m.synthetic = Tensor::randn({2, 2, 4, 4}, g);
  return m;
}

Gradient gradient() {
  Generator g(4);
  Gradient m;
  m.step = 12;
  m.samples = 2;
  m.grad = Tensor::randn({2, 2, 4, 4}, g);
  m.stats = {0.7, 1.5, 0.25, 26.5, 0.55, 0.45};
  return m;
}

bool same(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && a.to_doubles() == b.to_doubles();
}

}  // namespace

TEST_CASE("dist: every message round-trips through its encoding exactly") {
  const auto h = std::get<Hello>(decode_to_central(encode(ToCentral{hello()})));
  CHECK(h == hello());
  const auto u = std::get<ConditionUpload>(decode_to_central(encode(ToCentral{upload()})));
  CHECK(u.keys == upload().keys);
  CHECK(same(u.conditions, upload().conditions));
  const auto r = std::get<Request>(decode_to_site(encode(ToSite{request()})));
  CHECK(r.step == 12);
  CHECK(r.crop == 4);
  CHECK(r.keys == request().keys);
  CHECK(r.aug == request().aug);
  CHECK(same(r.synthetic, request().synthetic));
  const auto g = std::get<Gradient>(decode_to_central(encode(ToCentral{gradient()})));
  CHECK(g.step == 12);
  CHECK(g.samples == 2);
  CHECK(g.stats == gradient().stats);
  CHECK(same(g.grad, gradient().grad));
  for (ControlKind k : {ControlKind::start, ControlKind::stop, ControlKind::checkpoint}) {
    const Control c{k, 99};
    CHECK(std::get<Control>(decode_to_site(encode(ToSite{c}))) == c);
  }
  // The sizes are the documented layout: 2-byte header, u64 counts, 17 bytes per key + augmentation, tensors
  // with a u8 dtype, u32 rank and i64 dims before the data.
  CHECK(encode(ToSite{request()}).size() == 2 + 8 + 8 + 8 + 2 * 17 + 1 + 4 + 4 * 8 + 2 * 2 * 16 * 4);
  CHECK(encode(ToCentral{gradient()}).size() == 2 + 8 + 8 + 6 * 8 + 1 + 4 + 4 * 8 + 2 * 2 * 16 * 4);
  CHECK(encode(ToCentral{upload()}).size() == 2 + 8 + 3 * 8 + 1 + 4 + 4 * 8 + 3 * 3 * 4 * 5);
  CHECK(encode(ToSite{Control{}}).size() == 2 + 1 + 8);
}

TEST_CASE("dist: truncated, padded, mistyped or inconsistent bytes are refused as FormatError") {
  const std::vector<std::vector<uint8_t>> up = {encode(ToCentral{hello()}), encode(ToCentral{upload()}), encode(ToCentral{gradient()})};
  const std::vector<std::vector<uint8_t>> down = {encode(ToSite{request()}), encode(ToSite{Control{ControlKind::stop, 3}})};
  for (const auto& b : up) {
    for (size_t n = 0; n < b.size(); ++n) CHECK_THROWS_AS(decode_to_central(std::span(b.data(), n)), FormatError);
    auto longer = b;
    longer.push_back(0);
    CHECK_THROWS_AS(decode_to_central(longer), FormatError);
    CHECK_THROWS_AS(decode_to_site(b), FormatError);  // the other direction's type
  }
  for (const auto& b : down) {
    for (size_t n = 0; n < b.size(); ++n) CHECK_THROWS_AS(decode_to_site(std::span(b.data(), n)), FormatError);
    CHECK_THROWS_AS(decode_to_central(b), FormatError);
  }
  auto b = down[0];
  b[0] = kProtocolVersion + 1;
  CHECK_THROWS_WITH_AS(decode_to_site(b), doctest::Contains("protocol version"), FormatError);
  b = down[0];
  b[1] = 17;
  CHECK_THROWS_AS(decode_to_site(b), FormatError);
  b = down[0];
  b[2 + 8 + 8] = 0xff;  // the key count claims far more than the bytes hold: refused before allocating
  CHECK_THROWS_WITH_AS(decode_to_site(b), doctest::Contains("claims"), FormatError);
  b = down[0];
  b[2 + 8 + 8 + 8 + 16] = 2;  // a flip byte neither 0 nor 1
  CHECK_THROWS_AS(decode_to_site(b), FormatError);
  b = down[0];
  b[2 + 8 + 8 + 8 + 2 * 17] = static_cast<uint8_t>(DType::f64);  // synthetic images must be f32
  CHECK_THROWS_AS(decode_to_site(b), FormatError);
  b = down[1];
  b[2] = 9;  // unknown control kind
  CHECK_THROWS_AS(decode_to_site(b), FormatError);
  // Only f32 and u8 tensors can be encoded at all.
  Gradient g = gradient();
  g.grad = g.grad.to(DType::f64);
  CHECK_THROWS_AS(encode(ToCentral{g}), DTypeError);
}

TEST_CASE("dist: the in-process channel counts exactly the encoded bytes, per site and message type") {
  InProcessChannel ch(2);
  ch.site(1).send(hello());
  ch.site(1).send(upload());
  ch.central().send(1, request());
  ch.central().send(0, Control{ControlKind::start, 0});
  CHECK(std::holds_alternative<Hello>(ch.central().receive(1)));
  CHECK(std::holds_alternative<ConditionUpload>(ch.central().receive(1)));
  CHECK(std::holds_alternative<Request>(ch.site(1).receive()));
  CHECK(std::holds_alternative<Control>(ch.site(0).receive()));
  ch.site(1).send(gradient());
  CHECK(std::holds_alternative<Gradient>(ch.central().receive(1)));

  const Traffic t = ch.central().traffic();
  REQUIRE(t.bytes.size() == 2);
  const auto at = [&](int64_t s, MessageType m) { return t.bytes[s][static_cast<size_t>(m)]; };
  CHECK(at(1, MessageType::hello) == encode(ToCentral{hello()}).size());
  CHECK(at(1, MessageType::conditions) == encode(ToCentral{upload()}).size());
  CHECK(at(1, MessageType::request) == encode(ToSite{request()}).size());
  CHECK(at(1, MessageType::gradient) == encode(ToCentral{gradient()}).size());
  CHECK(at(0, MessageType::control) == 11);
  CHECK(at(0, MessageType::request) == 0);
  CHECK(t.messages[1][static_cast<size_t>(MessageType::gradient)] == 1);
  CHECK(t.site_bytes(0) == 11);
  CHECK(t.total_bytes() == t.site_bytes(0) + t.site_bytes(1));
  // The site end counts its own link the same way.
  const Traffic s = ch.site(1).traffic();
  CHECK(s.bytes[0] == t.bytes[1]);
  // Receiving on an empty link times out with an error naming it instead of hanging.
  InProcessChannel quick(1, std::chrono::milliseconds(10));
  CHECK_THROWS_WITH_AS(quick.central().receive(0), doctest::Contains("site 0 -> central"), Error);
  CHECK_THROWS_AS(ch.central().send(2, Control{}), ValueError);
}
