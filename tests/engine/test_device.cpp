// resolve_device: explicit devices must exist; "auto" and "cuda" fall back to the CPU, saying why once.
#include <doctest/doctest.h>
#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include "engine/engine.h"

using namespace asyndgan;

namespace {

// Runs f() with stderr going to a temporary file and returns what it wrote.
template <class F>
std::string capture_stderr(F f) {
  std::fflush(stderr);
  char path[] = "/tmp/asyndgan_stderr_XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  f();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::remove(path);
  return ss.str();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("device: resolve_device checks explicit devices and names the count") {
  CHECK(resolve_device("cpu").is_cpu());
  CHECK_THROWS_AS(resolve_device("gpu"), DeviceError);
  const int n = cuda_device_count();
  try {
    resolve_device("cuda:" + std::to_string(n));
    FAIL("a CUDA device that does not exist resolved");
  } catch (const DeviceError& e) {
    const std::string m = e.what();
    CHECK(m.find("cuda:" + std::to_string(n)) != std::string::npos);
    CHECK(m.find("has " + std::to_string(n) + " CUDA device") != std::string::npos);
  }
  if (n > 0) CHECK(resolve_device("cuda:0") == Device::cuda(0));
}

// Under ctest every case is its own process, and no other engine test resolves "auto" or "cuda", so the note
// has not been printed before this case.
TEST_CASE("device: 'auto' and 'cuda' without a GPU run on the CPU and say why exactly once") {
  const int n = cuda_device_count();
  Device a, c;
  const std::string err = capture_stderr([&] {
    a = resolve_device("auto");
    c = resolve_device("cuda");
    resolve_device("auto");
  });
  if (n > 0) {
    CHECK(a == Device::cuda(0));
    CHECK(c == Device::cuda(0));
    CHECK(err.empty());
    return;
  }
  CHECK(a.is_cpu());
  CHECK(c.is_cpu());
  CHECK(count(err, "running on the CPU") == 1);
  const char* reason = ASYNDGAN_HAS_CUDA ? "no GPU visible" : "not compiled in";
  CHECK(err.find(std::string("asyndgan: no CUDA device (") + reason) == 0);
}
