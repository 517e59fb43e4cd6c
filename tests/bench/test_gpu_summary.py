"""bench/gpu_summary.py's reading of the check's kernel profile (ncu.csv, profile_step.jsonl) on synthetic files in
ncu's two CSV layouts, since a GPU run is too rare to find a parsing mistake. Run by ctest (gpu_check_summary_reads_ncu)
or by hand: python3 tests/bench/test_gpu_summary.py"""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no bench/__pycache__ in the source tree from the import below
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import gpu_summary  # noqa: E402

RAW_HEAD = ('"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size",'
            '"Device","CC","gpu__time_duration.sum"')

# One step: 9 launches, 3.5 ms of kernels with a name that holds commas and a thousands separator in a time.
STEP = [("void cudnn::nchwToNhwcKernel<__nv_bfloat16, __nv_bfloat16, float, 0, 1, 0>", "1,000.00")] + \
       [("void asyndgan::<unnamed>::add_bias_kernel<__nv_bfloat16>", "250.00")] * 4 + \
       [("sm90_xmma_fprop_implicit_gemm_bf16", "500.00")] * 2 + \
       [("copy_kernel", "250.00"), ("adam_kernel", "250.00")]


def raw_csv(launches, unit="usecond"):
    """ncu --csv --page raw as the check runs it: the program's output and ncu's notes around the CSV rows."""
    out = ["==PROF== Connected to process 4242 (/b/bench/bench_gpu_step)",
           "AsynDGAN step on NVIDIA H200: unet (ngf 64, instance norm, dropout) + 70x70 PatchGAN per modality",
           " sites    ms/iter   images/s", RAW_HEAD, '"","","","","","","","","","","",' + f'"{unit}"']
    for i, (name, t) in enumerate(launches):
        out.append(f'"{i}","4242","bench_gpu_step","127.0.0.1","{name}","1","7","(256, 1, 1)","(64, 1, 1)","0","9.0","{t}"')
    out.append("==PROF== Disconnected from process 4242")
    return "\n".join(out) + "\n"


def details_csv(launches):
    """The details page (ncu --csv without --page raw): one row per launch and metric, the unit on each row."""
    out = ['"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size",'
           '"Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"']
    for i, (name, t) in enumerate(launches):
        ns = f"{gpu_summary.number(t) * 1000:,.0f}"
        for metric, unit, value in (("gpu__time_duration.sum", "ns", ns), ("dram__bytes.sum", "byte", "1,024")):
            out.append(f'"{i}","1","p","h","{name}","1","7","(1,1,1)","(1,1,1)","0","9.0","Command line profiler metrics",'
                       f'"{metric}","{unit}","{value}"')
    return "\n".join(out) + "\n"


class Results:
    """A results folder with the given files in it."""

    def __init__(self, files):
        self.tmp = tempfile.TemporaryDirectory()
        for name, text in files.items():
            with open(os.path.join(self.tmp.name, name), "w") as f:
                f.write(text)

    def __enter__(self):
        return self.tmp.name

    def __exit__(self, *exc):
        self.tmp.cleanup()


# Set-up launches, then a warm-up step with one launch more than the timed steps, then two timed steps.
PROFILED = [("fill_kernel", "10.00"), ("init_kernel", "20.00")] + STEP + [("cudnn_init", "5.00")] + STEP + STEP
WALL = json.dumps({"bench": "gpu_step", "impl": "asyndgan", "precision": "bf16", "sites": 1, "ms": 7.0}) + "\n"


