#!/usr/bin/env bash
# The evidence grid (docs/evidence.md). Resumable: rerun the same command to continue; every
# finished cell is appended to benchmarks/evidence/cells.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
# One BLAS / torch thread per worker: on oversubscribed cores, spinning BLAS threads made a
# 1-second ridge cell take 100+ seconds (measured).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# Models (cheapest first: on 2 shared CPU cores extraction dominates) and targets come from
# grid.json unless MODELS / TARGETS are set.
GRID=benchmarks/evidence/grid.json
MODELS=${MODELS:-$(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['models']))" "$GRID")}
TARGETS=${TARGETS:-$(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['targets']))" "$GRID")}
# shellcheck disable=SC2086
exec python3 -m pedrank groundtruth measure --store benchmarks/evidence/cells.jsonl \
  --models $(for m in $MODELS; do python3 -c "import sys; from pedrank.models.zoo import get_entry; sys.exit(0 if get_entry('$m').is_available() else 1)" 2>/dev/null && echo "$m"; done) \
  --targets $TARGETS --protocols ${PROTOCOLS:-ridge} --seeds ${SEEDS:-5} --image-size 64 \
  --max-samples 1500 --max-per-class 60 "$@"
