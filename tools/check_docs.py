"""Open the built documentation in headless Chromium and check what shows.

Usage (after ``sphinx-build -b html docs docs/_build/html``; or run
``tools/check_docs.sh``, which builds first)::

    python tools/check_docs.py [HTML_DIR] [--out SHOT_DIR] [--full]

Every page of the site is loaded from a local HTTP server. The check fails
(exit status 1) if a page

- has an ``<img>`` that did not load (HTTP error, or a natural size of 0),
- shows a failed gallery example (sphinx-gallery's broken-example thumbnail,
  or a traceback in an example's output),
- has a code block wider than its box (a ``<pre>`` whose content overflows
  it sideways: cut off, or behind a scroll bar),
- shows backticks in its prose (text outside code: reStructuredText's
  inline markup that did not render, such as a literal inside bold),
- shows a formula as raw TeX (MathJax did not load or did not typeset it),
- uses a word of the project's workshop in its text ("seed", "DESIGN",
  "issue 12", "stop 3", "the team"; see ``tests/test_docs_words.py``),
- or fails to load at all.

The key pages (``KEY_PAGES``) are also saved as PNG screenshots in SHOT_DIR
(default ``docs/_build/screenshots``): look at them. ``--full`` captures
whole pages instead of the first 1280x1800 pixels.

Needs Chromium (Debian: ``apt-get install chromium``; the ``CHROMIUM``
environment variable names another binary) and ``tornado``, the WebSocket
client used to drive Chromium over its DevTools protocol (installed with
``distributed``, or ``pip install tornado``).
"""
import argparse
import asyncio
import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request

from tornado.websocket import websocket_connect

KEY_PAGES = [
    "index.html",
    "quickstart.html",
    "migrating.html",
    "auto_examples/index.html",
    "auto_examples/plot_01_boundary_modes.html",
    "auto_examples/plot_09_transposed_upsampling.html",
    "auto_examples/plot_12_command_line.html",
    "api.html",
    "guide/modes.html",
    "guide/template.html",
    "performance.html",
    "changes.html",
]
WIDTH, HEIGHT = 1280, 1800
REDIRECT = re.compile(r'<meta http-equiv="refresh" content="\d+; url=([^"]+)"')

