"""PyTorch golden-parity data for the asyndgan engine: writes tests/golden/golden_v1.safetensors.

Run from the repository root with Debian's interpreter (it has python3-torch and numpy; the `python3`
on PATH may not):

    /usr/bin/python3 tests/golden/make_golden.py

Every case stores its inputs, the upstream gradient `grad_out` (backward is `out.backward(grad_out)`),
the output and every input gradient, named `<case>/<role>`; scalar hyperparameters go into the file's
`__metadata__` as `<case>/<key>` -> string (numbers written so they round-trip). See README.md.

Inputs are drawn in float32. The reference results are computed by PyTorch in float64 from those
float32 inputs and then rounded to float32, so a stored result is within half an f32 ulp of the exact
answer and the C++ test measures only the engine's own error. As a check that the C++ tolerance
(1e-5 of the tensor's largest magnitude) is reachable by an ordinary f32 implementation, the script
also runs every case with PyTorch in float32 and asserts that it passes the same measure.
"""
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_v1.safetensors")
MAX_BYTES = 2 * 1024 * 1024
TOLERANCE = 1e-5  # the C++ test's bound; the script proves PyTorch's own f32 meets it

torch.manual_seed(0)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

TENSORS = {}  # name -> float32 numpy array, in insertion order
METADATA = {"format": "asyndgan-golden", "version": "1", "torch": torch.__version__}
F32_WORST = {}  # case -> worst error of PyTorch f32 against the f64 reference (diagnostic)


# ---------------------------------------------------------------- safetensors writer
def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: u64 LE header length, JSON header padded to 8 bytes, raw LE data."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # keeps the data section 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    return 8 + len(hjson) + offset


# ---------------------------------------------------------------- Philox4x32-10 (as kernels/common/philox.h)
M32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(ctr, key):
    """Ten Philox rounds over counters ctr = (c0, c1, c2, c3) (arrays of uint32 values) with key (k0, k1)."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in ctr)
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * c0  # 32x32 -> 64-bit products fit in uint64
        p1 = np.uint64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & M32, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & M32
        k0 = (k0 + np.uint64(0x9E3779B9)) & M32
        k1 = (k1 + np.uint64(0xBB67AE85)) & M32
    return c0, c1, c2, c3


def philox_words(seed, first, n):
    """Words 0..n-1 of the stream from block `first`: element i is word i%4 of block first + i/4."""
    key = (seed & 0xFFFFFFFF, seed >> 32)
    blocks = first + np.arange((n + 3) // 4, dtype=np.uint64)
    out = philox4x32_10((blocks & M32, blocks >> np.uint64(32), np.zeros_like(blocks), np.zeros_like(blocks)), key)
    return np.stack(out, axis=1).reshape(-1)[:n]


def check_philox_kat():
    # Random123 tests/kat_vectors, the three "philox4x32 10" lines: counter[4], key[2] -> result[4].
    kat = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for ctr, key, expected in kat:
        got = tuple(int(w) for w in philox4x32_10([[c] for c in ctr], key))
        assert got == expected, f"Philox KAT failed: {ctr} {key} -> {[hex(g) for g in got]}"


# ---------------------------------------------------------------- case plumbing
def gen_for(case):
    """A generator seeded from the case name, so adding a case leaves every other case's data unchanged."""
    return torch.Generator().manual_seed(zlib.crc32(case.encode()))


def randn(shape, g, scale=1.0):
    return torch.randn(shape, generator=g, dtype=torch.float32) * scale


def away_from_zero(t, margin=1e-3):
    """Moves values out of (-margin, margin), where relu/leaky_relu/|.| have a kink."""
    t = torch.where(t >= 0, t + margin, t - margin)
    assert t.abs().min().item() >= margin
    return t


def worst_rel(actual, expected):
    """The C++ test's measure: max |a - e| over the tensor / max(max |e|, 1e-6)."""
    a, e = actual.detach().double(), expected.detach().double()
    return (a - e).abs().max().item() / max(e.abs().max().item(), 1e-6)


