// Consumer of the installed engine, written as the README shows: autograd with a supplied gradient, and a
// conv layer trained by Adam, through the public headers only.
#include <cmath>
#include <cstdio>
#include "engine/engine.h"

int main() {
  using namespace asyndgan;
  Tensor v = Tensor::from_vector(std::vector<double>{1.0, -2.0, 3.0}, {3});
  v.set_requires_grad(true);
  mul(v, v).backward(Tensor::from_vector(std::vector<double>{1.0, 1.0, 0.5}, {3}));  // d/dv = 2v * g
  bool grad_ok = v.grad().to_doubles() == std::vector<double>{2.0, -4.0, 3.0};

  Generator gen(42);
  Tensor x = Tensor::randn({4, 5, 16, 16}, gen);
  nn::Conv2d conv(5, 16, /*kernel=*/4, /*stride=*/2, /*padding=*/1);
  optim::Adam adam(conv.parameters(), {.lr = 1e-2, .beta1 = 0.5});
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    Tensor loss = mean(relu(conv.forward(x)));
    adam.zero_grad();
    loss.backward();
    adam.step();
    (step == 0 ? first : last) = loss.item();
  }
  bool train_ok = last < first;
  std::printf("consumer: supplied-gradient backward %s; conv+Adam loss %.4f -> %.4f %s\n", grad_ok ? "ok" : "WRONG",
              first, last, train_ok ? "ok" : "DID NOT FALL");
  return grad_ok && train_ok ? 0 : 1;
}
