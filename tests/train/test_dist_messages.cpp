// Protocol tests: every message survives encode/decode exactly; truncated, padded, mistyped or lying bytes
// are FormatErrors; the channel counts exactly the encoded bytes per site and message type.
#include <doctest/doctest.h>
#include <cstring>
#include "dist/in_process_channel.h"
#include "dist/messages.h"
#include "base/error.h"
#include "engine/rng.h"

using namespace asyndgan;
using namespace asyndgan::dist;

namespace {

Hello hello() {
  Hello h;
  h.contract = {{"loss.gan", "vanilla"}, {"model.ngf", "64"}};
  h.contract_hash = "ab12";
  h.declared = {{"device", "cpu"}};
  h.site = "cbica";
  h.samples = 3;
  h.height = h.width = 16;
  h.condition_channels = {"background", "tumor", "brain"};
  h.image_channels = {"t1", "t2"};
  h.has_modality = {1, 0};
  return h;
}

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
  CHECK(g.refused.empty());
  CHECK_FALSE(g.stats_withheld);
  Gradient policy = gradient();
  policy.refused = {1, 0};
  policy.refusal = "more than 2 answers about one sample in an epoch";
  policy.stats_withheld = true;
  policy.epsilon = 3.25;
  const auto p = std::get<Gradient>(decode_to_central(encode(ToCentral{policy})));
  CHECK(p.refused == policy.refused);
  CHECK(p.refusal == policy.refusal);
  CHECK(p.stats_withheld);
  CHECK(p.epsilon == 3.25);
  CHECK(p.answered() == 1);
  for (ControlKind k : {ControlKind::start, ControlKind::stop, ControlKind::checkpoint, ControlKind::set_lr}) {
    const Control c{k, 99, k == ControlKind::set_lr ? 1.5e-4 : 0.0};
    CHECK(std::get<Control>(decode_to_site(encode(ToSite{c}))) == c);
  }
  const Failure f{"contract differs: loss.gan"};
  CHECK(std::get<Failure>(decode_to_site(encode(ToSite{f}))) == f);
  CHECK(std::get<Failure>(decode_to_central(encode(ToCentral{f}))) == f);
  // The sizes are the documented layout: 2-byte header, u64 counts, 17 bytes per key + augmentation, tensors
  // with a u8 dtype, u32 rank and i64 dims before the data.
  CHECK(encode(ToSite{request()}).size() == 2 + 8 + 8 + 8 + 2 * 17 + 1 + 4 + 4 * 8 + 2 * 2 * 16 * 4);
  // A gradient ends with its policy fields: u64 count of refusal flags (0 here), the reason, withheld, epsilon.
  CHECK(encode(ToCentral{gradient()}).size() == 2 + 8 + 8 + 6 * 8 + 1 + 4 + 4 * 8 + 2 * 2 * 16 * 4 + 8 + 4 + 1 + 8);
  Gradient refusing = gradient();
  refusing.refused = {0, 1};
  refusing.refusal = "a key this site never uploaded";
  CHECK(encode(ToCentral{refusing}).size() == encode(ToCentral{gradient()}).size() + 2 + refusing.refusal.size());
  CHECK(encode(ToCentral{upload()}).size() == 2 + 8 + 3 * 8 + 1 + 4 + 4 * 8 + 3 * 3 * 4 * 5);
  CHECK(encode(ToSite{Control{}}).size() == 2 + 1 + 8 + 8);
}

