#!/usr/bin/env python3
"""Replaces the rule table in README.md (between the rules markers) with a generated one."""
import sys

table_path, readme_path = sys.argv[1], sys.argv[2]
table = open(table_path).read()
readme = open(readme_path).read()
start, end = "<!-- rules:start -->\n", "<!-- rules:end -->"
i, j = readme.index(start) + len(start), readme.index(end)
open(readme_path, "w").write(readme[:i] + table + readme[j:])
