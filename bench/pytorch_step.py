"""PyTorch reference for bench/gpu_step.cpp: the same AsynDGAN iteration on the GPU, timed the same way.

    python3 bench/pytorch_step.py [--sites 1,4] [--size 256] [--batch 16] [--iters 20] [--warmup 3]
                                  [--modes eager_bf16,compile_bf16] [--json out.jsonl]

Networks and step are bench/pytorch_cpu_step.py's (imported, not copied): pix2pix's U-Net (ngf 64, instance norm,
dropout, depth log2(size)) and one 70x70 PatchGAN (ndf 64, n_layers 3, instance norm) per modality per site,
N(0, 0.02) init; per site G(x_j), one D step per modality (fake detached, then real), the generator loss
(GAN + 100 * L1) w.r.t. the fake only, then one backward through G of the weighted gradients and one Adam step.
Here on cuda with 5 condition channels, 4 modalities and --batch images per site, in the modes:
  eager_bf16:   bf16 autocast + channels_last + cudnn.benchmark (how a user would run it fast without compiling)
  compile_bf16: the same with G and every D wrapped in torch.compile (compile time is warm-up, not timed)
  eager_fp32:   fp32 with TF32 off (what asyndgan's fp32 precision computes)
Each configuration: warm-up iterations, then the median of --iters synchronized iterations; one row and one JSON
line ({"bench": "gpu_step", "impl": "pytorch_<mode>", ...}) per configuration.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_cpu_step as cpu_step  # noqa: E402  (the networks, the data and the step)

torch.set_num_threads(os.cpu_count() or 1)  # cpu_step pins 2 threads for the CPU comparison


def setup(size, sites, batch, mode):
    cpu_step.BATCH = batch
    cpu_step.SAMPLES = max(cpu_step.SAMPLES, 2 * batch)
    s = cpu_step.Setup(size, sites)
    fmt = torch.channels_last if mode != "eager_fp32" else torch.contiguous_format
    # Module.to moves parameters in place, so the optimizers built by Setup still hold them.
    s.G.to("cuda", memory_format=fmt)
    for ds in s.Ds:
        for d in ds:
            d.to("cuda", memory_format=fmt)
    s.data = [(c.to("cuda").contiguous(memory_format=fmt), i.to("cuda").contiguous(memory_format=fmt)) for c, i in s.data]
    if mode.startswith("compile"):
        s.G = torch.compile(s.G)
        s.Ds = [[torch.compile(d) for d in ds] for ds in s.Ds]
    return s


def run(size, sites, batch, mode, warmup, iters):
    torch.backends.cudnn.benchmark = True
    fp32 = mode == "eager_fp32"
    torch.backends.cudnn.allow_tf32 = not fp32
    torch.backends.cuda.matmul.allow_tf32 = not fp32
    s = setup(size, sites, batch, mode)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=not fp32):
            s.step()

    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    warm_s = time.perf_counter() - t0
    torch.cuda.reset_peak_memory_stats()
    ms = []
    for _ in range(iters):
        t = time.perf_counter()
        step()
        torch.cuda.synchronize()
        ms.append(1e3 * (time.perf_counter() - t))
    return statistics.median(ms), min(ms), warm_s, torch.cuda.max_memory_allocated()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sites", default="1,4")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--modes", default="eager_bf16,compile_bf16")
    p.add_argument("--json", default="")
    a = p.parse_args()
    if not torch.cuda.is_available():
        sys.exit("pytorch_step.py: no CUDA device")
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}: AsynDGAN step, {a.size}x{a.size}, "
          f"batch {a.batch} per site, {cpu_step.MODS} modalities; median of {a.iters} after {a.warmup} warm-up")
    print(f"{'mode':>14} {'sites':>6} {'ms/iter':>10} {'images/s':>10} {'warm-up s':>10} {'peak MiB':>10}")
    out = open(a.json, "a") if a.json else None
    for mode in a.modes.split(","):
        for sites in (int(x) for x in a.sites.split(",")):
            med, best, warm_s, peak = run(a.size, sites, a.batch, mode, a.warmup, a.iters)
            print(f"{mode:>14} {sites:>6} {med:>10.2f} {a.batch * sites / med * 1e3:>10.1f} {warm_s:>10.1f} "
                  f"{peak / 2**20:>10.0f}", flush=True)
            if out:
                out.write(json.dumps({"bench": "gpu_step", "impl": "pytorch_" + mode, "sites": sites, "size": a.size,
                                      "batch": a.batch, "ms": med, "ms_min": best, "warmup_s": warm_s,
                                      "peak_bytes": peak, "torch": torch.__version__}) + "\n")
                out.flush()
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
