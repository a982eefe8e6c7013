#!/usr/bin/env python3
"""access-guard plan and Checkov side by side on the same plans and templates.

For every Checkov check on the resource kinds `plan` reads, the table below
names the rules of ours that find the same thing (or why none should). The
script runs both tools over the fixtures and fails when Checkov finds
something on a resource that a rule of ours should find there and does not.
It prints a Markdown summary (the table in BENCHMARKS.md comes from it):
checks in common, what each tool finds, what only ours finds, and the
alarms each raises on the secure variants.

    scripts/checkov_compare.py --checkov .venv-checkov/bin/checkov \
        --access-guard target/debug/access-guard
"""

import argparse
import collections
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Checkov check -> (our rules, where ours puts it). "resource": on the same
# resource; "file": anywhere in the same file (a load balancer's HTTP
# redirect is judged on its listener, Checkov judges the load balancer).
SAME = {
    "CKV_AWS_24": (["EC2-SG-003", "EC2-SG-001", "EC2-SG-002"], "resource"),
    "CKV_AWS_25": (["EC2-SG-004", "EC2-SG-001", "EC2-SG-002"], "resource"),
    "CKV_AWS_277": (["EC2-SG-001", "EC2-SG-002"], "resource"),
    "CKV_AWS_333": (["ECS-SVC-001"], "resource"),
    "CKV_AWS_334": (["ECS-TD-001"], "resource"),
    "CKV_AWS_335": (["ECS-TD-003"], "resource"),
    "CKV_AWS_336": (["ECS-TD-002"], "resource"),
    "CKV_AWS_249": (["ECS-TD-019"], "resource"),
    "CKV_AWS_97": (["ECS-TD-018"], "resource"),
    "CKV_AWS_65": (["ECS-CL-001"], "resource"),
    "CKV_AWS_223": (["ECS-CL-002"], "resource"),
    "CKV_AWS_224": (["ECS-CL-002"], "resource"),
    "CKV_AWS_332": (["ECS-SVC-006"], "resource"),
    "CKV_AWS_341": (["EC2-CI-004"], "resource"),
    "CKV_AWS_79": (["EC2-CI-001"], "resource"),
    "CKV_AWS_88": (["EC2-CI-002"], "resource"),
    "CKV_AWS_2": (["ELB-001", "ELB-002"], "resource"),
    # HTTP on a listener or a target group.
    "CKV_AWS_378": (["ELB-001", "ELB-002", "ELB-008"], "resource"),
    "CKV2_AWS_74": (["ELB-003", "ELB-001", "ELB-002"], "resource"),
    "CKV2_AWS_20": (["ELB-001"], "file"),
    # At least TLS 1.2: Checkov fails plain HTTP listeners too.
    "CKV_AWS_103": (["ELB-003", "ELB-001", "ELB-002"], "resource"),
    "CKV_AWS_131": (["ELB-004"], "resource"),
    "CKV_AWS_328": (["ELB-005"], "resource"),
    "CKV_AWS_91": (["ELB-006"], "resource"),
    "CKV_AWS_150": (["ELB-007"], "resource"),
    "CKV_AWS_231": (["NET-002"], "resource"),
    "CKV_AWS_232": (["NET-002"], "resource"),
    "CKV_AWS_352": (["NET-002"], "resource"),
    "CKV_AWS_130": (["NET-003"], "resource"),
}

# Checkov's IAM checks judge every identity; ours judge the roles ECS tasks
# assume. Compared where the role is one (a finding of ours on it says so).
IAM = {
    "CKV_AWS_274", "CKV_AWS_275", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_286",
    "CKV_AWS_287", "CKV_AWS_288", "CKV_AWS_289", "CKV_AWS_290", "CKV_AWS_355",
    "CKV2_AWS_40", "CKV_AWS_60", "CKV_AWS_61",
}
IAM_RULES = ["IAM-ECS-001", "IAM-ECS-002", "IAM-ECS-003"]

