"""pedrank — rank pre-trained models by transferability.

Headline method: PED (Potential Energy Decline; Li, Hu, Ge, Shan, Duan, ICCV 2023)
in front of any feature-based transferability metric (LogME, SFDA, GBC, N-LEEP, ...).
"""

from pedrank import evaluation, groundtruth, metrics
from pedrank.api import rank, score
from pedrank.ped import (
    PED,
    CoincidentClassMeansWarning,
    PEDResult,
    SourceFallbackWarning,
    ped_transform,
)
from pedrank.source import SourceStats

__version__ = "0.1.0"

__all__ = [
    "PED",
    "PEDResult",
    "SourceStats",
    "CoincidentClassMeansWarning",
    "SourceFallbackWarning",
    "evaluation",
    "groundtruth",
    "metrics",
    "ped_transform",
    "rank",
    "score",
]