def fmt(v):
    if isinstance(v, (list, tuple)):
        return " ".join(fmt(x) for x in v)
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, str):
        return v
    return repr(v)  # shortest string that round-trips the float


def emit(case, inputs, run, meta=None):
    """Stores inputs (float32) and the f64 results of run(dtype) (a dict role -> tensor), and checks that
    PyTorch's float32 results are within TOLERANCE of them."""
    ref = run(torch.float64)
    f32 = run(torch.float32)
    worst = 0.0
    for role, t in ref.items():
        w = worst_rel(f32[role], t)
        worst = max(worst, w)
        assert w < TOLERANCE, f"{case}/{role}: PyTorch f32 misses the f64 reference by {w:.3g}"
    F32_WORST[case] = worst
    for role, t in list(inputs.items()) + list(ref.items()):
        name = f"{case}/{role}"
        assert name not in TENSORS, name
        TENSORS[name] = t.detach().to(torch.float32).numpy().copy()
    for k, v in (meta or {}).items():
        METADATA[f"{case}/{k}"] = fmt(v)


def grad_case(case, inputs, differentiable, fn, meta=None, g=None, extra_inputs=None):
    """Generic op case: out = fn(dtype, **leaves); grad_out random of out's shape; records out and
    grad_<name> for every name in `differentiable`. fn may return (out, {role: tensor}) for extra results."""
    g = g or gen_for(case + "/grad_out")

    def call(dt, require):
        leaves = {k: (v.to(dt).requires_grad_(require and k in differentiable) if v is not None else None)
                  for k, v in inputs.items()}
        r = fn(dt, **leaves)
        out, extra = r if isinstance(r, tuple) else (r, {})
        return leaves, out, extra

    with torch.no_grad():
        _, probe, _ = call(torch.float64, False)
    grad_out = randn(tuple(probe.shape), g)

    def run(dt):
        leaves, out, extra = call(dt, True)
        out.backward(grad_out.to(dt))
        res = {"out": out}
        res.update(extra)
        for k in differentiable:
            res[f"grad_{k}"] = leaves[k].grad
        return res

    stored = {k: v for k, v in inputs.items() if v is not None}
    stored.update(extra_inputs or {})
    stored["grad_out"] = grad_out
    emit(case, stored, run, meta)


# ---------------------------------------------------------------- op cases
def conv2d_cases():
    specs = [  # name, x shape, weight shape, stride, padding, bias
        ("conv2d_k4s2p1", (2, 3, 8, 8), (4, 3, 4, 4), (2, 2), (1, 1), True),
        ("conv2d_k3s1p1", (2, 3, 7, 7), (4, 3, 3, 3), (1, 1), (1, 1), True),
        ("conv2d_k3s1p1_nobias", (2, 3, 6, 5), (2, 3, 3, 3), (1, 1), (1, 1), False),
        ("conv2d_k7s1p0", (2, 2, 10, 10), (3, 2, 7, 7), (1, 1), (0, 0), True),
        ("conv2d_k4s1p1", (2, 3, 6, 6), (4, 3, 4, 4), (1, 1), (1, 1), True),
        ("conv2d_k4s2p1_nobias", (2, 4, 9, 7), (3, 4, 4, 4), (2, 2), (1, 1), False),
        ("conv2d_k3x2_s21_p10", (2, 3, 9, 7), (4, 3, 3, 2), (2, 1), (1, 0), True),
    ]
    for name, xs, ws, stride, padding, bias in specs:
        g = gen_for(name)
        inputs = {"x": randn(xs, g), "weight": randn(ws, g, 0.3), "bias": randn((ws[0],), g) if bias else None}
        diff = ["x", "weight"] + (["bias"] if bias else [])
        grad_case(name, inputs, diff,
                  lambda dt, x, weight, bias, s=stride, p=padding: F.conv2d(x, weight, bias, stride=s, padding=p),
                  {"op": "conv2d", "stride": list(stride), "padding": list(padding)})


