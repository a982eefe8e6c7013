#!/usr/bin/env python3
"""Creates the sweep's estate in moto: security groups, task definitions, services.

    .venv/bin/python bench/sweep/estate.py --endpoint http://127.0.0.1:PORT --groups 2000

The shape is fixed by the seed (moto picks the ids): N security groups in the
default VPC, 10 % with SSH open to 0.0.0.0/0, 5 % RDP, 5 % all traffic, 3 %
tcp 0-65535 from ::/0, 5 % PostgreSQL, the rest safe (443 from 10.0.0.0/8 and
references to other groups); 20 task definitions (td-00 .. td-19) mixing
privileged containers, writable root filesystems, missing log configuration, a
fake access key in the environment, root users and host networking; 200
services over 2 clusters, each on one of the task definitions, the awsvpc ones
attached to groups of the estate, some assigning public IPs.

With --load-balancers N (DESIGN §14): N application load balancers in the
default VPC's first two subnets, every other one internet-facing, each on a
group of the estate, with one target group (HTTP 8080, two ip targets), an
HTTP listener on 80 (forwarding, or in every third a redirect to HTTPS),
and in every fifth a path rule and deletion protection on; the first N
awsvpc services register their app:8080 with one target group each.

One client per service, no reads between creates (moto answers each call in
milliseconds, but there are two calls per group). Prints the estate's counts
as one JSON object, which the sweep keeps beside its results.
"""
import argparse
import json
import random
import string
import sys
import time
from collections import Counter

import boto3
from botocore.config import Config

ACCOUNT = "123456789012"  # moto's default account
CLUSTERS = ["sweep-a", "sweep-b"]
TASK_DEFINITIONS = 20
SERVICES = 200

