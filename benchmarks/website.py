"""Measure the built website: what each chapter page weighs and how fast its live demos update.

Usage (from the repository root, after `make book`, which builds `_build/html`):

    .venv/bin/python benchmarks/website.py                # every chapter page
    .venv/bin/python benchmarks/website.py --pages 06 09  # some of them

For every chapter page ``book/NN_*.html`` of the site:

* **weight**: the bytes a first visit transfers for the page itself: the HTML (frames, live
  models and their still pictures are inlined in it) plus the images it links from ``_images/``.
  The shared files (theme, MathJax, the live-demo runtime in ``_static/ort``) are loaded once
  for the whole site and cached; they are reported once, by folder. Targets (issue 22): a page
  ≤ 2 MB, the runtime ≤ 12 MB;
* **update time** of every live demo (``gencore.live``): the page is opened in headless Chromium
  (Debian's ``/usr/bin/chromium``), and once every demo has drawn, each one recomputes all its
  points at its default setting five times (``set`` of its first slider to the value it has);
  the median of the page's own ``lastMs`` is the figure. Target: 1,000 points in ≤ 100 ms on a
  laptop-class CPU.

Prints a table and writes ``benchmarks/website.json`` (``--out`` another file). The figures are
for the machine it runs on (say which in a report).
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import pathlib
import platform
import re
import statistics
import threading

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGE_LIMIT, RUNTIME_LIMIT = 2_000_000, 12_000_000


def folder_bytes(path: pathlib.Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def page_weight(html: pathlib.Path, site: pathlib.Path) -> dict:
    """The page's HTML plus the ``_images/`` files it links (each counted once)."""
    text = html.read_text(encoding="utf-8")
    images = {m for m in re.findall(r'src="(?:\.\./)*(_images/[^"]+)"', text)}
    image_bytes = sum((site / m).stat().st_size for m in images if (site / m).exists())
    return {"html_bytes": html.stat().st_size, "image_bytes": image_bytes, "images": len(images),
            "bytes": html.stat().st_size + image_bytes}


def live_timings(url: str, page, repeats: int = 5) -> list[dict]:
    """Every live demo on the page at ``url``: its title, points, steps and median update time."""
    page.goto(url, wait_until="load")
    count = page.evaluate("() => document.querySelectorAll('.gencore-live').length")
    if not count:
        return []
    page.wait_for_function("(c) => { const g = window.gencoreLive || {}; const k = Object.keys(g).filter(n => "
                           "n.startsWith('gl-')); return k.length === c && k.every(n => g[n].frames > 0); }",
                           arg=count, timeout=180_000)
    rows = []
    for uid in page.evaluate("() => [...document.querySelectorAll('.gencore-live')].map(e => e.id)"):
        spec = json.loads(page.evaluate(f"() => document.querySelector('#{uid} .gl-spec').textContent"))
        key = spec["sliders"][0]["key"]
        api = f"window.gencoreLive['{uid}']"
        times = [page.evaluate(f"(k) => {api}.set(k, {api}.state[k]).then(() => {api}.lastMs)", key)
                 for _ in range(repeats)]
        steps = spec["steps"] if isinstance(spec["steps"], int) else \
            page.evaluate(f"() => Math.round({api}.state['{spec['steps']}'])")
        steps *= spec.get("per_call", 1)  # the sampler's steps (a call may make several)
        rows.append({"demo": spec["title"], "points": spec["n"], "steps": steps,
                     "update_ms": round(statistics.median(times), 1), "runs_ms": [round(t, 1) for t in times]})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", default=str(ROOT / "_build" / "html"), help="the built site (make book)")
    parser.add_argument("--pages", nargs="*", help="chapter numbers (default: all)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "website.json"))
    args = parser.parse_args(argv)
    site = pathlib.Path(args.site)
    pages = sorted((site / "book").glob("[0-9][0-9]_*.html"))
    if args.pages:
        pages = [p for p in pages if p.name[:2] in args.pages]
    if not pages:
        raise SystemExit(f"no chapter pages under {site / 'book'}: build the site first (make book)")
    shared = {name: folder_bytes(site / "_static" / name) for name in ("ort", "mathjax") if (site / "_static" / name).exists()}
    shared["_static (all)"] = folder_bytes(site / "_static")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for html in pages:
            row = {"page": html.stem, **page_weight(html, site)}
            row["live"] = live_timings(f"{base}/book/{html.name}", page)
            rows.append(row)
        browser.close()
    httpd.shutdown()

    print(f"{'page':24s} {'weight MB':>9s} {'≤ 2 MB':>6s}  live demos (points × steps: update ms)")
    for r in rows:
        demos = "; ".join(f"{d['points']}×{d['steps']}: {d['update_ms']:.0f}" for d in r["live"]) or "-"
        print(f"{r['page']:24s} {r['bytes'] / 1e6:9.2f} {'yes' if r['bytes'] <= PAGE_LIMIT else 'NO':>6s}  {demos}")
    print("shared, loaded once: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in shared.items()))
    out = {"machine": f"{platform.machine()}, {platform.processor() or platform.system()}", "browser": "headless Chromium",
           "page_limit_bytes": PAGE_LIMIT, "runtime_limit_bytes": RUNTIME_LIMIT, "shared_bytes": shared, "pages": rows}
    pathlib.Path(args.out).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
