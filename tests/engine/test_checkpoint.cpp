// Checkpoint files: round trips, and refusal (never a crash) of truncated, corrupt, foreign and future files;
// atomic writes; the module / optimizer / generator / counter helpers.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <csignal>
#include <cstring>
#include "engine/engine.h"
#include "engine/io/checkpoint.h"
#include "engine/io/checkpoint_state.h"
#include "engine/io/checksum.h"
#include "engine/nn/nn.h"
#include "engine/optim/adam.h"
#include "file_test_util.h"

using namespace asyndgan;
using test::contains_all;
using test::error_message;
using test::ScratchDir;

namespace {

Checkpoint small_checkpoint() {
  Checkpoint c;
  c.tensors["w"] = Tensor::from_vector(std::vector<float>{1.5f, -2.0f, 3.25f}, {3});
  c.tensors["n"] = Tensor::from_vector(std::vector<int64_t>{7}, {});
  c.meta["step"] = "12";
  return c;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.contiguous().raw_data(), b.contiguous().raw_data(), a.nbytes()) == 0;
}

}  // namespace

TEST_CASE("checkpoint: CRC-32 gives the standard check value, incrementally too") {
  const char* digits = "123456789";
  CHECK(crc32(digits, 9) == 0xCBF43926u);
  CHECK(crc32(digits, 0) == 0u);
  std::vector<unsigned char> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i * 31 + 7);
  const uint32_t whole = crc32(data.data(), data.size());
  for (size_t split : {0, 1, 7, 8, 9, 500, 999})
    CHECK(crc32_update(crc32(data.data(), split), data.data() + split, data.size() - split) == whole);
  data[500] ^= 1;
  CHECK(crc32(data.data(), data.size()) != whole);
}

TEST_CASE("checkpoint: every dtype, 0-D, empty and strided tensors and the metadata round-trip exactly") {
  ScratchDir dir("ckpt_roundtrip");
  Generator gen(5);
  Checkpoint c;
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16})
    c.tensors[std::string("float/") + dtype_name(dt)] = Tensor::randn({2, 3, 4}, gen, dt);
  c.tensors["int/u8"] = Tensor::from_vector(std::vector<uint8_t>{0, 1, 254, 255}, {2, 2});
  c.tensors["int/i32"] = Tensor::from_vector(std::vector<int32_t>{INT32_MIN, -1, 0, INT32_MAX}, {4});
  c.tensors["int/i64"] = Tensor::from_vector(std::vector<int64_t>{INT64_MIN, INT64_MAX}, {2, 1});
  c.tensors["scalar"] = Tensor::scalar(3.5, DType::f64);
  c.tensors["empty"] = Tensor::zeros({0, 4});
  Tensor big = Tensor::randn({4, 6}, gen);
  c.tensors["strided"] = big.narrow(1, 2, 3);  // saved as its contiguous values
  c.meta["step"] = "123";
  c.meta["empty"] = "";
  c.meta["text"] = std::string("multi\nline \0 with nul", 21);
  save_checkpoint(dir.file("a.ckpt"), c);

  Checkpoint back = load_checkpoint(dir.file("a.ckpt"));
  REQUIRE(back.tensors.size() == c.tensors.size());
  for (const auto& [name, t] : c.tensors) {
    CAPTURE(name);
    REQUIRE(back.tensors.count(name));
    CHECK(same_bytes(back.tensors.at(name), t));
    CHECK(back.tensors.at(name).is_contiguous());
  }
  CHECK(back.meta == c.meta);
  CHECK(dir.entries() == 1);  // no temporary file left behind

  Checkpoint nothing;
  save_checkpoint(dir.file("empty.ckpt"), nothing);
  Checkpoint none = load_checkpoint(dir.file("empty.ckpt"));
  CHECK(none.tensors.empty());
  CHECK(none.meta.empty());
}

TEST_CASE("checkpoint: every truncated prefix is a FormatError that says the file is truncated") {
  ScratchDir dir("ckpt_truncated");
  const std::string good = dir.file("good.ckpt"), cut = dir.file("cut.ckpt");
  save_checkpoint(good, small_checkpoint());
  const std::vector<char> bytes = test::read_bytes(good);
  REQUIRE(bytes.size() > 60);
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    test::write_bytes(cut, bytes, n);
    const std::string m = error_message<FormatError>([&] { load_checkpoint(cut); });
    CHECK(contains_all(m, {cut, "truncated", "was the write interrupted?"}));
  }
  CHECK(load_checkpoint(good).meta.at("step") == "12");
}

TEST_CASE("checkpoint: any single flipped byte is refused, in the data it is a checksum error") {
  ScratchDir dir("ckpt_flipped");
  const std::string good = dir.file("good.ckpt"), bad = dir.file("bad.ckpt");
  save_checkpoint(good, small_checkpoint());
  const std::vector<char> bytes = test::read_bytes(good);
  for (size_t i = 0; i < bytes.size(); ++i) {
    CAPTURE(i);
    std::vector<char> corrupt = bytes;
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5A);
    test::write_bytes(bad, corrupt);
    CHECK(error_message<FormatError>([&] { load_checkpoint(bad); }).find(bad) != std::string::npos);
  }
  // the first data byte of tensor "n" (sorted first): header 32 + name length 4 + "n" + dtype 1 + ndim 4 + nbytes 8
  std::vector<char> corrupt = bytes;
  corrupt[32 + 4 + 1 + 1 + 4 + 8] ^= 0x01;
  test::write_bytes(bad, corrupt);
  CHECK(contains_all(error_message<FormatError>([&] { load_checkpoint(bad); }), {"checksum mismatch", "corrupt"}));

  std::vector<char> appended = bytes;
  appended.push_back('x');
  test::write_bytes(bad, appended);
  CHECK(error_message<FormatError>([&] { load_checkpoint(bad); }).find("unexpected bytes after the checksum") != std::string::npos);
}

