"""Re-run the PED paper's main experiment and compare with the published table.

Li et al., "Exploring Model Transferability through the Lens of Potential
Energy", ICCV 2023: 12 self-supervised ResNet-50 models, 11 target datasets,
LogME / SFDA / GBC / N-LEEP / PARC with and without PED, evaluated by the
weighted Kendall tau against the published fine-tuning accuracies. The
published numbers (the official code's README) ship as
``pedrank/data/published_weighted_tau.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pedrank.pipeline.bench.config import BenchConfig, PedVariant
from pedrank.reports.bench_report import EvaluationTable, collect
from pedrank.reports.labels import row_label
from pedrank.reports.table import Column, Table

PAPER_METRICS = ("logme", "sfda", "gbc", "nleep", "parc")
PED_POOL = "self_supervised_pool_ped_readme"
SOURCE_PATTERNS = ("{model}_source.npz", "source/{model}.npz")


def load_published(pool: str = PED_POOL) -> dict[str, dict[str, float]]:
    """Published weighted tau ``{row: {dataset: tau}}``; rows ``"logme"``, ``"ped+logme"``...

    ``pool`` is ``"self_supervised_pool_ped_readme"`` (PED paper) or
    ``"supervised_pool_sfda_readme"`` (SFDA paper).
    """
    text = resources.files("pedrank").joinpath("data/published_weighted_tau.json").read_text(
        encoding="utf-8")
    data = json.loads(text)
    pools = [k for k in data if not k.startswith("_")]
    if pool not in pools:
        raise ValueError(f"unknown published pool {pool!r}; choose one of {pools}")
    return {row: {d: float(v) for d, v in vals.items()} for row, vals in data[pool].items()}


def published_key(metric: str, variant: str) -> str:
    return metric if variant == "none" else f"{variant}+{metric}"


@dataclass
class Comparison:
    """Our table, the published one and the per-cell difference (ours - published)."""

    ours: EvaluationTable
    published: dict[tuple[str, str], dict[str, float | None]]
    diff: dict[tuple[str, str], dict[str, float | None]]
    skipped_metrics: list[str]
    n_models: int
    n_datasets: int

    def _table(self, values: dict[tuple[str, str], dict[str, float | None]],
               signed: bool) -> Table:
        """Published values or differences on our rows and columns."""
        cols = [*self.ours.columns, "mean"]
        records = [{"": row_label(*row), **{c: values.get(row, {}).get(c) for c in cols}}
                   for row in self.ours.rows]
        fmt = "+.3f" if signed else ".3f"
        return Table([Column("", wrap=False), *(Column(c, fmt=fmt) for c in cols)], records,
                     index=True)

    def to_markdown(self) -> str:
        blocks = [("Ours (weighted τ)", self.ours.to_table()),
                  ("Published (PED paper, official README)", self._table(self.published, False)),
                  ("Difference (ours − published)", self._table(self.diff, True))]
        return "\n".join(f"### {title}\n\n{table.to_markdown()}\n" for title, table in blocks)


def compare(ours: EvaluationTable, published: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Published values and differences aligned with ``ours`` (same rows/columns)."""
    pub: dict[tuple[str, str], dict[str, float | None]] = {}
    diff: dict[tuple[str, str], dict[str, float | None]] = {}
    for row in ours.rows:
        p = published.get(published_key(*row), {})
        pub[row], diff[row] = {}, {}
        common = []
        for d in ours.columns:
            pv = p.get(d)
            ov = ours.values[row].get(d)
            pub[row][d] = pv
            diff[row][d] = None if pv is None or ov is None else ov - pv
            if pv is not None and ov is not None:
                common.append(d)
        # Means over the datasets both tables have, so the mean difference is
        # a like-for-like comparison.
        if common:
            pm = sum(p[d] for d in common) / len(common)
            om = sum(ours.values[row][d] for d in common) / len(common)  # type: ignore[misc]
            pub[row]["mean"], diff[row]["mean"] = pm, om - pm
        else:
            pub[row]["mean"], diff[row]["mean"] = None, None
    return {"published": pub, "diff": diff}


def reproduce_config(features: str | os.PathLike[str], *, results: str | os.PathLike[str]
                     | None = None, metrics: list[str] | None = None,
                     groundtruth: str = "self_supervised", source: str | None = None,
                     jobs: int = 1, scheduler: str | None = None,
                     ped_params: dict[str, Any] | None = None) -> tuple[BenchConfig, list[str]]:
    """The benchmark configuration of the paper's experiment on a feature folder.

    Metrics not registered in this installation are left out and returned as
    the second element.
    """
    from pedrank.core.metrics import available_metrics

    features = Path(features)
    if not features.is_dir():
        raise FileNotFoundError(f"features directory not found: {features}")
    known = {m.name for m in available_metrics()}
    wanted = list(metrics) if metrics else list(PAPER_METRICS)
    skipped = [m for m in wanted if m not in known]
    run = [m for m in wanted if m in known]
    if not run:
        raise ValueError(f"none of the metrics {wanted} is available; installed: {sorted(known)}")
    source_pattern = source
    if source_pattern is None:
        for pat in SOURCE_PATTERNS:
            if any(features.glob(pat.format(model="*"))):
                source_pattern = pat
                break
    cfg = BenchConfig(
        features=features, pattern="{model}_{dataset}.npz", source_pattern=source_pattern,
        metrics=run, baseline=True, ped=[PedVariant("ped", dict(ped_params or {}))],
        groundtruth=groundtruth,
        results=Path(results) if results is not None else features / "pedrank-reproduce",
        jobs=jobs, scheduler=scheduler,
        title="PED paper reproduction (ICCV 2023): weighted Kendall tau",
    )
    return cfg, skipped


def comparison_from_store(cfg: BenchConfig, skipped: list[str],
                          pool: str = PED_POOL) -> Comparison:
    res = collect(cfg)
    if "weighted_tau" not in res.tables:
        raise ValueError("no ground truth: cannot compute weighted tau")
    ours = res.tables["weighted_tau"]
    cmp = compare(ours, load_published(pool))
    return Comparison(ours, cmp["published"], cmp["diff"], skipped, len(res.grid.models),
                      len(res.grid.datasets))
