"""A small headless-Chromium driver for the tests of pages we write (the web map).

Debian's Chromium is launched headless with the network cut (every host name
resolves to nothing and a proxy points at a dead port) and driven over the
DevTools protocol with ``websocket-client``: the page is loaded from a file, and
the console messages, uncaught exceptions, JavaScript dialogs (``alert``) and every
request the page makes are recorded. :func:`open_page` returns them with the load
time, the values of JavaScript expressions and a PNG screenshot.

``chromium_or_skip()`` skips a test with the reason when Chromium or
``websocket-client`` cannot be had (``apt-get install -y chromium`` and the test
extra provide them).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: Where Debian and other distributions put Chromium.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing answers
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    f"--proxy-server={DEAD_PROXY}",
    "--proxy-bypass-list=<-loopback>",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)


def chromium_path() -> str | None:
    """Path of a Chromium executable, or None."""
    env = os.environ.get("PASTURES_CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def chromium_or_skip() -> str:
    """Chromium's path; skip the test, saying why, when it or websocket-client is missing."""
    try:
        import websocket  # noqa: F401
    except ImportError:
        pytest.skip(
            "websocket-client is not installed (it is in the test extra: pip install -e '.[test]')"
        )
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium)")
    return path


@dataclass
class PageReport:
    """What happened while a page loaded and was driven."""

    load_seconds: float
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    found: dict[str, Any] = field(default_factory=dict)
    screenshots: dict[str, bytes] = field(default_factory=dict)
    #: What the `probe` script of :func:`open_page` caused, kept apart from the rest.
    probe: PageReport | None = None

    @property
    def outside_requests(self) -> list[str]:
        """Requests for anything but the file itself, data: and about: URLs."""
        return [u for u in self.requests if not u.startswith(("file:", "data:", "about:"))]


