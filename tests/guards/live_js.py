"""Bad-input cases for gencore.live_js: none, it holds the live demos' page script (a string)."""
from __future__ import annotations

CASES = []
EXEMPT = {"SCRIPT": "a string (the page's JavaScript), no callable; tests/test_live*.py run it in Chromium"}
