#!/usr/bin/env bash
# make quickstart: a 3-site phantom (different scanners, SiteC without T2) -> shards at 64x64 -> AsynDGAN
# trained in simulation on the CPU for a few minutes -> sample grids, metrics, SiteC's completed T2, and
# the PSNR/SSIM of synthetic vs real images of held-out subjects before and after training.
set -euo pipefail
cd "$(dirname "$0")/.."
CLI=${BUILD_DIR:-build}/apps/asyndgan
OUT=out/quickstart
rm -rf "$OUT"
mkdir -p "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "phantom: 3 sites x 5 subjects, SiteC without T2"
"$CLI" phantom --out "$OUT/phantom" --sites 3 --subjects-per-site 5 --size 128,128,64 --missing SiteC:t2 --seed 1

step "prepare: 64x64 shards, 3 training and 2 held-out test subjects per site"
"$CLI" prepare --brats "$OUT/phantom" --out "$OUT/prepared" --size 64,64 --resize --split 0.6,0,0.4 --seed 1

step "train: the untrained generator first (iteration 0), then the whole run"
"$CLI" train --config configs/quickstart.toml --stop-at 0 > /dev/null
"$CLI" train --config configs/quickstart.toml --resume

step "evaluate on the held-out subjects"
"$CLI" synth --checkpoint "$OUT/run/checkpoints/iter_000000.ckpt" --shards "$OUT/prepared" --split test \
  --out "$OUT/synth_untrained" > "$OUT/synth_untrained.txt"
"$CLI" synth --checkpoint "$OUT/run/checkpoints/latest.ckpt" --shards "$OUT/prepared" --split test \
  --out "$OUT/synth_trained" > "$OUT/synth_trained.txt"

step "complete: SiteC's missing T2 from its label maps"
"$CLI" complete --checkpoint "$OUT/run/checkpoints/latest.ckpt" --brats "$OUT/phantom" --site SiteC \
  --out "$OUT/completed"

step "results"
echo "untrained generator:"; grep -E "PSNR|SSIM" "$OUT/synth_untrained.txt" | sed 's/^/  /'
echo "trained generator:";   grep -E "PSNR|SSIM" "$OUT/synth_trained.txt" | sed 's/^/  /'
last_grid=$(ls "$OUT/run/samples"/*.png | tail -n 1)
cat <<MSG
outputs:
  sample grids (condition | real | synthetic per modality and site): $OUT/run/samples/ (latest: $last_grid)
  metrics: $OUT/run/metrics.jsonl, TensorBoard: tensorboard --logdir $OUT/run/tb
  checkpoint: $OUT/run/checkpoints/latest.ckpt
  SiteC's completed T2 volumes: $OUT/completed/
  synthetic test volumes and previews: $OUT/synth_trained/
MSG
