"""Chapter 0's gallery: every family that has landed, sampled on "moons" and scored with one metric.

Each family's sampler (``gencore.demos.overview.FAMILIES``) trains its chapter's model on 4000
points of "moons" and draws 1000 samples; the metric is sliced W2 (256 projections) against
1000 fresh data points, and the floor is the same metric between two data samples (mean of 3).
Families whose chapters have not landed yet have no sampler and no row.
"""
from __future__ import annotations

from gencore.demos import overview as demo


def quality() -> list[dict]:
    results, floor = demo.run_gallery(n=1000)
    return [dict(model=f"{r.family.name} (chapter {r.family.chapter})", dataset=demo.DATASET,
                 metric="sliced W2 (1000 samples)", value=round(r.sliced_w2, 4), floor=round(floor, 4))
            for r in results if r.sliced_w2 is not None]
