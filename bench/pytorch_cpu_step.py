"""PyTorch reference for bench/train_step_bench.cpp: the same AsynDGAN step on the CPU, timed the same way.

Run from the repository root with Debian's interpreter (python3-torch 1.13):

    /usr/bin/python3 bench/pytorch_cpu_step.py [budget_seconds (default 15)] [--warmup N (2)] [--min-steps N (3)]

The networks are the golden script's pix2pix definitions (tests/golden/make_model_golden.py): U-Net with ngf 64,
instance norm and dropout, depth log2(size); one 70x70 PatchGAN (ndf 64, n_layers 3, instance norm) per modality
per site; pix2pix's N(0, 0.02) init. One step does what dist's Central and Site do: G(x_j) for every site; then
per site, per modality, one discriminator step (fake detached, then real, 0.5 * sum of BCE-with-logits, Adam);
the generator loss with the updated discriminators (GAN + 100 * L1 per modality) differentiated w.r.t. the fake
only (discriminator weights frozen); then one backward through G of every site's gradient weighted by
n_j / sum(n), and one Adam step (lr 2e-4, betas 0.5, 0.999). Batch 4 per site, 5 condition and 4 modality channels.
Prints a row per configuration and a "RESULT" line that bench/step.sh reads.
"""
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
import make_model_golden as golden  # noqa: E402  (only definitions run at import, plus the settings undone below)

# The golden script pins one thread and deterministic algorithms for reproducible files; the benchmark runs
# PyTorch as a user would, on the machine's 2 threads.
torch.use_deterministic_algorithms(False)
torch.set_num_threads(2)

BATCH, SAMPLES, COND, MODS, WARMUP, MIN_TIMED, LAMBDA_L1 = 4, 64, 5, 4, 2, 3, 100.0
NORM = "instance"


def make_data(size, site):
    """Conditions: one-hot of 4 classes plus a brain mask; images in [-1, 1]. Values do not affect the speed."""
    g = torch.Generator().manual_seed(100 + site)
    cls = torch.randint(0, 4, (SAMPLES, size, size), generator=g)
    cond = torch.cat([F.one_hot(cls, 4).permute(0, 3, 1, 2).float(),
                      (torch.rand(SAMPLES, 1, size, size, generator=g) > 0.3).float()], 1)
    img = torch.rand(SAMPLES, MODS, size, size, generator=g) * 2 - 1
    return cond, img


class Setup:
    def __init__(self, size, sites):
        torch.manual_seed(1)
        gen = torch.Generator().manual_seed(1)
        self.G = golden.UnetGenerator(COND, MODS, int(round(torch.log2(torch.tensor(float(size))).item())), 64, NORM,
                                      use_dropout=True)
        golden.init_pix2pix(self.G, gen)
        self.G.train()
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.Ds, self.opt_d = [], []
        for _ in range(sites):
            ds = [golden.NLayerDiscriminator(COND + 1, 64, 3, NORM) for _ in range(MODS)]
            for d in ds:
                golden.init_pix2pix(d, gen)
                d.train()
            self.Ds.append(ds)
            self.opt_d.append([torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999)) for d in ds])
        self.data = [make_data(size, s) for s in range(sites)]
        self.weights = [SAMPLES / (SAMPLES * sites)] * sites
        self.it = 0

    def batch(self, site):
        start = (self.it * BATCH) % SAMPLES
        cond, img = self.data[site]
        return cond[start:start + BATCH], img[start:start + BATCH]

    def step(self):
        bce = nn.BCEWithLogitsLoss()
        batches = [self.batch(j) for j in range(len(self.Ds))]
        fakes = [self.G(x) for x, _ in batches]
        grads = []
        for j, ((x, real), fake) in enumerate(zip(batches, fakes)):
            fd = fake.detach()
            for m, (d, opt) in enumerate(zip(self.Ds[j], self.opt_d[j])):
                pred_fake = d(torch.cat([x, fd[:, m:m + 1]], 1))
                pred_real = d(torch.cat([x, real[:, m:m + 1]], 1))
                loss = 0.5 * (bce(pred_fake, torch.zeros_like(pred_fake)) + bce(pred_real, torch.ones_like(pred_real)))
                opt.zero_grad()
                loss.backward()
                opt.step()
            f = fd.clone().requires_grad_(True)
            for d in self.Ds[j]:
                d.requires_grad_(False)
            total = 0
            for m, d in enumerate(self.Ds[j]):
                pred = d(torch.cat([x, f[:, m:m + 1]], 1))
                total = total + bce(pred, torch.ones_like(pred)) + LAMBDA_L1 * F.l1_loss(f[:, m:m + 1], real[:, m:m + 1])
            total.backward()
            for d in self.Ds[j]:
                d.requires_grad_(True)
            grads.append(f.grad * self.weights[j])
        self.opt_g.zero_grad()
        torch.autograd.backward(fakes, grads)
        self.opt_g.step()
        self.it += 1


def main():
    global WARMUP, MIN_TIMED
    budget, args = 15.0, sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--warmup":
            WARMUP = int(args.pop(0))
        elif a == "--min-steps":
            MIN_TIMED = int(args.pop(0))
        else:
            budget = float(a)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads: same networks and step, batch {BATCH} per site")
    print(f"{'size':>6} {'sites':>6} {'steps':>6} {'iter/s':>10} {'images/s':>10}")
    for size in (64, 128):
        for sites in (1, 3):
            s = Setup(size, sites)
            for _ in range(WARMUP):
                s.step()
            n, t0 = 0, time.perf_counter()
            while n < MIN_TIMED or time.perf_counter() - t0 < budget:
                s.step()
                n += 1
            secs = time.perf_counter() - t0
            its = n / secs
            print(f"{size:>6} {sites:>6} {n:>6} {its:>10.3f} {its * BATCH * sites:>10.2f}")
            print(f"RESULT size={size} sites={sites} its={its:.6f}", flush=True)


if __name__ == "__main__":
    main()
