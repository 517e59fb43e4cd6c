"""PyTorch golden data for asyndgan's networks and for one AsynDGAN iteration.

Run from the repository root with Debian's interpreter (python3-torch 1.13 and numpy):

    /usr/bin/python3 tests/golden/make_model_golden.py

It writes three files next to itself (all deterministic: fixed seeds, one thread, deterministic kernels):

- models_v1.json: parameter counts of pix2pix's networks in the configurations the project uses (and the
  figures METHOD.md quotes, asserted here), plus the state-dict keys and shapes of small configurations.
  Read by tests/train/test_models.cpp.
- models_v1.safetensors: one forward and backward of each network at tiny size (f32 inputs, weights and
  upstream gradient; outputs and every parameter gradient). Read by tests/train/test_models.cpp.
- asyndgan_step_v1.safetensors: one full AsynDGAN iteration (two sites, multi-modal, a missing modality):
  inputs, initial weights, the gradient each site returns, the updated weights and the losses; the
  conventions are spelled out in the file's metadata ("conventions"). Read by the dist tests.

The networks below are pix2pix's (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py), written
from its architecture, keeping its module nesting so that state-dict keys are PyTorch's, and keeping its
in-place LeakyReLU: it overwrites a U-Net block's input before torch.cat reads it, so the skip connection
carries LeakyReLU(x), not x (the C++ U-Net does the same on purpose).

Precision: inputs and weights are drawn in float32; the stored results are PyTorch's float64 results
from those float32 values, rounded to float32. The script also runs everything in float32 and prints
how far PyTorch's own float32 run is from the stored reference, with the C++ tests' measure
max|actual - expected| / max(max|expected|, 1e-6) per tensor.

Parameters whose gradient is exactly zero in exact arithmetic (a conv bias directly followed by an
InstanceNorm without affine, which subtracts it again: pix2pix keeps those biases) are listed in the
metadata as "zero_grad_params". Their computed gradient is rounding noise, so compare them against the
largest gradient of the same network instead of against their own (zero) magnitude; and after a first
Adam step (about lr * sign(grad)) their value is arbitrary within +-lr of the start, which is all a test
can check. The C++ networks mark exactly these biases cancelled (nn::Conv2d::set_bias_cancelled): never
applied, no gradient, so Adam leaves them at their initial values; the C++ tests require the list to equal
their cancelled biases and compare those with their initial values exactly (this docstring is not written
into the files; CONVENTIONS is, so it stays as generated).
"""
import copy
import functools
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
JSON_PATH = os.path.join(HERE, "models_v1.json")
MODELS_PATH = os.path.join(HERE, "models_v1.safetensors")
STEP_PATH = os.path.join(HERE, "asyndgan_step_v1.safetensors")
MAX_BYTES = 1024 * 1024
ZERO_GRAD_RATIO = 1e-9  # a float64 gradient this small against the network's largest is "exactly zero"

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


# ---------------------------------------------------------------- pix2pix networks
def get_norm_layer(norm):
    if norm == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    raise ValueError(norm)


class UnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                 norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        use_bias = norm_layer.func == nn.InstanceNorm2d
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm_layer(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm_layer(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                model += [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)  # x was overwritten by the in-place LeakyReLU


class UnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm="batch", use_dropout=False):
        super().__init__()
        nl = get_norm_layer(norm)
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=None, norm_layer=nl, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm_layer=nl, use_dropout=use_dropout)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, norm_layer=nl)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, norm_layer=nl)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block, norm_layer=nl)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True,
                                             norm_layer=nl)

    def forward(self, x):
        return self.model(x)


