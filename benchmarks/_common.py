"""Helpers shared by the bench_NN_*.py files."""
from __future__ import annotations

import statistics
import time


def slider_rows(name: str, demo_obj) -> list[dict]:
    """Median time to redraw one frame of a slider demo (what a live slider waits for).

    The first frame is drawn once before timing (it also lays the panels out); then every value
    of the first slider is drawn, the other sliders held at their initial values.
    """
    index = [p.initial for p in demo_obj.params.values()]
    demo_obj.render(index)
    times = []
    for k in range(len(next(iter(demo_obj.params.values())).values)):
        index[0] = k
        start = time.perf_counter()
        demo_obj.render(index)
        times.append(time.perf_counter() - start)
    ms = 1000 * statistics.median(times)
    return [dict(model=f"slider: {name}", dataset="-", metric="redraw ms (median)", value=round(ms, 1), floor=100)]
