// safetensors files: round trips, the spec's byte layout, and refusal of malformed JSON, headers and offsets
// with messages naming the file and tensor (the JSON reader itself: test_json.cpp).
#include <doctest/doctest.h>
#include <algorithm>
#include <cstring>
#include "engine/engine.h"
#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "engine/nn/nn.h"
#include "file_test_util.h"

using namespace asyndgan;
using test::contains_all;
using test::error_message;
using test::ScratchDir;

namespace {

// A file made of the given header text (padded to 8 bytes like a real one) and data section.
void write_raw(const std::string& path, std::string header, const std::vector<char>& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  const uint64_t n = header.size();
  std::vector<char> bytes(8 + header.size() + data.size());
  std::memcpy(bytes.data(), &n, 8);
  std::copy(header.begin(), header.end(), bytes.begin() + 8);
  std::copy(data.begin(), data.end(), bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header.size()));
  test::write_bytes(path, bytes);
}

}  // namespace

TEST_CASE("safetensors: every dtype and the metadata round-trip, in the spec's byte layout") {
  ScratchDir dir("st_roundtrip");
  const std::string path = dir.file("w.safetensors");
  Generator gen(2);
  std::map<std::string, Tensor> tensors;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16})
    tensors[std::string("t_") + dtype_name(dt)] = Tensor::randn({3, 2}, gen, dt);
  tensors["t_u8"] = Tensor::from_vector(std::vector<uint8_t>{1, 2, 255}, {3});
  tensors["t_i32"] = Tensor::from_vector(std::vector<int32_t>{-7, INT32_MAX}, {1, 2});
  tensors["t_i64"] = Tensor::from_vector(std::vector<int64_t>{INT64_MIN}, {});
  tensors["t_empty"] = Tensor::zeros({0});
  tensors["t_strided"] = Tensor::randn({4, 4}, gen).narrow(1, 1, 2);
  const std::map<std::string, std::string> meta{{"format", "pt"}, {"note", "quote \" and newline \n"}};
  save_safetensors(path, tensors, meta);
  CHECK(dir.entries() == 1);

  std::map<std::string, std::string> meta_back;
  auto back = load_safetensors(path, &meta_back);
  CHECK(meta_back == meta);
  REQUIRE(back.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    CAPTURE(name);
    const Tensor& b = back.at(name);
    CHECK(b.dtype() == t.dtype());
    CHECK(b.shape() == t.shape());
    CHECK(std::memcmp(b.raw_data(), t.contiguous().raw_data(), t.nbytes()) == 0);
  }

  // Layout: u64 header length, a multiple of 8; the header is JSON with the spec's dtype names and
  // offsets relative to the data section, which fills the rest of the file.
  const std::vector<char> bytes = test::read_bytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  const Json header = parse_json(std::string(bytes.data() + 8, n), path);
  CHECK(header.at("__metadata__").at("format") == "pt");
  CHECK(header.at("t_bf16").at("dtype") == "BF16");
  CHECK(header.at("t_i64").at("dtype") == "I64");
  CHECK(header.at("t_i64").at("shape").empty());
  const Json& off = header.at("t_f32").at("data_offsets");
  const Tensor& f32 = tensors.at("t_f32");
  CHECK(std::memcmp(bytes.data() + 8 + n + off[0].get<int64_t>(), f32.raw_data(), f32.nbytes()) == 0);
  uint64_t total = 0;
  for (const auto& [name, t] : tensors) total += t.nbytes();
  CHECK(bytes.size() == 8 + n + total);
}

