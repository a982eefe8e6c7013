#!/usr/bin/env python3
"""Parity of `access-guard scan` with Prowler on the checks that overlap.

    python3 bench/sweep/parity.py --prowler DIR_OR_FILE.ocsf.json --scan scan.jsonl

Prowler's side is its json-ocsf output (`--output-formats json-ocsf`): one JSON
array of OCSF Detection Findings, the check id in `metadata.event_code`, PASS
or FAIL in `status_code`, the resource's ARN in `resources[0].uid`. The scan's
side is its `--format json` output: one JSON object per line, one line per
resource with findings (`resource`: a group id or an ECS ARN, `findings[].rule`).

For every Prowler FAIL on a security group, ECS service or task definition,
under a check that maps to rules of ours, it asks whether the scan has one of
those rules on the same resource. Prints, in Markdown: the counts per check
(FAIL, matched, unmatched), the unmatched FAILs with an empty reason column
for the reader, and the resources the scan flags that no mapped Prowler check
failed. Standard library only.
"""
import argparse
import collections
import glob
import json
import os
import sys

SG_ANY = ("EC2-SG-001", "EC2-SG-002", "EC2-SG-003", "EC2-SG-004", "EC2-SG-005",
          "EC2-SG-006", "EC2-SG-007")
SG_PORTS = ("EC2-SG-005", "EC2-SG-006", "EC2-SG-007", "EC2-SG-001", "EC2-SG-002")
PREFIX = "ec2_securitygroup_allow_ingress_from_internet_to_"

# Prowler 5.46 check id -> (our rule ids that answer it, note). An empty tuple:
# no rule of ours covers it yet (its FAILs are listed, not counted as misses).
MAPPING = {
    PREFIX + "all_ports": (("EC2-SG-001", "EC2-SG-002"), ""),
    PREFIX + "any_port": (SG_ANY, "Prowler fails it only for a group attached to a network interface"),
    PREFIX + "any_port_from_ip": (SG_ANY, "Prowler: any public CIDR; ours: /0 or a public prefix ≤ wide_ipv4_prefix"),
    PREFIX + "tcp_port_22": (("EC2-SG-003", "EC2-SG-001", "EC2-SG-002"), ""),
    PREFIX + "tcp_port_3389": (("EC2-SG-004", "EC2-SG-001", "EC2-SG-002"), ""),
    PREFIX + "high_risk_tcp_ports": (SG_PORTS, ""),
    PREFIX + "tcp_port_cassandra_7199_9160_8888": (SG_PORTS, ""),
    PREFIX + "tcp_port_elasticsearch_kibana_9200_9300_5601": (SG_PORTS, ""),
    PREFIX + "tcp_port_ftp_20_21": (SG_PORTS, ""),
    PREFIX + "tcp_port_kafka_9092": (SG_PORTS, ""),
    PREFIX + "tcp_port_memcached_11211": (SG_PORTS, ""),
    PREFIX + "tcp_port_mongodb_27017_27018": (SG_PORTS, ""),
    PREFIX + "tcp_port_mysql_3306": (SG_PORTS, ""),
    PREFIX + "tcp_port_oracle_1521_2483": (SG_PORTS, ""),
    PREFIX + "tcp_port_postgres_5432": (SG_PORTS, ""),
    PREFIX + "tcp_port_redis_6379": (SG_PORTS, ""),
    PREFIX + "tcp_port_sql_server_1433_1434": (SG_PORTS, ""),
    PREFIX + "tcp_port_telnet_23": (SG_PORTS, ""),
    "ec2_securitygroup_allow_wide_open_public_ipv4": (
        SG_ANY, "partial: Prowler fails public CIDRs /1–/23 in ingress and egress, any port"),
    "ec2_securitygroup_default_restrict_traffic": ((), "no rule yet (EC2-SG-010 comes later)"),
    "ecs_service_no_assign_public_ip": (("ECS-SVC-001",), ""),
    "ecs_task_set_no_assign_public_ip": ((), "no rule: the scan does not read task sets"),
    "ecs_service_fargate_latest_platform_version": ((), "no rule"),
    "ecs_task_definitions_no_privileged_containers": (("ECS-TD-001",), ""),
    "ecs_task_definitions_containers_readonly_access": (("ECS-TD-002",), ""),
    "ecs_task_definitions_logging_enabled": (("ECS-TD-010",), ""),
    "ecs_task_definitions_logging_block_mode": ((), "no rule on the log driver's mode"),
    "ecs_task_definitions_no_environment_secrets": (("ECS-TD-007", "ECS-TD-008", "ECS-TD-009"), ""),
    "ecs_task_definitions_host_networking_mode_users": (("ECS-TD-005", "ECS-TD-006"), ""),
    "ecs_task_definitions_host_namespace_not_shared": (("ECS-TD-003", "ECS-TD-004"), ""),
    "ecs_cluster_container_insights_enabled": ((), "no rule yet (comes with the cluster rules)"),
}


