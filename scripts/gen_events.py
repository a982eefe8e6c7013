#!/usr/bin/env python3
"""Writes the sample events in events/ (run once; the files are committed and reviewed).

Each file is one EventBridge event shaped like a real CloudTrail record of the call.
"""
import json, os, uuid

ACCOUNT = "111122223333"
REGION = "eu-west-1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "events")


def ident(n):
    return str(uuid.UUID(int=0x5eed0000_0000_4000_8000_000000000000 + n))


def identity():
    return {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEROLEID0001:jane.doe",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformEngineer/jane.doe",
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLEKEYID0001",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLEID0001",
                              "arn": f"arn:aws:iam::{ACCOUNT}:role/PlatformEngineer",
                              "accountId": ACCOUNT, "userName": "PlatformEngineer"},
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-11-02T08:55:00Z", "mfaAuthenticated": "false"},
        },
    }


def envelope(n, name, request, response, error=None, source="ec2", time="2026-11-02T09:14:07Z", region=REGION):
    detail = {
        "eventVersion": "1.10",
        "userIdentity": identity(),
        "eventTime": time,
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#ec2." + name,
        "requestParameters": request,
        "responseElements": response,
        "requestID": ident(1000 + n),
        "eventID": ident(n),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": f"{source}.{region}.amazonaws.com"},
    }
    if error:
        detail["errorCode"], detail["errorMessage"] = error
        detail["responseElements"] = None
    return {
        "version": "0",
        "id": ident(5000 + n),
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{source}",
        "account": ACCOUNT,
        "time": time,
        "region": region,
        "resources": [],
        "detail": detail,
    }


def items(xs):
    return {"items": xs} if xs else {}


def perm(proto, frm, to, v4=(), v6=(), pls=(), groups=()):
    p = {"ipProtocol": proto}
    if frm is not None:
        p["fromPort"], p["toPort"] = frm, to
    p["groups"] = items([dict(g) for g in groups])
    p["ipRanges"] = items([{"cidrIp": c} for c in v4])
    p["ipv6Ranges"] = items([{"cidrIpv6": c} for c in v6])
    p["prefixListIds"] = items([{"prefixListId": c} for c in pls])
    return p


def created(group, rules):
    """securityGroupRuleSet items for (rule_id, proto, from, to, kind, value)."""
    out = []
    for rid, proto, frm, to, kind, value in rules:
        item = {"groupOwnerId": ACCOUNT, "groupId": group, "securityGroupRuleId": rid,
                "isEgress": False, "ipProtocol": proto, "fromPort": frm, "toPort": to}
        if kind == "group":
            item["referencedGroupInfo"] = {"groupId": value, "userId": ACCOUNT}
        else:
            item[kind] = value
        out.append(item)
    return {"requestId": ident(9000), "_return": True, "securityGroupRuleSet": {"items": out}}


def authorize(n, group, perms, rules):
    return envelope(n, "AuthorizeSecurityGroupIngress",
                    {"groupId": group, "ipPermissions": items(perms)}, created(group, rules))


