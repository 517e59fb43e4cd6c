// Consumer of the installed engine: a forward and backward pass through the public headers only.
#include <cmath>
#include <cstdio>
#include "engine/engine.h"

int main() {
  using namespace asyndgan;
  Tensor x = Tensor::from_vector(std::vector<double>{1.0, -2.0, 3.0}, {3});
  x.set_requires_grad(true);
  Tensor loss = sum(mul(x, x));  // d/dx = 2x
  loss.backward();
  std::vector<double> g = x.grad().to_doubles();
  bool ok = loss.item() == 14.0 && g == std::vector<double>{2.0, -4.0, 6.0};
  std::printf("consumer: loss %.1f grad [%.1f %.1f %.1f] %s\n", loss.item(), g[0], g[1], g[2], ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
