"""Open a page in headless Chromium and watch it: every network request, console message and page error.

Speaks the DevTools protocol over `--remote-debugging-pipe` (file descriptors 3 and 4, messages ended by a
NUL byte), so it needs no websocket library and opens no port. Used by tests/test_report_browser.py and,
by hand, to look at a report: `python -m tests.browser report.html shot.png [full.png] [print.pdf]`.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe")
WIDTH, HEIGHT = 1280, 2400


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    url: str
    requests: list[str] = field(default_factory=list)
    """Every URL the page asked for, the page itself included."""
    console: list[dict[str, Any]] = field(default_factory=list)
    """Console API calls and log entries: {source, level, text}."""
    exceptions: list[str] = field(default_factory=list)
    loaded: bool = False
    screenshot: bytes = b""
    full_page: bytes = b""
    pdf: bytes = b""

    @property
    def network_requests(self) -> list[str]:
        """Requests other than the page's own file."""
        return [u for u in self.requests if u != self.url]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [c for c in self.console if c["level"] in ("error", "assert")]


class _Pipe:
    def __init__(self, binary: str, profile: str):
        # os.pipe gives the lowest free descriptors, so 3 and 4 are open here and pass_fds may name them;
        # the child moves the pipe ends onto them before Chromium starts
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:  # runs in the child before exec: put the pipe ends on fds 3 and 4
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=wire, pass_fds=(3, 4), close_fds=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next = 0
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._replies: dict[int, dict[str, Any]] = {}
        self._lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        self._replies[msg["id"]] = msg
                        self._lock.notify_all()
                else:
                    self.events.put(msg)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        msg: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._lock:
            while ident not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"no reply to {method} from Chromium")
                self._lock.wait(min(left, 0.2))
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass


def open_page(path: Path, *, binary: str | None = None, full_page: bool = False, pdf: bool = False,
              settle_s: float = 0.5, timeout: float = 60.0) -> PageReport:
    """Load `path` and return what happened; the screenshot is the 1280x2400 viewport."""
    binary = binary or find_chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed")
    url = Path(path).resolve().as_uri()
    report = PageReport(url=url)
    with tempfile.TemporaryDirectory(prefix="riskengine-chromium-") as profile:
        pipe = _Pipe(binary, profile)
        try:
            target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Network", "Runtime", "Log", "Page"):
                pipe.call(f"{domain}.enable", session=session)
            pipe.call("Emulation.setDeviceMetricsOverride",
                      {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}, session=session)
            pipe.call("Page.navigate", {"url": url}, session=session)
            deadline = time.monotonic() + timeout
            settled_at = None
            while time.monotonic() < (settled_at or deadline):
                try:
                    ev = pipe.events.get(timeout=0.1)
                except queue.Empty:
                    continue
                if ev.get("sessionId") != session:
                    continue
                method, params = ev.get("method"), ev.get("params", {})
                if method == "Network.requestWillBeSent":
                    report.requests.append(params["request"]["url"])
                elif method == "Runtime.consoleAPICalled":
                    text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                    report.console.append({"source": "console", "level": params.get("type", ""), "text": text})
                elif method == "Log.entryAdded":
                    entry = params.get("entry", {})
                    report.console.append({"source": entry.get("source", "log"), "level": entry.get("level", ""),
                                           "text": entry.get("text", "")})
                elif method == "Runtime.exceptionThrown":
                    report.exceptions.append(json.dumps(params.get("exceptionDetails", {}))[:500])
                elif method == "Page.loadEventFired":
                    report.loaded = True
                    settled_at = time.monotonic() + settle_s
            if report.loaded:
                shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session=session)
                report.screenshot = base64.b64decode(shot["data"])
                if full_page:
                    size = pipe.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
                    clip = {"x": 0, "y": 0, "width": WIDTH, "height": min(int(size["height"]), 16000), "scale": 1}
                    shot = pipe.call("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                                "captureBeyondViewport": True}, session=session)
                    report.full_page = base64.b64decode(shot["data"])
                if pdf:
                    printed = pipe.call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                                        session=session, timeout=60)
                    report.pdf = base64.b64decode(printed["data"])
        finally:
            pipe.close()
    return report


def main(argv: list[str]) -> int:
    page, shot, *rest = argv
    r = open_page(Path(page), full_page=len(rest) >= 1, pdf=len(rest) >= 2)
    Path(shot).write_bytes(r.screenshot)
    if rest:
        Path(rest[0]).write_bytes(r.full_page)
    if len(rest) >= 2:
        Path(rest[1]).write_bytes(r.pdf)
    print(json.dumps({"loaded": r.loaded, "network": r.network_requests, "console": r.console,
                      "exceptions": r.exceptions}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
