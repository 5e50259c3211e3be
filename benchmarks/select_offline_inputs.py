"""Build the inputs of issue 11's "done means" check: your own models and data, on disk.

Writes, under ``OUT`` (default ``./select-offline``):

* ``images/<digit>/<i>.png``: an image folder of scikit-learn digits (5 classes x 20);
* ``texts.csv``: fortune cookies labelled by category (Debian ``fortunes``, 4 classes x 20),
  or, without that package, sentences from the bundled generic English sample;
* ``tiny.pt``: a TorchScript CNN; ``tiny.onnx``: another CNN exported to ONNX;
* ``hf-vit/``: a random 1-layer ViT with its image processor (``save_pretrained``);
* ``hf-bert/``: a random 1-layer BERT with a WordPiece tokenizer (``save_pretrained``).

Nothing is downloaded. Then, with the network cut (e.g. ``unshare -n``)::

    pedrank select OUT/images --models OUT/tiny.pt OUT/tiny.onnx hf:OUT/hf-vit efficientnet-lite0
    pedrank select OUT/texts.csv --models hf:OUT/hf-bert tokenlearn-static

Usage: ``python3 benchmarks/select_offline_inputs.py [OUT]``.
"""

from __future__ import annotations

import csv
import sys
import warnings
from pathlib import Path

import numpy as np

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "of", "to", "and", "is",
         "you", "it", "in", "that", "be", "not", "for", "are", "with", "will", "have", "##s"]


def images(root: Path) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    for c in range(5):
        (root / str(c)).mkdir(parents=True, exist_ok=True)
        for i in np.flatnonzero(d.target == c)[:20]:
            Image.fromarray((d.images[i] * 15.9).astype(np.uint8)).save(root / str(c) / f"{i}.png")


def texts(path: Path) -> None:
    from pedrank.datasets import TextDatasetUnavailable, load_text_dataset

    try:
        x, y = load_text_dataset("fortune-category", max_per_class=20, seed=0)
        keep = np.isin(y, np.unique(y)[:4])
        rows = [(t, lab) for t, lab, k in zip(x, y, keep, strict=True) if k]
    except TextDatasetUnavailable:
        from pedrank.pipeline.sources import generic_english_text

        sample = generic_english_text()[:80]
        rows = [(t, f"part{i % 4}") for i, t in enumerate(sample)]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)


def torch_models(out: Path) -> None:
    import torch

    torch.manual_seed(0)

    def cnn(width: int) -> torch.nn.Module:
        return torch.nn.Sequential(torch.nn.Conv2d(3, width, 3), torch.nn.ReLU(),
                                   torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(cnn(16)).save(str(out / "tiny.pt"))
        torch.onnx.export(cnn(12), (torch.randn(2, 3, 16, 16),), str(out / "tiny.onnx"),
                          dynamo=False, input_names=["images"], output_names=["features"],
                          dynamic_axes={"images": {0: "b", 2: "h", 3: "w"}})


def hf_models(out: Path) -> None:
    import transformers

    vit = transformers.ViTConfig(image_size=32, patch_size=8, hidden_size=16,
                                 num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    transformers.ViTModel(vit).save_pretrained(out / "hf-vit")
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(out / "hf-vit")
    (out / "hf-bert").mkdir(exist_ok=True)
    vocab = out / "hf-bert" / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    transformers.BertTokenizer(str(vocab)).save_pretrained(out / "hf-bert")
    bert = transformers.BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1,
                                   num_attention_heads=2, intermediate_size=32,
                                   max_position_embeddings=128)
    transformers.BertModel(bert).save_pretrained(out / "hf-bert")


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "select-offline").resolve()
    out.mkdir(parents=True, exist_ok=True)
    images(out / "images")
    texts(out / "texts.csv")
    torch_models(out)
    hf_models(out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
