#!/usr/bin/env bash
# The privacy/utility trade-off on the phantom (README, "Privacy"): one short AsynDGAN run per site policy (no
# defence, drop_l1, and Gaussian noise at several sigmas), each scored by the epsilon its samples spent, the PSNR and
# SSIM of its synthetic images on held-out subjects, and the probing attack's reconstruction of a training image
# with as many answers as that run gave per sample. Prints a markdown table and writes it to $OUT/tradeoff.md.
# Usage: bench/privacy_tradeoff.sh [ITERATIONS]   (BUILD_DIR, OUT, SIGMAS, CLIP from the environment; REUSE=1
# keeps runs of OUT that reached ITERATIONS)
set -euo pipefail
cd "$(dirname "$0")/.."
CLI=${BUILD_DIR:-build}/apps/asyndgan
OUT=${OUT:-out/privacy}
ITERS=${1:-200}
SIGMAS=${SIGMAS:-"0.05 0.5 2 8"}
CLIP=${CLIP:-1}
mkdir -p "$OUT/runs"

if [ ! -f "$OUT/prepared/prepare.json" ]; then
  rm -rf "$OUT/phantom" "$OUT/prepared"
  "$CLI" phantom --out "$OUT/phantom" --sites 3 --subjects-per-site 5 --size 128,128,64 --seed 1 > /dev/null
  "$CLI" prepare --brats "$OUT/phantom" --out "$OUT/prepared" --size 64,64 --resize --split 0.6,0,0.4 --seed 1 > /dev/null
fi

# name|--set overrides of the site policy (all sites of the simulation share it)
policies=("none|site.max_queries_per_sample=0" "drop_l1|site.privacy.drop_l1=true")
for s in $SIGMAS; do policies+=("sigma $s|site.privacy.clip=$CLIP site.privacy.sigma=$s"); done

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

table="| policy | epsilon per sample (delta 1e-5) | site-wide bound | held-out PSNR (dB) | held-out SSIM | probe answers | probe PSNR (dB) | probe SSIM | mean-image PSNR (dB) |
|---|---|---|---|---|---|---|---|---|"
for p in "${policies[@]}"; do
  name=${p%%|*}
  sets=()
  for kv in ${p#*|}; do sets+=(--set "$kv"); done
  run="$OUT/runs/${name// /_}"
  [ "${REUSE:-0}" = 1 ] && [ -f "$run/checkpoints/iter_$(printf %06d "$ITERS").ckpt" ] ||
  "$CLI" train --config configs/quickstart.toml --overwrite --set data.shards="$OUT/prepared" --set output.dir="$run" \
    --set schedule.constant="$ITERS" --set schedule.decay=0 --set output.sample_every=0 --set output.log_every=100 \
    "${sets[@]}" > "$run.train.txt" 2>&1 || { cat "$run.train.txt"; exit 1; }
  "$CLI" synth --checkpoint "$run/checkpoints/latest.ckpt" --shards "$OUT/prepared" --split test --out "$run/synth" \
    > "$run.synth.txt"
  # Means over the modalities of the held-out subjects' planes.
  psnr=$(json "$run/synth/synth_metrics.json" "'%.2f' % (sum(m['psnr'] for m in d.values()) / len(d))")
  ssim=$(json "$run/synth/synth_metrics.json" "'%.3f' % (sum(m['ssim'] for m in d.values()) / len(d))")
  eps=$(python3 -c "import json,sys; e=[json.loads(x) for x in open(sys.argv[1])][-1]['epsilon']; print('%.3g' % e if e else 'none (no noise)')" "$run/metrics.jsonl")
  wide=$(sed -n 's/.*site-wide bound epsilon \([0-9.e+-]*\).*/\1/p' "$run.train.txt" | head -n 1)
  # The probe asks as many questions about one sample as the run answered per sample (rows / samples of the site).
  answers=$(python3 - "$OUT/prepared" "$ITERS" <<'PY'
import json, sys
p = json.load(open(sys.argv[1] + "/prepare.json"))
n = next(s["samples_by_split"]["train"] for s in p["sites"] if s["site"] == "SiteA")
print(max(1, round(int(sys.argv[2]) * 4 / n)))  # batch_per_site 4, balance sampling: every site every step
PY
)
  "$CLI" attack probe --shard "$OUT/prepared/SiteA.shard" --config "$run/config.toml" --sample 0 --budget "$answers" \
    --method both --interleave --out "$run/probe" > "$run.probe.txt"
  # The better of the two methods at the full budget, against the best guess without answers (the mean image).
  probe=$(json "$run/probe/probe.json" "'%.2f|%.3f|%.2f' % (max((m['budgets'][-1]['psnr'], m['budgets'][-1]['ssim']) for m in d['methods'].values()) + (d['baseline']['mean_image']['psnr'],))")
  IFS='|' read -r ppsnr pssim base <<< "$probe"
  table+="
| $name | ${eps} | ${wide:-n/a} | $psnr | $ssim | $answers | $ppsnr | $pssim | $base |"
done
printf '%s\n' "$table" | tee "$OUT/tradeoff.md"
echo "commit $(git rev-parse --short HEAD), $ITERS iterations, clip $CLIP"
