"""The models layer: the zoo registry, loaders per format, preprocessing,
feature extraction with its cache, and source-statistics samples.

Imports :mod:`pedrank.core` only; torch, onnxruntime and transformers are
imported by the loader that needs them.
"""
