#!/usr/bin/env python3
# Golden numbers for tests/train/test_privacy_accountant.cpp: (epsilon, order) of composed Gaussian answers from
# Opacus's own RDP analysis, cross-checked against Google's dp_accounting. Prints C++ initialisers to paste.
#
# Setup (importing `opacus` pulls in torch, so its analysis file is loaded on its own from the wheel):
#   python3 -m venv /tmp/privenv && /tmp/privenv/bin/pip install numpy scipy dp-accounting
#   mkdir -p /tmp/opdl && /tmp/privenv/bin/pip download opacus --no-deps -d /tmp/opdl
#   (cd /tmp/opdl && python3 -m zipfile -e opacus-*.whl op)
#   /tmp/privenv/bin/python tests/golden/make_privacy_golden.py /tmp/opdl/op/opacus/accountants/analysis/rdp.py
#
# Our answers have L2 sensitivity 2C (replacing one sample's image moves its clipped gradient row by up to 2C) and
# noise std sigma*C; Opacus's noise_multiplier is relative to sensitivity 1, so it is sigma / 2 here. The sampling
# rate is 1: the central node picks the samples it asks about, so no subsampling amplification is claimed.
import importlib.metadata
import importlib.util
import pathlib
import re
import sys
import warnings

import numpy as np

if len(sys.argv) != 2:
    sys.exit("usage: make_privacy_golden.py PATH/TO/opacus/accountants/analysis/rdp.py")
spec = importlib.util.spec_from_file_location("opacus_rdp", sys.argv[1])
rdp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rdp)

import dp_accounting  # noqa: E402
from dp_accounting import rdp as dp_rdp  # noqa: E402

# opacus/accountants/rdp.py RDPAccountant.DEFAULT_ALPHAS
ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))
# The optimal order may be the largest one (Opacus then warns to widen the range); the C++ uses the same list.
warnings.simplefilter("ignore")


def opacus_eps(sigma, answers, delta):
    r = rdp.compute_rdp(q=1.0, noise_multiplier=sigma / 2.0, steps=answers, orders=ORDERS)
    eps, order = rdp.get_privacy_spent(orders=ORDERS, rdp=r, delta=delta)
    return float(eps), float(order)


def dp_accounting_eps(sigma, answers, delta):
    acc = dp_rdp.RdpAccountant(orders=ORDERS)
    acc.compose(dp_accounting.GaussianDpEvent(noise_multiplier=sigma / 2.0), count=answers)
    eps, order = acc.get_epsilon_and_optimal_order(delta)
    return float(eps), float(order)


def smallest_sigma(epsilon, delta, answers):
    # eps falls as sigma grows: bisect on Opacus's functions to well below the C++ test's tolerance.
    lo, hi = 1e-3, 1.0
    while opacus_eps(hi, answers, delta)[0] > epsilon:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if opacus_eps(mid, answers, delta)[0] <= epsilon:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-15 * hi:
            break
    return hi


# opacus/version.py, two folders above accountants/analysis/rdp.py.
version_file = pathlib.Path(sys.argv[1]).resolve().parents[2] / "version.py"
opacus_version = re.search(r'__version__\s*=\s*"([^"]+)"', version_file.read_text()).group(1)
print(f"// tests/golden/make_privacy_golden.py: opacus {opacus_version} (accountants/analysis/rdp.py), "
      f"numpy {np.__version__}, dp-accounting {importlib.metadata.version('dp-accounting')}")

cases = [(s, n, 1e-5) for s in (1.0, 2.0, 5.0, 10.0, 50.0) for n in (1, 10, 100, 1000)]
cases += [(5.0, 101, 1e-5), (3.0, 7, 1e-6), (0.8, 3, 1e-3)]
worst = 0.0
print("// {sigma, answers, delta, epsilon, order}")
for sigma, n, delta in cases:
    eps, order = opacus_eps(sigma, n, delta)
    eps2, order2 = dp_accounting_eps(sigma, n, delta)
    rel = abs(eps2 - eps) / eps
    worst = max(worst, rel)
    note = "" if rel < 1e-12 else f"  // dp_accounting: {eps2!r} at order {order2!r}"
    print(f"{{{sigma!r}, {n}, {delta!r}, {eps!r}, {order!r}}},{note}")
print(f"// largest relative difference dp_accounting vs Opacus: {worst:.3g}")

print("// noise_for_budget: {epsilon, delta, answers, sigma}")
for epsilon, delta, n in ((1.0, 1e-5, 100), (8.0, 1e-5, 1000), (0.5, 1e-5, 1), (3.0, 1e-6, 50)):
    print(f"{{{epsilon!r}, {delta!r}, {n}, {smallest_sigma(epsilon, delta, n)!r}}},")