SG = "sg-0a1b2c3d4e5f60718"
DEFAULT_SG = "sg-0d0e0f1a2b3c40506"
PREFIX_LIST = "pl-0a1b2c3d4e5f60718"
events = {
    "sg-ssh-open-nested.json": authorize(1, SG, [perm("tcp", 22, 22, v4=["0.0.0.0/0"])],
        [("sgr-0ssh0000000000001", "tcp", 22, 22, "cidrIpv4", "0.0.0.0/0")]),
    "sg-ssh-open-flat-form.json": envelope(2, "AuthorizeSecurityGroupIngress",
        {"groupId": SG, "ipPermissions": {}, "cidrIp": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22},
        created(SG, [("sgr-0flat000000000002", "tcp", 22, 22, "cidrIpv4", "0.0.0.0/0")])),
    "sg-ssh-open-ipv6.json": authorize(3, SG, [perm("tcp", 22, 22, v6=["::/0"])],
        [("sgr-0ipv6000000000003", "tcp", 22, 22, "cidrIpv6", "::/0")]),
    "sg-all-traffic-open.json": authorize(4, SG, [perm("-1", None, None, v4=["0.0.0.0/0"])],
        [("sgr-0all0000000000004", "-1", -1, -1, "cidrIpv4", "0.0.0.0/0")]),
    "sg-rdp-split-halves.json": authorize(5, SG, [perm("tcp", 3389, 3389, v4=["0.0.0.0/1", "128.0.0.0/1"])],
        [("sgr-0half000000000051", "tcp", 3389, 3389, "cidrIpv4", "0.0.0.0/1"),
         ("sgr-0half000000000052", "tcp", 3389, 3389, "cidrIpv4", "128.0.0.0/1")]),
    "sg-https-open-safe.json": authorize(6, SG, [perm("tcp", 443, 443, v4=["0.0.0.0/0"], v6=["::/0"])],
        [("sgr-0https00000000061", "tcp", 443, 443, "cidrIpv4", "0.0.0.0/0"),
         ("sgr-0https00000000062", "tcp", 443, 443, "cidrIpv6", "::/0")]),
    "sg-mixed-ssh-and-https.json": authorize(7, SG,
        [perm("tcp", 22, 22, v4=["0.0.0.0/0"]), perm("tcp", 443, 443, v4=["0.0.0.0/0"])],
        [("sgr-0mixssh000000071", "tcp", 22, 22, "cidrIpv4", "0.0.0.0/0"),
         ("sgr-0mixhttps0000072", "tcp", 443, 443, "cidrIpv4", "0.0.0.0/0")]),
    "sg-ssh-private-source.json": authorize(8, SG, [perm("tcp", 22, 22, v4=["10.20.0.0/16"], groups=[{"groupId": "sg-0bastion000000001", "userId": ACCOUNT}])],
        [("sgr-0priv000000000081", "tcp", 22, 22, "cidrIpv4", "10.20.0.0/16"),
         ("sgr-0priv000000000082", "tcp", 22, 22, "group", "sg-0bastion000000001")]),
    "sg-failed-call-unauthorized.json": envelope(9, "AuthorizeSecurityGroupIngress",
        {"groupId": SG, "ipPermissions": items([perm("tcp", 22, 22, v4=["0.0.0.0/0"])])}, None,
        error=("Client.UnauthorizedOperation", "You are not authorized to perform this operation.")),
    "sg-modify-rule-to-rdp-world.json": envelope(10, "ModifySecurityGroupRules",
        {"ModifySecurityGroupRulesRequest": {"GroupId": SG, "SecurityGroupRule": {
            "SecurityGroupRuleId": "sgr-0modify0000000010", "tag": 1,
            "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "CidrIpv4": "0.0.0.0/0",
                                  "Description": "temporary admin access"}}}},
        {"ModifySecurityGroupRulesResponse": {"requestId": ident(9010), "return": True}}),
    "sg-ssh-older-record-no-rule-ids.json": envelope(11, "AuthorizeSecurityGroupIngress",
        {"groupId": SG, "ipPermissions": items([perm("tcp", 22, 22, v4=["0.0.0.0/0"])])},
        {"requestId": ident(9011), "_return": True}),
    "sg-ssh-duplicate.json": envelope(12, "AuthorizeSecurityGroupIngress",
        {"groupId": SG, "ipPermissions": items([perm("tcp", 22, 22, v4=["0.0.0.0/0"])])}, None,
        error=("Client.InvalidPermission.Duplicate", "the specified rule \"peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW\" already exists")),
    "sg-protocol-number-gre.json": authorize(13, SG, [perm("47", None, None, v4=["0.0.0.0/0"])],
        [("sgr-0gre0000000000013", "47", -1, -1, "cidrIpv4", "0.0.0.0/0")]),
    "sg-icmp-type-22-not-ssh.json": authorize(14, SG, [perm("icmp", 22, 0, v4=["0.0.0.0/0"])],
        [("sgr-0icmp000000000014", "icmp", 22, 0, "cidrIpv4", "0.0.0.0/0")]),
    "sg-udp-wide-range.json": authorize(15, SG, [perm("udp", 1000, 2999, v6=["2000::/3"])],
        [("sgr-0udp0000000000015", "udp", 1000, 2999, "cidrIpv6", "2000::/3")]),
    "sg-redis-open.json": authorize(16, SG, [perm("tcp", 6379, 6379, v4=["0.0.0.0/0"])],
        [("sgr-0redis00000000016", "tcp", 6379, 6379, "cidrIpv4", "0.0.0.0/0")]),
    "sg-mysql-open-host-bits.json": authorize(17, SG, [perm("6", 3306, 3306, v4=["203.0.113.50/0"])],
        [("sgr-0mysql00000000017", "6", 3306, 3306, "cidrIpv4", "203.0.113.50/0")]),
    "sg-unparseable-cidr.json": envelope(18, "AuthorizeSecurityGroupIngress",
        {"groupId": SG, "ipPermissions": items([perm("tcp", 8443, 8443, v4=["0.0.0.0/33"])])},
        {"requestId": ident(9018), "_return": True}),
    "sg-custom-port-outside-authorized.json": authorize(19, SG, [perm("tcp", 8443, 8443, v4=["0.0.0.0/0"])],
        [("sgr-0custom0000000019", "tcp", 8443, 8443, "cidrIpv4", "0.0.0.0/0")]),
    "sg-egress-not-handled.json": envelope(20, "AuthorizeSecurityGroupEgress",
        {"groupId": SG, "ipPermissions": items([perm("-1", None, None, v4=["0.0.0.0/0"])])},
        {"requestId": ident(9020), "_return": True}),
    # EC2-SG-008..011 and prefix lists as internet sources.
    "sg-udp-dns-open.json": authorize(21, SG, [perm("udp", 53, 53, v4=["0.0.0.0/0"])],
        [("sgr-0dns0000000000021", "udp", 53, 53, "cidrIpv4", "0.0.0.0/0")]),
    "sg-wide-public-cidr.json": authorize(22, SG, [perm("tcp", 5432, 5432, v4=["52.16.0.0/12"])],
        [("sgr-0wide00000000022", "tcp", 5432, 5432, "cidrIpv4", "52.16.0.0/12")]),
    "sg-default-group-rule.json": envelope(23, "AuthorizeSecurityGroupIngress",
        {"groupName": "default", "ipPermissions": items([perm("tcp", 443, 443, v4=["10.0.0.0/8"])])},
        created(DEFAULT_SG, [("sgr-0default000000023", "tcp", 443, 443, "cidrIpv4", "10.0.0.0/8")])),
    "sg-prefix-list-source.json": authorize(24, SG, [perm("tcp", 22, 22, pls=[PREFIX_LIST])],
        [("sgr-0plist00000000024", "tcp", 22, 22, "prefixListId", PREFIX_LIST)]),
    "sg-cross-account-group.json": envelope(25, "AuthorizeSecurityGroupIngress",
        {"groupId": SG, "ipPermissions": items([perm("tcp", 5432, 5432,
            groups=[{"groupId": "sg-0e1f2a3b4c5d60789", "userId": "444455556666"}])])},
        {"requestId": ident(9025), "_return": True}),
    "sg-modify-prefix-list-adds-world.json": envelope(26, "ModifyManagedPrefixList",
        {"ModifyManagedPrefixListRequest": {"PrefixListId": PREFIX_LIST, "CurrentVersion": 4,
            "AddEntry": {"Description": "temporary vendor access", "cidr": "0.0.0.0/0", "tag": 1}}},
        {"ModifyManagedPrefixListResponse": {"requestId": ident(9026), "prefixList": {
            "prefixListId": PREFIX_LIST, "addressFamily": "IPv4", "state": "modify-in-progress",
            "prefixListArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:prefix-list/{PREFIX_LIST}",
            "prefixListName": "partner-offices", "maxEntries": 20, "version": 4, "ownerId": ACCOUNT}}}),
}

# --- RegisterTaskDefinition -------------------------------------------------
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
DIGEST = "sha256:" + "3f" * 32
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders-api-task"


def logs(name):
    return {"logDriver": "awslogs", "options": {"awslogs-group": f"/ecs/{name}", "awslogs-region": REGION,
                                                 "awslogs-stream-prefix": "ecs", "mode": "non-blocking"}}


def clean_container(name="api", **over):
    c = {"name": name, "image": f"{ECR}/orders-api@{DIGEST}", "cpu": 256, "memory": 512, "essential": True,
         "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
         "environment": [{"name": "APP_ENV", "value": "production"}, {"name": "LOG_LEVEL", "value": "info"}],
         "secrets": [{"name": "DB_PASSWORD", "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:orders/db-Ab12Cd"}],
         "readonlyRootFilesystem": True, "user": "1000:1000", "logConfiguration": logs(name),
         "linuxParameters": {"capabilities": {"drop": ["ALL"]}}}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def task_def(family, containers, **over):
    td = {"family": family, "taskRoleArn": TASK_ROLE, "executionRoleArn": EXEC_ROLE, "networkMode": "awsvpc",
          "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024",
          "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
          "containerDefinitions": containers,
          "tags": [{"key": "team", "value": "orders"}, {"key": "environment", "value": "production"}]}
    td.update(over)
    return {k: v for k, v in td.items() if v is not None}