def conv_transpose2d_cases():
    specs = [  # name, x shape, weight shape [Cin, Cout, kh, kw], stride, padding, output_padding, bias
        ("convt_k4s2p1", (2, 4, 5, 5), (4, 3, 4, 4), (2, 2), (1, 1), (0, 0), True),
        ("convt_k3s2p1_op1", (2, 3, 5, 6), (3, 2, 3, 3), (2, 2), (1, 1), (1, 1), True),
        ("convt_k3s1p1", (2, 3, 6, 6), (3, 4, 3, 3), (1, 1), (1, 1), (0, 0), True),
        ("convt_k4s2p1_nobias", (2, 3, 5, 5), (3, 2, 4, 4), (2, 2), (1, 1), (0, 0), False),
    ]
    for name, xs, ws, stride, padding, opad, bias in specs:
        g = gen_for(name)
        inputs = {"x": randn(xs, g), "weight": randn(ws, g, 0.3), "bias": randn((ws[1],), g) if bias else None}
        diff = ["x", "weight"] + (["bias"] if bias else [])
        grad_case(name, inputs, diff,
                  lambda dt, x, weight, bias, s=stride, p=padding, o=opad:
                  F.conv_transpose2d(x, weight, bias, stride=s, padding=p, output_padding=o),
                  {"op": "conv_transpose2d", "stride": list(stride), "padding": list(padding),
                   "output_padding": list(opad)})


def norm_cases():
    C = 3
    for name, training, affine in [("bn_train_affine", True, True), ("bn_eval_affine", False, True),
                                   ("bn_train_noaffine", True, False)]:
        g = gen_for(name)
        x = randn((2, C, 6, 5), g, 2.0) + 0.5
        rm0 = randn((C,), g, 0.5)
        rv0 = torch.rand((C,), generator=g) + 0.5
        inputs = {"x": x}
        if affine:
            inputs["weight"] = randn((C,), g, 0.5) + 1.0
            inputs["bias"] = randn((C,), g, 0.5)

        def fn(dt, x, weight=None, bias=None, training=training, rm0=rm0, rv0=rv0):
            rm, rv = rm0.to(dt).clone(), rv0.to(dt).clone()
            out = F.batch_norm(x, rm, rv, weight, bias, training=training, momentum=0.1, eps=1e-5)
            return out, {"running_mean_after": rm, "running_var_after": rv}

        grad_case(name, inputs, list(inputs), fn,
                  {"op": "batch_norm", "training": training, "momentum": 0.1, "eps": 1e-5},
                  extra_inputs={"running_mean": rm0, "running_var": rv0})

    for name, affine in [("in_noaffine", False), ("in_affine", True)]:
        g = gen_for(name)
        inputs = {"x": randn((2, C, 6, 7), g, 1.5) - 0.3}
        if affine:
            inputs["weight"] = randn((C,), g, 0.5) + 1.0
            inputs["bias"] = randn((C,), g, 0.5)
        grad_case(name, inputs, list(inputs),
                  lambda dt, x, weight=None, bias=None: F.instance_norm(x, weight=weight, bias=bias, eps=1e-5),
                  {"op": "instance_norm", "eps": 1e-5})


def activation_and_shape_cases():
    shape = (2, 3, 5, 6)
    acts = [("relu", lambda dt, x: F.relu(x), {}),
            ("leaky_relu", lambda dt, x: F.leaky_relu(x, 0.2), {"negative_slope": 0.2}),
            ("tanh", lambda dt, x: torch.tanh(x), {}),
            ("sigmoid", lambda dt, x: torch.sigmoid(x), {})]
    for name, fn, meta in acts:
        g = gen_for(name)
        grad_case(name, {"x": away_from_zero(randn(shape, g, 2.0))}, ["x"], fn, dict(meta, op=name))

    for name, pad, xs in [("reflection_pad_3333", (3, 3, 3, 3), (2, 2, 5, 6)),
                          ("reflection_pad_1201", (1, 2, 0, 1), (2, 3, 4, 5))]:
        g = gen_for(name)
        grad_case(name, {"x": randn(xs, g)}, ["x"], lambda dt, x, p=pad: F.pad(x, p, mode="reflect"),
                  {"op": "reflection_pad2d", "pad": list(pad)})  # pad = (left, right, top, bottom)

    for name, dim, shapes in [("cat_dim1", 1, [(2, 2, 4, 5), (2, 3, 4, 5), (2, 1, 4, 5)]),
                              ("cat_dim0", 0, [(1, 3, 4, 4), (2, 3, 4, 4), (1, 3, 4, 4)])]:
        g = gen_for(name)
        inputs = {f"x{i}": randn(s, g) for i, s in enumerate(shapes)}
        grad_case(name, inputs, list(inputs),
                  lambda dt, d=dim, **xs: torch.cat([xs[f"x{i}"] for i in range(len(xs))], d),
                  {"op": "cat", "dim": dim, "n": len(shapes)})


