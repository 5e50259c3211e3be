"""Optional compute back ends.

``pedrank.core.backends.torch_backend`` mirrors the numpy implementations of PED
dynamics, LogME, SFDA, GBC and H-score in PyTorch (``device="cpu"`` or
``"cuda"``). Importing this package (or ``torch_backend``) never imports
torch: it is imported on the first call, and a missing torch raises a
``ValueError`` that names ``pip install pedrank[torch]``.
"""

__all__ = ["torch_backend"]
