"""Summary of a bench/gpu_check.sh run: reads its results folder and prints a Markdown table with PASS/FAIL per
issue-5 target (fused norm kernels >= 70% of copy bandwidth; step <= 0.75x PyTorch eager bf16 and <= 1.0x
torch.compile; >= 35% of the bf16 roofline), then the kernel profile of one bf16 step when ncu.csv is there.
Usage: python3 bench/gpu_summary.py RESULTS_DIR"""
import csv
import json
import os
import re
import sys
from collections import defaultdict


def lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


def jsonl(path):
    out = []
    for ln in lines(path):
        try:
            out.append(json.loads(ln))
        except ValueError:
            pass
    return out


# ncu writes a time's unit in words (--page raw's units row: "nsecond") or short ("ns", the details page).
TO_MS = {"ns": 1e-6, "nsecond": 1e-6, "us": 1e-3, "usecond": 1e-3, "ms": 1.0, "msecond": 1.0, "s": 1e3, "second": 1e3}
METRIC = "gpu__time_duration.sum"


def number(text):
    """ncu's numbers carry thousands separators ("1,234.5")."""
    return float(text.replace(",", ""))


def ncu_launches(path):
    """[(kernel name, ms)] per launch in launch order from `ncu --csv --metrics gpu__time_duration.sum`, either
    --page raw (a header row, a units row, one row per launch: what the check writes) or the details page (one row
    per launch and metric). The profiled program's own output and ncu's ==PROF== lines share the file: only lines
    that start with a quote are CSV."""
    rows = list(csv.reader(ln for ln in lines(path) if ln.startswith('"')))
    if not rows:
        return []
    head = rows[0]
    if "Kernel Name" not in head or "ID" not in head:
        return []
    name, ident = head.index("Kernel Name"), head.index("ID")
    out = []
    if METRIC in head:
        col, unit = head.index(METRIC), "nsecond"
        for r in rows[1:]:
            if len(r) <= col or r == head:
                continue
            if r[ident] == "":  # the units row
                unit = r[col]
                continue
            try:
                out.append((int(r[ident]), r[name], number(r[col]) * TO_MS[unit]))
            except (ValueError, KeyError):
                pass
    elif "Metric Name" in head and "Metric Value" in head:
        mname, mval = head.index("Metric Name"), head.index("Metric Value")
        munit = head.index("Metric Unit") if "Metric Unit" in head else None
        for r in rows[1:]:
            if len(r) != len(head) or r[mname] != METRIC:
                continue
            try:
                out.append((int(r[ident]), r[name], number(r[mval]) * TO_MS[r[munit] if munit is not None else "ns"]))
            except (ValueError, KeyError):
                pass
    out.sort(key=lambda t: t[0])
    return [(n, ms) for _, n, ms in out]


