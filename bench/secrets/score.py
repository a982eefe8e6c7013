"""Scores the secrets corpus: which samples each tool flags.

usage: score.py CORPUS_DIR KINGFISHER_JSON OURS_JSONL [BEFORE_JSONL]

A sample is flagged by Kingfisher when it reports a finding in the sample's
file; by access-guard when its verdict on the sample's event has an
ECS-TD-007/008/009 finding above info (a documentation example reported at
info is not an alarm). Prints one Markdown table per sample and the totals:
recall over the secrets, false positives over the look-alikes.
"""

import json
import os
import sys

SECRET_RULES = {"ECS-TD-007", "ECS-TD-008", "ECS-TD-009"}


def kingfisher(path):
    flagged = set()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            doc = json.loads(line)
            findings = doc.get("findings")
            for finding in findings if isinstance(findings, list) else []:
                name = os.path.basename(finding["finding"]["path"])
                flagged.add(name.rsplit(".", 1)[0])
    return flagged


def ours(path):
    flagged = set()
    if not path:
        return None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            doc = json.loads(line)
            if any(x["rule"] in SECRET_RULES and x["severity"] != "info" for x in doc.get("findings", [])):
                flagged.add(doc["event_id"])
    return flagged


def main():
    corpus_dir, kf_path, ours_path = sys.argv[1:4]
    before_path = sys.argv[4] if len(sys.argv) > 4 else None
    with open(os.path.join(corpus_dir, "corpus.json")) as f:
        corpus = json.load(f)
    k, o, b = kingfisher(kf_path), ours(ours_path), ours(before_path)
    tools = [("Kingfisher", k), ("access-guard", o)] + ([("access-guard before", b)] if b is not None else [])
    mark = lambda flagged, sample: "✔" if sample in flagged else "·"
    print("| sample | expected | " + " | ".join(t for t, _ in tools) + " |")
    print("| --- | --- |" + " --- |" * len(tools))
    for c in corpus:
        print(f"| {c['kind']} | {c['expect']} | " + " | ".join(mark(flagged, c["id"]) for _, flagged in tools) + " |")
    secrets = [c["id"] for c in corpus if c["expect"] == "secret"]
    benign = [c["id"] for c in corpus if c["expect"] == "benign"]
    union = {s for s in secrets if s in k or (b is not None and s in b)}
    print()
    print("| tool | recall (secrets flagged) | false positives (look-alikes flagged) |")
    print("| --- | --- | --- |")
    for name, flagged in tools:
        hit = sum(s in flagged for s in secrets)
        fp = sum(s in flagged for s in benign)
        print(f"| {name} | {hit} / {len(secrets)} | {fp} / {len(benign)} |")
    label = "Kingfisher ∪ access-guard before" if b is not None else "Kingfisher"
    print(f"| {label} | {len(union)} / {len(secrets)} | |")
    missing = [s for s in union if s not in o]
    print()
    print(f"Secrets the union finds and access-guard does not: {', '.join(missing) if missing else 'none'}.")
    results = {"secrets": len(secrets), "benign": len(benign),
               "tools": {name: {"recall": sum(s in f for s in secrets), "false_positives": sum(s in f for s in benign)} for name, f in tools},
               "union": len(union), "union_missed_by_access_guard": missing}
    with open(os.path.join(corpus_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


main()
