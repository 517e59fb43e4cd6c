// Dropout layer; its mask comes from a Generator the layer points to, so a run can give each dropout its
// own stream and checkpoint that stream's state for a bit-exact resume.
#pragma once
#include "engine/nn/module.h"
#include "engine/rng.h"

namespace asyndgan::nn {

class Dropout : public Module {
 public:
  // gen: not owned, must outlive the layer; null means default_generator().
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // identity in eval mode
  // forward written into `out` (a destination as ops.h describes); a copy when not active().
  Tensor forward_into(const Tensor& x, const Tensor& out);
  bool active() const { return is_training() && p > 0.0; }  // false: forward is the identity
  std::string type_name() const override { return "Dropout"; }
  void set_generator(Generator& gen) { gen_ = &gen; }
  Generator& generator() const { return *gen_; }

  double p;

 private:
  Generator* gen_;
};

}  // namespace asyndgan::nn
