#!/usr/bin/env python3
"""Writes the plan of a main.tf in the format `terraform show -json` writes
(1.2), for fixtures whose provider cannot be fetched: each argument's
literal is its planned value, a reference to another resource is unknown
until apply (in `after_unknown`, with its `references` in the
configuration), ids and ARNs are unknown. Heredoc JSON stays a string, as
Terraform keeps it. Needs python-hcl2.

    python3 plan_from_tf.py insecure/main.tf > insecure/plan.json
"""

import json
import re
import sys

import hcl2

REFERENCE = re.compile(r"\$\{([^}]*)\}")


def references(value):
    """The references in an HCL value (`${aws_lb.web.arn}`), as Terraform
    lists them: the attribute and the resource."""
    found = []
    for text in REFERENCE.findall(json.dumps(value)):
        ref = text.strip()
        parts = ref.split(".")
        found.append(ref)
        if len(parts) > 2:
            found.append(".".join(parts[:2]))
    return found


def is_block(value):
    return isinstance(value, list) and value and isinstance(value[0], dict) and value[0].get("__is_block__")


def clean(value):
    if isinstance(value, str):
        # python-hcl2 keeps a string's quotes and a heredoc's text.
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = json.loads(value) if value.startswith('"<<') is False else value[1:-1]
        return value
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if not k.startswith("__")}
    return value


def heredoc(value):
    if isinstance(value, str) and value.startswith("<<-"):
        lines = value.split("\n")[1:-1]
        indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
        return "\n".join(l[indent:] for l in lines) + "\n"
    return value


def block(body):
    """A block's planned values, unknowns and expressions."""
    after, unknown, expressions = {}, {}, {}
    for key, value in body.items():
        if key.startswith("__"):
            continue
        if is_block(value):
            parts = [block(b) for b in value]
            after[key] = [p[0] for p in parts]
            unknown[key] = [p[1] for p in parts]
            expressions[key] = [p[2] for p in parts]
            continue
        value = heredoc(clean(value))
        refs = references(value)
        if refs:
            unknown[key] = True
            expressions[key] = {"references": refs}
        else:
            after[key] = value
            expressions[key] = {"constant_value": value}
    return after, unknown, expressions


def main():
    config = hcl2.load(open(sys.argv[1]))
    changes, resources = [], []
    for entry in config.get("resource", []):
        for kind, named in entry.items():
            kind = kind.strip('"')
            for name, body in named.items():
                name = name.strip('"')
                after, unknown, expressions = block(body)
                unknown.update({"id": True, "arn": True, "tags_all": True})
                address = f"{kind}.{name}"
                changes.append({
                    "address": address, "mode": "managed", "type": kind, "name": name,
                    "provider_name": "registry.terraform.io/hashicorp/aws",
                    "change": {"actions": ["create"], "before": None, "after": after,
                               "after_unknown": unknown, "before_sensitive": False,
                               "after_sensitive": {}},
                })
                resources.append({"address": address, "mode": "managed", "type": kind,
                                  "name": name, "provider_config_key": "aws",
                                  "expressions": expressions, "schema_version": 0})
    plan = {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {"resources": [
            {"address": c["address"], "mode": "managed", "type": c["type"], "name": c["name"],
             "provider_name": c["provider_name"], "schema_version": 0,
             "values": c["change"]["after"], "sensitive_values": {}} for c in changes]}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws"}},
            "root_module": {"resources": resources}},
        "timestamp": "2026-12-07T09:00:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    json.dump(plan, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
