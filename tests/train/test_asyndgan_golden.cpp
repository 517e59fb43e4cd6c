// One full AsynDGAN iteration through dist's Central and Sites (two sites, site 1 without modality 1, tiny
// U-Net G, one PatchGAN per modality) against PyTorch: tests/golden/asyndgan_step_v1.safetensors, on the CPU.
#include "train/asyndgan_golden.h"

TEST_CASE("golden: one AsynDGAN iteration through Central and two Sites matches PyTorch") {
  asyndgan::test::golden_step::check(asyndgan::Device::cpu());
}
