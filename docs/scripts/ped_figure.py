"""Write ``docs/img/ped.png``: three overlapping classes before and after PED's dynamics.

Run from the repository root: ``python3 docs/scripts/ped_figure.py`` (needs matplotlib).
The data are synthetic 2-D Gaussian classes with source statistics mean 0, std 1, so the
standardised space PED works in is the plotted space. The time step is raised to 1.0
(official default 0.1) so that the motion is visible at this scale: with ``t = 0.1`` each
step moves a class 100 times less (the displacement is ``min(k t^2 o / 2, o)``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from pedrank.core.ped import ped_transform  # noqa: E402
from pedrank.core.source import SourceStats  # noqa: E402
from pedrank.reports.plots import OKABE_ITO, style  # noqa: E402

TIME_STEP, NSIGMA = 1.0, 0.6


def classes(seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Three 2-D Gaussian classes whose balls overlap."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-0.3, 0.0], [0.3, 0.05], [0.0, 0.5]])
    y = np.repeat(np.arange(3), 60)
    return centres[y] + rng.normal(scale=0.45, size=(y.size, 2)), y


def panel(ax, X: np.ndarray, y: np.ndarray, title: str, start: np.ndarray | None = None
          ) -> None:
    """Samples, class means and the balls of radius nsigma * rho that PED lets repel."""
    from matplotlib.patches import Circle

    for c in range(3):
        pts = X[y == c]
        m = pts.mean(axis=0)
        rho = np.sqrt(((pts - m) ** 2).sum(axis=1).mean())
        color = OKABE_ITO[(0, 4, 5)[c]]
        ax.scatter(*pts.T, s=6, color=color, alpha=0.55, lw=0)
        ax.add_patch(Circle(m, NSIGMA * rho, fill=False, color=color, lw=1.2))
        ax.plot(*m, marker="+", color="black", ms=8, mew=1.2)
        if start is not None:  # where the class mean was before the dynamics
            m0 = start[y == c].mean(axis=0)
            ax.add_patch(Circle(m0, NSIGMA * rho, fill=False, color=color, lw=0.8, ls="--"))
            ax.annotate("", m, m0, arrowprops={"arrowstyle": "->", "color": "black",
                                               "lw": 0.8})
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.1, 1.6)
    ax.set_axis_off()


def main(out: Path = ROOT / "docs" / "img" / "ped.png") -> Path:
    X, y = classes()
    res = ped_transform(X, y, SourceStats(np.zeros(2), np.ones(2)), time_step=TIME_STEP,
                        nsigma=NSIGMA)
    with style() as plt:
        fig, (a, b) = plt.subplots(1, 2, figsize=(6.4, 3.2), layout="constrained")
        panel(a, X, y, "target features (frozen model)")
        panel(b, res.features, y, f"after PED (dashed: before; t = {TIME_STEP:g})", X)
        fig.suptitle("Overlapping class balls (radius nsigma·rho) repel; classes move rigidly")
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=150)
        plt.close(fig)
    return out


if __name__ == "__main__":
    print(main())