def elementwise_and_reduction_cases():
    shape = (2, 3, 4, 5)
    for name, fn in [("add", lambda dt, a, b: a + b), ("sub", lambda dt, a, b: a - b),
                     ("mul", lambda dt, a, b: a * b)]:
        g = gen_for(name)
        grad_case(name, {"a": randn(shape, g), "b": randn(shape, g)}, ["a", "b"], fn, {"op": name})
    for name, s, fn in [("add_scalar", 0.5, lambda dt, a: a + 0.5), ("mul_scalar", -1.5, lambda dt, a: a * -1.5)]:
        g = gen_for(name)
        grad_case(name, {"a": randn(shape, g)}, ["a"], fn, {"op": name, "scalar": s})
    for name, fn in [("sum", lambda dt, x: x.sum()), ("mean", lambda dt, x: x.mean())]:
        g = gen_for(name)
        grad_case(name, {"x": randn(shape, g)}, ["x"], fn, {"op": name})


def loss_cases():
    shape = (2, 3, 5, 4)

    def xy(g):
        x = randn(shape, g)
        y = x - away_from_zero(randn(shape, g), 1e-2)  # |x - y| >= ~1e-2: no kink of |.| nearby
        return x, y

    g = gen_for("l1_loss")
    x, y = xy(g)
    grad_case("l1_loss", {"x": x, "y": y}, ["x", "y"], lambda dt, x, y: F.l1_loss(x, y), {"op": "l1_loss"})

    g = gen_for("l1_loss_masked")
    x, y = xy(g)
    mask = (torch.rand(shape, generator=g) < 0.4).float()

    def masked(dt, x, y, mask):
        return (mask * (x - y).abs()).sum() / torch.clamp(mask.sum(), min=1.0)

    grad_case("l1_loss_masked", {"x": x, "y": y, "mask": mask}, ["x", "y"], masked, {"op": "l1_loss_masked"})

    g = gen_for("mse_loss")
    grad_case("mse_loss", {"x": randn(shape, g), "y": randn(shape, g)}, ["x", "y"],
              lambda dt, x, y: F.mse_loss(x, y), {"op": "mse_loss"})

    for name, target in [("bce_logits_ones", lambda g: torch.ones(shape)),
                         ("bce_logits_zeros", lambda g: torch.zeros(shape)),
                         ("bce_logits_rand", lambda g: torch.rand(shape, generator=g))]:
        g = gen_for(name)
        x = randn(shape, g, 3.0)  # wide logits exercise both branches of the stable form
        # The target is data, not a parameter: only the gradient w.r.t. the logits is stored.
        grad_case(name, {"x": x, "target": target(g)}, ["x"],
                  lambda dt, x, target: F.binary_cross_entropy_with_logits(x, target), {"op": "bce_with_logits"})


