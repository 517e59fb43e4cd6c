// The numerics settings: parsing a run's keys once (names, bf16 only on CUDA), the environment variables, and the
// engine's current settings with the readers the CUDA code uses.
#include <doctest/doctest.h>
#include <cstdlib>
#include <optional>
#include <string>
#include "base/error.h"
#include "engine/cuda/numerics.h"
#include "engine/numerics.h"

using namespace asyndgan;

namespace {

// Sets (or unsets, for nullopt) an environment variable for its lifetime.
class EnvVar {
 public:
  EnvVar(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* v = std::getenv(name)) saved_ = v;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~EnvVar() {
    if (saved_) ::setenv(name_, saved_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

template <class F>
std::string value_error(F f) {
  try {
    f();
  } catch (const ValueError& e) {
    return e.what();
  }
  FAIL("expected a ValueError");
  return "";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("numerics: parse_numerics takes fp32 and bf16 and carries the switches, and any other precision name is "
          "refused naming train.precision and the choices") {
  const Numerics fp32 = parse_numerics({"fp32", true, true, false}, Device::cpu());
  CHECK(fp32.precision == Precision::fp32);
  CHECK(fp32.allow_tf32);
  CHECK(fp32.deterministic);
  CHECK_FALSE(fp32.cpu_winograd);
  const Numerics bf16 = parse_numerics({"bf16", false, false, true}, Device::cuda(0));
  CHECK(bf16.precision == Precision::bf16);
  CHECK_FALSE(bf16.allow_tf32);
  CHECK(bf16.cpu_winograd);
  CHECK(std::string(precision_name(bf16.precision)) == "bf16");

  for (const char* bad : {"fp16", "BF16", ""}) {
    const std::string m = value_error([&] { parse_numerics({bad}, Device::cpu()); });
    CHECK_MESSAGE(has(m, "'train.precision' must be one of fp32, bf16, got \"" + std::string(bad) + "\""), m);
  }
}

TEST_CASE("numerics: bf16 on the CPU is refused naming train.precision, the device and both fixes") {
  const std::string m = value_error([] { parse_numerics({"bf16"}, Device::cpu()); });
  CHECK_MESSAGE(has(m, "'train.precision' = \"bf16\" needs a CUDA device"), m);
  CHECK_MESSAGE(has(m, "the run's device is cpu"), m);
  CHECK_MESSAGE(has(m, "set train.device = \"cuda\" or train.precision = \"fp32\""), m);
}

TEST_CASE("numerics: from_environment reads the four variables: unset or empty keeps the defaults, a bad size is "
          "an error naming its variable") {
  {
    EnvVar a("ASYNDGAN_ALLOW_TF32", std::nullopt), d("ASYNDGAN_CUDNN_DETERMINISTIC", ""),
        w("ASYNDGAN_CPU_WINOGRAD", std::nullopt), m("ASYNDGAN_CUDNN_WORKSPACE_MB", "");
    CHECK(Numerics::from_environment() == Numerics{});
    CHECK(Numerics{}.cpu_winograd);
    CHECK(Numerics{}.conv_workspace_limit == size_t{256} << 20);
  }
  {
    EnvVar a("ASYNDGAN_ALLOW_TF32", "1"), d("ASYNDGAN_CUDNN_DETERMINISTIC", "yes"), w("ASYNDGAN_CPU_WINOGRAD", "0"),
        m("ASYNDGAN_CUDNN_WORKSPACE_MB", "64");
    const Numerics n = Numerics::from_environment();
    CHECK(n.allow_tf32);
    CHECK(n.deterministic);
    CHECK_FALSE(n.cpu_winograd);
    CHECK(n.conv_workspace_limit == size_t{64} << 20);
    CHECK(n.precision == Precision::fp32);
    // A run's config overrides the switches; the workspace, which has no key, stays the environment's.
    const Numerics run = parse_numerics({"fp32", false, false, true}, Device::cpu());
    CHECK_FALSE(run.allow_tf32);
    CHECK(run.cpu_winograd);
    CHECK(run.conv_workspace_limit == size_t{64} << 20);
  }
  for (const char* bad : {"lots", "-5", "12MB"}) {
    EnvVar m("ASYNDGAN_CUDNN_WORKSPACE_MB", bad);
    const std::string msg_text = value_error([] { Numerics::from_environment(); });
    CHECK_MESSAGE(has(msg_text, "ASYNDGAN_CUDNN_WORKSPACE_MB=\"" + std::string(bad) + "\""), msg_text);
    CHECK_MESSAGE(has(msg_text, "whole number of MiB"), msg_text);
  }
}

TEST_CASE("numerics: set_numerics and NumericsScope change the engine's current settings and what the CUDA "
          "convolutions are handed, and the scope puts the previous ones back") {
  const Numerics before = numerics();
  Numerics n = before;
  n.allow_tf32 = !before.allow_tf32;
  n.deterministic = !before.deterministic;
  n.cpu_winograd = !before.cpu_winograd;
  n.conv_workspace_limit = size_t{3} << 20;
  {
    const NumericsScope scope(n);
    CHECK(numerics() == n);
    const kern::cuda::ConvMath m = backend::conv_math();
    CHECK(m.allow_tf32 == n.allow_tf32);
    CHECK(m.deterministic == n.deterministic);
    CHECK(m.workspace_limit == n.conv_workspace_limit);
  }
  CHECK(numerics() == before);
  CHECK(backend::conv_math().allow_tf32 == before.allow_tf32);
}
