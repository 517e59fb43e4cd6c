#!/usr/bin/env bash
# Loopback TLS deployment against the simulation, same config, same machine, same run: iterations per second of
# each from their metrics.jsonl (the first iteration left out: it allocates), and their ratio. Writes under
# ${WORK:-/tmp/asyndgan_deploy_speed}.
#   bench/deploy_speed.sh [build dir=build] [size=128] [iterations=20] [sites=3] [batch=4]
set -euo pipefail
BUILD=${1:-build}; SIZE=${2:-128}; ITERS=${3:-20}; SITES=${4:-3}; BATCH=${5:-4}
CLI=$(realpath "$BUILD/apps/asyndgan")
WORK=${WORK:-/tmp/asyndgan_deploy_speed}
rm -rf "$WORK"; mkdir -p "$WORK"; cd "$WORK"
"$CLI" phantom --out phantom --sites "$SITES" --subjects-per-site 2 --size "$((SIZE + SIZE / 4)),$((SIZE + SIZE / 4)),32" --seed 1 > /dev/null
"$CLI" prepare --brats phantom --out prepared --size "$SIZE,$SIZE" --resize --split 1,0,0 --seed 1 > /dev/null
names=$(for ((j = 0; j < SITES; j++)); do printf "Site%s " "$(printf "\\x$(printf %x $((65 + j)))")"; done)
"$CLI" certs --out certs --sites "$(echo $names | tr ' ' ',')" > /dev/null
list=$(for n in $names; do printf '"%s", ' "$n"; done)
cat > run.toml <<TOML
[data]
shards = "prepared"
[model]
norm = "instance"
[schedule]
constant = $ITERS
[train]
batch_per_site = $BATCH
[dist]
listen = "127.0.0.1:0"
sites = [${list%, }]
certs = "certs"
[output]
sample_every = 0
checkpoint_every = 0
log_every = 1000
TOML
rate() {  # iterations per second over iterations 2..N of a metrics file
  python3 -c "import json,sys; s=[json.loads(l)['seconds'] for l in open(sys.argv[1])][1:]; print(len(s)/sum(s))" "$1"
}
"$CLI" train --config run.toml --set output.dir=sim > sim.log 2>&1
"$CLI" train --config run.toml --role central --set output.dir=central > central.log 2>&1 &
central=$!
for _ in $(seq 100); do grep -q "listening on port" central.log && break; sleep 0.1; done
port=$(grep -o "listening on port [0-9]*" central.log | grep -o "[0-9]*$")
for n in $names; do
  "$CLI" train --config run.toml --role site --site "$n" --set dist.central=127.0.0.1:"$port" --set output.dir="$n" > "$n.log" 2>&1 &
done
wait $central
wait
s=$(rate sim/metrics.jsonl); d=$(rate central/metrics.jsonl)
echo "size ${SIZE}x${SIZE}, batch $BATCH, $SITES sites, $ITERS iterations, $(nproc) cores"
echo "simulation:            $s iterations/s"
echo "TLS loopback, 1+$SITES processes: $d iterations/s"
python3 -c "print('ratio deployment / simulation: %.3f' % ($d / $s))"