def dropout_case():
    name, p, seed, first = "dropout", 0.5, 1234, 0
    check_philox_kat()
    g = gen_for(name)
    x = randn((2, 3, 8, 8), g)
    words = philox_words(seed, first, x.numel())
    u = (words >> np.uint64(8)).astype(np.float64) * 2.0 ** -24  # uniform01, exact in f32 and f64
    mask = torch.from_numpy((u >= p).reshape(tuple(x.shape)).astype(np.float32))
    assert 0.3 < mask.mean().item() < 0.7
    grad_case(name, {"x": x}, ["x"], lambda dt, x: x * mask.to(dt) / (1 - p),
              {"op": "dropout", "p": p, "seed": seed, "first": first}, extra_inputs={"mask": mask})


# ---------------------------------------------------------------- tiny networks with one Adam step
def init_params(case, shapes):
    """Weights N(0, 0.02), biases 0, batch-norm weights N(1, 0.02), batch-norm biases 0 (pix2pix init)."""
    g = gen_for(case + "/init")
    params = {}
    for n, s in shapes:
        if n.startswith("bn") and n.endswith(".weight"):
            params[n] = 1.0 + randn(s, g, 0.02)
        elif n.endswith(".weight"):
            params[n] = randn(s, g, 0.02)
        else:
            params[n] = torch.zeros(s)
    return params


def unet_forward(p, d, buf):
    x = d["x"]
    d1 = F.conv2d(x, p["conv1.weight"], p["conv1.bias"], stride=2, padding=1)
    h = F.leaky_relu(d1, 0.2)
    h = F.conv2d(h, p["conv2.weight"], None, stride=2, padding=1)
    h = F.batch_norm(h, buf["bn2.running_mean"], buf["bn2.running_var"], p["bn2.weight"], p["bn2.bias"],
                     training=True, momentum=0.1, eps=1e-5)
    h = F.relu(h)
    h = F.conv_transpose2d(h, p["convt3.weight"], None, stride=2, padding=1)
    h = F.batch_norm(h, buf["bn3.running_mean"], buf["bn3.running_var"], p["bn3.weight"], p["bn3.bias"],
                     training=True, momentum=0.1, eps=1e-5)
    h = torch.cat([d1, h], 1)  # skip first, as pix2pix's UnetSkipConnectionBlock does
    h = F.relu(h)
    h = F.conv_transpose2d(h, p["convt4.weight"], p["convt4.bias"], stride=2, padding=1)
    return torch.tanh(h)


UNET_LAYERS = ("x[2,5,16,16] -> d1 = conv2d(conv1.weight, conv1.bias, s2 p1) -> leaky_relu(0.2) "
               "-> conv2d(conv2.weight, no bias, s2 p1) -> batch_norm(bn2, training, momentum 0.1, eps 1e-5) -> relu "
               "-> conv_transpose2d(convt3.weight, no bias, s2 p1) -> batch_norm(bn3, training) "
               "-> cat([d1, h], dim 1) -> relu -> conv_transpose2d(convt4.weight, convt4.bias, s2 p1) -> tanh = out; "
               "loss = l1_loss(out, target)")

DISC_LAYERS = ("x = cat([cond[2,5,16,16], image[2,4,16,16]], dim 1) -> conv2d(conv1.weight, conv1.bias, s2 p1) "
               "-> leaky_relu(0.2) -> conv2d(conv2.weight, no bias, s2 p1) -> instance_norm(no affine, eps 1e-5) "
               "-> leaky_relu(0.2) -> conv2d(conv3.weight, conv3.bias, s1 p1) = out; "
               "loss = bce_with_logits(out, ones)")


def disc_forward(p, d, buf):
    h = torch.cat([d["cond"], d["image"]], 1)
    h = F.conv2d(h, p["conv1.weight"], p["conv1.bias"], stride=2, padding=1)
    h = F.leaky_relu(h, 0.2)
    h = F.conv2d(h, p["conv2.weight"], None, stride=2, padding=1)
    h = F.instance_norm(h, eps=1e-5)
    h = F.leaky_relu(h, 0.2)
    return F.conv2d(h, p["conv3.weight"], p["conv3.bias"], stride=1, padding=1)