# Checkov checks on these kinds that no rule of ours should match, and why.
APART = {
    "CKV_AWS_260": "port 80 open to the internet: a web server's or load balancer's job (EC2-SG-007 judges ports outside the authorized public ones)",
    "CKV_AWS_382": "egress to the internet: not a way in",
    "CKV_AWS_23": "a description on every group and rule: housekeeping",
    "CKV2_AWS_5": "a group attached to something: housekeeping",
    "CKV2_AWS_28": "WAF in front of a public ALB: outside ECS access",
    "CKV2_AWS_76": "WAF rules: outside ECS access",
    "CKV_AWS_152": "cross-zone load balancing: availability",
    "CKV2_AWS_15": "Auto Scaling health checks: availability",
    "CKV_AWS_261": "a target group's health check defined: availability",
    "CKV_AWS_126": "detailed monitoring: operations",
    "CKV_AWS_135": "EBS optimisation: performance",
    "CKV_AWS_8": "EBS encryption: data at rest",
    "CKV2_AWS_41": "an instance without a role: not a way in",
    "CKV2_AWS_1": "an ACL attached to subnets: housekeeping",
    "CKV_AWS_229": "ACL open on FTP (21): ours judges SSH and RDP (NET-002), and every port a group opens",
    "CKV_AWS_230": "ACL open on FTP data (20): as above",
    "CKV_AWS_46": "secrets in EC2 user data: not judged from plans yet",
    "CKV2_AWS_56": "IAMFullAccess on any identity: ours judges the roles ECS tasks assume",
    "CKV_AWS_111": "write access without constraints on any identity: as above",
    "CKV_AWS_109": "permissions management on any identity: as above",
    "CKV_AWS_110": "privilege escalation on any identity: as above",
    "CKV_AWS_107": "credentials exposure on any identity: as above",
    "CKV_AWS_108": "data exfiltration on any identity: as above",
    "CKV_AWS_356": "`*` resources for restrictable actions on any identity: as above",
}

# The resource kinds `plan` reads; Checkov's checks on other kinds (buckets,
# VPC flow logs, IAM users) are counted apart.
KINDS = {
    "aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
    "aws_ecs_task_definition", "aws_ecs_service", "aws_ecs_cluster",
    "aws_ecs_cluster_capacity_providers", "aws_ecs_capacity_provider",
    "aws_ecs_account_setting_default", "aws_launch_template", "aws_instance",
    "aws_iam_role", "aws_iam_role_policy", "aws_iam_policy", "aws_iam_role_policy_attachment",
    "aws_lb", "aws_alb", "aws_lb_listener", "aws_alb_listener", "aws_lb_target_group",
    "aws_alb_target_group", "aws_lb_listener_rule", "aws_route", "aws_route_table",
    "aws_network_acl", "aws_network_acl_rule", "aws_subnet",
    "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress", "AWS::ECS::TaskDefinition",
    "AWS::ECS::Service", "AWS::ECS::TaskSet", "AWS::ECS::Cluster", "AWS::ECS::CapacityProvider",
    "AWS::ECS::ClusterCapacityProviderAssociations", "AWS::EC2::LaunchTemplate",
    "AWS::EC2::Instance", "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
    "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::EC2::Route", "AWS::EC2::NetworkAclEntry", "AWS::EC2::Subnet",
}

FIXTURES = [
    # (file, framework, secure variant?)
    ("examples/seed/plan.json", "terraform_plan", False),
    ("examples/secure/plan.json", "terraform_plan", True),
    ("cli/tests/plans/variants/insecure/plan.json", "terraform_plan", False),
    ("cli/tests/plans/variants/secure/plan.json", "terraform_plan", True),
    ("cli/tests/public/terraform/terraform-compliance-sg-open-ingress.plan.json", "terraform_plan", False),
    ("cli/tests/public/terraform/trivy-sg-s3.plan.json", "terraform_plan", False),
    ("cli/tests/public/terraform/checkov-iam-policies.plan.json", "terraform_plan", False),
    ("cli/tests/templates/seed.yaml", "cloudformation", False),
    ("cli/tests/templates/secure.yaml", "cloudformation", True),
    ("cli/tests/public/cloudformation/ecs-refarch-website-service.yaml", "cloudformation", False),
    ("cli/tests/public/cloudformation/ecs-refarch-security-groups.yaml", "cloudformation", False),
    ("cli/tests/public/cloudformation/cfn-templates-ecs-ec2-cluster-public-vpc.yaml", "cloudformation", False),
    ("cli/tests/public/cloudformation/cfn-templates-fargate-private-subnet-public-service.json", "cloudformation", False),
    ("cli/tests/public/cloudformation/cdk-integ-ecs-patterns-alb-fargate-additional-sg.template.json", "cloudformation", False),
]


