// Image-quality metrics for synthetic vs real images: PSNR and SSIM (Wang et al. 2004), optionally
// restricted to a mask such as the brain mask.
#pragma once
#include <cstddef>
#include <cstdint>

namespace asyndgan::models {

// 10 log10(data_range^2 / MSE) in dB over n values (only where mask != 0 when a mask is given); +inf for
// identical images. data_range is max - min of the value scale: 2.0 for images in [-1, 1]. ValueError
// for n == 0, data_range <= 0 or a mask that selects nothing.
double psnr(const float* a, const float* b, size_t n, double data_range, const uint8_t* mask = nullptr);

// Mean SSIM of two height x width images over every 11x11 window that lies inside the image (Gaussian
// weights, sigma 1.5; K1 0.01, K2 0.03; population variances), as skimage's structural_similarity with
// gaussian_weights=True. With a mask, the mean is over the windows whose centre pixel is in the mask.
// Identical images give 1. ValueError for images smaller than 11x11, data_range <= 0, or a mask with no
// centre inside the image's valid windows.
double ssim(const float* a, const float* b, int height, int width, double data_range, const uint8_t* mask = nullptr);

}  // namespace asyndgan::models
