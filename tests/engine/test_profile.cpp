// engine/profile.h: off by default (nothing recorded), on it times the conv ops' forward and backward by name.
#include <doctest/doctest.h>
#include <algorithm>
#include "engine/engine.h"
#include "engine/profile.h"

using namespace asyndgan;

namespace {
const profile::Entry* find(const std::vector<profile::Entry>& v, const std::string& name) {
  auto it = std::find_if(v.begin(), v.end(), [&](const profile::Entry& e) { return e.name == name; });
  return it == v.end() ? nullptr : &*it;
}

void conv_forward_backward() {
  Generator gen(7);
  Tensor x = Tensor::randn({2, 3, 8, 8}, gen).set_requires_grad(true);
  Tensor w = Tensor::randn({4, 3, 4, 4}, gen).set_requires_grad(true);
  Tensor b = Tensor::randn({4}, gen).set_requires_grad(true);
  sum(conv2d(x, w, b, Conv2dOptions::make(2, 1))).backward();
}
}  // namespace

TEST_CASE("profile: off records nothing, on records conv forward and backward, reset clears") {
  const bool was = profile::enabled();
  profile::set_enabled(false);
  profile::reset();
  conv_forward_backward();
  CHECK(profile::snapshot().empty());

  profile::set_enabled(true);
  conv_forward_backward();
  conv_forward_backward();
  profile::set_enabled(false);
  const auto s = profile::snapshot();
  const profile::Entry* fwd = find(s, "conv2d");
  const profile::Entry* bwd = find(s, "conv2d backward");
  REQUIRE(fwd);
  REQUIRE(bwd);
  CHECK(fwd->calls == 4);  // per call: the product and the bias add
  CHECK(bwd->calls == 6);  // per call: input, weight and bias gradients
  CHECK(fwd->seconds > 0);
  CHECK(bwd->seconds > 0);

  conv_forward_backward();  // off again: the totals stay as they were
  CHECK(find(profile::snapshot(), "conv2d")->calls == 4);
  profile::reset();
  CHECK(profile::snapshot().empty());
  profile::set_enabled(was);
}

TEST_CASE("profile: Scope nests, each name counting its own time") {
  const bool was = profile::enabled();
  profile::reset();
  profile::set_enabled(true);
  {
    const profile::Scope outer("test outer");
    const profile::Scope inner("test inner");
  }
  profile::set_enabled(false);
  const auto s = profile::snapshot();
  REQUIRE(find(s, "test outer"));
  REQUIRE(find(s, "test inner"));
  CHECK(find(s, "test outer")->calls == 1);
  CHECK(find(s, "test outer")->seconds >= find(s, "test inner")->seconds);
  profile::reset();
  profile::set_enabled(was);
}