class _Cdp:
    """A DevTools connection with one attached page session."""

    def __init__(self, url: str, timeout: float) -> None:
        import websocket

        self.timeout = timeout
        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def _event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if event.get("method") == "Page.javascriptDialogOpening":
            # answer the dialog from a separate message so the page does not hang
            self.next_id += 1
            self.ws.send(
                json.dumps(
                    {
                        "id": self.next_id,
                        "method": "Page.handleJavaScriptDialog",
                        "params": {"accept": True},
                        "sessionId": self.session,
                    }
                )
            )

    def wait_for(self, method: str, timeout: float) -> bool:
        try:
            return self._wait_for(method, timeout)
        finally:
            self.ws.settimeout(self.timeout)

    def _wait_for(self, method: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        if any(e.get("method") == method for e in self.events):
            return True
        while time.monotonic() < end:
            self.ws.settimeout(max(0.05, end - time.monotonic()))
            try:
                event = json.loads(self.ws.recv())
            except Exception:  # noqa: BLE001 - websocket timeout
                return False
            self._event(event)
            if event.get("method") == method:
                return True
        return False

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


def _devtools_url(profile: Path, proc: subprocess.Popen[bytes], timeout: float) -> str:
    port_file = profile / "DevToolsActivePort"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if port_file.is_file():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if proc.poll() is not None:
            raise RuntimeError(f"Chromium exited with code {proc.returncode} before it was ready")
        time.sleep(0.05)
    raise RuntimeError("Chromium did not open its DevTools port in time")


def open_page(
    path: Path,
    *,
    expressions: dict[str, str] | None = None,
    actions: list[tuple[str, str]] | None = None,
    expressions_after: dict[str, str] | None = None,
    probe: str | None = None,
    width: int = 1280,
    height: int = 800,
    timeout: float = 30.0,
    settle: float = 0.5,
    scale: float = 1,
    touch: bool = False,
    geolocation: tuple[float, float, float] | None = None,
    before_load: str | None = None,
    probe_expressions: dict[str, str] | None = None,
) -> PageReport:
    """Load a local HTML file in headless Chromium with no network and report.

    Parameters
    ----------
    path
        The HTML file.
    expressions
        name -> JavaScript expression, evaluated after load; values in ``found``.
    actions
        (name, JavaScript returning [x, y] or null) run in order after the first
        screenshot: Chromium clicks at that point with the mouse, and a screenshot
        named `name` is taken.
    expressions_after
        Like `expressions`, evaluated after the actions.
    probe
        JavaScript run last; what it causes (requests, errors) is reported apart in
        ``probe``, e.g. to show that a request for the network would be seen.
    scale, touch
        A phone: the device pixel ratio, and a touch screen (mobile viewport, touch
        events; clicks of `actions` are then taps).
    geolocation
        (latitude, longitude, accuracy m) the page's ``navigator.geolocation`` gets,
        with the permission granted.
    before_load
        JavaScript run in the page before its own scripts, e.g. to set its clock.
    probe_expressions
        Like `expressions`, evaluated after the probe; values in ``probe.found``.
    """
    exe = chromium_or_skip()
    # Chromium's helper processes may still write to the profile while it is removed
    with tempfile.TemporaryDirectory(
        prefix="pastures-chromium-", ignore_cleanup_errors=True
    ) as tmp:
        profile = Path(tmp)
        proc = subprocess.Popen(
            [
                exe,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cdp = None
        try:
            cdp = _Cdp(_devtools_url(profile, proc, timeout), timeout)
            target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            cdp.session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log", "Network"):
                cdp.send(f"{domain}.enable")
            _emulate(
                cdp,
                width=width,
                height=height,
                scale=scale,
                touch=touch,
                geolocation=geolocation,
                before_load=before_load,
            )
            start = time.monotonic()
            cdp.send("Page.navigate", {"url": path.resolve().as_uri()})
            if not cdp.wait_for("Page.loadEventFired", timeout):
                raise RuntimeError(f"{path}: the page did not finish loading in {timeout} s")
            report = PageReport(load_seconds=time.monotonic() - start)
            cdp.wait_for("never.an.event", settle)  # let late scripts and images run
            for name, expression in (expressions or {}).items():
                report.found[name] = cdp.evaluate(expression)
            shot = cdp.send("Page.captureScreenshot", {"format": "png"})
            report.screenshots["load"] = base64.b64decode(shot["data"])
            for name, js in actions or []:
                point = cdp.evaluate(js)
                if point:
                    _press(cdp, point, touch=touch)
                cdp.wait_for("never.an.event", settle)
                shot = cdp.send("Page.captureScreenshot", {"format": "png"})
                report.screenshots[name] = base64.b64decode(shot["data"])
            for name, expression in (expressions_after or {}).items():
                report.found[name] = cdp.evaluate(expression)
            _collect(cdp.events, report)
            if probe:
                seen = len(cdp.events)
                cdp.evaluate(probe)
                cdp.wait_for("never.an.event", settle)
                report.probe = PageReport(load_seconds=0.0)
                _collect(cdp.events[seen:], report.probe)
                for name, expression in (probe_expressions or {}).items():
                    report.probe.found[name] = cdp.evaluate(expression)
            return report
        finally:
            if cdp is not None:
                cdp.close()
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _emulate(
    cdp: _Cdp,
    *,
    width: int,
    height: int,
    scale: float,
    touch: bool,
    geolocation: tuple[float, float, float] | None,
    before_load: str | None,
) -> None:
    """Set the page's screen, touch, position and early script (see :func:`open_page`)."""
    cdp.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": touch},
    )
    if touch:
        cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    if geolocation is not None:
        session, cdp.session = cdp.session, None  # a command of the browser, not the page
        cdp.send("Browser.grantPermissions", {"permissions": ["geolocation"]})
        cdp.session = session
        lat, lon, accuracy = geolocation
        cdp.send(
            "Emulation.setGeolocationOverride",
            {"latitude": lat, "longitude": lon, "accuracy": accuracy},
        )
    if before_load:
        cdp.send("Page.addScriptToEvaluateOnNewDocument", {"source": before_load})


def _press(cdp: _Cdp, point: list[float], *, touch: bool) -> None:
    """A tap (touch screen) or a left click at page point [x, y]."""
    x, y = point
    if touch:
        for kind, points in (("touchStart", [{"x": x, "y": y}]), ("touchEnd", [])):
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
        return
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        cdp.send(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
        )


def _collect(events: list[dict[str, Any]], report: PageReport) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            args = params.get("args", [])
            report.console_errors.append(" ".join(str(a.get("value", a)) for a in args))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            report.exceptions.append(
                str(details.get("exception", {}).get("description") or details.get("text"))
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            report.console_errors.append(f"{entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Page.javascriptDialogOpening":
            report.dialogs.append(f"{params.get('type')}: {params.get('message')}")
        elif method == "Network.requestWillBeSent":
            report.requests.append(params.get("request", {}).get("url", ""))