def register(n, td, omit_request=False):
    response_td = dict(td, taskDefinitionArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{td['family']}:{n}",
                       revision=n, status="ACTIVE", registeredAt="Nov 2, 2026, 9:14:07 AM",
                       registeredBy=f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformEngineer/jane.doe",
                       compatibilities=["EC2", "FARGATE"])
    request = td
    response = {"taskDefinition": response_td}
    if "tags" in response_td:
        # ECS returns the tags beside the definition, not in it.
        response["tags"] = response_td.pop("tags")
    if omit_request:
        # CloudTrail drops oversized parameters; the response keeps only the ARN.
        request = {"omitted": True, "originalSize": 312345}
        response_td = {k: response_td[k] for k in ("taskDefinitionArn", "family", "revision", "status")}
        response = {"taskDefinition": response_td}
    return envelope(n, "RegisterTaskDefinition", request, response, source="ecs")


# The AWS documentation's example keys: reported as examples (info), not leaks.
AKIA_EXAMPLE = "AKIAIOSFODNN7EXAMPLE"
SECRET_EXAMPLE = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# Made-up keys of the real shape (not the documentation's).
AKIA_FAKE = "AKIA" + "Q3EGRJ7XKZ2MN4PL"
SECRET_FAKE = "q8Zr3LmX/T2vN9pKc7Wd" + "+Hs4Jf6Gb1Ye5Ua0Ri8O"


def github_token(payload):
    """A GitHub classic token with a valid checksum (CRC32 of the payload, base62)."""
    import zlib
    b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    value, digits = zlib.crc32(payload.encode()), ""
    for _ in range(6):
        digits = b62[value % 62] + digits
        value //= 62
    return "ghp_" + payload + digits

td_events = {
    "td-privileged.json": task_def("node-exporter", [clean_container("exporter", privileged=True)]),
    "td-writable-root-filesystem.json": task_def("orders-api", [clean_container(readonlyRootFilesystem=None)]),
    "td-host-pid.json": task_def("profiler", [clean_container()], pidMode="host", requiresCompatibilities=["EC2"]),
    "td-host-ipc.json": task_def("shm-cache", [clean_container()], ipcMode="host", requiresCompatibilities=["EC2"]),
    "td-host-network-root.json": task_def("edge-proxy", [clean_container("proxy", user=None, portMappings=[{"containerPort": 8443, "hostPort": 8443}])],
                                           networkMode="host", requiresCompatibilities=["EC2"]),
    "td-root-user.json": task_def("orders-api", [clean_container(user="0:0")]),
    "td-aws-keys-in-env.json": task_def("report-export", [clean_container("export", environment=[
        {"name": "AWS_ACCESS_KEY_ID", "value": AKIA_FAKE},
        {"name": "AWS_SECRET_ACCESS_KEY", "value": SECRET_FAKE},
        {"name": "AWS_REGION", "value": REGION}])]),
    "td-secret-values-in-env.json": task_def("orders-api", [clean_container(environment=[
        {"name": "DATABASE_URL", "value": "postgres://orders:Tr0ub4dor-and-3@orders-db.internal:5432/orders"},
        {"name": "GITHUB_DEPLOY", "value": github_token("x7Kq2mP9vR4tW8yB3nC6dF1gH5jL0s")},
        {"name": "SESSION_SEED", "value": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJvcmRlcnMtYXBpIiwicm9sZSI6ImFkbWluIn0.qL4p0Ya3Xv9sFh2Wm7Rk1Tz8Nc5Bd6Ue0Gj3Io"},
        {"name": "APP_ENV", "value": "production"}])]),
    "td-secret-name-literal.json": task_def("orders-api", [clean_container(environment=[
        {"name": "SMTP_PASSWORD", "value": "summer-sale-2026"},
        {"name": "TOKEN_TTL_SECONDS", "value": "3600"},
        {"name": "API_TOKEN", "value": "${API_TOKEN}"}])]),
    "td-no-log-configuration.json": task_def("batch-job", [clean_container("job", logConfiguration=None)]),
    "td-dangerous-capabilities.json": task_def("net-debug", [clean_container("debug", linuxParameters={
        "capabilities": {"add": ["NET_ADMIN", "CAP_SYS_PTRACE", "CHOWN"], "drop": ["ALL"]}})], requiresCompatibilities=["EC2"]),
    "td-host-device.json": task_def("disk-probe", [clean_container("probe", linuxParameters={
        "devices": [{"hostPath": "/dev/xvda", "containerPath": "/dev/xvda", "permissions": ["read"]}],
        "capabilities": {"drop": ["ALL"]}})], requiresCompatibilities=["EC2"]),
    "td-docker-socket-mount.json": task_def("ci-runner", [clean_container("runner", mountPoints=[
        {"sourceVolume": "docker", "containerPath": "/var/run/docker.sock", "readOnly": False},
        {"sourceVolume": "ecs-config", "containerPath": "/host/ecs", "readOnly": True}])],
        volumes=[{"name": "docker", "host": {"sourcePath": "/var/run/docker.sock"}},
                 {"name": "ecs-config", "host": {"sourcePath": "/etc/ecs/../ecs/"}}],
        requiresCompatibilities=["EC2"], networkMode="bridge"),
    "td-seccomp-unconfined.json": task_def("legacy-app", [clean_container("legacy", dockerSecurityOptions=["seccomp:unconfined", "no-new-privileges:true"])],
                                            requiresCompatibilities=["EC2"]),
    "td-untrusted-registry.json": task_def("orders-api", [clean_container(image="ghcr.io/some-vendor/orders-api@" + DIGEST)]),
    "td-mutable-image-latest.json": task_def("orders-api", [clean_container(image=f"{ECR}/orders-api:latest")]),
    "td-risky-port-mappings.json": task_def("legacy-web", [clean_container("web", portMappings=[
        {"containerPort": 80, "hostPort": 80, "protocol": "tcp"},
        {"containerPort": 22, "hostPort": 2222, "protocol": "tcp"}])], networkMode="bridge", requiresCompatibilities=["EC2"]),
    "td-clean-fargate.json": task_def("orders-api", [clean_container()]),
    "td-multi-container.json": task_def("orders-stack", [
        clean_container(),
        clean_container("log-router", image="public.ecr.aws/aws-observability/aws-for-fluent-bit:latest", user=None,
                        readonlyRootFilesystem=None, portMappings=[]),
        clean_container("debug-shell", image="busybox", privileged=True, logConfiguration=None, portMappings=[],
                        environment=[{"name": "ADMIN_PASSWORD", "value": "letmein-please"}]),
    ]),
}
for i, (name, td) in enumerate(td_events.items()):
    events[name] = register(100 + i, td)
# The documentation's example keys: reported at info, as examples.
events["td-aws-documentation-example-keys.json"] = register(152, task_def("docs-demo", [clean_container("demo", environment=[
    {"name": "AWS_ACCESS_KEY_ID", "value": AKIA_EXAMPLE},
    {"name": "AWS_SECRET_ACCESS_KEY", "value": SECRET_EXAMPLE}])]))
# A Docker volume bound to the host's Docker socket is a host mount too.
events["td-docker-volume-bind-socket.json"] = register(151, task_def("build-agent", [clean_container("agent", mountPoints=[
        {"sourceVolume": "dockersock", "containerPath": "/var/run/docker.sock", "readOnly": False}])],
        volumes=[{"name": "dockersock", "dockerVolumeConfiguration": {"scope": "task", "driver": "local",
                  "driverOpts": {"type": "none", "o": "bind", "device": "/var/run/docker.sock"}}}],
        requiresCompatibilities=["EC2"], networkMode="bridge"))
# EFS without transit encryption (absent means DISABLED); the encrypted volume passes.
events["td-efs-without-transit-encryption.json"] = register(153, task_def("media-store", [clean_container("media", mountPoints=[
        {"sourceVolume": "uploads", "containerPath": "/srv/uploads", "readOnly": False},
        {"sourceVolume": "archive", "containerPath": "/srv/archive", "readOnly": True}])],
        volumes=[{"name": "uploads", "efsVolumeConfiguration": {"fileSystemId": "fs-0a1b2c3d4e5f60001", "rootDirectory": "/uploads"}},
                 {"name": "archive", "efsVolumeConfiguration": {"fileSystemId": "fs-0a1b2c3d4e5f60001", "transitEncryption": "ENABLED",
                                                                "authorizationConfig": {"iam": "ENABLED"}}}]))
# Windows: no user runs as ContainerAdministrator; ContainerUser passes. No Linux-only rules.
events["td-windows-container-administrator.json"] = register(154, task_def("legacy-iis", [
        clean_container("iis", image=f"{ECR}/legacy-iis@{DIGEST}", user=None, readonlyRootFilesystem=None, linuxParameters=None),
        clean_container("agent", image=f"{ECR}/legacy-agent@{DIGEST}", user="ContainerAdministrator", readonlyRootFilesystem=None, linuxParameters=None),
        clean_container("reports", image=f"{ECR}/legacy-reports@{DIGEST}", user="ContainerUser", readonlyRootFilesystem=None, linuxParameters=None)],
        cpu="1024", memory="2048", runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}))
