"""Summary of a bench/gpu_check.sh run: reads its results folder and prints a Markdown table with PASS/FAIL per
issue-5 target (fused norm kernels >= 70% of copy bandwidth; step <= 0.75x PyTorch eager bf16 and <= 1.0x
torch.compile; >= 35% of the bf16 roofline). Usage: python3 bench/gpu_summary.py RESULTS_DIR"""
import json
import os
import re
import sys


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

    print("| what | result | target | verdict |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    for name, ln in stages.items():
        if "rc=124" in ln or "rc=137" in ln or "skipped" in ln:
            print(f"\nstage {name} ran out of time: {ln}")
    fails = sum(r[3] == "FAIL" for r in rows)
    print(f"\n{fails} FAIL(s)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