class ResnetBlock(nn.Module):
    def __init__(self, dim, norm_layer, use_dropout, use_bias):
        super().__init__()
        block = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias),
                 norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            block += [nn.Dropout(0.5)]
        block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias), norm_layer(dim)]
        self.conv_block = nn.Sequential(*block)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=64, norm="batch", use_dropout=False, n_blocks=9):
        super().__init__()
        nl = get_norm_layer(norm)
        use_bias = norm == "instance"
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                 nl(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                      nl(ngf * mult * 2), nn.ReLU(True)]
        for _ in range(n_blocks):
            model += [ResnetBlock(ngf * 4, nl, use_dropout, use_bias)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1,
                                         output_padding=1, bias=use_bias),
                      nl(ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(self, input_nc, ndf=64, n_layers=3, norm="batch"):
        super().__init__()
        nl = get_norm_layer(norm)
        use_bias = norm == "instance"
        seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=2, padding=1, bias=use_bias),
                    nl(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=1, padding=1, bias=use_bias),
                nl(ndf * mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


def init_pix2pix(net, gen, gain=0.02):
    """pix2pix's init_weights('normal'): conv weights N(0, gain), biases 0; BatchNorm weight N(1, gain), bias 0."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.normal_(0.0, gain, generator=gen)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.normal_(1.0, gain, generator=gen)
                m.bias.zero_()


def build(cfg):
    """A network from a config dict with the C++ GeneratorConfig / DiscriminatorConfig field names."""
    kind = cfg["kind"]
    if kind == "unet":
        num_downs = int(np.log2(cfg["image_size"]))
        return UnetGenerator(cfg["in_channels"], cfg["out_channels"], num_downs, cfg["ngf"], cfg["norm"], cfg["dropout"])
    if kind in ("resnet_9blocks", "resnet_6blocks", "resnet"):
        n_blocks = {"resnet_9blocks": 9, "resnet_6blocks": 6}.get(kind) or cfg["n_blocks"]
        return ResnetGenerator(cfg["in_channels"], cfg["out_channels"], cfg["ngf"], cfg["norm"], cfg["dropout"],
                               n_blocks)
    if kind == "patchgan":
        return NLayerDiscriminator(cfg["in_channels"], cfg["ndf"], cfg["n_layers"], cfg["norm"])
    raise ValueError(kind)


def gen_cfg(kind, cin, cout, ngf, norm, image_size, dropout=True):
    return {"net": "generator", "kind": kind, "in_channels": cin, "out_channels": cout, "ngf": ngf, "norm": norm,
            "dropout": dropout, "image_size": image_size}


def disc_cfg(cin, ndf, norm, n_layers=3):
    return {"net": "discriminator", "kind": "patchgan", "in_channels": cin, "ndf": ndf, "n_layers": n_layers,
            "norm": norm}


def count(net):
    return sum(p.numel() for p in net.parameters())


# ---------------------------------------------------------------- safetensors writer (F32 and I64)
def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.int64:
            dtype, data = "I64", t.numpy().astype("<i8").tobytes()
        else:
            dtype, data = "F32", t.to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    size = 8 + len(hjson) + offset
    assert size < MAX_BYTES, f"{path} is {size} bytes, over {MAX_BYTES}"
    return size


def rel_err(actual, expected):
    a, e = actual.detach().double(), expected.detach().double()
    return ((a - e).abs().max() / max(e.abs().max().item(), 1e-6)).item()


def zero_grad_names(grads):
    """Parameters whose float64 gradient is rounding noise against the largest gradient of the network."""
    scale = max(g.abs().max().item() for g in grads.values())
    return [k for k, g in grads.items() if g.abs().max().item() <= ZERO_GRAD_RATIO * scale]


def f32_report(label, ref, f32, zero=(), scale=None):
    """Worst error of PyTorch's float32 run: per tensor, or against `scale` for the zero-gradient ones."""
    worst, worst_zero = 0.0, 0.0
    for k in ref:
        if k in zero:
            worst_zero = max(worst_zero, (f32[k].double() - ref[k].double()).abs().max().item() / scale)
        else:
            worst = max(worst, rel_err(f32[k], ref[k]))
    print(f"  {label}: PyTorch f32 worst {worst:.2e}" + (f", zero-grad params {worst_zero:.2e}" if zero else ""))
    return worst


# ---------------------------------------------------------------- models_v1.json
def write_json():
    counts = [
        ("unet_256_in5_out4_batch", gen_cfg("unet", 5, 4, 64, "batch", 256)),
        ("unet_64_in5_out4_batch", gen_cfg("unet", 5, 4, 64, "batch", 64)),
        ("resnet_9blocks_in5_out4_instance", gen_cfg("resnet_9blocks", 5, 4, 64, "instance", 256)),
        ("patchgan_in6_batch", disc_cfg(6, 64, "batch")),
        ("patchgan_in6_instance", disc_cfg(6, 64, "instance")),
        ("patchgan_in9_batch", disc_cfg(9, 64, "batch")),
        ("patchgan_in9_instance", disc_cfg(9, 64, "instance")),
        # The figures METHOD.md quotes (3 in / 3 out, batch norm as pix2pix's default).
        ("method_unet_256_in3_out3_batch", gen_cfg("unet", 3, 3, 64, "batch", 256)),
        ("method_resnet_9blocks_in3_out3_batch", gen_cfg("resnet_9blocks", 3, 3, 64, "batch", 256)),
        ("method_patchgan_in6_batch", disc_cfg(6, 64, "batch")),
    ]
    method = {"method_unet_256_in3_out3_batch": 54.4, "method_resnet_9blocks_in3_out3_batch": 11.4,
              "method_patchgan_in6_batch": 2.8}
    out_counts = []
    for name, cfg in counts:
        n = count(build(cfg))
        entry = dict(name=name, **cfg, parameters=n)
        if name in method:
            assert abs(n / 1e6 - method[name]) < 0.05, (name, n)
            entry["method_md_millions"] = method[name]
        out_counts.append(entry)
        print(f"  {name}: {n} parameters")
    keys = [
        # 6 levels: one dropout level, so the Dropout's index shows in the keys after it (none: it is last).
        ("unet_64_ngf4_batch", gen_cfg("unet", 5, 4, 4, "batch", 64)),
        # Dropout inside each residual block shifts the second conv from conv_block.5 to conv_block.6.
        ("resnet_6blocks_ngf4_instance_dropout", gen_cfg("resnet_6blocks", 5, 4, 4, "instance", 64)),
        ("resnet_9blocks_ngf4_batch_nodropout", gen_cfg("resnet_9blocks", 5, 4, 4, "batch", 64, dropout=False)),
        ("patchgan_ndf4_in6_batch", disc_cfg(6, 4, "batch")),
        ("patchgan_ndf4_in6_instance", disc_cfg(6, 4, "instance")),
    ]
    out_keys = []
    for name, cfg in keys:
        sd = build(cfg).state_dict()
        out_keys.append(dict(name=name, **cfg, state_dict=[[k, list(v.shape)] for k, v in sd.items()]))
    doc = {"format": "asyndgan-model-golden", "version": 1, "torch": torch.__version__,
           "parameter_counts": out_counts, "state_dict_keys": out_keys}
    with open(JSON_PATH, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


# ---------------------------------------------------------------- models_v1.safetensors
def net_case(tensors, meta, case, cfg, x_shape, seed):
    gen = torch.Generator().manual_seed(seed)
    net = build(cfg)
    init_pix2pix(net, gen)
    net.train()
    x = torch.randn(x_shape, generator=gen)
    with torch.no_grad():
        out_shape = copy.deepcopy(net)(x.clone()).shape
    grad_out = torch.randn(out_shape, generator=gen)
    state0 = {k: v.clone() for k, v in net.state_dict().items()}

    def run(dtype):
        n = copy.deepcopy(net).to(dtype)
        xx = x.to(dtype).requires_grad_(True)
        out = n(xx)
        out.backward(grad_out.to(dtype))
        res = {"out": out, "grad_x": xx.grad}
        res.update({f"grad/{k}": p.grad for k, p in n.named_parameters()})
        res.update({f"state_after/{k}": v for k, v in n.state_dict().items() if "running" in k})
        return res

    ref, f32 = run(torch.float64), run(torch.float32)
    grads = {k[5:]: v for k, v in ref.items() if k.startswith("grad/")}
    zero = zero_grad_names(grads)
    scale = max(g.abs().max().item() for g in grads.values())
    f32_report(case, ref, f32, zero=[f"grad/{k}" for k in zero], scale=scale)
    tensors[f"{case}/x"] = x
    tensors[f"{case}/grad_out"] = grad_out
    for k, v in state0.items():
        tensors[f"{case}/state/{k}"] = v
    for k, v in ref.items():
        tensors[f"{case}/{k}"] = v
    meta[f"{case}/config"] = json.dumps(cfg, separators=(",", ":"))
    meta[f"{case}/zero_grad_params"] = ",".join(zero)


def write_models():
    tensors, meta = {}, {"format": "asyndgan-model-golden", "version": "1", "torch": torch.__version__}
    # Sizes keep the file under 1 MB: ngf 3 (also odd, so a transposed channel count shows) for the U-Net.
    cases = [
        ("unet_batch", gen_cfg("unet", 5, 4, 3, "batch", 32, dropout=False), (2, 5, 32, 32)),
        # "resnet" with n_blocks is no factory kind: the test builds ResnetGenerator(..., n_blocks) directly.
        ("resnet_instance", dict(gen_cfg("resnet", 5, 4, 4, "instance", 16, dropout=False), n_blocks=2),
         (2, 5, 16, 16)),
        # 24x24 is the smallest input with a patch (1x1) at n_layers 3.
        ("patchgan_batch", disc_cfg(6, 4, "batch"), (2, 6, 24, 24)),
        ("patchgan_instance", disc_cfg(6, 4, "instance"), (2, 6, 24, 24)),
    ]
    for i, (case, cfg, shape) in enumerate(cases):
        net_case(tensors, meta, case, cfg, shape, 100 + i)
    meta["cases"] = ",".join(c[0] for c in cases)
    size = write_safetensors(MODELS_PATH, tensors, meta)
    print(f"  wrote {MODELS_PATH} ({size} bytes)")


# ---------------------------------------------------------------- asyndgan_step_v1.safetensors
STEP = {
    "image_size": 32, "batch": 2, "cond_channels": 5, "modalities": 2,
    "site_sizes": [30, 10], "site_modalities": [[0, 1], [0]],
    "lambda_l1": 100.0, "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
}
G_GRAD_MAX_NUMEL = 4096
G_CFG = gen_cfg("unet", 5, 2, 4, "instance", 32, dropout=False)
D_CFG = disc_cfg(6, 4, "instance")

CONVENTIONS = """One AsynDGAN iteration (METHOD.md), two sites, float32 data, reference computed in float64.
x/site{j}: conditions k / 255 with k uniform in 0..255 (float32 division), exactly the u8 values a shard and
the protocol carry; real/site{j}: float32 in [-1, 1] (exact in an f32-image shard). n_j = (30, 10) are the
sites' training-sample counts; the batch of each site is the 2 samples given, so a test stores them at the
positions its sampler draws first and fills the other n_j - 2 with anything.
G: pix2pix U-Net, 5 levels (32x32), ngf 4, instance norm (no affine), no dropout, in 5 out 2 (one channel
per modality), train mode. Each site j has one PatchGAN D_jm (ndf 4, n_layers 3, instance norm, input =
cat(x_j, one image channel) = 6 channels, 2x2 logits) per modality m it has: site 0 has m 0 and 1, site 1
only m 0. Batch 2 per site. Weights: pix2pix init N(0, 0.02), biases 0 (G and each D from one torch
generator, in the order G, D_00, D_01, D_10). GAN loss vanilla: BCEWithLogits, mean over the logit map,
against all-ones (real) or all-zeros (fake). L1: mean |fake_m - real_m| over [B, 1, H, W].
Order: (1) fake_j = G(x_j), one G forward per site batch (site 0 first). (2) For each site j, for each of
its modalities m in increasing order: loss_D_jm = 0.5 * (BCE(D_jm(cat(x_j, real_jm)), 1) +
BCE(D_jm(cat(x_j, fake_jm.detach())), 0)); backward; one Adam step of D_jm (its own Adam). (3) Then, with
the updated D_jm: loss_G_j = sum over its modalities of [BCE(D_jm(cat(x_j, fake_jm)), 1) + lambda_l1 *
L1(fake_jm, real_jm)]; the site returns grad_fake/site{j} = d loss_G_j / d fake_j, shape [B, 2, H, W], zero
on the channels it lacks (no D gradient is kept). (4) Central: backward of G with upstream gradient
w_j * grad_fake/site{j} through each fake_j (accumulated over sites), w_j = n_j / sum(n) with n = (30, 10),
so w = (0.75, 0.25); one Adam step of G. Adam: lr 2e-4, betas (0.5, 0.999), eps 1e-8, no weight decay,
each optimizer fresh (this is the first step of every one). real/site1 channel 1 is zeros: site 1 has
no such images (available/site1 = [1, 0]); it is never read. Names: x/site{j}, real/site{j},
available/site{j}, site_sizes, site_weights, G/init/<key>, G/after/<key>, G/grad/<key> (the weighted
gradient of step 4, before the Adam step; only for tensors of at most 4096 elements, for size), D/site{j}/m{m}/init/<key>, D/site{j}/m{m}/after/<key>, fake/site{j} (G output of step
1), grad_fake/site{j}, loss/site{j}/d_m{m}, loss/site{j}/g, loss/site{j}/g_gan_m{m}, loss/site{j}/g_l1_m{m}.
zero_grad_params: parameters (as G/<key> or D/site{j}/m{m}/<key>) whose gradient is exactly zero in exact
arithmetic (conv biases followed by InstanceNorm); after the first Adam step they may lie anywhere within
+-lr of their initial value, so check only that bound for them.
Checks ("checks" in the metadata): max|actual - expected| / max(max|expected|, 1e-6) <= 1e-5 per tensor for
fake, grad_fake, loss, G/grad and D/after. G/after: max|actual - expected| <= 0.1 * lr, because Adam's first
step lr * g / (|g| + 1e-8) amplifies the rounding of gradients near 1e-8 (some weights of the innermost
U-Net level have such gradients): the asyndgan engine measured 0.075 lr there while its G/grad is within 1e-6."""


def asyndgan_step():
    gen = torch.Generator().manual_seed(4242)
    s = STEP
    B, H, C, M = s["batch"], s["image_size"], s["cond_channels"], s["modalities"]
    G0 = build(G_CFG)
    init_pix2pix(G0, gen)
    D0 = {}
    for j, mods in enumerate(s["site_modalities"]):
        for m in mods:
            D0[(j, m)] = build(D_CFG)
            init_pix2pix(D0[(j, m)], gen)
    # Conditions k / 255 (k in 0..255), so that the shards' u8 quantization and the protocol carry them exactly.
    xs = [torch.randint(0, 256, (B, C, H, H), generator=gen).to(torch.float32) / 255 for _ in s["site_sizes"]]
    # Real images in [-1, 1], kept at least 0.02 from the generator's output so that no |fake - real| sits
    # at the L1 kink (its gradient sign would then depend on rounding).
    reals = []
    with torch.no_grad():
        fakes_probe = [copy.deepcopy(G0).double()(x.double()) for x in xs]
    for j, mods in enumerate(s["site_modalities"]):
        r = torch.rand(B, M, H, H, generator=gen) * 2 - 1
        f = fakes_probe[j].float()
        d = r - f
        r = torch.where(d.abs() < 0.02, f + 0.02 * torch.where(d >= 0, 1.0, -1.0), r).clamp(-1, 1)
        assert ((r - f).abs() >= 0.0199).all()
        for m in range(M):
            if m not in mods:
                r[:, m] = 0
        reals.append(r)
    n = torch.tensor(s["site_sizes"], dtype=torch.float64)
    w = n / n.sum()
    bce = nn.BCEWithLogitsLoss()
    l1 = nn.L1Loss()

    def adam(params):
        return torch.optim.Adam(params, lr=s["lr"], betas=(s["beta1"], s["beta2"]), eps=s["eps"],
                                weight_decay=s["weight_decay"])

    def run(dt):
        G = copy.deepcopy(G0).to(dt).train()
        Ds = {k: copy.deepcopy(v).to(dt).train() for k, v in D0.items()}
        res = {}
        fakes = [G(x.to(dt)) for x in xs]
        for j, mods in enumerate(s["site_modalities"]):
            x, real = xs[j].to(dt), reals[j].to(dt)
            fake = fakes[j].detach().clone().requires_grad_(True)  # what arrives at site j
            for m in mods:
                D = Ds[(j, m)]
                opt = adam(D.parameters())
                pr = D(torch.cat([x, real[:, m:m + 1]], 1))
                pf = D(torch.cat([x, fake[:, m:m + 1].detach()], 1))
                loss_d = (bce(pr, torch.ones_like(pr)) + bce(pf, torch.zeros_like(pf))) * 0.5
                opt.zero_grad()
                loss_d.backward()
                opt.step()
                res[f"loss/site{j}/d_m{m}"] = loss_d.detach()
            loss_g = 0
            for m in mods:
                pf = Ds[(j, m)](torch.cat([x, fake[:, m:m + 1]], 1))
                gan = bce(pf, torch.ones_like(pf))
                rec = l1(fake[:, m:m + 1], real[:, m:m + 1])
                res[f"loss/site{j}/g_gan_m{m}"] = gan.detach()
                res[f"loss/site{j}/g_l1_m{m}"] = rec.detach()
                loss_g = loss_g + gan + s["lambda_l1"] * rec
            res[f"loss/site{j}/g"] = loss_g.detach()
            res[f"grad_fake/site{j}"] = torch.autograd.grad(loss_g, fake)[0]
            res[f"fake/site{j}"] = fakes[j].detach()
        opt_g = adam(G.parameters())
        opt_g.zero_grad()
        torch.autograd.backward(fakes, [w[j].to(dt) * res[f"grad_fake/site{j}"] for j in range(len(xs))])
        for k, p in G.named_parameters():
            res[f"G/grad/{k}"] = p.grad.detach().clone()
        opt_g.step()
        for k, v in G.state_dict().items():
            res[f"G/after/{k}"] = v.detach().clone()
        for (j, m), D in Ds.items():
            for k, v in D.state_dict().items():
                res[f"D/site{j}/m{m}/after/{k}"] = v.detach().clone()
        return res

    ref, f32 = run(torch.float64), run(torch.float32)
    # Exactly-zero gradients: G from its accumulated gradient; each D from a float64 rerun of its step.
    zero = ["G/" + k for k in zero_grad_names({k[7:]: v for k, v in ref.items() if k.startswith("G/grad/")})]
    for (j, m), D in D0.items():
        d = copy.deepcopy(D).double()
        x, real, fake = xs[j].double(), reals[j].double(), ref[f"fake/site{j}"].double()
        pr = d(torch.cat([x, real[:, m:m + 1]], 1))
        pf = d(torch.cat([x, fake[:, m:m + 1]], 1))
        ((bce(pr, torch.ones_like(pr)) + bce(pf, torch.zeros_like(pf))) * 0.5).backward()
        zero += [f"D/site{j}/m{m}/{k}" for k in zero_grad_names({k: p.grad for k, p in d.named_parameters()})]

    def is_zero(name):  # "G/after/k" -> "G/k"; "D/site0/m1/after/k" -> "D/site0/m1/k"
        return name.replace("/after/", "/").replace("/grad/", "/") in zero

    # PyTorch's own float32 run against the reference, per kind of result ("G/after", "grad_fake", ...).
    worst, worst_zero = {}, 0.0
    for k in ref:
        if is_zero(k) and "/after/" in k:
            init = (G0 if k.startswith("G/") else D0[(int(k[6]), int(k[9]))]).state_dict()[k.split("/after/")[1]]
            worst_zero = max(worst_zero, (f32[k].double() - init.double()).abs().max().item() / s["lr"])
        elif not is_zero(k):
            kind = "D/after" if k.startswith("D/") else "/".join(k.split("/")[:2 if k.startswith("G/") else 1])
            worst[kind] = max(worst.get(kind, 0.0), rel_err(f32[k], ref[k]))
    print("  asyndgan step, PyTorch f32 worst: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()) +
          f"; zero-grad params moved at most {worst_zero:.2f} lr ({len(zero)} of them)")

    tensors = {}
    for j in range(len(xs)):
        tensors[f"x/site{j}"] = xs[j]
        tensors[f"real/site{j}"] = reals[j]
        tensors[f"available/site{j}"] = torch.tensor([1.0 if m in s["site_modalities"][j] else 0.0 for m in range(M)])
    tensors["site_sizes"] = torch.tensor(s["site_sizes"], dtype=torch.float32)
    tensors["site_weights"] = w.float()
    for k, v in G0.state_dict().items():
        tensors[f"G/init/{k}"] = v
    for (j, m), D in D0.items():
        for k, v in D.state_dict().items():
            tensors[f"D/site{j}/m{m}/init/{k}"] = v
    for k, v in ref.items():
        # The G gradient of the larger weights is left out to keep the file under 1 MB (G/after covers them).
        if not (k.startswith("G/grad/") and v.numel() > G_GRAD_MAX_NUMEL):
            tensors[k] = v
    meta = {"format": "asyndgan-step-golden", "version": "1", "torch": torch.__version__,
            "conventions": CONVENTIONS, "generator": json.dumps(G_CFG, separators=(",", ":")),
            "discriminator": json.dumps(D_CFG, separators=(",", ":")), "gan_mode": "vanilla",
            "zero_grad_params": ",".join(zero),
            "checks": json.dumps({"relative_1e-5": ["fake", "grad_fake", "loss", "G/grad", "D/after"],
                                  "G/after_abs_over_lr": 0.1, "zero_grad_params_abs_over_lr": 1.0}),
            "pytorch_f32_worst": json.dumps({k: float(f"{v:.2e}") for k, v in worst.items()})}
    meta.update({k: json.dumps(v) for k, v in s.items()})
    size = write_safetensors(STEP_PATH, tensors, meta)
    print(f"  wrote {STEP_PATH} ({size} bytes)")


if __name__ == "__main__":
    print("parameter counts and keys:")
    write_json()
    print("network forward/backward cases:")
    write_models()
    print("AsynDGAN iteration:")
    asyndgan_step()