TEST_CASE("dist: truncated, padded, mistyped or inconsistent bytes are refused as FormatError") {
  const std::vector<std::vector<uint8_t>> up = {encode(ToCentral{hello()}), encode(ToCentral{upload()}), encode(ToCentral{gradient()})};
  const std::vector<std::vector<uint8_t>> down = {encode(ToSite{request()}), encode(ToSite{Control{ControlKind::stop, 3}}),
                                                  encode(ToSite{Failure{"no"}})};
  for (const auto& b : up) {
    for (size_t n = 0; n < b.size(); ++n) CHECK_THROWS_AS(decode_to_central(std::span(b.data(), n)), FormatError);
    auto longer = b;
    longer.push_back(0);
    CHECK_THROWS_AS(decode_to_central(longer), FormatError);
    if (peek_type(b) != MessageType::failure) CHECK_THROWS_AS(decode_to_site(b), FormatError);  // the other direction's type
  }
  for (const auto& b : down) {
    for (size_t n = 0; n < b.size(); ++n) CHECK_THROWS_AS(decode_to_site(std::span(b.data(), n)), FormatError);
    if (peek_type(b) != MessageType::failure) CHECK_THROWS_AS(decode_to_central(b), FormatError);
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
  b[2 + 8 + 8 + 8 + 2 * 17] = static_cast<uint8_t>(DType::f64);  // synthetic images must be in the wire dtype
  CHECK_THROWS_AS(decode_to_site(b), FormatError);
  b = down[0];  // f32 bytes where the run agreed on bf16: refused, naming the setting
  CHECK_THROWS_WITH_AS(decode_to_site(b, WireDtype::bf16), doctest::Contains("dist.wire_dtype"), FormatError);
  b = down[1];
  b[2] = 9;  // unknown control kind
  CHECK_THROWS_AS(decode_to_site(b), FormatError);
  // Shapes whose sizes overflow 64 bits (found by the fuzzer): an empty tensor with huge other dimensions, and
  // one whose byte count wraps to 0. Both refused before any allocation.
  for (const std::vector<int64_t>& dims : {std::vector<int64_t>{0, int64_t{1} << 40, int64_t{1} << 40, int64_t{1} << 40},
                                           std::vector<int64_t>{1, 1, 1, int64_t{1} << 62}}) {
    b = down[0];
    const size_t dims_at = 2 + 8 + 8 + 8 + 2 * 17 + 1 + 4;
    for (size_t d = 0; d < 4; ++d) std::memcpy(b.data() + dims_at + 8 * d, &dims[d], 8);
    CHECK_THROWS_WITH_AS(decode_to_site(b), doctest::Contains("larger than the message"), FormatError);
  }
  // Only f32 and u8 tensors can be encoded at all.
  Gradient g = gradient();
  g.grad = g.grad.to(DType::f64);
  CHECK_THROWS_AS(encode(ToCentral{g}), DTypeError);
}

TEST_CASE("dist: floating fields cross in the wire dtype, rounded to nearest even, condition maps stay u8") {
  const Request r = request();
  const auto f32 = encode(ToSite{r}, WireDtype::f32), bf16 = encode(ToSite{r}, WireDtype::bf16), f16 = encode(ToSite{r}, WireDtype::f16);
  const int64_t n = r.synthetic.numel();
  CHECK(f32.size() - bf16.size() == static_cast<size_t>(2 * n));  // 4 -> 2 bytes per value, the rest identical
  CHECK(bf16.size() == f16.size());
  for (WireDtype w : {WireDtype::bf16, WireDtype::f16}) {
    const Request back = std::get<Request>(decode_to_site(encode(ToSite{r}, w), w));
    CHECK(back.synthetic.dtype() == DType::f32);
    // Exactly the engine's round-to-nearest-even conversion, which base/half.h implements and tests.
    CHECK(back.synthetic.to_doubles() == r.synthetic.to(wire_storage(w)).to(DType::f32).to_doubles());
    CHECK(back.synthetic.to_doubles() != r.synthetic.to_doubles());  // the rounding happened
  }
  // Ties go to even: 1 + 2^-8 is halfway between two bf16 values and rounds down to 1, 1 + 3 * 2^-8 up.
  Request t = r;
  t.synthetic = Tensor::from_vector(std::vector<float>{1.0f + 1.0f / 256, 1.0f + 3.0f / 256}, {1, 1, 1, 2});
  t.keys = {1};
  t.aug = {data::CropFlip{}};
  const Request tb = std::get<Request>(decode_to_site(encode(ToSite{t}, WireDtype::bf16), WireDtype::bf16));
  CHECK(tb.synthetic.to_vector<float>() == std::vector<float>{1.0f, 1.0f + 4.0f / 256});
  const ConditionUpload u = std::get<ConditionUpload>(decode_to_central(encode(ToCentral{upload()}, WireDtype::bf16), WireDtype::bf16));
  CHECK(same(u.conditions, upload().conditions));
}

TEST_CASE("dist: the in-process channel counts exactly the encoded bytes, per site and message type") {
  InProcessChannel ch(2, WireDtype::f32);
  ch.site(1).send(hello());
  ch.site(1).send(upload());
  ch.central().send(1, request());
  ch.central().send(0, Control{ControlKind::start, 0});
  CHECK(std::holds_alternative<Hello>(ch.central().receive(1, kWaitLong)));
  CHECK(std::holds_alternative<ConditionUpload>(ch.central().receive(1, kWaitLong)));
  CHECK(std::holds_alternative<Request>(ch.site(1).receive(kWaitLong)));
  CHECK(std::holds_alternative<Control>(ch.site(0).receive(kWaitLong)));
  ch.site(1).send(gradient());
  CHECK(std::holds_alternative<Gradient>(ch.central().receive(1, kWaitLong)));

  const Traffic t = ch.central().traffic();
  REQUIRE(t.bytes.size() == 2);
  const auto at = [&](int64_t s, MessageType m) { return t.bytes[s][static_cast<size_t>(m)]; };
  CHECK(at(1, MessageType::hello) == encode(ToCentral{hello()}).size());
  CHECK(at(1, MessageType::conditions) == encode(ToCentral{upload()}).size());
  CHECK(at(1, MessageType::request) == encode(ToSite{request()}).size());
  CHECK(at(1, MessageType::gradient) == encode(ToCentral{gradient()}).size());
  CHECK(at(0, MessageType::control) == 19);
  CHECK(at(0, MessageType::request) == 0);
  CHECK(t.messages[1][static_cast<size_t>(MessageType::gradient)] == 1);
  CHECK(t.site_bytes(0) == 19);
  CHECK(t.total_bytes() == t.site_bytes(0) + t.site_bytes(1));
  // The site end counts its own link the same way.
  const Traffic s = ch.site(1).traffic();
  CHECK(s.bytes[0] == t.bytes[1]);
  // Receiving on an empty link times out with an error naming it instead of hanging.
  CHECK_THROWS_WITH_AS(ch.central().receive(0, Timeout(10)), doctest::Contains("site 0 -> central"), Error);
  CHECK_THROWS_WITH_AS(ch.central().receive_any(Timeout(10)), doctest::Contains("any site"), Error);
  CHECK_THROWS_AS(ch.central().send(2, Control{}), ValueError);
}

TEST_CASE("dist: receive_any takes whichever site sent first, and a closed link refuses both ways") {
  InProcessChannel ch(3, WireDtype::f32);
  ch.site(2).send(gradient());
  ch.site(0).send(Failure{"out of disk"});
  Incoming a = ch.central().receive_any(Timeout(1000));
  CHECK(a.site == 0);  // ties in site order
  CHECK(std::get<Failure>(a.message).reason == "out of disk");
  Incoming b = ch.central().receive_any(Timeout(1000));
  CHECK(b.site == 2);
  CHECK(std::holds_alternative<Gradient>(b.message));
  ch.central().close(1);
  CHECK_THROWS_WITH_AS(ch.central().send(1, Control{}), doctest::Contains("closed"), Error);
  CHECK_THROWS_WITH_AS(ch.central().receive(1, Timeout(1000)), doctest::Contains("closed"), Error);
  CHECK_THROWS_WITH_AS(ch.site(1).send(gradient()), doctest::Contains("closed"), Error);
  ch.site(0).close();
  ch.site(2).close();
  CHECK_THROWS_WITH_AS(ch.central().receive_any(Timeout(1000)), doctest::Contains("closed"), Error);  // every link closed: at once
}
