#!/usr/bin/env python3
"""Fill the access-map HTML template with a map JSON file, as the Rust side does.

Usage: render_fixture.py FIXTURE.json OUT.html [--template PATH]

The template holds the placeholder "__ACCESS_MAP_DATA__" (with its quotes)
exactly once; it is replaced by the JSON object, every "<" written as \\u003c
so that no data can end the <script> element.
"""
import argparse
import base64
import hashlib
import json
import re
import os
import sys

PLACEHOLDER = '"__ACCESS_MAP_DATA__"'
HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "..", "..", "shared", "src", "output", "map", "report.html")


def csp_problem(template):
    """The Content-Security-Policy allows the page's one script by its hash; say so if the hash is stale."""
    scripts = re.findall(r"<script>(.*?)</script>", template, re.S)
    if len(scripts) != 1:
        return f"expected one inline <script>, found {len(scripts)}"
    want = "'sha256-" + base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode() + "'"
    if want not in template:
        return f"the Content-Security-Policy does not hold the script's hash; script-src should be {want}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fixture")
    ap.add_argument("out")
    ap.add_argument("--template", default=TEMPLATE)
    a = ap.parse_args()
    with open(a.template, encoding="utf-8") as f:
        template = f.read()
    n = template.count(PLACEHOLDER)
    if n != 1:
        sys.exit(f"render_fixture: {a.template}: expected the placeholder {PLACEHOLDER} once, found it {n} times")
    stale = csp_problem(template)
    if stale:
        sys.exit(f"render_fixture: {a.template}: {stale}")
    with open(a.fixture, encoding="utf-8") as f:
        data = json.load(f)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(template.replace(PLACEHOLDER, text))


if __name__ == "__main__":
    main()
