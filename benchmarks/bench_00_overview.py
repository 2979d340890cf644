"""Chapter 0's gallery: every family that has landed, sampled on "moons" and scored alike.

Each family's sampler (``gencore.demos.gallery.FAMILIES``) trains its chapter's model on 4000
points of "moons" with a budget of a few seconds and draws 1000 samples. Two rows per family:
sliced W2 (256 projections) against 1000 fresh data points, with the data-vs-data floor (mean of
3 pairs); and the mean distance to the moons' centre curves, with the data's own value as the
floor. Each row's seconds are its family's sampler, training included. Families whose chapters
have not landed yet have no sampler and no row.
"""
from __future__ import annotations

from gencore.demos import gallery


def quality() -> list[dict]:
    results, floor = gallery.run_gallery(n=1000)
    data_d = results[0].curve_distance
    rows = []
    for r in results:
        if r.sliced_w2 is None:
            continue
        name = dict(model=f"{r.family.name} (chapter {r.family.chapter})", dataset=gallery.DATASET,
                    seconds=round(r.seconds, 2))
        rows.append(name | dict(metric="sliced W2 (1000 samples)", value=round(r.sliced_w2, 4), floor=round(floor, 4)))
        rows.append(name | dict(metric="mean distance to the curves", value=round(r.curve_distance, 4),
                                floor=round(data_d, 4)))
    return rows
