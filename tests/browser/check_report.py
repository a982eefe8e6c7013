#!/usr/bin/env python3
"""Open an access-map HTML report in headless Chromium and check it.

Usage:
  check_report.py REPORT.html --targets N --paths M --screenshot OUT.png [--chromium PATH]

The page runs with the network off: any request that is not file:// is failed
and counted (there must be none). The check fails on a console error, an
uncaught exception, an error log entry or a dialog (alert/confirm/prompt);
counts the target sections and paths; clicks filters and a table header with
real mouse events; and saves a full-page screenshot. Exit 0 on success, 1 on a
failed check, 2 on bad usage. Needs websocket-client (stdlib otherwise).
"""
import argparse
import base64
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

TOTAL_SECONDS = 60
KINDS = ["network", "load-balancer", "host", "exec", "service-connect"]
STATUSES = ["open", "possible", "closed"]
RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}


class Failure(Exception):
    """A check failed; the message says which and why."""


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self, want, what):
        left = self.end - time.monotonic()
        if left <= 0:
            raise Failure(f"time limit of {TOTAL_SECONDS} s reached while {what}")
        return min(want, left)


class Page:
    """A DevTools protocol connection to one page, with the events it saw."""

    def __init__(self, ws_url, deadline):
        self.deadline = deadline
        self.ws = websocket.create_connection(ws_url, timeout=10, suppress_origin=True)
        self.next_id = 0
        self.errors = []
        self.blocked = []
        self.dialogs = []
        self.seen_loads = 0

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass

    def send(self, method, params=None):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
        return self.next_id

    def _recv(self, until, what):
        wait = self.deadline.left(until - time.monotonic(), what)
        if wait <= 0:
            raise websocket.WebSocketTimeoutException(what)
        self.ws.settimeout(wait)
        msg = json.loads(self.ws.recv())
        if "method" in msg:
            self._event(msg["method"], msg.get("params", {}))
        return msg

    def call(self, method, params=None, timeout=10):
        mid = self.send(method, params)
        until = time.monotonic() + timeout
        while True:
            try:
                msg = self._recv(until, f"waiting for {method}")
            except websocket.WebSocketTimeoutException:
                raise Failure(f"no answer to {method} within {timeout} s")
            if msg.get("id") == mid:
                if "error" in msg:
                    raise Failure(f"{method} failed: {msg['error'].get('message')}")
                return msg.get("result", {})

    def pump(self, seconds):
        """Handle events for a while."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            try:
                self._recv(until, "handling page events")
            except websocket.WebSocketTimeoutException:
                return

    def _event(self, method, p):
        if method == "Fetch.requestPaused":
            url = p["request"]["url"]
            if url.startswith("file:"):
                self.send("Fetch.continueRequest", {"requestId": p["requestId"]})
            else:
                if url not in self.blocked:
                    self.blocked.append(url)
                self.send("Fetch.failRequest", {"requestId": p["requestId"], "errorReason": "BlockedByClient"})
        elif method == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if not url.startswith(("file:", "data:")) and url not in self.blocked:
                self.blocked.append(url)
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(f"{p.get('type')}: {p.get('message')}")
            self.send("Page.handleJavaScriptDialog", {"accept": False})
        elif method == "Page.loadEventFired":
            self.seen_loads += 1
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            self.errors.append(f"console.{p['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            desc = (d.get("exception") or {}).get("description") or d.get("text")
            self.errors.append(f"uncaught exception at line {d.get('lineNumber')}: {desc}")
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            e = p["entry"]
            self.errors.append(f"log error ({e.get('source')}): {e.get('text')} {e.get('url', '')}".strip())

    def evaluate(self, expr, timeout=10):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise Failure(f"evaluating a check in the page threw: {(d.get('exception') or {}).get('description') or d.get('text')}")
        return r["result"].get("value")

    def wait_for(self, expr, timeout, what):
        until = time.monotonic() + timeout
        while True:
            value = self.evaluate(expr)
            if value:
                return value
            if time.monotonic() >= until:
                raise Failure(f"{what}: not within {timeout} s")
            self.pump(0.1)

    def clean(self, stage):
        if self.blocked:
            raise Failure(f"{stage}: the page requested {len(self.blocked)} non-file URL(s): {', '.join(self.blocked)}")
        if self.dialogs:
            raise Failure(f"{stage}: a dialog opened ({'; '.join(self.dialogs)}); data was run as script")
        if self.errors:
            raise Failure(f"{stage}: {len(self.errors)} console error(s) or exception(s): " + " | ".join(self.errors))

    def click(self, selector):
        """A real mouse click at the centre of the element."""
        box = self.evaluate("""(() => {
          const e = document.querySelector(%s);
          if (!e) return null;
          e.scrollIntoView({block: 'center', inline: 'center'});
          const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
          const hit = document.elementFromPoint(x, y);
          const ok = !!hit && (hit === e || e.contains(hit) || [...(e.labels || [])].some(l => l.contains(hit)));
          return {x, y, w: r.width, h: r.height, ok, hit: hit ? hit.tagName + (hit.id ? '#' + hit.id : '') : null};
        })()""" % json.dumps(selector))
        if box is None:
            raise Failure(f"click: no element matches {selector}")
        if not box["w"] or not box["h"]:
            raise Failure(f"click: {selector} has no size on the page (hidden?)")
        if not box["ok"]:
            raise Failure(f"click: {selector} is covered by {box['hit']} at its centre")
        for kind, buttons in (("mouseMoved", 0), ("mousePressed", 1), ("mouseReleased", 0)):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"],
                                                   "button": "left", "buttons": buttons, "clickCount": 1})


VISIBLE = """(() => {
  const vis = e => e.checkVisibility ? e.checkVisibility() : e.getClientRects().length > 0;
  return {
    paths: [...document.querySelectorAll('[data-path-kind]')].filter(vis).length,
    targets: [...document.querySelectorAll('[data-target]')].filter(vis).length,
    text: (document.getElementById('shown-count') || {}).textContent || null,
  };
})()"""


def shown_numbers(text):
    m = re.fullmatch(r"\s*(\d+) targets?, (\d+) paths? shown\s*", text or "")
    if not m:
        raise Failure(f"shown-count reads {text!r}, not 'N targets, M paths shown'")
    return int(m.group(1)), int(m.group(2))


def embedded_data(report):
    html = pathlib.Path(report).read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="access-map-data">(.*?)</script>', html, re.S)
    if not m:
        raise Failure(f"{report}: no <script id=\"access-map-data\"> element")
    try:
        data = json.loads(m.group(1))
    except ValueError as e:
        raise Failure(f"{report}: the embedded map data is not JSON: {e}")
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise Failure(f"{report}: the embedded map data has no documents list (placeholder not replaced?)")
    return data["documents"]


def strings(v):
    """Every string in the data."""
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)


def expect(docs, kind_off=None, status_off=None, account=None):
    """Targets and paths the filters should leave visible."""
    nt = np = 0
    for d in docs:
        if account and d.get("account") != account:
            continue
        n = sum(1 for p in d.get("paths") or [] if p.get("kind") != kind_off and p.get("status") != status_off)
        if n or (not d.get("paths") and not kind_off and not status_off):
            nt += 1
            np += n
    return nt, np


def check_filter(page, docs, box_id, base, **off):
    before = page.evaluate(VISIBLE)
    want_t, want_p = expect(docs, **off)
    drop = base[1] - want_p
    if drop <= 0:
        raise Failure(f"#{box_id}: the data has no path it would hide, so the check could not fail")
    page.click(f"#{box_id}")
    try:
        page.wait_for(VISIBLE + f".paths === {want_p}", 3, "")
    except Failure:
        pass
    now = page.evaluate(VISIBLE)
    checked = page.evaluate(f"document.getElementById({json.dumps(box_id)}).checked")
    if checked:
        raise Failure(f"#{box_id}: still ticked after a click")
    if now["paths"] != want_p:
        raise Failure(f"unticking #{box_id}: {now['paths']} paths visible, expected {want_p} "
                      f"({before['paths']} before, {drop} of that {'kind' if 'kind_off' in off else 'status'} in the data)")
    if now["targets"] != want_t:
        raise Failure(f"unticking #{box_id}: {now['targets']} target sections visible, expected {want_t}")
    if shown_numbers(now["text"]) != (want_t, want_p) or now["text"] == before["text"]:
        raise Failure(f"unticking #{box_id}: shown-count reads {now['text']!r}, expected {want_t} targets, {want_p} paths")
    page.click(f"#{box_id}")
    try:
        page.wait_for(VISIBLE + f".paths === {base[1]}", 3, "")
    except Failure:
        pass
    again = page.evaluate(VISIBLE)
    if (again["targets"], again["paths"]) != base or shown_numbers(again["text"]) != base:
        raise Failure(f"ticking #{box_id} again: {again['targets']} targets, {again['paths']} paths visible "
                      f"(count line {again['text']!r}), expected {base[0]} and {base[1]}")
    return drop


def table_rows(page):
    return page.evaluate("""[...document.querySelectorAll('#summary tbody tr')].map(r => {
      const a = r.querySelector('a[href^="#"]'), s = a && document.getElementById(a.getAttribute('href').slice(1));
      return {id: r.dataset.id, severity: r.dataset.severity, linked: !!s && s.dataset.target === r.dataset.id};
    })""")


def check_sort(page, n):
    rows = table_rows(page)
    if len(rows) != n:
        raise Failure(f"summary table: {len(rows)} rows, expected {n}")
    bad = [r["id"] for r in rows if not r["linked"]]
    if bad:
        raise Failure(f"summary table: rows without a link to their section: {bad}")
    ranks = [RANK.get(r["severity"], 0) for r in rows]
    if ranks != sorted(ranks, reverse=True):
        raise Failure(f"summary table: default order is not worst severity first: {[r['severity'] for r in rows]}")
    page.click("#sort-id")
    page.pump(0.2)
    ids = [r["id"] for r in table_rows(page)]
    if ids != sorted(ids):
        raise Failure(f"summary table: after a click on the Target header the order is {ids}, expected {sorted(ids)}")
    page.click("#sort-id")
    page.pump(0.2)
    ids = [r["id"] for r in table_rows(page)]
    if ids != sorted(ids, reverse=True):
        raise Failure(f"summary table: a second click on the Target header gives {ids}, expected the reverse order")
    page.click("#sort-severity")
    page.pump(0.2)
    ranks = [RANK.get(r["severity"], 0) for r in table_rows(page)]
    if ranks != sorted(ranks, reverse=True):
        raise Failure("summary table: a click on the Severity header does not put the worst first")


def screenshot(page, out):
    page.evaluate("window.scrollTo(0, 0)")
    m = page.call("Page.getLayoutMetrics")
    size = m.get("cssContentSize") or m["contentSize"]
    w, h = max(1, int(size["width"])), max(1, min(int(size["height"]), 16000))
    shot = page.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}, 30)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    return w, h


def start_chromium(binary, profile, deadline):
    log = open(os.path.join(profile, "chromium.log"), "wb")
    args = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", "--mute-audio", "--window-size=1280,900", "about:blank"]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                            start_new_session=True)
    log.close()
    port_file = os.path.join(profile, "DevToolsActivePort")
    until = time.monotonic() + 20
    while True:
        if os.path.exists(port_file):
            lines = open(port_file).read().split()
            if len(lines) >= 2:
                return proc, int(lines[0])
        if proc.poll() is not None:
            raise Failure(f"chromium exited with {proc.returncode} before DevTools started: {log_tail(profile)}")
        if time.monotonic() > until:
            raise Failure(f"chromium did not open DevTools within 20 s: {log_tail(profile)}")
        deadline.left(1, "starting chromium")
        time.sleep(0.1)


def log_tail(profile):
    try:
        return pathlib.Path(profile, "chromium.log").read_text(errors="replace")[-600:].strip()
    except OSError:
        return "(no log)"


def page_ws_url(port, deadline):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    until = time.monotonic() + 10
    while True:
        deadline.left(1, "looking for the page target")
        try:
            with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        if time.monotonic() > until:
            raise Failure("chromium has no page target after 10 s")
        time.sleep(0.1)


def stop_chromium(proc):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def run(a, deadline):
    profile = tempfile.mkdtemp(prefix="access-map-chromium-")
    proc = page = None
    try:
        proc, port = start_chromium(a.chromium, profile, deadline)
        page = Page(page_ws_url(port, deadline), deadline)
        version = page.call("Browser.getVersion").get("product", "chromium")
        for method in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            page.call(method)
        page.call("Network.emulateNetworkConditions",
                  {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
        page.call("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]})
        page.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})

        nav = page.call("Page.navigate", {"url": pathlib.Path(a.report).resolve().as_uri()}, 15)
        if nav.get("errorText"):
            raise Failure(f"opening {a.report}: {nav['errorText']}")
        until = time.monotonic() + 15
        while not page.seen_loads:
            if time.monotonic() > until:
                raise Failure("the page did not finish loading within 15 s")
            page.pump(0.1)
        try:
            state = page.wait_for("document.documentElement.getAttribute('data-state')", 10,
                                  "the page did not mark itself ready (data-state)")
        except Failure:
            page.clean("before the page was ready")
            raise
        page.pump(0.3)
        page.clean("after load")
        if state != "ready":
            shown = page.evaluate("document.getElementById('error').textContent")
            raise Failure(f"the page shows an error: {shown!r}")
        docs = embedded_data(a.report)
        data_paths = sum(len(d.get("paths") or []) for d in docs)

        counts = page.evaluate("""({
          targets: document.querySelectorAll('[data-target]').length,
          paths: document.querySelectorAll('[data-path-kind]').length,
          without_svg: [...document.querySelectorAll('[data-target]')].filter(s => !s.querySelector('svg')).map(s => s.dataset.target),
          scripts: document.querySelectorAll('script').length,
          text: document.body.textContent,
        })""")
        if counts["targets"] != a.targets:
            raise Failure(f"{counts['targets']} [data-target] sections, expected {a.targets}")
        if counts["paths"] != a.paths:
            raise Failure(f"{counts['paths']} [data-path-kind] paths rendered, expected {a.paths}")
        if counts["without_svg"]:
            raise Failure(f"sections without an svg graph: {counts['without_svg']}")
        if counts["scripts"] != 2:
            raise Failure(f"the page has {counts['scripts']} <script> elements, expected the template's 2")
        missing = [m for m in strings(docs) if "<" in m and m not in counts["text"]]
        if missing:
            raise Failure(f"data with markup is not shown as text: {missing}")
        base = page.evaluate(VISIBLE)
        if (base["targets"], base["paths"]) != (a.targets, a.paths) or shown_numbers(base["text"]) != (a.targets, a.paths):
            raise Failure(f"at first {base['targets']} targets and {base['paths']} paths are visible "
                          f"(count line {base['text']!r}), expected {a.targets} and {a.paths}")
        if data_paths != a.paths:
            raise Failure(f"the embedded data holds {data_paths} paths, expected {a.paths}")
        base = (a.targets, a.paths)

        status = "closed" if any(p.get("status") == "closed" for d in docs for p in d.get("paths") or []) else "open"
        status_drop = check_filter(page, docs, f"filter-status-{status}", base, status_off=status)
        kind = max(KINDS, key=lambda k: sum(p.get("kind") == k for d in docs for p in d.get("paths") or []))
        kind_drop = check_filter(page, docs, f"filter-kind-{kind}", base, kind_off=kind)

        accounts = sorted({d.get("account") for d in docs})
        account = accounts[-1]
        page.evaluate("(() => { const s = document.getElementById('filter-account'); s.value = %s;"
                      " s.dispatchEvent(new Event('change', {bubbles: true})); })()" % json.dumps(account))
        now = page.evaluate(VISIBLE)
        want = expect(docs, account=account)
        if (now["targets"], now["paths"]) != want:
            raise Failure(f"account filter {account}: {now['targets']} targets, {now['paths']} paths visible, expected {want}")
        page.evaluate("(() => { const s = document.getElementById('filter-account'); s.value = '';"
                      " s.dispatchEvent(new Event('change', {bubbles: true})); })()")

        check_sort(page, a.targets)
        w, h = screenshot(page, a.screenshot)
        page.pump(0.3)
        page.clean("at the end")
        return (f"{a.report}: passed in {version}. {a.targets} target sections and {a.paths} paths rendered, "
                f"each section with an svg graph; no console error, exception, dialog or non-file request "
                f"(network offline, requests failed unless file://); unticking filter-status-{status} hid {status_drop} "
                f"paths and unticking filter-kind-{kind} hid {kind_drop}, as the data says, and ticking them again "
                f"restored all; the account filter ({account}) showed {want[0]} targets; the summary table sorts by "
                f"severity (worst first) and by target on a header click. Screenshot {w}x{h} saved to {a.screenshot}.")
    finally:
        if page:
            page.close()
        stop_chromium(proc)
        shutil.rmtree(profile, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description="Check an access-map HTML report in headless Chromium.")
    ap.add_argument("report")
    ap.add_argument("--targets", type=int, required=True, help="target sections expected")
    ap.add_argument("--paths", type=int, required=True, help="paths expected")
    ap.add_argument("--screenshot", required=True, help="PNG to write")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    a = ap.parse_args()
    if not os.path.isfile(a.report):
        print(f"check_report: {a.report}: no such file", file=sys.stderr)
        return 2
    try:
        print(run(a, Deadline(TOTAL_SECONDS)))
        return 0
    except Failure as e:
        print(f"check_report: FAILED: {e}", file=sys.stderr)
        return 1
    except (OSError, websocket.WebSocketException) as e:
        print(f"check_report: FAILED: talking to chromium: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