# Runs in each page: load every image (lazy ones too), then report them and
# the marks sphinx-gallery leaves when an example raised.
PAGE_REPORT_JS = r"""
(async () => {
  const images = [...document.images];
  for (const img of images) { img.loading = "eager"; }
  window.scrollTo(0, document.body.scrollHeight);
  await Promise.all(images.map(img => img.complete ? null :
      new Promise(done => { img.addEventListener("load", done);
                            img.addEventListener("error", done);
                            setTimeout(done, 10000); })));
  // MathJax typesets after the load event: wait for it (at most 20 s)
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await Promise.race([window.MathJax.startup.promise,
                        new Promise(done => setTimeout(done, 20000))]);
  }
  window.scrollTo(0, 0);
  const failures = [];
  // formulas: every math element typeset (an mjx-container inside)
  const maths = [...document.querySelectorAll("span.math, div.math")];
  const raw = maths.filter(m => !m.querySelector("mjx-container"));
  if (raw.length) {
    failures.push(raw.length + " formula(s) shown as raw TeX, e.g. " +
                  raw[0].textContent.trim().slice(0, 40));
  }
  // code blocks wider than their box
  for (const pre of document.querySelectorAll("pre")) {
    if (pre.clientWidth > 0 && pre.scrollWidth > pre.clientWidth + 1) {
      const line = pre.textContent.split("\n").reduce(
          (a, b) => (b.length > a.length ? b : a), "");
      failures.push(`code block wider than its box (${pre.scrollWidth} > ` +
                    `${pre.clientWidth} px): ${line.trim().slice(0, 70)}`);
    }
  }
  // backticks in prose: text outside code that shows a backtick
  const article = document.querySelector("article") || document.body;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.includes("`")) continue;
    const parent = node.parentElement;
    if (!parent || parent.closest(
        "pre, code, kbd, samp, tt, script, style, textarea, .highlight, " +
        ".math, mjx-container")) continue;
    if (parent.offsetParent === null && parent.tagName !== "BODY") continue;
    const text = node.textContent;
    const at = text.indexOf("`");
    failures.push("backtick in prose: " +
                  text.slice(Math.max(0, at - 30), at + 30).trim());
  }
  // words of the project's workshop, not the user's (tests/test_docs_words.py
  // checks the sources, code comments included)
  const words = [/\bseeds?\b/i, /\bDESIGN\b/, /\bdesign\s+(notes?|contract|docs?)\b/i,
                 /§\s*\d/, /\bissues?\s+#?\d+/i, /\bstops?\s+\d+/i,
                 /\bthe\s+team\b/i];
  const prose = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  while (prose.nextNode()) {
    const node = prose.currentNode;
    if (node.parentElement && node.parentElement.closest(
        "pre, code, script, style, .highlight")) continue;
    for (const word of words) {
      const m = node.textContent.match(word);
      if (m) failures.push("internal word in the text: " + m[0]);
    }
  }
  for (const img of document.querySelectorAll("img[src*='broken_example']")) {
    failures.push("broken-example thumbnail: " + (img.alt || img.src));
  }
  for (const out of document.querySelectorAll(".sphx-glr-script-out, pre")) {
    if (out.textContent.includes("Traceback (most recent call last)") &&
        out.closest(".sphx-glr-script-out")) {
      failures.push("traceback in an example's output");
      break;
    }
  }
  return {
    title: document.title,
    height: document.documentElement.scrollHeight,
    images: images.map(img => ({src: img.currentSrc || img.src,
                                complete: img.complete,
                                width: img.naturalWidth,
                                height: img.naturalHeight})),
    failures: failures,
  };
})()
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory):
    """Serve ``directory`` over HTTP on a free local port; return its URL."""
    handler = functools.partial(_QuietHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def find_chromium():
    for name in [os.environ.get("CHROMIUM"), "chromium", "chromium-browser",
                 "google-chrome", "chrome"]:
        if name and shutil.which(name):
            return shutil.which(name)
    sys.exit("check_docs: no Chromium found (apt-get install chromium, "
             "or set CHROMIUM)")


def start_chromium(profile):
    """Start headless Chromium; return the process and its DevTools URL."""
    proc = subprocess.Popen(
        [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--hide-scrollbars", "--no-first-run", "--mute-audio",
         f"--user-data-dir={profile}", "--remote-debugging-port=0",
         "--remote-allow-origins=*", f"--window-size={WIDTH},{HEIGHT}",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        match = re.search(r"DevTools listening on (ws://\S+)", line)
        if match:
            # keep draining stderr so that Chromium never blocks on it
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, match.group(1)
    proc.kill()
    sys.exit("check_docs: Chromium did not start")


class DevTools:
    """A minimal client of the Chrome DevTools protocol, for one page."""

    def __init__(self, conn):
        self.conn = conn
        self.next_id = 0
        self.events = []

    @classmethod
    async def attach(cls, browser_ws):
        port = re.search(r":(\d+)/", browser_ws).group(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
            pages = [t for t in json.load(r) if t["type"] == "page"]
        conn = await websocket_connect(pages[0]["webSocketDebuggerUrl"],
                                       max_message_size=1 << 30)
        return cls(conn)

    async def call(self, method, **params):
        self.next_id += 1
        ident = self.next_id
        await self.conn.write_message(json.dumps(
            {"id": ident, "method": method, "params": params}))
        while True:
            message = await self.conn.read_message()
            if message is None:
                raise RuntimeError("Chromium closed the connection")
            reply = json.loads(message)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    async def wait_event(self, name, timeout=60):
        async def wait():
            while True:
                for i, event in enumerate(self.events):
                    if event["method"] == name:
                        return self.events.pop(i)
                message = await self.conn.read_message()
                if message is None:
                    raise RuntimeError("Chromium closed the connection")
                reply = json.loads(message)
                if "method" in reply:
                    self.events.append(reply)
        return await asyncio.wait_for(wait(), timeout)


async def check_site(html_dir, base_url, browser_ws, shot_dir, full):
    tools = await DevTools.attach(browser_ws)
    await tools.call("Page.enable")
    await tools.call("Network.enable")
    await tools.call("Emulation.setDeviceMetricsOverride", width=WIDTH,
                     height=HEIGHT, deviceScaleFactor=1, mobile=False)
    pages = sorted(os.path.relpath(os.path.join(root, name), html_dir)
                   for root, _, names in os.walk(html_dir)
                   for name in names if name.endswith(".html")
                   if not root.startswith(os.path.join(html_dir, "_")))
    missing_keys = [p for p in KEY_PAGES if p not in pages]
    problems = [f"{p}: key page missing from the build" for p in missing_keys]
    for page in pages:
        with open(os.path.join(html_dir, page), encoding="utf-8") as f:
            redirect = REDIRECT.search(f.read())
        if redirect:                    # a moved page: its target must exist
            target = os.path.normpath(os.path.join(
                os.path.dirname(page), redirect.group(1).split("#")[0]))
            if target not in pages:
                problems.append(f"{page}: redirects to a missing {target}")
            print(f"{'ok ' if target in pages else 'BAD'} {page}  "
                  f"(redirects to {target})")
            continue
        tools.events.clear()
        await tools.call("Page.navigate", url=base_url + page)
        await tools.wait_event("Page.loadEventFired")
        result = await tools.call("Runtime.evaluate",
                                  expression=PAGE_REPORT_JS,
                                  awaitPromise=True, returnByValue=True)
        report = result["result"]["value"]
        for img in report["images"]:
            if not img["complete"] or img["width"] == 0 or img["height"] == 0:
                problems.append(f"{page}: image did not load: {img['src']}")
        problems.extend(f"{page}: {f}" for f in report["failures"])
        if page in KEY_PAGES:
            name = page.replace("/", "__").replace(".html", ".png")
            params = {"format": "png"}
            if full:
                params["captureBeyondViewport"] = True
                params["clip"] = {"x": 0, "y": 0, "width": WIDTH, "scale": 1,
                                  "height": min(report["height"], 16000)}
            shot = await tools.call("Page.captureScreenshot", **params)
            with open(os.path.join(shot_dir, name), "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        print(f"{'ok ' if not any(p.startswith(page + ':') for p in problems) else 'BAD'}"
              f" {page}  ({len(report['images'])} images)")
    tools.conn.close()
    return pages, problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("html_dir", nargs="?", default="docs/_build/html")
    parser.add_argument("--out", default="docs/_build/screenshots",
                        help="folder for the screenshots of the key pages")
    parser.add_argument("--full", action="store_true",
                        help="screenshot whole pages, not the first screen")
    args = parser.parse_args(argv)
    html_dir = os.path.abspath(args.html_dir)
    if not os.path.isfile(os.path.join(html_dir, "index.html")):
        sys.exit(f"check_docs: no built site in {html_dir}")
    os.makedirs(args.out, exist_ok=True)

    server, base_url = serve(html_dir)
    with tempfile.TemporaryDirectory() as profile:
        proc, browser_ws = start_chromium(profile)
        try:
            pages, problems = asyncio.run(check_site(
                html_dir, base_url, browser_ws, args.out, args.full))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    server.shutdown()

    print(f"\n{len(pages)} pages checked; screenshots of {len(KEY_PAGES)} "
          f"key pages in {args.out}")
    if problems:
        print(f"{len(problems)} problem(s):")
        for problem in problems:
            print("  " + problem)
        return 1
    print("no missing image, no failed example, no overflowing code block, "
          "no backtick in prose, no raw formula")
    return 0


if __name__ == "__main__":
    sys.exit(main())