def network_case(case, shapes, data, forward, loss_fn, layers, weight_decay, buffers=None):
    """One forward, backward and Adam step; stores params before/after, grads, out, loss and buffers.
    Convolutions followed by a normalization have no bias: its gradient is exactly zero in theory, so its
    float value is rounding noise that Adam's first step (about lr * sign(grad)) would turn into an
    arbitrary +-lr, which no implementation could match."""
    lr, beta1, beta2, eps = 2e-4, 0.5, 0.999, 1e-8
    params0 = init_params(case, shapes)
    names = [n for n, _ in shapes]

    def run(dt):
        p = {n: params0[n].to(dt).clone().requires_grad_(True) for n in names}
        buf = {k: v.to(dt).clone() for k, v in (buffers or {}).items()}
        d = {k: v.to(dt) for k, v in data.items()}
        out = forward(p, d, buf)
        loss = loss_fn(out, d["target"])
        loss.backward()
        res = {"out": out, "loss": loss}
        res.update({f"grad/{n}": p[n].grad.clone() for n in names})
        opt = torch.optim.Adam([p[n] for n in names], lr=lr, betas=(beta1, beta2), eps=eps,
                               weight_decay=weight_decay)
        opt.step()
        res.update({f"after/{n}": p[n].detach().clone() for n in names})
        res.update({f"buffer_after/{k}": v for k, v in buf.items()})
        return res

    inputs = dict(data)
    inputs.update({f"param/{n}": params0[n] for n in names})
    inputs.update({f"buffer/{k}": v for k, v in (buffers or {}).items()})
    emit(case, inputs, run, {"op": case, "layers": layers, "params": ",".join(names), "lr": lr, "beta1": beta1,
                             "beta2": beta2, "eps": eps, "weight_decay": weight_decay})


def network_cases():
    g = gen_for("unet")
    unet_shapes = [("conv1.weight", (8, 5, 4, 4)), ("conv1.bias", (8,)), ("conv2.weight", (16, 8, 4, 4)),
                   ("bn2.weight", (16,)), ("bn2.bias", (16,)), ("convt3.weight", (16, 8, 4, 4)),
                   ("bn3.weight", (8,)), ("bn3.bias", (8,)), ("convt4.weight", (16, 4, 4, 4)),
                   ("convt4.bias", (4,))]
    buffers = {"bn2.running_mean": torch.zeros(16), "bn2.running_var": torch.ones(16),
               "bn3.running_mean": torch.zeros(8), "bn3.running_var": torch.ones(8)}
    data = {"x": randn((2, 5, 16, 16), g), "target": torch.tanh(randn((2, 4, 16, 16), g))}
    network_case("unet", unet_shapes, data, unet_forward, F.l1_loss, UNET_LAYERS, 0.0, buffers)

    g = gen_for("patchgan")
    disc_shapes = [("conv1.weight", (8, 9, 4, 4)), ("conv1.bias", (8,)), ("conv2.weight", (16, 8, 4, 4)),
                   ("conv3.weight", (1, 16, 4, 4)), ("conv3.bias", (1,))]
    data = {"cond": randn((2, 5, 16, 16), g), "image": torch.tanh(randn((2, 4, 16, 16), g)),
            "target": torch.ones(2, 1, 3, 3)}
    network_case("patchgan", disc_shapes, data, disc_forward, F.binary_cross_entropy_with_logits, DISC_LAYERS,
                 5e-4)


def main():
    conv2d_cases()
    conv_transpose2d_cases()
    norm_cases()
    activation_and_shape_cases()
    elementwise_and_reduction_cases()
    loss_cases()
    dropout_case()
    network_cases()
    cases = sorted({n.split("/")[0] for n in TENSORS})
    METADATA["cases"] = ",".join(cases)
    size = write_safetensors(OUT_PATH, TENSORS, METADATA)
    assert size < MAX_BYTES, f"golden file is {size} bytes, over the {MAX_BYTES} budget"
    for c in cases:
        print(f"  {c:24s} PyTorch f32 vs f64 reference: {F32_WORST[c]:.2e}")
    print(f"wrote {OUT_PATH}: {len(TENSORS)} tensors, {len(cases)} cases, {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