# The defaults ECS gives when a field is left out: no capability dropped,
# blocking log delivery, no tags.
events["td-capabilities-not-dropped.json"] = register(160, task_def("orders-api", [clean_container(linuxParameters=None)]))
events["td-blocking-log-mode.json"] = register(161, task_def("orders-api", [clean_container(logConfiguration={
    "logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api", "awslogs-region": REGION, "awslogs-stream-prefix": "ecs"}})]))
events["td-untagged.json"] = register(162, task_def("orders-api", [clean_container()], tags=None))
# One role for the application and the agent.
events["td-task-role-equals-execution-role.json"] = register(155, task_def("orders-api", [clean_container()], taskRoleArn=EXEC_ROLE))
# EC2, networkMode absent (bridge), no task memory: a container with only a
# soft reservation has no limit (ECS refuses a container with neither).
events["td-ec2-bridge-no-memory-limit.json"] = register(156, task_def("batch-worker", [
        clean_container("worker", memory=None, memoryReservation=256, portMappings=[]),
        clean_container("sidecar", memory=None, memoryReservation=128, portMappings=[])],
        networkMode=None, cpu=None, memory=None, requiresCompatibilities=["EC2"]))
# Hardened: capabilities dropped, non-blocking logs, tagged: clean under every rule.
events["td-hardened-tagged.json"] = register(157, task_def("orders-api", [clean_container(
        linuxParameters={"capabilities": {"drop": ["ALL"]}},
        logConfiguration={"logDriver": "awslogs", "options": dict(logs("api")["options"], mode="non-blocking", **{"max-buffer-size": "25m"})})],
        tags=[{"key": "owner", "value": "orders-team"}, {"key": "cost-center", "value": "cc-1042"}]))
events["td-omitted-request.json"] = register(150, task_def("huge-stack", [clean_container(privileged=True)]), omit_request=True)

# --- CreateService / UpdateService -------------------------------------------
CLUSTER = "prod"
SVC_SG = "sg-0c1d2e3f4a5b60789"


def network(public=False, groups=(SVC_SG,)):
    vpc = {"subnets": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"], "assignPublicIp": "ENABLED" if public else "DISABLED"}
    if groups:
        vpc["securityGroups"] = list(groups)
    return {"awsvpcConfiguration": vpc}


def service_response(name, td, net, exec_on, cluster=CLUSTER, desired=2):
    return {"service": {
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}", "serviceName": name,
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}",
        "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{td}", "desiredCount": desired,
        "runningCount": 0, "pendingCount": 0, "launchType": "FARGATE", "platformVersion": "LATEST",
        "platformFamily": "Linux", "networkConfiguration": net, "enableExecuteCommand": exec_on,
        "status": "ACTIVE", "schedulingStrategy": "REPLICA", "createdAt": "Nov 2, 2026, 9:14:07 AM",
        "createdBy": f"arn:aws:iam::{ACCOUNT}:role/PlatformEngineer", "propagateTags": "NONE",
        "enableECSManagedTags": True, "deploymentController": {"type": "ECS"}}}


def create_service(n, name, net, exec_on=False, cluster=CLUSTER, td="orders-api:117"):
    req = {"serviceName": name, "taskDefinition": td, "desiredCount": 2, "launchType": "FARGATE",
           "networkConfiguration": net, "enableExecuteCommand": exec_on, "enableECSManagedTags": True,
           "tags": [{"key": "team", "value": "orders"}],
           "loadBalancers": [{"targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{name}/0123456789abcdef",
                              "containerName": "api", "containerPort": 8080}]}
    if cluster:
        req["cluster"] = cluster
    return envelope(n, "CreateService", req, service_response(name, td, net, exec_on, cluster or "default"), source="ecs")


def update_service(n, name, req_extra, effective_net, exec_on, td="orders-api:117"):
    req = {"cluster": CLUSTER, "service": name}
    req.update(req_extra)
    return envelope(n, "UpdateService", req, service_response(name, td, effective_net, exec_on,
                                                              desired=req.get("desiredCount", 2)), source="ecs")


events["svc-create-public-ip.json"] = create_service(200, "orders-api", network(public=True), cluster=None)
events["svc-create-exec-enabled.json"] = create_service(201, "orders-api", network(), exec_on=True)
events["svc-create-no-security-groups.json"] = create_service(202, "orders-api", network(groups=()))
events["svc-create-clean.json"] = create_service(203, "orders-api", network())
events["svc-update-enables-public-ip.json"] = update_service(204, "orders-api", {"networkConfiguration": network(public=True)},
                                                             network(public=True), False)