TEST_CASE("checkpoint: foreign files and future versions are refused with clear messages") {
  ScratchDir dir("ckpt_foreign");
  const std::string path = dir.file("x.ckpt");
  save_checkpoint(path, small_checkpoint());
  std::vector<char> bytes = test::read_bytes(path);

  std::vector<char> foreign = bytes;
  std::memcpy(foreign.data(), "PK\x03\x04....", 8);  // e.g. a zip (PyTorch .pt) file
  test::write_bytes(path, foreign);
  CHECK(contains_all(error_message<FormatError>([&] { load_checkpoint(path); }), {path, "not an asyndgan checkpoint"}));

  std::vector<char> future = bytes;
  const uint32_t v2 = 2;
  std::memcpy(future.data() + 8, &v2, 4);
  test::write_bytes(path, future);
  CHECK(contains_all(error_message<FormatError>([&] { load_checkpoint(path); }),
                     {path, "version 2", "newer asyndgan", "reads up to version 1", "upgrade"}));

  std::vector<char> bad_dtype = bytes;
  bad_dtype[32 + 4 + 1] = 42;  // tensor "n"'s dtype code
  test::write_bytes(path, bad_dtype);
  CHECK(contains_all(error_message<FormatError>([&] { load_checkpoint(path); }), {"tensor 'n'", "unknown dtype code 42"}));

  CHECK(error_message<IOError>([&] { load_checkpoint(dir.file("missing.ckpt")); }).find("missing.ckpt") != std::string::npos);
}

TEST_CASE("checkpoint: a write that fails midway leaves the old file intact and no temporary file") {
  ScratchDir dir("ckpt_interrupted");
  const std::string path = dir.file("model.ckpt");
  save_checkpoint(path, small_checkpoint());
  const std::vector<char> old_bytes = test::read_bytes(path);

  Checkpoint big;
  big.tensors["w"] = Tensor::zeros({256, 1024});  // 1 MiB
  // The OS stops the write at 64 KiB, as a full disk would (SIGXFSZ ignored so the write just fails).
  struct rlimit old_limit {};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 64 * 1024;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  const std::string m = error_message<IOError>([&] { save_checkpoint(path, big); });
  setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  CHECK(contains_all(m, {path, "unchanged"}));
  CHECK(test::read_bytes(path) == old_bytes);
  CHECK(load_checkpoint(path).meta.at("step") == "12");
  CHECK(dir.entries() == 1);

  save_checkpoint(path, big);  // with the limit lifted the same write succeeds and replaces the file
  CHECK(load_checkpoint(path).tensors.at("w").shape() == Shape{256, 1024});
  CHECK(error_message<IOError>([&] { save_checkpoint(dir.file("no/such/dir/x.ckpt"), big); }).find("no/such/dir") != std::string::npos);
}

TEST_CASE("checkpoint: module, optimizer, generator and counter helpers restore fresh objects") {
  ScratchDir dir("ckpt_state");
  auto make_net = [] {
    auto net = std::make_shared<nn::Sequential>();
    net->push_back(std::make_shared<nn::Conv2d>(2, 3, 3));
    net->push_back(std::make_shared<nn::BatchNorm2d>(3));
    return net;
  };
  auto net = make_net();
  Generator init(1);
  nn::init_pix2pix(*net, init);
  net->named_buffers()[0].second.fill_(0.25);
  optim::Adam adam(net->parameters());
  for (Tensor& p : net->parameters()) p.set_grad(Tensor::ones_like(p));
  adam.step();
  Generator gen(99);
  gen.reserve(17);

  Checkpoint c;
  put_module(c, "G.", *net);
  put_optimizer(c, "opt_G.", adam);
  put_generator(c, "rng.dropout", gen);
  put_int(c, "step", 1234567890123);
  CHECK(c.tensors.count("G.0.weight"));
  CHECK(c.tensors.count("G.1.running_mean"));
  save_checkpoint(dir.file("s.ckpt"), c);
  net->parameters()[0].fill_(0);  // the checkpoint holds a snapshot, not the live tensors
  CHECK(c.tensors.at("G.0.weight").to_vector<float>() != net->parameters()[0].to_vector<float>());

  Checkpoint back = load_checkpoint(dir.file("s.ckpt"));
  auto fresh = make_net();
  get_module(back, "G.", *fresh);
  CHECK(fresh->parameters()[0].to_vector<float>() == c.tensors.at("G.0.weight").to_vector<float>());
  CHECK(fresh->named_buffers()[0].second.to_doubles()[0] == 0.25);
  optim::Adam fresh_adam(fresh->parameters());
  get_optimizer(back, "opt_G.", fresh_adam);
  CHECK(fresh_adam.step_count() == 1);
  Generator g2;
  get_generator(back, "rng.dropout", g2);
  CHECK(g2.seed() == 99);
  CHECK(g2.offset() == 17);
  CHECK(get_int(back, "step") == 1234567890123);

  CHECK(error_message<FormatError>([&] { get_int(back, "epoch"); }).find("'epoch'") != std::string::npos);
  back.meta["step"] = "12x";
  CHECK(error_message<FormatError>([&] { get_int(back, "step"); }).find("'12x'") != std::string::npos);
  back.meta["rng.dropout.seed"] = "-1";
  CHECK_THROWS_AS(get_generator(back, "rng.dropout", g2), FormatError);
  back.tensors.erase("G.1.running_var");
  CHECK(error_message<ValueError>([&] { get_module(back, "G.", *fresh); }).find("'1.running_var'") != std::string::npos);
}
