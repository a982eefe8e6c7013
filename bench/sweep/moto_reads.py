#!/usr/bin/env python3
"""moto's own time for the reads a sweep makes, from boto3 against the same moto.

    .venv/bin/python bench/sweep/moto_reads.py --endpoint http://127.0.0.1:PORT

The reads, in order, each paginated as the scan does: DescribeSecurityGroups
and DescribeSecurityGroupRules (MaxResults 1000), ListClusters and
ListServices per cluster (MaxResults 100), DescribeServices in batches of 10,
and DescribeTaskDefinition once for each distinct task definition the
services run; then the way in (DESIGN §14) as the scan reads it:
DescribeSubnets, DescribeRouteTables, DescribeNetworkAcls,
DescribeInternetGateways and DescribeNetworkInterfaces (MaxResults 1000),
DescribeLoadBalancers and DescribeTargetGroups (PageSize 400),
DescribeLoadBalancerAttributes and DescribeListeners per load balancer,
DescribeRules per HTTP listener, DescribeTargetHealth per target group. One call after another (the scan reads EC2 and ECS side by
side). Wall clock of the whole pass, best of --repeat (one client per
service, made before the clock starts). Prints {"seconds": ..., "calls": N,
...} with the time per operation of the best pass.
"""
import argparse
import json
import sys
import time

import boto3
from botocore.config import Config


class Calls:
    """Counts calls and sums their time per operation."""

    def __init__(self):
        self.count = 0
        self.without_way_in = 0.0
        self.seconds = {}

    def add(self, operation, seconds):
        self.count += 1
        self.seconds[operation] = self.seconds.get(operation, 0.0) + seconds


def pages(client, operation, calls, **kwargs):
    iterator = iter(client.get_paginator(operation).paginate(**kwargs))
    while True:
        started = time.perf_counter()
        page = next(iterator, None)
        if page is None:
            return
        calls.add(operation, time.perf_counter() - started)
        yield page


def call(client, operation, calls, **kwargs):
    started = time.perf_counter()
    response = getattr(client, operation)(**kwargs)
    calls.add(operation, time.perf_counter() - started)
    return response


def way_in(ec2, elb, calls):
    """The VPCs' and load balancers' reads; the counts read."""
    seen = {}
    for operation, key in [("describe_subnets", "Subnets"), ("describe_route_tables", "RouteTables"),
                           ("describe_network_acls", "NetworkAcls"),
                           ("describe_internet_gateways", "InternetGateways"),
                           ("describe_network_interfaces", "NetworkInterfaces")]:
        seen[key] = sum(len(p[key]) for p in
                        pages(ec2, operation, calls, PaginationConfig={"PageSize": 1000}))
    lbs = [lb["LoadBalancerArn"] for p in pages(elb, "describe_load_balancers", calls,
                                                  PaginationConfig={"PageSize": 400})
           for lb in p["LoadBalancers"]]
    tgs = [tg["TargetGroupArn"] for p in pages(elb, "describe_target_groups", calls,
                                                 PaginationConfig={"PageSize": 400})
           for tg in p["TargetGroups"]]
    for arn in lbs:
        call(elb, "describe_load_balancer_attributes", calls, LoadBalancerArn=arn)
        listeners = call(elb, "describe_listeners", calls, LoadBalancerArn=arn)["Listeners"]
        for listener in listeners:
            if listener["Protocol"] in ("HTTP", "HTTPS"):
                call(elb, "describe_rules", calls, ListenerArn=listener["ListenerArn"])
    for arn in tgs:
        call(elb, "describe_target_health", calls, TargetGroupArn=arn)
    seen.update(LoadBalancers=len(lbs), TargetGroups=len(tgs))
    return seen


def one_pass(ec2, ecs, elb):
    calls = Calls()
    groups = sum(len(p["SecurityGroups"]) for p in
                 pages(ec2, "describe_security_groups", calls, PaginationConfig={"PageSize": 1000}))
    rules = sum(len(p["SecurityGroupRules"]) for p in
                pages(ec2, "describe_security_group_rules", calls, PaginationConfig={"PageSize": 1000}))
    clusters = [arn for p in pages(ecs, "list_clusters", calls,
                                          PaginationConfig={"PageSize": 100}) for arn in p["clusterArns"]]
    services = 0
    task_definitions = set()
    for cluster in clusters:
        arns = [arn for p in pages(ecs, "list_services", calls, cluster=cluster,
                                   PaginationConfig={"PageSize": 100})
                for arn in p["serviceArns"]]
        for start in range(0, len(arns), 10):
            described = call(ecs, "describe_services", calls, cluster=cluster,
                             services=arns[start:start + 10])
            services += len(described["services"])
            task_definitions.update(s["taskDefinition"] for s in described["services"])
    for arn in sorted(task_definitions):
        call(ecs, "describe_task_definition", calls, taskDefinition=arn)
    before = sum(calls.seconds.values())
    read = way_in(ec2, elb, calls)
    calls.without_way_in = before
    return calls, {"way_in": read,"groups": groups, "group_rules": rules, "clusters": len(clusters),
                      "services": services, "task_definitions": len(task_definitions)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=args.region)
    config = Config(retries={"max_attempts": 1})
    ec2 = session.client("ec2", endpoint_url=args.endpoint, config=config)
    ecs = session.client("ecs", endpoint_url=args.endpoint, config=config)
    elb = session.client("elbv2", endpoint_url=args.endpoint, config=config)

    runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        calls, seen = one_pass(ec2, ecs, elb)
        runs.append((time.perf_counter() - started, calls))
    best, calls = min(runs, key=lambda run: run[0])
    json.dump({"seconds": round(best, 3), "calls": calls.count,
               "seconds_without_way_in": round(calls.without_way_in, 3),
               "runs": [round(t, 3) for t, _ in runs],
               "best_run_by_operation": {op: round(t, 3) for op, t in calls.seconds.items()},
               **seen}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