TEST_CASE("safetensors: malformed headers and offsets are refused, naming the file and tensor") {
  ScratchDir dir("st_malformed");
  const std::string p = dir.file("bad.safetensors");
  const std::vector<char> eight(8, 0), sixteen(16, 0);
  auto message = [&](const std::string& header, const std::vector<char>& data) {
    write_raw(p, header, data);
    return error_message<FormatError>([&] { load_safetensors(p); });
  };
  const std::string a8 = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
  CHECK(message("{" + a8 + "}", eight) == "<no exception>");  // the well-formed base case loads

  CHECK(contains_all(message("{" + a8 + ",}", eight), {p + ": header: malformed JSON at byte"}));
  CHECK(contains_all(message("[1]", eight), {p, "does not start with '{'"}));
  CHECK(contains_all(message("{\"a\":{\"dtype\":\"F8\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                     {p, "tensor 'a'", "unsupported dtype \"F8\""}));
  CHECK(contains_all(message("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", eight),
                     {"tensor 'a'", "non-negative"}));
  CHECK(contains_all(message("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", eight),
                     {"tensor 'a'", "span 8 bytes", "needs 12"}));
  CHECK(contains_all(message("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", eight),
                     {"tensor 'a'", "leave a gap"}));
  CHECK(contains_all(message("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", eight),
                     {"tensor 'a'", "run past the 8-byte data section", "truncated"}));
  CHECK(contains_all(message("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", eight),
                     {"tensor 'a'", "end before they begin"}));
  CHECK(contains_all(message("{" + a8 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", sixteen),
                     {"tensor 'b'", "overlap"}));
  CHECK(contains_all(message("{" + a8 + "}", sixteen), {"8 bytes after the last tensor"}));
  CHECK(contains_all(message("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight), {"tensor 'a'", "data_offsets"}));
  CHECK(contains_all(message("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", eight),
                     {"tensor 'a'", "unknown header field \"x\""}));
  CHECK(contains_all(message("{\"__metadata__\":{\"k\":1}," + a8 + "}", eight), {"__metadata__", "\"k\"", "not a string"}));
  CHECK(contains_all(message("{\"a\":[]}", eight), {"tensor 'a'", "expected an object"}));

  // the header length itself: beyond the file, or absurd
  std::vector<char> huge(16, 0);
  const uint64_t big = 1ull << 40;
  std::memcpy(huge.data(), &big, 8);
  test::write_bytes(p, huge);
  CHECK(contains_all(error_message<FormatError>([&] { load_safetensors(p); }), {p, "header length"}));
  const uint64_t beyond = 64;
  std::memcpy(huge.data(), &beyond, 8);
  test::write_bytes(p, huge);
  CHECK(contains_all(error_message<FormatError>([&] { load_safetensors(p); }), {p, "truncated", "JSON header"}));

  // every prefix of a valid file is refused
  save_safetensors(p, {{"w", Tensor::ones({3})}, {"b", Tensor::zeros({2}, DType::i64)}});
  const std::vector<char> bytes = test::read_bytes(p);
  const std::string cut = dir.file("cut.safetensors");
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    test::write_bytes(cut, bytes, n);
    CHECK_THROWS_AS(load_safetensors(cut), FormatError);
  }
}

TEST_CASE("safetensors: module weights round-trip under their PyTorch names, mismatches name file and key") {
  ScratchDir dir("st_module");
  const std::string path = dir.file("G.safetensors");
  auto make = [](int64_t width) {
    auto net = std::make_shared<nn::Sequential>();
    net->push_back(std::make_shared<nn::Conv2d>(3, width, 4, 2, 1, false));
    net->push_back(std::make_shared<nn::BatchNorm2d>(width));
    net->push_back(std::make_shared<nn::ConvTranspose2d>(width, 3, 4, 2, 1));
    return net;
  };
  auto net = make(8);
  Generator gen(4);
  nn::init_pix2pix(*net, gen);
  net->named_buffers()[0].second.fill_(0.5);
  save_module_safetensors(path, *net);

  auto names = load_safetensors(path);
  CHECK(names.count("0.weight"));
  CHECK(names.count("1.running_var"));
  CHECK(names.count("2.bias"));
  CHECK(names.size() == net->state_dict().size());

  auto fresh = make(8);
  load_module_safetensors(path, *fresh);
  for (size_t i = 0; i < net->state_dict().size(); ++i)
    CHECK(fresh->state_dict()[i].second.to_vector<float>() == net->state_dict()[i].second.to_vector<float>());

  auto wider = make(16);
  CHECK(contains_all(error_message<ShapeError>([&] { load_module_safetensors(path, *wider); }),
                     {path, "'0.weight'", "[8, 3, 4, 4]", "[16, 3, 4, 4]"}));
}
