"""Hugging Face ``transformers`` models: ``hf:DIR`` (offline) or ``hf:ORG/NAME`` (the hub).

A folder written by ``save_pretrained`` holds ``config.json``, the weights and
either an image processor (``preprocessor_config.json``: a vision model) or a
tokenizer (``tokenizer.json`` / ``vocab.txt`` / ...: a text model).

* **Vision**: ``AutoModel`` on float32 NCHW pixels; the features are
  ``pooler_output`` when the model has one, else the mean of
  ``last_hidden_state`` over tokens (ViT-style) or space (CNN maps). The image
  processor's own size (its centre crop when it crops) and normalisation
  (``image_mean`` / ``image_std``) are read from ``preprocessor_config.json``
  and applied by pedrank's deterministic :class:`ImagePreprocessing` (one
  antialiased resize to a square, not the processor's PIL resize + crop).
* **Text**: ``AutoTokenizer`` (padding, truncation at the model's maximum
  length) and ``AutoModel``; features are the attention-masked mean of
  ``last_hidden_state`` (mean pooling, Reimers & Gurevych, Sentence-BERT,
  EMNLP 2019). Encoder-decoder models use their encoder.

Local folders are opened with ``local_files_only=True`` (never a network
call). A hub id needs internet where the user runs pedrank; without it the
error says to ``save_pretrained`` the model somewhere and pass ``hf:DIR``.
The feature-cache identity of a folder is a digest of its config, weight and
processor/tokenizer files; of a hub model, its id and commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from pedrank.models.extract import ImagePreprocessing
from pedrank.models.loaders._common import (
    ModelSpec,
    check_kind,
    digest_files,
    fail,
    missing_file,
    no_layer,
)

__all__ = ["HFTextEncoder", "resolve"]

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "spiece.model",
                    "sentencepiece.bpe.model", "vocab.json")
_IDENTITY_SUFFIXES = (".json", ".safetensors", ".bin", ".txt", ".model", ".msgpack", ".h5")
_SMALL_FILES = ["*.json", "*.txt", "*.model"]  # what resolving a hub id downloads
_MAX_TOKENS = 512
_INSTALL = "pip install 'transformers>=4.40' (or pip install 'pedrank[hf]')"


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path`` ({} when absent)."""
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return data if isinstance(data, dict) else {}


def _side(size: Any) -> int | None:
    """The square side of a processor ``size``/``crop_size`` entry (int or dict)."""
    if isinstance(size, int | float):
        return int(size)
    if isinstance(size, dict):
        for key in ("height", "shortest_edge", "width", "longest_edge"):
            if size.get(key):
                return int(size[key])
    return None


def image_preprocessing(proc: dict[str, Any], image_size: int | None) -> ImagePreprocessing:
    """:class:`ImagePreprocessing` with the processor's size and normalisation.

    ``image_size`` overrides the processor's size (models without a fixed input size).
    """
    side = _side(proc.get("crop_size")) if proc.get("do_center_crop") else None
    side = side or _side(proc.get("size")) or 224
    if proc.get("do_normalize", True):
        mean = tuple(float(v) for v in proc.get("image_mean", (0.485, 0.456, 0.406)))
        std = tuple(float(v) for v in proc.get("image_std", (0.229, 0.224, 0.225)))
    else:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    if len(mean) == 1:  # some processors store one value for all channels
        mean, std = mean * 3, std * 3
    return ImagePreprocessing(int(image_size or side), mean, std)  # type: ignore[arg-type]


def _max_tokens(folder: Path, config: dict[str, Any]) -> int:
    """Truncation length: the tokenizer's ``model_max_length``, else the config's, capped."""
    n = _read_json(folder / "tokenizer_config.json").get("model_max_length")
    if not isinstance(n, int) or n > 100_000:  # "unset" is stored as a huge number
        n = config.get("max_position_embeddings")
    return int(min(n, _MAX_TOKENS)) if isinstance(n, int) and n > 0 else _MAX_TOKENS


def _modality(spec: str, folder: Path, config: dict[str, Any], kind: str | None) -> str:
    """vision (an image processor), text (a tokenizer), else an error naming the fix."""
    if "vision_config" in config and "text_config" in config:
        raise fail(spec, "multi-modal checkpoints (CLIP-style) are not supported directly",
                   "load the tower you want in python:MODULE:FUNC")
    has_proc = (folder / "preprocessor_config.json").is_file()
    has_tok = any((folder / f).is_file() for f in _TOKENIZER_FILES)
    if kind is not None and ((kind == "vision" and has_proc) or (kind == "text" and has_tok)):
        return kind
    if has_proc:
        check_kind(spec, "vision", kind)
        return "vision"
    if has_tok:
        check_kind(spec, "text", kind)
        return "text"
    raise fail(spec, f"{folder} has no image processor (preprocessor_config.json) and no "
               "tokenizer files", "save the processor or tokenizer with save_pretrained into "
               "the model folder")


