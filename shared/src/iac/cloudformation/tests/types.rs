//! Each resource type written insecure and secure, a template as `cdk
//! synth` writes it, and the fixture templates of the CLI's tests.

use super::*;
const TRUST_ECS_TASKS: &str = r#"{"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;

/// A type, its properties insecure and the rule ids they get, secure and
/// theirs.
type Case = (
    &'static str,
    Value,
    Vec<&'static str>,
    Value,
    Vec<&'static str>,
);

/// Each type written insecure and secure, with the rule ids each gets.
#[test]
fn each_type_is_judged_insecure_and_secure() {
    let trust: Value = serde_json::from_str(TRUST_ECS_TASKS).unwrap();
    let cases: Vec<Case> = vec![
        (
            "AWS::EC2::SecurityGroup",
            json!({"GroupDescription": "x", "SecurityGroupIngress": [
                {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]}),
            vec![
                "EC2-SG-001",
                "EC2-SG-003",
                "EC2-SG-004",
                "EC2-SG-005",
                "EC2-SG-006",
                "EC2-SG-008",
            ],
            json!({"GroupDescription": "x", "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]}),
            vec![],
        ),
        (
            "AWS::EC2::SecurityGroupIngress",
            json!({"GroupId": "sg-1", "IpProtocol": "tcp", "FromPort": "3389", "ToPort": "3389",
                   "CidrIpv6": "::/0"}),
            vec!["EC2-SG-004"],
            json!({"GroupId": "sg-1", "IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
                   "SourceSecurityGroupName": "bastion"}),
            vec![],
        ),
        (
            "AWS::ECS::TaskDefinition",
            json!({"NetworkMode": "host", "PidMode": "host", "ContainerDefinitions": [{
                "Name": "app", "Image": "nginx", "Privileged": true,
                "Environment": [{"Name": "AWS_SECRET_ACCESS_KEY", "Value": "q8Zr3LmX/T2vN9pKc7Wd+Hs4Jf6Gb1Ye5Ua0Ri8O"}],
                "LinuxParameters": {"Capabilities": {"Add": ["SYS_ADMIN"]}}}]}),
            vec![
                "ECS-TD-001",
                "ECS-TD-002",
                "ECS-TD-003",
                "ECS-TD-005",
                "ECS-TD-006",
                "ECS-TD-007",
                "ECS-TD-010",
                "ECS-TD-011",
                "ECS-TD-015",
                "ECS-TD-016",
                "ECS-TD-022",
                "ECS-TD-023",
                "ECS-TD-025",
                "ECS-TD-026",
            ],
            json!({"NetworkMode": "awsvpc", "Cpu": "256", "Memory": "512",
                "RequiresCompatibilities": ["FARGATE"],
                "Tags": [{"Key": "owner", "Value": "payments"}],
                "ContainerDefinitions": [{
                "Name": "app", "Image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f",
                "User": "1000", "ReadonlyRootFilesystem": true,
                "LinuxParameters": {"Capabilities": {"Drop": ["ALL"]}},
                "LogConfiguration": {"LogDriver": "awslogs", "Options": {"mode": "non-blocking", "awslogs-group": "app"}}}]}),
            vec![],
        ),
        (
            "AWS::ECS::Service",
            json!({"EnableExecuteCommand": true, "NetworkConfiguration": {"AwsvpcConfiguration": {
                "AssignPublicIp": "ENABLED", "Subnets": ["subnet-1"]}}}),
            vec!["ECS-SVC-001", "ECS-SVC-002", "ECS-SVC-003", "ECS-SVC-011"],
            json!({"Tags": [{"Key": "owner", "Value": "payments"}],
                "NetworkConfiguration": {"AwsvpcConfiguration": {
                "AssignPublicIp": "DISABLED", "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"]}}}),
            vec![],
        ),
        (
            "AWS::ECS::TaskSet",
            json!({"Cluster": "prod", "Service": "web", "TaskDefinition": "web:1",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"AssignPublicIp": "ENABLED",
                "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"]}}}),
            vec!["ECS-SVC-008"],
            json!({"Cluster": "prod", "Service": "web", "TaskDefinition": "web:1",
                "NetworkConfiguration": {"AwsvpcConfiguration": {"AssignPublicIp": "DISABLED",
                "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"]}}}),
            vec![],
        ),
        (
            "AWS::ECS::Cluster",
            json!({"ClusterName": "prod", "ClusterSettings": [{"Name": "containerInsights", "Value": "disabled"}]}),
            vec!["ECS-CL-001", "ECS-CL-002", "ECS-CL-003"],
            json!({"ClusterName": "prod", "ClusterSettings": [{"Name": "containerInsights", "Value": "enhanced"}],
                "Configuration": {"ExecuteCommandConfiguration": {"Logging": "DEFAULT",
                    "KmsKeyId": "arn:aws:kms:eu-west-1:111122223333:key/1"}},
                "Tags": [{"Key": "owner", "Value": "payments"}]}),
            vec![],
        ),
        (
            "AWS::ECS::CapacityProvider",
            json!({"AutoScalingGroupProvider": {"AutoScalingGroupArn": "arn:aws:autoscaling:eu-west-1:1:autoScalingGroup:x:autoScalingGroupName/ecs",
                "ManagedTerminationProtection": "DISABLED"}}),
            vec!["ECS-CL-005"],
            json!({"AutoScalingGroupProvider": {"AutoScalingGroupArn": "arn:aws:autoscaling:eu-west-1:1:autoScalingGroup:x:autoScalingGroupName/ecs",
                "ManagedTerminationProtection": "ENABLED"}}),
            vec![],
        ),
        (
            "AWS::EC2::LaunchTemplate",
            json!({"LaunchTemplateData": {"ImageId": "ami-1", "KeyName": "ops",
                "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 2},
                "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": true, "Groups": ["sg-1"]}]}}),
            vec!["EC2-CI-001", "EC2-CI-002"],
            json!({"LaunchTemplateData": {"ImageId": "ami-1",
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
                "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": false, "Groups": ["sg-1"]}]}}),
            vec![],
        ),
        (
            "AWS::EC2::Instance",
            json!({"ImageId": "ami-1", "NetworkInterfaces": [{"DeviceIndex": "0",
                "AssociatePublicIpAddress": true, "SubnetId": "subnet-1", "GroupSet": ["sg-1"]}]}),
            vec!["EC2-CI-001", "EC2-CI-002"],
            json!({"ImageId": "ami-1", "SubnetId": "subnet-1", "SecurityGroupIds": ["sg-1"],
                "MetadataOptions": {"HttpTokens": "required"}}),
            vec![],
        ),
        (
            "AWS::IAM::Role",
            json!({"AssumeRolePolicyDocument": trust,
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
                "Policies": [{"PolicyName": "exec", "PolicyDocument": {"Statement": [
                    {"Effect": "Allow", "Action": "ecs:ExecuteCommand", "Resource": "*"}]}}]}),
            // IAM-ECS-001 needs the role's trust, which the CreateRole record
            // carries but the attachment's judgement does not read offline.
            vec!["IAM-ECS-002", "IAM-ECS-003"],
            json!({"AssumeRolePolicyDocument": trust,
                "Policies": [{"PolicyName": "read", "PolicyDocument": {"Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}}]}),
            vec![],
        ),
        (
            "AWS::IAM::Policy",
            json!({"PolicyName": "deploy", "Users": ["ci"], "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": ["iam:PassRole", "ecs:RunTask"], "Resource": "*"}]}}),
            vec!["IAM-ECS-003"],
            json!({"PolicyName": "deploy", "Users": ["ci"], "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": ["ecs:RunTask"], "Resource": "*"}]}}),
            vec![],
        ),
        (
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            json!({"Protocol": "HTTP", "Port": 8080, "VpcId": "vpc-1", "TargetType": "ip"}),
            vec!["ELB-008"],
            json!({"Protocol": "HTTPS", "Port": 8443, "VpcId": "vpc-1", "TargetType": "ip",
                "HealthCheckProtocol": "HTTPS"}),
            vec![],
        ),
        (
            "AWS::EC2::Route",
            json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}),
            vec!["NET-001"],
            json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}),
            vec![],
        ),
        (
            "AWS::EC2::NetworkAclEntry",
            json!({"NetworkAclId": "acl-1", "RuleNumber": 100, "Protocol": 6, "RuleAction": "allow",
                "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 22, "To": 22}}),
            vec!["NET-002"],
            json!({"NetworkAclId": "acl-1", "RuleNumber": 100, "Protocol": 6, "RuleAction": "allow",
                "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 443, "To": 443}}),
            vec![],
        ),
        (
            "AWS::EC2::Subnet",
            json!({"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24", "MapPublicIpOnLaunch": true}),
            vec!["NET-003"],
            json!({"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24", "MapPublicIpOnLaunch": false}),
            vec![],
        ),
    ];
    let mut wrong = Vec::new();
    for (kind, insecure, expected, secure, clean) in cases {
        for (what, properties, want) in
            [("insecure", insecure, expected), ("secure", secure, clean)]
        {
            let got = ids(kind, properties);
            if got != want {
                wrong.push(format!("{kind} {what}: {got:?}, expected {want:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_load_balancer_s_attributes_are_judged_as_the_template_sets_them() {
    let lb = |attributes: Value| {
        one(
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            json!({"Scheme": "internet-facing", "Type": "network", "Subnets": ["subnet-1"],
                   "LoadBalancerAttributes": attributes}),
        )
    };
    let insecure = lb(json!([{"Key": "deletion_protection.enabled", "Value": "false"}]));
    let names: Vec<&str> = insecure
        .iter()
        .map(|p| p.event.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(
        names,
        ["CreateLoadBalancer", "ModifyLoadBalancerAttributes"]
    );
    assert!(
        rules(&insecure[0]).contains(&"ELB-009"),
        "{:?}",
        rules(&insecure[0])
    );
    assert_eq!(rules(&insecure[1]), ["ELB-007"]);
    assert_eq!(
        insecure[1].event.as_ref().unwrap().request["loadBalancerArn"],
        "arn:aws:elasticloadbalancing:template:111122223333:loadbalancer/net/It/template"
    );
    let secure = lb(json!([{"Key": "deletion_protection.enabled", "Value": "true"}]));
    assert_eq!(rules(&secure[1]), Vec::<&str>::new());
    // A listener on a load balancer of the template is judged as on its kind.
    let template = json!({"Resources": {
        "Web": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Scheme": "internet-facing", "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"]}},
        "Http": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Web"}, "Protocol": "HTTP", "Port": 80,
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:tg"}]}},
        "Admin": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
            "ListenerArn": {"Ref": "Http"}, "Priority": 1,
            "Conditions": [{"Field": "path-pattern", "Values": ["/admin/*"]}],
            "Actions": [{"Type": "forward", "TargetGroupArn": "arn:tg"}]}}}});
    let planned = read(&template);
    let listener = planned.iter().find(|p| p.address == "Http").unwrap();
    assert_eq!(
        listener.event.as_ref().unwrap().request["loadBalancerArn"],
        "arn:aws:elasticloadbalancing:template:111122223333:loadbalancer/app/Web/template"
    );
    // Offline, the load balancer's scheme is not in the listener's record:
    // said, never a pass.
    let report = evaluate(
        listener.event.as_ref().unwrap(),
        &Policy::embedded(),
        crate::model::today(),
    )
    .unwrap();
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("ELB-001") && n.contains("the scheme of app/Web/template")),
        "{:?}",
        report.notes
    );
    let rule = planned.iter().find(|p| p.address == "Admin").unwrap();
    assert_eq!(
        rule.event.as_ref().unwrap().request["listenerArn"],
        "arn:aws:elasticloadbalancing:template:111122223333:listener/app/Web/template/Http"
    );
}

/// A template as `cdk synth` writes it: JSON, `aws:cdk:path` metadata,
/// hashed logical ids, roles by `Fn::GetAtt`, the image as `Fn::Join` and
/// `Fn::Sub` over `AWS::AccountId` and `AWS::URLSuffix`.
const CDK: &str = r#"{
 "Resources": {
  "TaskDefTaskRole1EDB4A67": {
   "Type": "AWS::IAM::Role",
   "Properties": {
    "AssumeRolePolicyDocument": {
     "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
       "Principal": {"Service": "ecs-tasks.amazonaws.com"}}],
     "Version": "2012-10-17"
    }
   },
   "Metadata": {"aws:cdk:path": "App/TaskDef/TaskRole/Resource"}
  },
  "TaskDef54694570": {
   "Type": "AWS::ECS::TaskDefinition",
   "Properties": {
    "ContainerDefinitions": [
     {
      "Essential": true,
      "Image": {"Fn::Join": ["", [{"Ref": "AWS::AccountId"}, ".dkr.ecr.",
        {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"},
        "/cdk-hnb659fds-container-assets-", {"Ref": "AWS::AccountId"}, "-",
        {"Ref": "AWS::Region"}, ":3f3f3f3f3f3f"]]},
      "Name": "web",
      "PortMappings": [{"ContainerPort": 8080, "Protocol": "tcp"}],
      "Privileged": true,
      "LogConfiguration": {"LogDriver": "awslogs", "Options": {
        "awslogs-group": {"Ref": "TaskDefwebLogGroup7C0E4D2B"},
        "awslogs-stream-prefix": "web",
        "awslogs-region": {"Ref": "AWS::Region"}}}
     },
     {
      "Essential": false,
      "Image": {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}:9a9a9a"},
      "Name": "sidecar"
     }
    ],
    "Cpu": "256",
    "Family": "AppTaskDef3C7A5B2E",
    "Memory": "512",
    "NetworkMode": "awsvpc",
    "RequiresCompatibilities": ["FARGATE"],
    "TaskRoleArn": {"Fn::GetAtt": ["TaskDefTaskRole1EDB4A67", "Arn"]}
   },
   "Metadata": {"aws:cdk:path": "App/TaskDef/Resource"}
  },
  "CDKMetadata": {
   "Type": "AWS::CDK::Metadata",
   "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA"},
   "Metadata": {"aws:cdk:path": "App/CDKMetadata/Default"},
   "Condition": "CDKMetadataAvailable"
  },
  "TaskDefwebLogGroup7C0E4D2B": {
   "Type": "AWS::Logs::LogGroup",
   "UpdateReplacePolicy": "Retain",
   "DeletionPolicy": "Retain",
   "Metadata": {"aws:cdk:path": "App/TaskDef/web/LogGroup/Resource"}
  }
 },
 "Conditions": {
  "CDKMetadataAvailable": {"Fn::Or": [{"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}]}
 },
 "Parameters": {
  "BootstrapVersion": {
   "Type": "AWS::SSM::Parameter::Value<String>",
   "Default": "/cdk-bootstrap/hnb659fds/version"
  }
 },
 "Rules": {
  "CheckBootstrapVersion": {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2"], {"Ref": "BootstrapVersion"}]}]}}]}
 }
}"#;

#[test]
fn a_template_as_cdk_synth_writes_it_is_judged() {
    let planned = planned(CDK, "cdk.out/App.template.json", Some("111122223333")).unwrap();
    let addresses: Vec<(&str, &str, Option<usize>)> = planned
        .iter()
        .map(|p| {
            (
                p.address.as_str(),
                p.event.as_ref().unwrap().name.as_str(),
                p.line,
            )
        })
        .collect();
    assert_eq!(
        addresses,
        [
            ("TaskDefTaskRole1EDB4A67", "CreateRole", Some(3)),
            ("TaskDef54694570", "RegisterTaskDefinition", Some(14))
        ],
        "CDK's metadata resource is not judged"
    );
    let td = &planned[1];
    assert!(td.unknown.is_empty(), "{:?}", td.unknown);
    let request = &td.event.as_ref().unwrap().request;
    let containers = &request["containerDefinitions"];
    assert_eq!(
        containers[0]["image"],
        "111122223333.dkr.ecr.template.amazonaws.com/cdk-hnb659fds-container-assets-111122223333-template:3f3f3f3f3f3f"
    );
    assert_eq!(
        containers[0]["image"],
        containers[1]["image"]
            .as_str()
            .unwrap()
            .replace("9a9a9a", "3f3f3f3f3f3f")
    );
    assert_eq!(request["taskRoleArn"], "TaskDefTaskRole1EDB4A67");
    // The log options are the user's keys, kept as written.
    assert_eq!(
        containers[0]["logConfiguration"]["options"]["awslogs-stream-prefix"],
        "web"
    );
    let ids = rules(td);
    assert!(ids.contains(&"ECS-TD-001"), "{ids:?}");
    assert!(
        !ids.contains(&"ECS-TD-015"),
        "the account's own registry: {ids:?}"
    );
    // Without the account, the images are unknown, never trusted.
    let planned = super::planned(CDK, "App.template.json", None).unwrap();
    assert_eq!(
        planned[1].unknown,
        [
            "Properties.ContainerDefinitions[0].Image",
            "Properties.ContainerDefinitions[1].Image"
        ]
    );
}

#[test]
fn the_keys_of_the_user_s_own_maps_are_kept_as_written() {
    let p = &one(
        "AWS::ECS::TaskDefinition",
        json!({"Volumes": [{"Name": "data", "DockerVolumeConfiguration": {
                   "Driver": "local", "DriverOpts": {"Type": "nfs", "O": "addr=10.0.0.1"},
                   "Labels": {"Team": "payments"}}},
               {"Name": "efs", "EFSVolumeConfiguration": {"FilesystemId": "fs-1",
                   "TransitEncryption": "DISABLED", "AuthorizationConfig": {"IAM": "ENABLED"}}}],
               "ContainerDefinitions": [{"Name": "app", "Image": "nginx:1.27",
                   "DockerLabels": {"Com.Example": "X"},
                   "Environment": [{"Name": "Mode", "Value": "Prod"}],
                   "Secrets": [{"Name": "DbPassword", "ValueFrom": "arn:aws:ssm:eu-west-1:1:parameter/db"}],
                   "LinuxParameters": {"Capabilities": {"Add": ["NET_ADMIN"]}},
                   "LogConfiguration": {"LogDriver": "awslogs", "Options": {"Mode": "blocking"}}}]}),
    )[0];
    let request = &p.event.as_ref().unwrap().request;
    assert_eq!(
        request["volumes"],
        json!([{"name": "data", "dockerVolumeConfiguration": {"driver": "local",
                   "driverOpts": {"Type": "nfs", "O": "addr=10.0.0.1"}, "labels": {"Team": "payments"}}},
               {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1",
                   "transitEncryption": "DISABLED", "authorizationConfig": {"iam": "ENABLED"}}}])
    );
    let c = &request["containerDefinitions"][0];
    assert_eq!(c["dockerLabels"], json!({"Com.Example": "X"}));
    assert_eq!(c["environment"], json!([{"name": "Mode", "value": "Prod"}]));
    assert_eq!(
        c["secrets"][0]["valueFrom"],
        "arn:aws:ssm:eu-west-1:1:parameter/db"
    );
    assert_eq!(
        c["linuxParameters"]["capabilities"]["add"],
        json!(["NET_ADMIN"])
    );
    assert_eq!(
        c["logConfiguration"]["options"],
        json!({"Mode": "blocking"})
    );
    let ids = rules(p);
    for id in ["ECS-TD-011", "ECS-TD-018"] {
        assert!(ids.contains(&id), "{id}: {ids:?}");
    }
}

/// The rule ids of each resource of a fixture template of the CLI's tests.
fn fixture(name: &str, account: Option<&str>) -> Vec<(String, Vec<&'static str>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cli/tests/templates")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    planned(&text, name, account)
        .unwrap()
        .iter()
        .map(|p| {
            assert!(p.unknown.is_empty(), "{name}: {p:?}");
            (p.address.clone(), rules(p))
        })
        .collect()
}

#[test]
fn the_seed_template_is_judged_and_its_secure_version_is_clean() {
    let owned = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let seed: Vec<(String, Vec<String>)> = fixture("seed.yaml", Some("111122223333"))
        .into_iter()
        .map(|(a, ids)| (a, owned(&ids)))
        .collect();
    let expected = [
        ("Cluster", vec!["ECS-CL-002", "ECS-CL-003"]),
        ("ServiceGroup", vec!["EC2-SG-003", "EC2-SG-005"]),
        (
            "TaskDefinition",
            vec![
                "ECS-TD-002",
                "ECS-TD-006",
                "ECS-TD-009",
                "ECS-TD-015",
                "ECS-TD-016",
                "ECS-TD-023",
                "ECS-TD-024",
                "ECS-TD-026",
            ],
        ),
        ("Service", vec!["ECS-SVC-001", "ECS-SVC-002", "ECS-SVC-011"]),
    ];
    let expected: Vec<(String, Vec<String>)> = expected
        .iter()
        .map(|(a, ids)| (a.to_string(), owned(ids)))
        .collect();
    assert_eq!(seed, expected);
    let secure = fixture("secure.yaml", Some("111122223333"));
    assert!(secure.iter().all(|(_, ids)| ids.is_empty()), "{secure:?}");
    assert_eq!(secure.len(), 4);
}

#[test]
fn a_managed_policy_of_the_template_is_attached_by_its_arn() {
    let template = json!({"Resources": {
        "Ops": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {
            "Statement": [{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]}}},
        "Task": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": serde_json::from_str::<Value>(TRUST_ECS_TASKS).unwrap(),
            "ManagedPolicyArns": [{"Ref": "Ops"}]}}}});
    let planned = read(&template);
    let calls: Vec<(&str, &str)> = planned
        .iter()
        .map(|p| (p.address.as_str(), p.event.as_ref().unwrap().name.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("Ops", "CreatePolicy"),
            ("Task", "CreateRole"),
            ("Task", "AttachRolePolicy")
        ]
    );
    let request = |i: usize| planned[i].event.as_ref().unwrap().request.clone();
    assert_eq!(request(0)["policyName"], "Ops");
    assert_eq!(
        request(2)["policyArn"],
        "arn:aws:iam::111122223333:policy/Ops"
    );
    assert_eq!(request(2)["roleName"], "Task");
    let trust: Value =
        serde_json::from_str(request(1)["assumeRolePolicyDocument"].as_str().unwrap()).unwrap();
    assert_eq!(
        trust,
        serde_json::from_str::<Value>(TRUST_ECS_TASKS).unwrap()
    );
}