def last_step(names, shortest=8):
    """Launches in one step: the longest tail that repeats the launches just before it (the profiled run ends with
    two identical steps after a warm-up), 0 when none of at least `shortest` launches does."""
    n = len(names)
    for p in range(n // 2, shortest - 1, -1):
        if names[n - 2 * p:n - p] == names[n - p:]:
            return p
    return 0


def kernel_profile(res, top=15):
    """(table row, Markdown lines): the step's kernels grouped by name, and GPU-busy share of its wall time."""
    path = os.path.join(res, "ncu.csv")
    if not os.path.exists(path):
        return ("kernel profile of the bf16 step (ncu)", "not run: no ncu.csv (check.log says why)", "", ""), []
    launches = ncu_launches(path)
    if not launches:
        return ("kernel profile of the bf16 step (ncu)", "no kernel rows in ncu.csv (see ncu.err)", "", ""), []
    p = last_step([n for n, _ in launches])
    step = launches[-p:] if p else launches
    what = (f"one step = the last {p} of {len(launches)} launches (the step before launched the same kernels)" if p
            else f"one step not identified: all {len(launches)} launches of the profiled run (1 warm-up + 2 steps)")
    kernel_ms = sum(ms for _, ms in step)
    wall = next((r["ms"] for r in jsonl(os.path.join(res, "profile_step.jsonl")) if r.get("impl") == "asyndgan"), None)
    busy = kernel_ms / wall if wall and p else None
    groups = defaultdict(lambda: [0.0, 0])
    for n, ms in step:
        groups[n][0] += ms
        groups[n][1] += 1
    if busy is not None:
        share = f"wall time {wall:.2f} ms without the profiler: GPU busy {100 * busy:.0f}% of the step"
        row = f"{kernel_ms:.1f} of {wall:.1f} ms, {100 * busy:.0f}%"
    else:
        share = "GPU-busy share not known (" + ("no wall time in profile_step.jsonl)" if p else "no single step)")
        row = f"{kernel_ms:.1f} ms of kernels" + ("" if p else " in the whole profiled run")
    out = ["", "### Kernels of one bf16 step, 1 site (ncu, deterministic cuDNN)", "", f"{what}: {kernel_ms:.2f} ms of "
           f"kernels; {share}", "", "| ms/step | launches | % of kernel time | kernel |", "|---:|---:|---:|---|"]
    for n, (ms, count) in sorted(groups.items(), key=lambda kv: -kv[1][0])[:top]:
        name = n if len(n) <= 120 else n[:117] + "..."
        out.append(f"| {ms:.3f} | {count} | {100 * ms / kernel_ms if kernel_ms else 0:.1f}% | `{name.replace('|', '/')}` |")
    if len(groups) > top:
        rest = sorted(groups.values(), key=lambda v: -v[0])[top:]
        out.append(f"| {sum(v[0] for v in rest):.3f} | {sum(v[1] for v in rest)} | | {len(rest)} other kernels |")
    return ("GPU busy in a bf16 step, 1 site (ncu kernel time / wall time)", row, "", ""), out


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def main(res):
    rows = []  # (what, value, target, verdict)
    stages = {ln.split()[0]: ln for ln in lines(os.path.join(res, "stages.txt"))}

    log = "\n".join(lines(os.path.join(res, "cuda_tests.log")))
    m = re.search(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed", log)
    a = re.search(r"assertions:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed", log)
    if m:
        rows.append(("cuda_tests", f"{m.group(2)}/{m.group(1)} cases passed, {m.group(3)} failed"
                     + (f"; {a.group(2)}/{a.group(1)} assertions" if a else ""), "all pass", verdict(m.group(3) == "0")))
    else:
        rows.append(("cuda_tests", (log.strip().splitlines() or ["no output"])[-1][:80], "all pass", "FAIL"))

    san = "\n".join(lines(os.path.join(res, "sanitizer.log")))
    s = re.search(r"ERROR SUMMARY: (\d+) error", san)
    rows.append(("compute-sanitizer memcheck (short bf16 training run)", f"{s.group(1)} errors" if s else "did not finish",
                 "0 errors", verdict(bool(s) and s.group(1) == "0")))

    k = jsonl(os.path.join(res, "kernels.jsonl"))
    copy = next((r["gbps"] for r in k if r.get("bench") == "copy"), None)
    device = next((r["name"] for r in k if r.get("bench") == "device"), "?")
    rows.append(("device", device, "", ""))
    rows.append(("device-to-device copy (read + write)", f"{copy:.0f} GB/s" if copy else "not measured", "", ""))
    gemm = {r["dtype"]: r for r in k if r.get("bench") == "gemm" and r.get("valid")}
    for dt in ("bf16", "tf32", "f32"):
        if dt in gemm:
            rows.append((f"GEMM {dt} 8192^3 (kern::cuda::gemm)", f"{gemm[dt]['tflops']:.0f} TFLOP/s", "", ""))
    for r in k:
        if r.get("bench") != "kernel":
            continue
        fused = r["kernel"].startswith("instance_norm")
        if not r["valid"]:
            rows.append((f"{r['kernel']} {r['dtype']} {r['shape']}", f"INVALID (error {r['max_rel_err']:.1e})",
                         ">= 70% copy BW" if fused else "valid", "FAIL"))
        else:
            rows.append((f"{r['kernel']} {r['dtype']} {r['shape']}", f"{r['gbps']:.0f} GB/s, {r['pct_copy']:.0f}% of copy",
                         ">= 70% copy BW" if fused else "", verdict(r["pct_copy"] >= 70) if fused else ""))

    lay = next((r for r in k if r.get("bench") == "conv_layout_total"), None)
    bad = [r for r in k if r.get("bench") == "conv_layout" and not r.get("valid")]
    if lay and lay["nchw_ms"] > 0:
        rows.append(("cuDNN bf16 convs of the step, NHWC / NCHW time", f"{lay['nhwc_ms'] / lay['nchw_ms']:.2f}x "
                     f"({lay['nhwc_ms']:.1f} / {lay['nchw_ms']:.1f} ms)", "decides the layout", "FAIL" if bad else ""))

    st = jsonl(os.path.join(res, "step.jsonl"))
    def ms(impl, sites, precision=None):
        for r in st:
            if r.get("impl") == impl and r.get("sites") == sites and (precision is None or r.get("precision") == precision):
                return r
        return None
    for sites in (1, 4):
        ours, ours32 = ms("asyndgan", sites, "bf16"), ms("asyndgan", sites, "fp32")
        eager, comp = ms("pytorch_eager_bf16", sites), ms("pytorch_compile_bf16", sites)
        if ours32:
            rows.append((f"step fp32, {sites} site(s)", f"{ours32['ms']:.1f} ms", "", ""))
        if not ours:
            rows.append((f"step bf16, {sites} site(s)", "not measured", "", "FAIL"))
            continue
        rows.append((f"step bf16, {sites} site(s)", f"{ours['ms']:.1f} ms, {ours['images_per_s']:.0f} images/s, "
                     f"peak {ours['peak_bytes'] / 2**30:.1f} GiB", "", ""))
        for name, ref, target in (("PyTorch eager bf16", eager, 0.75), ("torch.compile bf16", comp, 1.0)):
            if ref:
                ratio = ours["ms"] / ref["ms"]
                rows.append((f"  vs {name} ({ref['ms']:.1f} ms)", f"{ratio:.2f}x the time", f"<= {target}x", verdict(ratio <= target)))
            else:
                rows.append((f"  vs {name}", "not measured", f"<= {target}x", "FAIL"))
        pct = ours.get("roofline_pct", -1)
        rows.append((f"  bf16 roofline ({ours['tflops']:.0f} TFLOP/s of conv work)",
                     f"{pct:.0f}%" if pct >= 0 else "no GEMM rate", ">= 35%", verdict(pct >= 35) if pct >= 0 else "FAIL"))

    profile_row, profile_lines = kernel_profile(res)
    rows.append(profile_row)

    print("| what | result | target | verdict |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    for ln in profile_lines:
        print(ln)
    for name, ln in stages.items():
        if "rc=124" in ln or "rc=137" in ln or "skipped" in ln:
            print(f"\nstage {name} ran out of time: {ln}")
    fails = sum(r[3] == "FAIL" for r in rows)
    print(f"\n{fails} FAIL(s)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