def _hub_snapshot(spec: str, repo_id: str) -> tuple[Path, str]:
    """The config/processor/tokenizer files of a hub model (cached) and its commit."""
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(repo_id, allow_patterns=_SMALL_FILES))
    except Exception as exc:  # offline, unknown repo, gated, no huggingface_hub
        raise fail(spec, f"no local folder {repo_id!r} and the Hugging Face hub could not "
                   f"provide it ({type(exc).__name__})", "where you have internet run "
                   "AutoModel.from_pretrained(ID).save_pretrained(DIR) (and the processor or "
                   "tokenizer), then pass hf:DIR") from None
    return folder, folder.name


def _looks_like_path(text: str) -> bool:
    """A path rather than a hub id (``org/name`` has exactly one slash and no leading dot)."""
    windows = os.sep != "/" and os.sep in text
    return text.startswith((".", "/", "~")) or text.count("/") > 1 or windows


def resolve(
    spec: str, target: str, *, layer: str | None, image_size: int | None, kind: str | None
) -> ModelSpec:
    """``hf:DIR`` / ``hf:ORG/NAME`` as a :class:`ModelSpec` (config files read, no weights)."""
    no_layer(spec, layer, "Hugging Face models")
    local = Path(target).expanduser()
    if local.is_dir():
        folder, source = local, None
        if not (folder / "config.json").is_file():
            raise fail(spec, f"{folder} has no config.json", "save the model there with "
                       "model.save_pretrained(DIR)")
        files = [p for p in folder.iterdir() if p.is_file() and p.suffix in _IDENTITY_SUFFIXES]
        cache_id = f"hf:{digest_files(files, folder)}"
    elif _looks_like_path(target):
        raise missing_file(spec, local)
    else:
        folder, commit = _hub_snapshot(spec, target)
        source, cache_id = target, f"hf:{target}@{commit}"
    config = _read_json(folder / "config.json")
    modality = _modality(spec, folder, config, kind)
    load_from = str(folder) if source is None else source
    revision = None if source is None else folder.name
    name = target if source is not None else folder.name
    if modality == "vision":
        fixed = "image_size" in config  # ViT-style position embeddings fix the input size
        pre = image_preprocessing(_read_json(folder / "preprocessor_config.json"),
                                  None if fixed else image_size)
        return ModelSpec(spec, name, "vision", f"{cache_id}:vision", pre, pre.size,
                         f"Hugging Face vision model {load_from}",
                         loader=lambda: _load_vision(spec, load_from, revision))
    max_len = _max_tokens(folder, config)
    return ModelSpec(spec, name, "text", f"{cache_id}:text:max={max_len}", None, None,
                     f"Hugging Face text model {load_from}",
                     loader=lambda: _load_text(spec, load_from, revision, str(folder), max_len))


def _auto_model(spec: str, source: str, revision: str | None) -> Any:
    """``AutoModel.from_pretrained`` in eval mode; offline for folders."""
    try:
        from transformers import AutoModel
    except ModuleNotFoundError:
        raise fail(spec, "Hugging Face models need transformers", _INSTALL) from None
    local = revision is None
    try:
        model = AutoModel.from_pretrained(source, revision=revision, local_files_only=local)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise fail(spec, f"transformers could not load {source} ({type(exc).__name__}: "
                   f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return model.eval()


def _load_vision(spec: str, source: str, revision: str | None) -> Any:
    import torch

    class HFVision(torch.nn.Module):
        """pixel_values -> pooler_output, else last_hidden_state (pooled by the output rule)."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: Any) -> Any:
            out = self.model(pixel_values=x)
            pooled = getattr(out, "pooler_output", None)
            return pooled if pooled is not None else out.last_hidden_state

    return HFVision(_auto_model(spec, source, revision))


def _load_text(spec: str, source: str, revision: str | None, folder: str, max_len: int) -> Any:
    from transformers import AutoTokenizer

    model = _auto_model(spec, source, revision)
    if getattr(model.config, "is_encoder_decoder", False):
        model = model.get_encoder()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if tokenizer.pad_token is None:
        # GPT-style tokenizers have no padding token; any id will do, the mask hides it.
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return HFTextEncoder(model, tokenizer, max_len)


class HFTextEncoder:
    """``list[str] -> (B, D)`` float32: tokenize, encode, attention-masked mean pooling.

    Parameters
    ----------
    model : transformers encoder
        Returns ``last_hidden_state`` (B, T, D).
    tokenizer : transformers tokenizer
    max_length : int
        Truncation length in tokens.
    """

    def __init__(self, model: Any, tokenizer: Any, max_length: int) -> None:
        self.model, self.tokenizer, self.max_length = model, tokenizer, int(max_length)
        self.device = "cpu"

    def set_device(self, device: str | None) -> None:
        """Move the encoder to ``device`` ("auto": CUDA when available)."""
        from pedrank.models.extract import _torch_device

        self.device = _torch_device(device)
        self.model.to(self.device)

    def __call__(self, batch: Any) -> np.ndarray:
        import torch

        texts = [str(t) for t in batch]
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt")
        enc = {k: v.to(self.device) for k, v in enc.items()}
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return pooled.float().cpu().numpy()