def checkov(binary, path, framework):
    """Checkov's failed checks: (check id, resource name as ours names it)."""
    out = subprocess.run(
        [binary, "-f", str(ROOT / path), "--framework", framework, "--skip-download",
         "--quiet", "--compact", "-o", "json"],
        capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1):
        sys.exit(f"checkov failed on {path}: {out.stderr}")
    data = json.loads(out.stdout or "{}")
    runs = data if isinstance(data, list) else [data]
    found = []
    for run in runs:
        for check in run.get("results", {}).get("failed_checks", []):
            resource = check["resource"]
            # aws_security_group.web; AWS::EC2::SecurityGroup.WebSG -> WebSG
            # (the logical id, as ours names it).
            kind = resource.split(".", 1)[0]
            if framework == "cloudformation":
                resource = resource.split(".", 1)[-1]
            found.append((check["check_id"], kind, resource))
    return found


def ours(binary, path):
    """Our findings: (rule id, address), and the addresses judged."""
    out = subprocess.run(
        [binary, "plan", "--account", "111122223333", "--format", "json", str(ROOT / path)],
        capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1):
        sys.exit(f"access-guard plan failed on {path}: {out.stderr}")
    found = []
    for line in out.stdout.splitlines():
        doc = json.loads(line)
        for f in doc.get("findings") or []:
            found.append((f["rule"], doc["event_id"]))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", required=True)
    parser.add_argument("--access-guard", required=True)
    args = parser.parse_args()

    both = collections.Counter()        # Checkov check -> found by both
    missed = []                         # (file, check, resource)
    apart = collections.Counter()       # Checkov check set apart
    iam_other = collections.Counter()   # IAM checks on identities ECS tasks do not use
    only_ours = collections.Counter()   # our rule -> findings with no Checkov check
    other_kinds = collections.Counter()  # Checkov checks on kinds `plan` does not read
    alarms = {"checkov": 0, "access-guard": 0}
    kinds_with_checks = set()
    for path, framework, secure in FIXTURES:
        theirs = checkov(args.checkov, path, framework)
        mine = ours(args.access_guard, path)
        if secure:
            alarms["checkov"] += len([t for t in theirs if t[1] in KINDS])
            alarms["access-guard"] += len(mine)
        matched = set()
        for check, kind, resource in theirs:
            if kind not in KINDS:
                other_kinds[check] += 1
            elif check in SAME:
                rules, scope = SAME[check]
                hits = [(r, a) for r, a in mine
                        if r in rules and (scope == "file" or a == resource)]
                if hits:
                    both[check] += 1
                    matched.update(hits)
                    kinds_with_checks.add(check)
                else:
                    missed.append((path, check, resource))
            elif check in IAM:
                hits = [(r, a) for r, a in mine if r in IAM_RULES and a == resource]
                if hits:
                    both[check] += 1
                    matched.update(hits)
                else:
                    iam_other[check] += 1
            else:
                apart[check] += 1
        for finding in mine:
            if finding not in matched:
                only_ours[finding[0]] += 1

    print("| | count |")
    print("| --- | --- |")
    print(f"| Checkov findings ours finds too | {sum(both.values())} ({len(both)} checks) |")
    print(f"| Checkov findings ours misses | {len(missed)} |")
    print(f"| Checkov IAM findings on identities ECS tasks do not assume | {sum(iam_other.values())} |")
    print(f"| Checkov findings outside ECS access (set apart, reasons in the script) | {sum(apart.values())} |")
    print(f"| Checkov findings on resource kinds `plan` does not read | {sum(other_kinds.values())} |")
    print(f"| findings only ours makes | {sum(only_ours.values())} ({len(only_ours)} rules) |")
    print(f"| alarms on the secure variants: Checkov | {alarms['checkov']} |")
    print(f"| alarms on the secure variants: access-guard | {alarms['access-guard']} |")
    print()
    print("Found by both: " + ", ".join(f"{c} ({n})" for c, n in sorted(both.items())))
    print()
    print("Only ours: " + ", ".join(f"{r} ({n})" for r, n in sorted(only_ours.items())))
    print()
    unknown = [c for c in apart if c not in APART]
    print("Set apart: " + ", ".join(f"{c} ({n})" for c, n in sorted(apart.items())))
    if unknown:
        print()
        print("Checkov checks with no entry in this script's tables (add one, with its reason): "
              + ", ".join(sorted(unknown)))
    if missed:
        print()
        for path, check, resource in missed:
            print(f"MISSED: {path}: {check} on {resource}")
        sys.exit(1)
    if unknown:
        sys.exit(1)


if __name__ == "__main__":
    main()
