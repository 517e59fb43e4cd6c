// The golden AsynDGAN iteration (tests/train/asyndgan_golden.h, PyTorch's file) with G and every D on cuda:0,
// fp32 with TF32 off, held to 1e-4.
#include "train/asyndgan_golden.h"

TEST_CASE("golden: one AsynDGAN iteration on cuda:0 matches PyTorch within 1e-4") {
  asyndgan::test::golden_step::check(asyndgan::Device::cuda(0), 1e-4);
}