events["svc-update-scale-only.json"] = update_service(205, "orders-api", {"desiredCount": 6}, network(public=True), True)
events["svc-update-new-task-definition.json"] = update_service(206, "orders-api", {"taskDefinition": "orders-stack:118", "forceNewDeployment": True},
                                                               network(), False, td="orders-stack:118")

# Request and response are both evidence, and either may be partial.
events["svc-create-partial-response.json"] = envelope(207, "CreateService",
    {"cluster": CLUSTER, "serviceName": "payments-api", "taskDefinition": "payments-api", "desiredCount": 2,
     "launchType": "FARGATE", "networkConfiguration": network(public=True, groups=()), "enableExecuteCommand": True},
    # Trimmed by a log pipeline to the ARN, the name and the status.
    {"service": {"serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/payments-api",
                 "serviceName": "payments-api", "status": "ACTIVE"}}, source="ecs")
# eventSource is part of the identity: App Runner and Cloud Map have calls of the same names.
events["svc-apprunner-create-service-not-handled.json"] = envelope(208, "CreateService",
    {"serviceName": "public-site", "sourceConfiguration": {"imageRepository": {
        "imageIdentifier": "public.ecr.aws/nginx/nginx:1.27", "imageRepositoryType": "ECR_PUBLIC"}},
     "networkConfiguration": {"egressConfiguration": {"egressType": "DEFAULT"}}},
    {"service": {"serviceName": "public-site", "serviceArn": f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/public-site/0123456789abcdef",
                 "status": "OPERATION_IN_PROGRESS"}}, source="apprunner")
events["svc-cloudmap-update-service-not-handled.json"] = envelope(209, "UpdateService",
    {"id": "srv-0123456789abcdef", "service": {"dnsConfig": {"dnsRecords": [{"type": "A", "tTL": 60}]}}},
    {"operationId": "op-0123456789abcdef"}, source="servicediscovery")

# Setting or removing the exemption tag on a security group is alerted.
def tags(n, name, resources, tag_items):
    return envelope(n, name, {"resourcesSet": items([{"resourceId": r} for r in resources]),
                              "tagSet": items(tag_items)}, {"requestId": ident(3000 + n), "_return": True})


events["sg-exemption-tag-set.json"] = tags(40, "CreateTags", [SG], [
    {"key": "team", "value": "partners"},
    {"key": "access-guard:exempt", "value": "public SFTP for partners, SEC-1234;expires=2026-12-15"}])
events["sg-exemption-tag-set-no-expiry.json"] = tags(41, "CreateTags", [SG], [
    {"key": "access-guard:exempt", "value": "bastion, ask Bob"}])
events["sg-exemption-tag-removed.json"] = tags(42, "DeleteTags", [SG], [{"key": "access-guard:exempt"}])
events["sg-tags-other-key-not-handled.json"] = tags(43, "CreateTags", [SG, "i-0a1b2c3d4e5f60001"], [{"key": "team", "value": "web"}])
# A response trimmed to one of the two rules the request opened: 22 is still judged.
events["sg-trimmed-response-hides-ssh.json"] = authorize(44, SG,
    [perm("tcp", 22, 22, v4=["0.0.0.0/0"]), perm("tcp", 443, 443, v4=["0.0.0.0/0"])],
    [("sgr-0trim00000000443", "tcp", 443, 443, "cidrIpv4", "0.0.0.0/0")])

# --- Clusters, account settings, capacity providers (cluster-guard) ---------
# Shapes as in the ECS CloudTrail guide's CreateCluster and
# PutAccountSettingDefault entries.
def cluster_response(name, settings=None, configuration=None, tags=None):
    cluster = {"clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}", "clusterName": name,
               "status": "ACTIVE", "registeredContainerInstancesCount": 0, "runningTasksCount": 0,
               "pendingTasksCount": 0, "activeServicesCount": 0, "statistics": [],
               "capacityProviders": [], "defaultCapacityProviderStrategy": []}
    if settings is not None:
        cluster["settings"] = settings
    if configuration is not None:
        cluster["configuration"] = configuration
    if tags is not None:
        cluster["tags"] = tags
    return {"cluster": cluster}


def insights(value):
    return [{"name": "containerInsights", "value": value}]


EXEC_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SECURE_EXEC = {"executeCommandConfiguration": {"kmsKeyId": EXEC_KEY, "logging": "OVERRIDE",
               "logConfiguration": {"cloudWatchLogGroupName": "/ecs/exec/payments", "cloudWatchEncryptionEnabled": True}}}
TEAM_TAGS = [{"key": "team", "value": "green"}]

events["cl-create-cluster-insights-disabled.json"] = envelope(300, "CreateCluster",
    {"clusterName": "payments", "settings": insights("disabled"), "tags": TEAM_TAGS},
    cluster_response("payments", insights("disabled"), tags=TEAM_TAGS), source="ecs")
events["cl-create-cluster-secure.json"] = envelope(301, "CreateCluster",
    {"clusterName": "payments", "settings": insights("enhanced"), "configuration": SECURE_EXEC, "tags": TEAM_TAGS},
    cluster_response("payments", insights("enhanced"), SECURE_EXEC, TEAM_TAGS), source="ecs")
# No setting in the request, none in the response: the account default applies.
events["cl-create-cluster-account-default.json"] = envelope(302, "CreateCluster",
    {"clusterName": "batch"}, cluster_response("batch"), source="ecs")
events["cl-update-cluster-exec-logging-none.json"] = envelope(303, "UpdateCluster",
    {"cluster": "payments", "configuration": {"executeCommandConfiguration": {"kmsKeyId": EXEC_KEY, "logging": "NONE"}}},
    cluster_response("payments", insights("enhanced"),
                     {"executeCommandConfiguration": {"kmsKeyId": EXEC_KEY, "logging": "NONE"}}, TEAM_TAGS), source="ecs")
events["cl-update-cluster-settings-insights-off.json"] = envelope(304, "UpdateClusterSettings",
    {"cluster": "payments", "settings": insights("disabled")},
    cluster_response("payments", insights("disabled")), source="ecs")
events["cl-put-account-setting-default-insights-off.json"] = envelope(305, "PutAccountSettingDefault",
    {"name": "containerInsights", "value": "disabled"},
    {"setting": {"name": "containerInsights", "value": "disabled", "principalArn": f"arn:aws:iam::{ACCOUNT}:root", "type": "user"}},
    source="ecs")
