"""The pipeline layer: the single extract -> source statistics -> score -> rank path.

* :mod:`pedrank.pipeline.select` — rank candidate models on one dataset
  (``pedrank select``, ``pedrank demo``);
* :mod:`pedrank.pipeline.bench` — the experiment grid over models x datasets x
  metrics, with its result store (``pedrank bench``);
* :mod:`pedrank.pipeline.feature_files` — ``MODEL.npz`` feature files.
"""
