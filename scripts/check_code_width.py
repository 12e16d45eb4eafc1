"""Report the code blocks of the built HTML docs that scroll sideways in a browser.

Opens each page in headless Chromium at a given window width, with a small script
added that compares each ``<pre>``'s ``scrollWidth`` with its ``clientWidth``, and
prints the blocks that overflow (page, first line that is too long, pixels hidden).

Usage (after ``python -m sphinx -b html docs docs/_build/html``; needs ``chromium``)::

    python scripts/check_code_width.py docs/_build/html --width 1280 index quickstart guide/*

Exits with status 1 when a block overflows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_PROBE = """
<script>
window.addEventListener("load", () => {
  const rows = [];
  document.querySelectorAll("div.highlight pre").forEach((pre) => {
    const hidden = pre.scrollWidth - pre.clientWidth;
    if (hidden > 1) {
      const lines = pre.innerText.split("\\n");
      const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), "");
      rows.push({hidden: hidden, chars: longest.length, line: longest});
    }
  });
  const first = document.querySelector("div.highlight pre");
  const report = document.createElement("pre");
  report.id = "code-width-report";
  report.textContent = JSON.stringify({
    overflowing: rows,
    clientWidth: first ? first.clientWidth
      - parseFloat(getComputedStyle(first).paddingLeft)
      - parseFloat(getComputedStyle(first).paddingRight) : null,
    charWidth: (() => {
      if (!first) return null;
      const probe = document.createElement("span");
      probe.textContent = "x".repeat(100);
      first.appendChild(probe);
      const w = probe.getBoundingClientRect().width / 100;
      probe.remove();
      return w;
    })(),
  });
  document.body.appendChild(report);
});
</script>
"""


def _measure(page: Path, width: int, chromium: str) -> dict[str, object]:
    """Load ``page`` at ``width`` px and return the probe's report."""
    with tempfile.TemporaryDirectory() as profile:
        probe_page = page.with_name(f".width-probe-{page.name}")
        probe_page.write_text(
            page.read_text(encoding="utf-8").replace("</body>", f"{_PROBE}</body>"),
            encoding="utf-8",
        )
        try:
            dom = subprocess.run(
                [
                    chromium,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--user-data-dir={profile}",
                    f"--window-size={width},2000",
                    "--virtual-time-budget=5000",
                    "--dump-dom",
                    probe_page.resolve().as_uri(),
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            ).stdout
        finally:
            probe_page.unlink()
    start = dom.index('<pre id="code-width-report">') + len('<pre id="code-width-report">')
    text = dom[start : dom.index("</pre>", start)]
    text = text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return dict(json.loads(text.replace("&amp;", "&")))


def main() -> int:
    """Measure the pages and print the overflowing blocks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the HTML build folder")
    parser.add_argument("pages", nargs="+", help="pages without .html (globs allowed)")
    parser.add_argument("--width", type=int, default=1280, help="window width in px")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    pages = sorted({page for pattern in args.pages for page in args.html.glob(f"{pattern}.html")})
    bad = 0
    for page in pages:
        report = _measure(page, args.width, args.chromium)
        rows = report["overflowing"]
        assert isinstance(rows, list)
        name = page.relative_to(args.html).as_posix()
        columns = "?"
        if report["clientWidth"] and report["charWidth"]:
            columns = f"{float(report['clientWidth']) / float(report['charWidth']):.0f}"  # type: ignore[arg-type]
        print(f"{name}: {len(rows)} overflowing code blocks (about {columns} columns fit)")
        for row in rows:
            print(f"    {row['chars']:3d} chars, {row['hidden']:4d} px hidden: {row['line']}")
        bad += len(rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
