"""Chapter 0's gallery: every family that has landed, sampled on "moons" and scored alike.

Each family's sampler (``gencore.experiments.gallery.FAMILIES``) trains its chapter's model on 4000
points of "moons" with a budget of a few seconds and draws 1000 samples. Two rows per family:
sliced W2 (256 projections) against 1000 fresh data points, with the data-vs-data floor (mean
and sd over 40 pairs, same projections; ``reaches_floor`` when the value is within 2 sd above the
mean); and the mean distance to the moons' centre curves, with the data's own value (mean and sd
over 40 samples of 1000 points) as the floor. Each row's seconds are its family's sampler, training included. Families whose chapters
have not landed yet have no sampler and no row.
"""
from __future__ import annotations

import gencore
from gencore.experiments import gallery
from gencore.experiments import overview as run


def quality() -> list[dict]:
    results, floor, curve_floor = run.run_gallery(gallery.FAMILIES, n=1000, generator=gencore.generator(0))
    rows = []
    for r in results:
        if r.sliced_w2 is None:
            continue
        name = dict(model=f"{r.family.name} (chapter {r.family.chapter})", dataset=run.DATASET,
                    seconds=round(r.seconds, 2))
        rows.append(name | dict(metric="sliced W2 (1000 samples)", value=round(r.sliced_w2, 4),
                                floor=round(floor.mean, 4), floor_sd=round(floor.sd, 4),
                                floor_repeats=floor.repeats, reaches_floor=floor.reaches(r.sliced_w2)))
        rows.append(name | dict(metric="mean distance to the curves", value=round(r.curve_distance, 4),
                                floor=round(curve_floor.mean, 4), floor_sd=round(curve_floor.sd, 5),
                                floor_repeats=curve_floor.repeats))
    return rows