def resource_key(resource):
    """Both sides named as the scan names them: a group by its id, a service
    as `cluster/service`, a task definition as `family:revision`."""
    if ":security-group/" in resource:
        return resource.rsplit("/", 1)[1]
    if ":service/" in resource:
        return resource.split(":service/", 1)[1]
    if ":task-definition/" in resource:
        return resource.split(":task-definition/", 1)[1]
    return resource


def load_prowler(path):
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "*.ocsf.json")), key=os.path.getmtime)
        if not files:
            sys.exit(f"parity: no *.ocsf.json in {path}")
        path = files[-1]
    with open(path) as f:
        findings = json.load(f)
    fails = collections.defaultdict(list)  # check -> [(resource key, status detail)]
    checks = set()
    for finding in findings:
        check = finding["metadata"]["event_code"]
        checks.add(check)
        if check in MAPPING and finding["status_code"] == "FAIL":
            for resource in finding["resources"]:
                fails[check].append((resource_key(resource["uid"]), finding.get("status_detail", "")))
    return path, checks, fails


def load_scan(path):
    rules = collections.defaultdict(set)  # resource key -> our rule ids
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                sys.exit(f"parity: {path}:{number}: not JSON: {error}")
            if "resource" not in record:
                continue
            for finding in record.get("findings", []):
                rules[resource_key(record["resource"])].add(finding["rule"])
    return rules


def rule_list(rules):
    return "any of EC2-SG-001…007" if rules == SG_ANY else ", ".join(rules) or "–"


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prowler", required=True, help="Prowler's output directory or its .ocsf.json")
    parser.add_argument("--scan", required=True, help="access-guard scan --format json output")
    parser.add_argument("--limit", type=int, default=25, help="unmatched FAILs listed per check")
    args = parser.parse_args()

    prowler_file, ran, fails = load_prowler(args.prowler)
    ours = load_scan(args.scan)
    print(f"Prowler: `{prowler_file}`; access-guard: `{args.scan}` "
          f"({len(ours)} resources with findings).\n")

    print("| Prowler check | access-guard rules | Prowler FAIL | matched | unmatched | note |")
    print("| --- | --- | --- | --- | --- | --- |")
    unmatched = []
    totals = collections.Counter()
    for check, (rules, note) in MAPPING.items():
        if check not in ran:
            continue
        failed = fails.get(check, [])
        if rules:
            hits = [(res, detail) for res, detail in failed if ours.get(res, set()) & set(rules)]
            misses = [(res, detail) for res, detail in failed if not ours.get(res, set()) & set(rules)]
            unmatched += [(check, res, detail) for res, detail in misses]
            totals.update(fail=len(failed), matched=len(hits), unmatched=len(misses))
            matched, missed = str(len(hits)), str(len(misses))
        else:
            matched = missed = "–"
            totals.update(no_rule=len(failed))
        print(f"| `{check.replace(PREFIX, '…')}` | {rule_list(rules)} | {len(failed)} "
              f"| {matched} | {missed} | {cell(note)} |")
    print(f"| **all checks with a rule** | | {totals['fail']} | {totals['matched']} "
          f"| {totals['unmatched']} | FAILs under checks with no rule: {totals['no_rule']} |")
    missing = sorted(set(MAPPING) - ran)
    if missing:
        print(f"\nMapped checks with no result at all (Prowler reports a check only on "
              f"resources of its kind): {', '.join(missing)}.")

    print(f"\nUnmatched Prowler FAILs ({len(unmatched)}; at most {args.limit} per check):\n")
    if unmatched:
        print("| Prowler check | resource | Prowler says | access-guard rules on it | reason |")
        print("| --- | --- | --- | --- | --- |")
        by_check = collections.defaultdict(list)
        for check, res, detail in unmatched:
            by_check[check].append((res, detail))
        for check, misses in by_check.items():
            name = check.replace(PREFIX, "…")
            for res, detail in misses[:args.limit]:
                print(f"| `{name}` | `{res}` | {cell(detail)} "
                      f"| {', '.join(sorted(ours.get(res, ()))) or 'none'} | |")
            if len(misses) > args.limit:
                print(f"| `{name}` | … {len(misses) - args.limit} more | | | |")

    # The other direction: resources we flag with a rule some mapped check
    # answers, where no mapped Prowler check failed.
    answered = {rule for rules, _ in MAPPING.values() for rule in rules}
    failed_anywhere = {res for failed in fails.values() for res, _ in failed}
    extra = collections.Counter()
    for res, rules in ours.items():
        if res not in failed_anywhere:
            for rule in rules & answered:
                extra[rule] += 1
    print("\naccess-guard findings on resources no mapped Prowler check failed, by rule:")
    if extra:
        print("\n| rule | resources |\n| --- | --- |")
        for rule, count in sorted(extra.items()):
            print(f"| {rule} | {count} |")
    else:
        print("none.")


if __name__ == "__main__":
    main()
