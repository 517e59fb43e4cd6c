// Reconnect delays: doubling from the initial delay up to the cap, a total budget, seeded jitter, reset.
#include <doctest/doctest.h>
#include "base/error.h"
#include "dist/net/backoff.h"

using namespace asyndgan;
using std::chrono::milliseconds;

namespace {
std::vector<long long> all_delays(net::Backoff& b) {
  std::vector<long long> out;
  while (auto d = b.next()) out.push_back(d->count());
  return out;
}
}  // namespace

TEST_CASE("net: backoff doubles from the initial delay up to the cap, and stops when the budget is spent") {
  net::Backoff b({milliseconds(100), milliseconds(1000), milliseconds(3500), std::nullopt});
  // 100 200 400 800 1000 (sum 2500), then the last 1000 cut to ... 1000 (sum 3500): the budget exactly.
  CHECK(all_delays(b) == std::vector<long long>{100, 200, 400, 800, 1000, 1000});
  CHECK(b.spent() == milliseconds(3500));
  CHECK(b.attempts() == 6);
  CHECK_FALSE(b.next());

  net::Backoff cut({milliseconds(100), milliseconds(1000), milliseconds(1000), std::nullopt});
  CHECK(all_delays(cut) == std::vector<long long>{100, 200, 400, 300});
  cut.reset();
  CHECK(cut.next() == milliseconds(100));

  net::Backoff none({milliseconds(100), milliseconds(1000), milliseconds(0), std::nullopt});
  CHECK_FALSE(none.next());
}

TEST_CASE("net: backoff jitter is drawn from the seed, within half to all of each delay, and within the budget") {
  const net::BackoffOptions o{milliseconds(100), milliseconds(800), milliseconds(20000), 42};
  net::Backoff a(o), b(o);
  const std::vector<long long> da = all_delays(a), db = all_delays(b);
  CHECK(da == db);
  long long base = 100, sum = 0;
  bool any_jitter = false;
  for (size_t i = 0; i + 1 < da.size(); ++i) {  // the last one may be cut to the budget
    CHECK(da[i] >= base / 2);
    CHECK(da[i] <= base);
    any_jitter = any_jitter || da[i] != base;
    base = std::min<long long>(base * 2, 800);
  }
  for (long long d : da) sum += d;
  CHECK(sum == 20000);
  CHECK(any_jitter);
  net::BackoffOptions other = o;
  other.jitter_seed = 43;
  net::Backoff c(other);
  CHECK(all_delays(c) != da);
  a.reset();
  CHECK(all_delays(a) == da);
}

TEST_CASE("net: backoff options that cannot work are refused, naming the value") {
  CHECK_THROWS_AS(net::Backoff({milliseconds(0), milliseconds(10), milliseconds(10), std::nullopt}), ValueError);
  CHECK_THROWS_WITH_AS(net::Backoff({milliseconds(100), milliseconds(10), milliseconds(10), std::nullopt}),
                       doctest::Contains("below the initial"), ValueError);
  CHECK_THROWS_WITH_AS(net::Backoff({milliseconds(100), milliseconds(100), milliseconds(-1), std::nullopt}),
                       doctest::Contains("dist.reconnect_s"), ValueError);
}
