#!/usr/bin/python3
"""Writes tests/golden/image_metrics.json: inputs and expected PSNR/SSIM for tests/train/test_image_metrics.cpp.

Numpy only (no skimage on Debian's python3): SSIM is Wang et al. 2004 as skimage's
structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=2)
computes it, written here as a direct 2-D weighted sum over every full 11x11 window (the C++ code
filters separably, so the two share no code path). Run: /usr/bin/python3 tests/golden/make_image_metrics.py
"""
import json
import os

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

H, W, RANGE = 24, 20, 2.0


def window():
    r = np.arange(11) - 5
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5**2))
    return g / g.sum()


def ssim_map(a, b):
    w = window()
    c1, c2 = (0.01 * RANGE) ** 2, (0.03 * RANGE) ** 2
    wa, wb = sliding_window_view(a, (11, 11)), sliding_window_view(b, (11, 11))
    mean = lambda v: np.einsum("ijkl,kl->ij", v, w)
    mx, my = mean(wa), mean(wb)
    vx, vy, cov = mean(wa * wa) - mx**2, mean(wb * wb) - my**2, mean(wa * wb) - mx * my
    return ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))


def psnr(a, b, m=None):
    d = (a - b) ** 2 if m is None else (a - b)[m > 0] ** 2
    return float(10 * np.log10(RANGE**2 / d.mean()))


def main():
    rng = np.random.default_rng(20250404)
    y, x = np.mgrid[0:H, 0:W]
    real = (0.6 * np.sin(x / 3.0) * np.cos(y / 4.0) + 0.1 * rng.standard_normal((H, W))).clip(-1, 1).astype(np.float32)
    light = (real + 0.05 * rng.standard_normal((H, W))).astype(np.float32)
    heavy = (real + 0.3 * rng.standard_normal((H, W))).astype(np.float32)
    mask = (((y - H / 2) ** 2 / 64 + (x - W / 2) ** 2 / 36) <= 1).astype(np.uint8)
    r64, l64, h64 = (v.astype(np.float64) for v in (real, light, heavy))
    centre = mask[5 : H - 5, 5 : W - 5] > 0
    out = {
        "height": H, "width": W, "data_range": RANGE,
        "real": [float(v) for v in real.ravel()],
        "light": [float(v) for v in light.ravel()],
        "heavy": [float(v) for v in heavy.ravel()],
        "mask": [int(v) for v in mask.ravel()],
        "psnr_light": psnr(r64, l64), "psnr_heavy": psnr(r64, h64), "psnr_light_masked": psnr(r64, l64, mask),
        "ssim_light": float(ssim_map(r64, l64).mean()), "ssim_heavy": float(ssim_map(r64, h64).mean()),
        "ssim_light_masked": float(ssim_map(r64, l64)[centre].mean()),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "image_metrics.json")
    with open(path, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print({k: v for k, v in out.items() if k.startswith(("psnr", "ssim"))})


if __name__ == "__main__":
    main()
