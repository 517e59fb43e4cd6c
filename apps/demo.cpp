// `asyndgan demo`: trains a tiny conv net on generated data (learn a fixed edge filter of smooth random images)
// and prints its falling L1 loss; with --out DIR it also writes a checkpoint and a safetensors export.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <CLI/CLI.hpp>
#include "apps/cli_options.h"
#include "apps/commands.h"
#include "engine/engine.h"

namespace asyndgan::app {
namespace {

struct DemoOptions {
  int steps = 300, batch = 8, size = 32;
  std::string out;
};

// Smooth random images: white noise blurred by an averaging conv, so edges are meaningful.
Tensor smooth_images(Generator& gen, int batch, int size) {
  NoGradGuard ng;
  Tensor noise = Tensor::randn({batch, 1, size, size}, gen);
  Tensor blur = Tensor::full({1, 1, 5, 5}, 1.0 / 5.0);
  return conv2d(reflection_pad2d(noise, 2, 2, 2, 2), blur, Tensor(), Conv2dOptions::make(1, 0));
}

// The function to learn: tanh of a Laplacian edge filter.
Tensor teacher(const Tensor& x) {
  NoGradGuard ng;
  Tensor lap = Tensor::from_vector(std::vector<float>{0, 1, 0, 1, -4, 1, 0, 1, 0}, {1, 1, 3, 3});
  return tanh(conv2d(reflection_pad2d(x, 1, 1, 1, 1), lap, Tensor(), Conv2dOptions::make(1, 0)));
}

}  // namespace

int run_demo(const DemoOptions& args) {
  Generator data_gen(7), init_gen(11), dropout_gen(13);
  auto net = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(1, 16, 3, 1, 1), std::make_shared<nn::LeakyReLU>(0.2),
      std::make_shared<nn::Conv2d>(16, 16, 3, 1, 1, false), std::make_shared<nn::BatchNorm2d>(16),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::Conv2d>(16, 1, 3, 1, 1), std::make_shared<nn::Tanh>()});
  nn::init_pix2pix(*net, init_gen, 0.1);
  optim::Adam adam(net->parameters(), {.lr = 2e-3, .beta1 = 0.5, .beta2 = 0.999});
  std::printf("demo: %lld-parameter conv net learns an edge filter on %dx%d images, batch %d, %d steps\n",
              static_cast<long long>(nn::count_parameters(*net)), args.size, args.size, args.batch, args.steps);

  auto t0 = std::chrono::steady_clock::now();
  double first = 0, last = 0;
  for (int step = 1; step <= args.steps; ++step) {
    Tensor x = smooth_images(data_gen, args.batch, args.size);
    Tensor loss = l1_loss(net->forward(x), teacher(x));
    adam.zero_grad();
    loss.backward();
    adam.step();
    last = loss.item();
    if (step == 1) first = last;
    if (step == 1 || step % (args.steps / 10 > 0 ? args.steps / 10 : 1) == 0)
      std::printf("  step %4d  L1 %.5f\n", step, last);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("demo: L1 fell from %.4f to %.4f (%.1fx) in %.1f s (%.0f images/s)\n", first, last, first / last, secs,
              args.steps * args.batch / secs);

  if (!args.out.empty()) {
    Checkpoint ckpt;
    put_module(ckpt, "net.", *net);
    put_optimizer(ckpt, "adam.", adam);
    put_generator(ckpt, "data_rng", data_gen);
    put_int(ckpt, "step", args.steps);
    std::string base = args.out + "/demo";
    save_checkpoint(base + ".ckpt", ckpt);
    save_module_safetensors(base + ".safetensors", *net);
    std::printf("demo: wrote %s.ckpt and %s.safetensors\n", base.c_str(), base.c_str());
  }
  return last < first ? 0 : 1;
}

Verb add_demo(CLI::App& cli) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* cmd = cli.add_subcommand("demo", "train a tiny conv net on generated data and print its falling loss");
  cmd->add_option("--steps", o->steps, "training steps")->check(at_least(1));
  cmd->add_option("--batch", o->batch, "images per step")->check(at_least(1));
  cmd->add_option("--size", o->size, "image height and width")->check(at_least(8));
  cmd->add_option("--out", o->out, "also write DIR/demo.ckpt and DIR/demo.safetensors");
  return {cmd, [o] { return run_demo(*o); }};
}

}  // namespace asyndgan::app