events["cl-put-account-setting-insights-enhanced.json"] = envelope(306, "PutAccountSetting",
    {"name": "containerInsights", "value": "enhanced"},
    {"setting": {"name": "containerInsights", "value": "enhanced",
                 "principalArn": f"arn:aws:iam::{ACCOUNT}:role/PlatformEngineer", "type": "user"}}, source="ecs")
events["cl-create-capacity-provider-no-termination-protection.json"] = envelope(307, "CreateCapacityProvider",
    {"name": "payments-ec2", "autoScalingGroupProvider": {
        "autoScalingGroupArn": f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d:autoScalingGroupName/payments-ecs",
        "managedScaling": {"status": "ENABLED", "targetCapacity": 90}}},
    {"capacityProvider": {"capacityProviderArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:capacity-provider/payments-ec2",
                          "name": "payments-ec2", "status": "ACTIVE", "autoScalingGroupProvider": {
        "autoScalingGroupArn": f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d:autoScalingGroupName/payments-ecs",
        "managedScaling": {"status": "ENABLED", "targetCapacity": 90, "minimumScalingStepSize": 1,
                           "maximumScalingStepSize": 10000, "instanceWarmupPeriod": 300},
        "managedTerminationProtection": "DISABLED", "managedDraining": "ENABLED"}, "tags": []}}, source="ecs")
# EKS has a CreateCluster too: not ECS.
events["cl-eks-create-cluster-not-handled.json"] = envelope(308, "CreateCluster",
    {"name": "platform", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/eks-cluster",
     "resourcesVpcConfig": {"subnetIds": ["subnet-0a1b2c3d4e5f60001"], "endpointPublicAccess": True}},
    {"cluster": {"name": "platform", "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/platform", "status": "CREATING"}},
    source="eks")

# --- Task sets and standalone tasks (service-guard) ---------------------------
def task_set_response(service, td, net, set_id="ecs-svc/4719261838472620139"):
    return {"taskSet": {
        "id": set_id, "taskSetArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-set/{CLUSTER}/{service}/{set_id.split('/')[-1]}",
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{service}",
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}", "externalId": "blue-2026-11",
        "status": "ACTIVE", "taskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{td}",
        "computedDesiredCount": 0, "pendingCount": 0, "runningCount": 0, "launchType": "FARGATE",
        "platformVersion": "1.4.0", "platformFamily": "Linux", "networkConfiguration": net,
        "scale": {"value": 100.0, "unit": "PERCENT"}, "stabilityStatus": "STABILIZING"}}


def run_task_response(td, exec_on=False, launch="FARGATE"):
    task_id = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    return {"tasks": [{
        "taskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{task_id}",
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{td}",
        "lastStatus": "PROVISIONING", "desiredStatus": "RUNNING", "launchType": launch,
        "platformVersion": "1.4.0" if launch == "FARGATE" else None, "platformFamily": "Linux" if launch == "FARGATE" else None,
        "enableExecuteCommand": exec_on, "cpu": "256", "memory": "512", "createdAt": "Nov 2, 2026, 9:14:07 AM",
        "attachments": [{"id": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", "type": "ElasticNetworkInterface", "status": "PRECREATED",
                         "details": [{"name": "subnetId", "value": "subnet-0a1b2c3d4e5f60001"}]}] if launch == "FARGATE" else [],
        "containers": [{"name": "job", "lastStatus": "PENDING"}]}], "failures": []}


events["svc-create-task-set-public-ip.json"] = envelope(400, "CreateTaskSet",
    {"cluster": CLUSTER, "service": "orders-api", "externalId": "blue-2026-11", "taskDefinition": "orders-api:118",
     "networkConfiguration": network(public=True), "launchType": "FARGATE", "scale": {"value": 100.0, "unit": "PERCENT"},
     "clientToken": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"},
    task_set_response("orders-api", "orders-api:118", network(public=True)), source="ecs")
events["svc-update-task-set-scale-only.json"] = envelope(401, "UpdateTaskSet",
    {"cluster": CLUSTER, "service": "orders-api", "taskSet": "ecs-svc/4719261838472620139", "scale": {"value": 50.0, "unit": "PERCENT"}},
    task_set_response("orders-api", "orders-api:118", network(public=True)), source="ecs")
# A scheduled EventBridge rule runs a job: the caller is the rule's role, invoked by EventBridge.
scheduled = envelope(402, "RunTask",
    {"cluster": CLUSTER, "taskDefinition": "nightly-export:9", "count": 1, "launchType": "FARGATE",
     "networkConfiguration": network(public=True), "startedBy": "events-rule/nightly-export"},
    run_task_response("nightly-export:9"), source="ecs")
scheduled["detail"]["userIdentity"] = {
    "type": "AssumedRole", "principalId": "AROAEXAMPLEROLEID0002:8d3f2c1b0a9e4d7c",
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ecsEventsRole/8d3f2c1b0a9e4d7c", "accountId": ACCOUNT,
    "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLEID0002",
                                         "arn": f"arn:aws:iam::{ACCOUNT}:role/ecsEventsRole", "accountId": ACCOUNT,
                                         "userName": "ecsEventsRole"},
                       "attributes": {"creationDate": "2026-11-02T09:14:06Z", "mfaAuthenticated": "false"}},
    "invokedBy": "events.amazonaws.com"}
scheduled["detail"]["sourceIPAddress"] = "events.amazonaws.com"
scheduled["detail"]["userAgent"] = "events.amazonaws.com"
events["svc-run-task-public-ip-by-eventbridge.json"] = scheduled
events["svc-run-task-overrides.json"] = envelope(403, "RunTask",
    {"cluster": CLUSTER, "taskDefinition": "orders-migrate:4", "launchType": "FARGATE",
     "networkConfiguration": network(), "overrides": {
         "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/orders-admin",
         "containerOverrides": [{"name": "job", "command": ["sh", "-c", "python manage.py migrate --fake"],
                                 "environment": [{"name": "LOG_LEVEL", "value": "debug"},
                                                 {"name": "AWS_SECRET_ACCESS_KEY", "value": SECRET_FAKE}]}]}},
    run_task_response("orders-migrate:4"), source="ecs")
