// ReflectionPad2d layer (pix2pix's ResNet generator pads this way before its 7x7 and 3x3 convolutions).
#pragma once
#include "engine/nn/module.h"

namespace asyndgan::nn {

class ReflectionPad2d : public Module {
 public:
  explicit ReflectionPad2d(int64_t pad) : ReflectionPad2d(pad, pad, pad, pad) {}
  ReflectionPad2d(int64_t left, int64_t right, int64_t top, int64_t bottom);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReflectionPad2d"; }

  int64_t left, right, top, bottom;
};

}  // namespace asyndgan::nn