class NcuCsv(unittest.TestCase):
    def test_raw_page_launches_in_order_in_ms(self):
        with Results({"ncu.csv": raw_csv(PROFILED)}) as res:
            launches = gpu_summary.ncu_launches(os.path.join(res, "ncu.csv"))
        self.assertEqual(len(launches), len(PROFILED))
        self.assertEqual(launches[0], ("fill_kernel", 0.01))
        self.assertEqual(launches[2][0], STEP[0][0])  # commas inside a quoted name
        self.assertAlmostEqual(launches[2][1], 1.0)  # "1,000.00" usecond

    def test_units_row_scales(self):
        for unit, ms in (("nsecond", 1e-3), ("msecond", 1e3), ("second", 1e6)):
            with Results({"ncu.csv": raw_csv([("k", "1,000")], unit)}) as res:
                self.assertAlmostEqual(gpu_summary.ncu_launches(os.path.join(res, "ncu.csv"))[0][1], ms)

    def test_details_page_same_launches(self):
        with Results({"a.csv": raw_csv(PROFILED), "b.csv": details_csv(PROFILED)}) as res:
            raw = gpu_summary.ncu_launches(os.path.join(res, "a.csv"))
            details = gpu_summary.ncu_launches(os.path.join(res, "b.csv"))
        self.assertEqual([n for n, _ in raw], [n for n, _ in details])
        for (_, a), (_, b) in zip(raw, details):
            self.assertAlmostEqual(a, b)

    def test_no_csv_rows(self):
        with Results({"ncu.csv": "==ERROR== ERR_NVGPUCTRPERM - no permission\n"}) as res:
            self.assertEqual(gpu_summary.ncu_launches(os.path.join(res, "ncu.csv")), [])


class LastStep(unittest.TestCase):
    def test_the_repeated_tail_is_one_step(self):
        names = [n for n, _ in PROFILED]
        self.assertEqual(gpu_summary.last_step(names), len(STEP))

    def test_identical_warm_up_still_one_step(self):
        self.assertEqual(gpu_summary.last_step([n for n, _ in STEP * 3]), len(STEP))

    def test_no_repeat(self):
        self.assertEqual(gpu_summary.last_step([f"k{i}" for i in range(40)]), 0)


class Summary(unittest.TestCase):
    def summary(self, files):
        with Results(files) as res, contextlib.redirect_stdout(io.StringIO()) as out:
            gpu_summary.main(res)
        return out.getvalue()

    def test_top_kernels_and_busy_share(self):
        text = self.summary({"ncu.csv": raw_csv(PROFILED), "profile_step.jsonl": WALL})
        self.assertIn("one step = the last 9 of 30 launches", text)
        self.assertIn("3.50 ms of kernels", text)
        self.assertIn("GPU busy 50% of the step", text)  # 3.5 ms of kernels in a 7 ms step
        self.assertIn("| 3.5 of 7.0 ms, 50% |", text)
        table = [ln for ln in text.splitlines() if ln.startswith("| ") and ln.endswith("` |")]
        # Grouped by name, largest total first: the 4 bias launches (1.0 ms) tie the 1 transpose; then the GEMMs.
        self.assertEqual(len(table), 5)
        self.assertEqual(sorted(table[:2]), sorted([
            "| 1.000 | 1 | 28.6% | `void cudnn::nchwToNhwcKernel<__nv_bfloat16, __nv_bfloat16, float, 0, 1, 0>` |",
            "| 1.000 | 4 | 28.6% | `void asyndgan::<unnamed>::add_bias_kernel<__nv_bfloat16>` |"]))
        self.assertEqual(table[2], "| 1.000 | 2 | 28.6% | `sm90_xmma_fprop_implicit_gemm_bf16` |")

    def test_without_wall_time(self):
        text = self.summary({"ncu.csv": raw_csv(PROFILED)})
        self.assertIn("no wall time in profile_step.jsonl", text)

    def test_no_repeated_step(self):
        launches = [(f"k{i}", "100.00") for i in range(20)]
        text = self.summary({"ncu.csv": raw_csv(launches), "profile_step.jsonl": WALL})
        self.assertIn("one step not identified: all 20 launches", text)
        self.assertIn("| 2.0 ms of kernels in the whole profiled run |", text)

    def test_without_profile(self):
        text = self.summary({})
        self.assertNotIn("Kernels of one bf16 step", text)
        self.assertIn("| kernel profile of the bf16 step (ncu) | not run: no ncu.csv", text)


if __name__ == "__main__":
    unittest.main()