events["svc-start-task-on-instances.json"] = envelope(404, "StartTask",
    {"cluster": CLUSTER, "taskDefinition": "legacy-worker:31",
     "containerInstances": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/{CLUSTER}/4d3c2b1a0f9e8d7c6b5a49382716f5e4"]},
    run_task_response("legacy-worker:31", launch="EC2"), source="ecs")
connect = create_service(405, "orders-api", network())
connect["detail"]["requestParameters"].update({
    "platformVersion": "1.3.0", "tags": [{"key": "team", "value": "orders"}],
    "serviceConnectConfiguration": {"enabled": True, "namespace": "shared-dev",
                                    "services": [{"portName": "api", "clientAliases": [{"port": 8080}]}]}})
connect["detail"]["responseElements"]["service"]["platformVersion"] = "1.3.0"
events["svc-create-service-connect-without-tls.json"] = connect
events["svc-update-enables-exec.json"] = update_service(406, "orders-api", {"enableExecuteCommand": True}, network(), True)

# --- Instances (instance-guard) ----------------------------------------------
# RunInstances as CloudTrail writes it: camelCase, {"items": [...]} lists, the
# launched instances in responseElements.instancesSet. Launch templates and
# metadata updates in the query API's PascalCase (one-or-many members with a
# `tag`), wrapped in <Call>Request / <Call>Response.
CI_SUBNET = "subnet-0a1b2c3d4e5f60101"
CI_SG = "sg-0c1d2e3f4a5b60102"
ECS_AMI = "ami-0e1f2a3b4c5d60103"
ECS_PROFILE = f"arn:aws:iam::{ACCOUNT}:instance-profile/ecsInstanceRole"
LT_ID = "lt-0a1b2c3d4e5f60104"


def launched(n, key=None, tokens="optional", hop=1, public_ip=None, profile=ECS_PROFILE, group=CI_SG):
    nic = {"networkInterfaceId": f"eni-0a1b2c3d4e5f6{n:04d}", "subnetId": CI_SUBNET, "vpcId": "vpc-0a1b2c3d4e5f60100",
           "ownerId": ACCOUNT, "status": "in-use", "privateIpAddress": "10.20.1.17", "sourceDestCheck": True,
           "interfaceType": "interface", "groupSet": items([{"groupId": group, "groupName": "ecs-nodes"}]),
           "attachment": {"attachmentId": f"eni-attach-0a1b2c3d4e5f6{n:04d}", "deviceIndex": 0, "networkCardIndex": 0,
                          "status": "attaching", "attachTime": 1793610847000, "deleteOnTermination": True},
           "privateIpAddressesSet": {"item": [{"privateIpAddress": "10.20.1.17", "primary": True}]},
           "ipv6AddressesSet": {}, "tagSet": {}}
    if public_ip:
        nic["association"] = {"publicIp": public_ip, "publicDnsName": "", "ipOwnerId": "amazon"}
    item = {"instanceId": f"i-0a1b2c3d4e5f6{n:04d}", "imageId": ECS_AMI, "currentInstanceBootMode": "uefi",
            "instanceState": {"code": 0, "name": "pending"}, "privateDnsName": "ip-10-20-1-17.eu-west-1.compute.internal",
            "amiLaunchIndex": 0, "productCodes": {}, "instanceType": "m6i.large", "launchTime": 1793610847000,
            "placement": {"availabilityZone": "eu-west-1a", "tenancy": "default"}, "monitoring": {"state": "disabled"},
            "subnetId": CI_SUBNET, "vpcId": "vpc-0a1b2c3d4e5f60100", "privateIpAddress": "10.20.1.17",
            "stateReason": {"code": "pending", "message": "pending"}, "architecture": "x86_64", "rootDeviceType": "ebs",
            "rootDeviceName": "/dev/xvda", "blockDeviceMapping": {}, "virtualizationType": "hvm", "hypervisor": "xen",
            "groupSet": items([{"groupId": group, "groupName": "ecs-nodes"}]), "sourceDestCheck": True,
            "networkInterfaceSet": items([nic]), "ebsOptimized": False, "enaSupport": True,
            "cpuOptions": {"coreCount": 1, "threadsPerCore": 2},
            "capacityReservationSpecification": {"capacityReservationPreference": "open"},
            "enclaveOptions": {"enabled": False},
            "metadataOptions": {"state": "pending", "httpTokens": tokens, "httpPutResponseHopLimit": hop,
                                "httpEndpoint": "enabled", "httpProtocolIpv6": "disabled", "instanceMetadataTags": "disabled"},
            "privateDnsNameOptions": {"hostnameType": "ip-name", "enableResourceNameDnsARecord": False,
                                      "enableResourceNameDnsAAAARecord": False},
            "maintenanceOptions": {"autoRecovery": "default"}}
    if key:
        item["keyName"] = key
    if profile:
        item["iamInstanceProfile"] = {"arn": profile, "id": "AIPAEXAMPLEPROFILE0001"}
    return {"requestId": ident(2000 + n), "reservationId": f"r-0a1b2c3d4e5f6{n:04d}", "ownerId": ACCOUNT,
            "groupSet": {}, "instancesSet": items([item])}


def run_instances(n, extra=None, key=None, image=ECS_AMI, response=None, error=None):
    instance = {"imageId": image, "minCount": 1, "maxCount": 1}
    if key:
        instance["keyName"] = key
    request = {"instancesSet": items([instance]), "instanceType": "m6i.large", "userData": "<sensitiveDataRemoved>",
               "blockDeviceMapping": {}, "monitoring": {"enabled": False}, "disableApiTermination": False,
               "disableApiStop": False, "clientToken": ident(3000 + n),
               "tagSpecificationSet": items([{"resourceType": "instance", "tags": [{"key": "Name", "value": "ecs-node"}]}])}
    request.update(extra or {})
    return envelope(n, "RunInstances", request, response, error=error)


def ci_nic(public, groups=(CI_SG,)):
    return {"networkInterfaceSet": items([{"deviceIndex": 0, "subnetId": CI_SUBNET, "associatePublicIpAddress": public,
                                           "groupSet": items([{"groupId": g} for g in groups])}])}


events["ci-run-instances-imdsv1-public-ip.json"] = run_instances(550,
    {**ci_nic(True), "iamInstanceProfile": {"arn": ECS_PROFILE},
     "metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"}},
    key="ops-shared", response=launched(550, key="ops-shared", public_ip="203.0.113.45"))
events["ci-run-instances-dry-run.json"] = run_instances(551,
    {**ci_nic(True), "metadataOptions": {"httpTokens": "optional"}},
    error=("Client.DryRunOperation", "Request would have succeeded, but DryRun flag is set."))
# A launch from a launch template: the record carries neither the template
# version nor (here) the public-IP and key settings it decides.
events["ci-run-instances-launch-template.json"] = run_instances(552,
    {"launchTemplate": {"launchTemplateId": LT_ID, "version": "3"}},
    response=launched(552, tokens="required", hop=2))
del events["ci-run-instances-launch-template.json"]["detail"]["requestParameters"]["instancesSet"]["items"][0]["imageId"]
# Hop limit as a string, as some SDKs' records show it.
events["ci-run-instances-hop-limit-string.json"] = run_instances(553,
    {**ci_nic(False), "iamInstanceProfile": {"arn": ECS_PROFILE},
     "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": "3", "httpEndpoint": "enabled"}},
    response=launched(553, tokens="required", hop=3))
