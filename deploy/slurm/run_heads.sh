#!/bin/bash
# Runs `bertology heads` over N Slurm tasks and merges them when all succeeded:
#   deploy/slurm/run_heads.sh N OUT [extra heads flags…]     → OUT/shard-I-of-N/ …, then OUT/merged/
# With --try-masking (and --no-prune) it runs the masking study in rounds: every round is an array of N tasks
# (heads … --round K) followed by its merge, and the next round starts from OUT/round-K/merged, until a merged
# round holds head_mask.npy (run this driver itself on a login node or in a small job: it waits for each round).
# MODEL, TASK, DATA_DIR and DENO (the deno binary) may be set in the environment.
set -euo pipefail
N=${1:?usage: run_heads.sh N OUT [heads flags…]}
OUT=${2:?usage: run_heads.sh N OUT [heads flags…]}
shift 2
DENO=${DENO:-deno}
HERE=$(dirname "$0")
merge() { "$DENO" run --allow-read --allow-write --allow-env cli/main.ts merge "$1" --output-dir "$1/merged"; }
case " $* " in
*" --try-masking "*)
  for ((k = 0; ; k++)); do
    sbatch --wait --array=0-$((N - 1)) "$HERE/heads.sbatch" "$OUT" --round "$k" "$@"
    merge "$OUT/round-$k" # on this (driver) node: merge only adds the shards' sums
    if [ -f "$OUT/round-$k/merged/head_mask.npy" ]; then
      echo "masking done after round $k: $OUT/round-$k/merged"
      break
    fi
  done
  ;;
*)
  job=$(sbatch --parsable --array=0-$((N - 1)) "$HERE/heads.sbatch" "$OUT" "$@")
  sbatch --dependency=afterok:"$job" --job-name=bertology-merge --wrap \
    "$DENO run --allow-read --allow-write --allow-env cli/main.ts merge $OUT --output-dir $OUT/merged"
  echo "submitted shards ($job) and their merge: $OUT/merged"
  ;;
esac