# (kind, share of the groups, the offending permission). The rest are safe.
OPEN_KINDS = [
    ("ssh", 0.10, {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                   "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "admin access"}]}),
    ("rdp", 0.05, {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
                   "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}),
    ("all_traffic", 0.05, {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}),
    ("all_tcp_ipv6", 0.03, {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
                            "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}),
    ("postgres", 0.05, {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}),
]
SAFE_HTTPS = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
              "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "internal load balancers"}]}


def fake_key(rng, prefix, length):
    """A made-up key of the right shape (not any published example key)."""
    return prefix + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def fake_secret(rng):
    return "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))


def group_kinds(n, rng):
    kinds = []
    for kind, share, _ in OPEN_KINDS:
        kinds += [kind] * round(n * share)
    kinds += ["safe"] * (n - len(kinds))
    rng.shuffle(kinds)
    return kinds


def create_groups(ec2, vpc_id, n, rng, counts):
    permission_of = {kind: perm for kind, _, perm in OPEN_KINDS}
    ids = []
    for i, kind in enumerate(group_kinds(n, rng)):
        tags = [{"Key": "sweep", "Value": kind}]
        if rng.random() < 0.3:
            tags += [{"Key": "team", "Value": rng.choice(["payments", "search", "platform", "data"])},
                     {"Key": "env", "Value": rng.choice(["prod", "staging", "dev"])}]
            counts["groups_tagged_team"] += 1
        group_id = ec2.create_security_group(
            GroupName=f"sweep-{i:05d}",
            Description=f"sweep estate group {i} ({kind})",
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
        )["GroupId"]
        permissions = [SAFE_HTTPS]
        if kind != "safe":
            permissions = permissions + [permission_of[kind]]
        elif ids and rng.random() < 0.5:
            # App tier reached from another tier's group: a reference, no CIDR.
            permissions = permissions + [{
                "IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                "UserIdGroupPairs": [{"GroupId": rng.choice(ids), "UserId": ACCOUNT}],
            }]
            counts["group_references"] += 1
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
        counts["groups"] += 1
        counts["groups_" + kind] += 1
        counts["ingress_rules"] += len(permissions)
        ids.append(group_id)
    return ids


def create_load_balancers(elb, vpc_id, subnets, group_ids, n, counts):
    """The way in: load balancers, their target groups, listeners and rules.
    Returns the target groups' ARNs, in order."""
    target_groups = []
    for i in range(n):
        public = i % 2 == 0
        lb = elb.create_load_balancer(
            Name=f"sweep-lb-{i:02d}", Subnets=subnets[:2], SecurityGroups=[group_ids[i % len(group_ids)]],
            Scheme="internet-facing" if public else "internal", Type="application",
        )["LoadBalancers"][0]["LoadBalancerArn"]
        tg = elb.create_target_group(
            Name=f"sweep-tg-{i:02d}", Protocol="HTTP", Port=8080, VpcId=vpc_id, TargetType="ip",
            HealthCheckProtocol="HTTP",
        )["TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=tg, Targets=[
            {"Id": f"172.31.{i}.{host}", "Port": 8080} for host in (10, 11)])
        if i % 3 == 0:
            action = {"Type": "redirect", "RedirectConfig": {
                "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
        else:
            action = {"Type": "forward", "TargetGroupArn": tg}
        listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                                       DefaultActions=[action])["Listeners"][0]["ListenerArn"]
        if i % 5 == 0:
            elb.create_rule(ListenerArn=listener, Priority=10,
                            Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
                            Actions=[{"Type": "forward", "TargetGroupArn": tg}])
            elb.modify_load_balancer_attributes(LoadBalancerArn=lb, Attributes=[
                {"Key": "deletion_protection.enabled", "Value": "true"}])
            counts["lb_rules"] += 1
        counts["load_balancers"] += 1
        counts["lb_internet_facing"] += public
        counts["target_groups"] += 1
        counts["targets"] += 2
        target_groups.append(tg)
    return target_groups


def task_definition(i, rng, counts):
    """td-NN: the flags follow the index, so every run registers the same twenty."""
    host = i in (3, 8, 13, 18)
    privileged = i in (0, 7, 14)
    readonly = {0: True, 1: False, 2: None}[i % 3]
    logs = i % 4 != 3
    user = {0: "1000", 1: "root", 2: "1000:1000", 3: None, 4: None}[i % 5]
    env = [{"name": "LOG_LEVEL", "value": "info"}]
    if i in (2, 9, 16):
        env.append({"name": "AWS_ACCESS_KEY_ID", "value": fake_key(rng, "AKIA", 16)})
        env.append({"name": "AWS_SECRET_ACCESS_KEY", "value": fake_secret(rng)})
        counts["td_aws_keys_in_env"] += 1
    if i in (5, 11):
        env.append({"name": "DB_PASSWORD", "value": "hunter2-" + fake_key(rng, "", 8).lower()})
        counts["td_password_in_env"] += 1

    app = {
        "name": "app",
        "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/app-{i:02d}:1.{i}.0",
        "essential": True,
        "memory": 512,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "environment": env,
    }
    if privileged:
        app["privileged"] = True
    if readonly is not None:
        app["readonlyRootFilesystem"] = readonly
    if user is not None:
        app["user"] = user
    if logs:
        app["logConfiguration"] = {"logDriver": "awslogs", "options": {
            "awslogs-group": f"/ecs/td-{i:02d}", "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "app"}}
    containers = [app]
    if i % 2 == 0:
        sidecar = {"name": "proxy", "image": "nginx:latest", "essential": False, "memory": 128,
                   "readonlyRootFilesystem": True, "user": "101"}
        if logs:
            sidecar["logConfiguration"] = app["logConfiguration"]
        containers.append(sidecar)

    counts["task_definitions"] += 1
    counts["td_privileged"] += privileged
    counts["td_readonly_root_" + {True: "true", False: "false", None: "absent"}[readonly]] += 1
    counts["td_no_log_configuration"] += not logs
    counts["td_user_" + {"root": "root", None: "absent"}.get(user, "non_root")] += 1
    counts["td_network_host" if host else "td_network_awsvpc"] += 1
    td = {
        "family": f"td-{i:02d}",
        "networkMode": "host" if host else "awsvpc",
        "containerDefinitions": containers,
        "tags": [{"key": "sweep", "value": "estate"}],
    }
    if not host:
        td.update(requiresCompatibilities=["EC2", "FARGATE"], cpu="256", memory="1024")
    return td


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="moto server, http://127.0.0.1:PORT")
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--load-balancers", type=int, default=0)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    # One stream per part, so the task definitions and the services' settings
    # are the same whatever the number of groups.
    def stream(part):
        return random.Random(f"{args.seed}/{part}")
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=args.region)
    config = Config(retries={"max_attempts": 2, "mode": "standard"})
    ec2 = session.client("ec2", endpoint_url=args.endpoint, config=config)
    ecs = session.client("ecs", endpoint_url=args.endpoint, config=config)

    started = time.monotonic()
    counts = Counter({k: 0 for k in [
        "groups", *("groups_" + kind for kind, _, _ in OPEN_KINDS), "groups_safe",
        "groups_tagged_team", "group_references", "ingress_rules",
        "task_definitions", "td_privileged", "td_readonly_root_true", "td_readonly_root_false",
        "td_readonly_root_absent", "td_no_log_configuration", "td_user_root", "td_user_absent",
        "td_user_non_root", "td_network_awsvpc", "td_network_host", "td_aws_keys_in_env",
        "td_password_in_env", "clusters", "services", "services_awsvpc", "services_public_ip",
        "services_host_network", "load_balancers", "lb_internet_facing", "target_groups",
        "targets", "lb_rules", "services_behind_lb"]})

    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = sorted(s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"])
    group_ids = create_groups(ec2, vpc_id, args.groups, stream("groups"), counts)
    target_groups = []
    if args.load_balancers:
        elb = session.client("elbv2", endpoint_url=args.endpoint, config=config)
        target_groups = create_load_balancers(elb, vpc_id, subnets, group_ids,
                                              args.load_balancers, counts)

    host_families = set()
    secrets = stream("task-definitions")
    for i in range(TASK_DEFINITIONS):
        td = task_definition(i, secrets, counts)
        if td["networkMode"] == "host":
            host_families.add(td["family"])
        ecs.register_task_definition(**td)

    for name in CLUSTERS:
        ecs.create_cluster(clusterName=name)
        counts["clusters"] += 1

    public_ip, attached = stream("public-ip"), stream("attached-groups")
    for i in range(SERVICES):
        family = f"td-{i % TASK_DEFINITIONS:02d}"
        service = {
            "cluster": CLUSTERS[(i // TASK_DEFINITIONS) % len(CLUSTERS)],
            "serviceName": f"svc-{i:03d}",
            "taskDefinition": family,
            "desiredCount": 1,
        }
        if family in host_families:
            service["launchType"] = "EC2"
            counts["services_host_network"] += 1
        else:
            public = public_ip.random() < 0.3
            service["launchType"] = "FARGATE" if i % 2 else "EC2"
            service["networkConfiguration"] = {"awsvpcConfiguration": {
                "subnets": subnets[:2],
                "securityGroups": attached.sample(group_ids, attached.choice([1, 2])),
                "assignPublicIp": "ENABLED" if public else "DISABLED",
            }}
            counts["services_awsvpc"] += 1
            counts["services_public_ip"] += public
            if counts["services_behind_lb"] < len(target_groups):
                service["loadBalancers"] = [{
                    "targetGroupArn": target_groups[counts["services_behind_lb"]],
                    "containerName": "app", "containerPort": 8080}]
                counts["services_behind_lb"] += 1
        ecs.create_service(**service)
        counts["services"] += 1

    counts["seconds"] = round(time.monotonic() - started, 2)
    counts["seed"] = args.seed
    counts["vpc"] = vpc_id
    json.dump(dict(counts), sys.stdout)
    print()


if __name__ == "__main__":
    main()