events["ci-run-instances-secure.json"] = run_instances(554,
    {**ci_nic(False), "iamInstanceProfile": {"arn": ECS_PROFILE},
     "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"}},
    response=launched(554, tokens="required", hop=1))
events["ci-create-launch-template-key-hop-2.json"] = envelope(555, "CreateLaunchTemplate",
    {"CreateLaunchTemplateRequest": {"LaunchTemplateName": "ecs-nodes", "VersionDescription": "ECS nodes",
        "ClientToken": ident(3555), "LaunchTemplateData": {
            "ImageId": ECS_AMI, "InstanceType": "m6i.large", "KeyName": "ops-shared",
            "UserData": "<sensitiveDataRemoved>", "IamInstanceProfile": {"Arn": ECS_PROFILE},
            "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"},
            "NetworkInterface": {"tag": 1, "DeviceIndex": 0, "AssociatePublicIpAddress": False, "SubnetId": CI_SUBNET,
                                 "SecurityGroupId": {"tag": 1, "content": CI_SG}}}}},
    {"CreateLaunchTemplateResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "requestId": ident(2555),
        "launchTemplate": {"launchTemplateId": LT_ID, "launchTemplateName": "ecs-nodes",
                           "createTime": "2026-11-02T09:14:07.000Z",
                           "createdBy": f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformEngineer/jane.doe",
                           "defaultVersionNumber": 1, "latestVersionNumber": 1}}})
# A new version based on version 1 that turns IMDSv1 back on; the rest comes from version 1.
events["ci-create-launch-template-version-imdsv1.json"] = envelope(556, "CreateLaunchTemplateVersion",
    {"CreateLaunchTemplateVersionRequest": {"LaunchTemplateId": LT_ID, "SourceVersion": "1",
        "VersionDescription": "debug IMDS", "LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "optional"}}}},
    {"CreateLaunchTemplateVersionResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "requestId": ident(2556),
        "launchTemplateVersion": {"launchTemplateId": LT_ID, "launchTemplateName": "ecs-nodes", "versionNumber": 2,
                                  "versionDescription": "debug IMDS", "createTime": "2026-11-02T09:14:07.000Z",
                                  "createdBy": f"arn:aws:sts::{ACCOUNT}:assumed-role/PlatformEngineer/jane.doe",
                                  "defaultVersion": False}}})
events["ci-modify-metadata-options-optional.json"] = envelope(557, "ModifyInstanceMetadataOptions",
    {"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-0a1b2c3d4e5f60554", "HttpTokens": "optional"}},
    {"ModifyInstanceMetadataOptionsResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "requestId": ident(2557),
        "instanceId": "i-0a1b2c3d4e5f60554", "instanceMetadataOptions": {"state": "pending", "httpTokens": "optional",
            "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled", "httpProtocolIpv6": "disabled",
            "instanceMetadataTags": "disabled"}}})

# --- IAM (iam-guard) ------------------------------------------------------------
# IAM is global: its records come from us-east-1. Shapes as in real records
# (Stratus Red Team's detonation logs of AttachUserPolicy and
# UpdateAssumeRolePolicy): camelCase requestParameters, responseElements null
# except for CreatePolicyVersion, policyDocument the JSON text as sent (compact
# or pretty-printed) or URL-encoded (as IAM's Get* calls return it).
import urllib.parse

IAM_REGION = "us-east-1"


def iam_event(n, name, request, response=None):
    ev = envelope(n, name, request, response, source="iam", region=IAM_REGION)
    ev["detail"]["tlsDetails"]["clientProvidedHostHeader"] = "iam.amazonaws.com"
    ev["detail"]["userAgent"] = ev["detail"]["userAgent"].replace("md/command#ec2.", "md/command#iam.")
    return ev


def policy_text(*statements, pretty=False):
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    return json.dumps(doc, indent=2) if pretty else json.dumps(doc, separators=(",", ":"))


def url_encoded(text):
    return urllib.parse.quote(text, safe="")


OPS_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/ecs-operators"
events["iam-attach-role-policy-administrator-access.json"] = iam_event(500, "AttachRolePolicy",
    {"roleName": "orders-api-task", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
events["iam-put-role-policy-url-encoded.json"] = iam_event(501, "PutRolePolicy",
    {"roleName": "orders-worker-task", "policyName": "deploy-helpers", "policyDocument": url_encoded(policy_text(
        {"Sid": "EcsEverything", "Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
        {"Sid": "PassAnyRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}))})
events["iam-put-role-policy-json-string.json"] = iam_event(502, "PutRolePolicy",
    {"roleName": "orders-api-task", "policyName": "orders-data", "policyDocument": policy_text(
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::orders-documents/*"},
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
         "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-events"}, pretty=True)})
events["iam-create-policy-version-ecs-wildcard.json"] = iam_event(503, "CreatePolicyVersion",
    {"policyArn": OPS_POLICY, "setAsDefault": True, "policyDocument": policy_text(
        {"Effect": "Allow", "Action": ["ecs:*", "logs:GetLogEvents"], "Resource": "*"}, pretty=True)},
    {"policyVersion": {"versionId": "v4", "isDefaultVersion": True, "createDate": "Nov 2, 2026, 9:14:07 AM"}})
events["iam-put-user-policy-execute-command.json"] = iam_event(504, "PutUserPolicy",
    {"userName": "jane.doe", "policyName": "debug-shell", "policyDocument": policy_text(
        {"Sid": "ExecIntoTasks", "Effect": "Allow", "Action": ["ecs:ExecuteCommand", "ecs:DescribeTasks"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                                       "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"], "Resource": "*"})})
events["iam-put-group-policy-passrole-runtask.json"] = iam_event(505, "PutGroupPolicy",
    {"groupName": "deployers", "policyName": "run-jobs", "policyDocument": policy_text(
        {"Sid": "PassTaskRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
         "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
        {"Sid": "RunJobs", "Effect": "Allow", "Action": ["ecs:RunTask", "ecs:DescribeTasks"], "Resource": "*"})})
events["iam-update-assume-role-policy-ecs-tasks.json"] = iam_event(506, "UpdateAssumeRolePolicy",
    {"roleName": "ops-automation", "policyDocument": policy_text(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}, pretty=True)})
events["iam-attach-user-policy-power-user.json"] = iam_event(507, "AttachUserPolicy",
    {"userName": "contractor-ci", "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"})
events["iam-attach-group-policy-customer-managed.json"] = iam_event(508, "AttachGroupPolicy",
    {"groupName": "deployers", "policyArn": OPS_POLICY})

os.makedirs(OUT, exist_ok=True)
for name, ev in events.items():
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(ev, f, indent=2)
        f.write("\n")
print(f"wrote {len(events)} events to events/")
