"""Opens a report in headless Chromium and reports what the browser saw.

The page itself holds no scripts, so the check runs on a copy with one inline script added at
the top of <head>: it records load errors of any element, then, in the load event (which
waits for every image), draws each image on a canvas, samples its pixels and writes the
results as JSON into the DOM, which ``--dump-dom`` prints. The handler is synchronous on
purpose: Chromium dumps the DOM right after the load event, before promises settle. Chromium's own log (stderr) shows console messages; the
report must produce none.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=15000",
)
RESULT_ID = "custseg-browser-check"

CHECK_SCRIPT = """<script>
(function () {
  const loadErrors = [];
  window.addEventListener("error", function (event) {
    const target = event.target || {};
    loadErrors.push(String(target.src || target.href || event.message || "error"));
  }, true);
  window.addEventListener("load", function () {
    const images = [];
    for (const img of Array.from(document.images)) {
      const decoded = img.complete && img.naturalWidth > 0;
      const colours = new Set();
      if (decoded && img.naturalWidth > 0) {
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const context = canvas.getContext("2d");
        context.drawImage(img, 0, 0);
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < pixels.length; i += 4 * 131) {
          colours.add(pixels[i] + "," + pixels[i + 1] + "," + pixels[i + 2]);
        }
      }
      const box = img.getBoundingClientRect();
      images.push({file: img.dataset.file || img.src.slice(0, 40), decoded: decoded,
                   width: img.naturalWidth, height: img.naturalHeight,
                   shownWidth: box.width, colours: colours.size});
    }
    const sections = Array.from(document.querySelectorAll("section")).map(function (s) {
      const heading = s.querySelector("h2");
      return {id: s.id, heading: heading ? heading.textContent : "",
              shownHeight: heading ? heading.getBoundingClientRect().height : 0};
    });
    const out = document.createElement("pre");
    out.id = "%s";
    out.textContent = JSON.stringify({images: images, sections: sections, loadErrors: loadErrors,
                                      title: document.title});
    document.body.appendChild(out);
  });
})();
</script>""".replace("%s", RESULT_ID)


def chromium_path() -> str:
    """The browser, or a skip locally / a failure under CI (where set-up must install it)."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    )
    if found:
        return found
    message = "chromium is not installed: run scripts/install_chromium.sh (needs root for apt-get)"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def run_chromium(page: Path, timeout: int = 180) -> tuple[str, str]:
    """Loads ``page`` with a fresh profile; returns (dumped DOM, Chromium's log)."""
    with tempfile.TemporaryDirectory(prefix="custseg-chromium-") as profile:
        completed = subprocess.run(
            [
                chromium_path(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--dump-dom",
                page.absolute().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout, completed.stderr


def console_messages(chromium_log: str) -> list[str]:
    return [line for line in chromium_log.splitlines() if re.search(r":CONSOLE[:(]", line)]


def inspect_page(page: Path, workdir: Path) -> dict:
    """What the browser saw on ``page``: images, sections, load errors and console lines."""
    source = page.read_text(encoding="utf-8")
    assert source.count("<head>") == 1
    instrumented = workdir / f"checked-{page.name}"
    instrumented.write_text(
        source.replace("<head>", "<head>\n" + CHECK_SCRIPT, 1), encoding="utf-8"
    )
    dom, log = run_chromium(instrumented)
    found = re.search(rf'<pre id="{RESULT_ID}">(.*?)</pre>', dom, re.S)
    assert found, "the check script did not run; Chromium log:\n" + log[-3000:]
    result = json.loads(
        found.group(1)
        .replace("&quot;", '"')
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )
    result["console"] = console_messages(log)
    return result
