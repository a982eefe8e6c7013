# One resource of each kind `access-guard plan` reads, each written the
# way that breaks its rules; ../secure is each written safely. Their plans
# (plan.json) are judged by access-guard and by Checkov side by side
# (scripts/checkov_compare.py).

resource "aws_ecs_cluster" "plain" {
  name = "plain"
}

resource "aws_ecs_account_setting_default" "insights" {
  name  = "containerInsights"
  value = "disabled"
}

resource "aws_ecs_capacity_provider" "hosts" {
  name = "hosts"

  auto_scaling_group_provider {
    auto_scaling_group_arn         = "arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:0a1b2c3d-0000-4000-8000-000000000003:autoScalingGroupName/hosts"
    managed_termination_protection = "DISABLED"
  }
}

resource "aws_security_group" "open" {
  name        = "open"
  description = "open"
  vpc_id      = "vpc-0a1b2c3d4e5f60718"

  ingress {
    description = "everything"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group_rule" "rdp" {
  type              = "ingress"
  security_group_id = "sg-0a1b2c3d4e5f60718"
  description       = "rdp"
  from_port         = 3389
  to_port           = 3389
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/1", "128.0.0.0/1"]
}

resource "aws_launch_template" "hosts" {
  name     = "hosts"
  # echo ECS_CLUSTER=plain >> /etc/ecs/ecs.config: the ECS agent joins cluster plain.
  user_data = "IyEvYmluL2Jhc2gKZWNobyBFQ1NfQ0xVU1RFUj1wbGFpbiA+PiAvZXRjL2Vjcy9lY3MuY29uZmlnCg=="
  key_name = "ops"

  metadata_options {
    http_tokens                 = "optional"
    http_put_response_hop_limit = 2
  }

  network_interfaces {
    associate_public_ip_address = true
  }

  iam_instance_profile {
    name = "ecsInstanceRole"
  }
}

resource "aws_iam_role" "task" {
  name = "task"
  assume_role_policy = <<-JSON
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Principal": {
            "Service": "ecs-tasks.amazonaws.com"
          },
          "Action": "sts:AssumeRole"
        }
      ]
    }
    JSON
}

resource "aws_iam_role_policy" "task" {
  name = "everything"
  role = aws_iam_role.task.id
  policy = <<-JSON
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Action": "*",
          "Resource": "*"
        }
      ]
    }
    JSON
}

resource "aws_ecs_task_definition" "risky" {
  family             = "risky"
  network_mode       = "bridge"
  pid_mode           = "host"
  task_role_arn      = "arn:aws:iam::111122223333:role/app"
  execution_role_arn = "arn:aws:iam::111122223333:role/app"
  container_definitions = <<-JSON
    [
      {
        "name": "app",
        "image": "nginx",
        "essential": true,
        "privileged": true,
        "memory": 512,
        "environment": [
          {
            "name": "AWS_SECRET_ACCESS_KEY",
            "value": "example-not-a-real-secret-value-0000000000"
          },
          {
            "name": "DB_PASSWORD",
            "value": "hunter2hunter2"
          }
        ],
        "portMappings": [
          {
            "containerPort": 22,
            "hostPort": 22,
            "protocol": "tcp"
          }
        ],
        "mountPoints": [
          {
            "sourceVolume": "data",
            "containerPath": "/data"
          }
        ]
      }
    ]
    JSON

  volume {
    name = "data"
    efs_volume_configuration {
      file_system_id     = "fs-0a1b2c3d"
      transit_encryption = "DISABLED"
    }
  }
}

resource "aws_ecs_service" "public" {
  name             = "public"
  cluster          = "plain"
  task_definition  = "risky"
  desired_count    = 1
  launch_type      = "FARGATE"
  platform_version = "1.3.0"

  network_configuration {
    subnets          = ["subnet-0a1b2c3d4e5f60718"]
    security_groups  = [aws_security_group.open.id]
    assign_public_ip = true
  }
}

resource "aws_lb" "public" {
  name                       = "public"
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.open.id]
  subnets                    = ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"]
  drop_invalid_header_fields = false
  desync_mitigation_mode     = "monitor"
}

resource "aws_lb_target_group" "plain" {
  name        = "plain"
  port        = 80
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = "vpc-0a1b2c3d4e5f60718"
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.public.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.plain.arn
  }
}

resource "aws_lb_listener" "old_tls" {
  load_balancer_arn = aws_lb.public.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-2016-08"
  certificate_arn   = "arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-0000-4000-8000-000000000001"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.plain.arn
  }
}

resource "aws_network_acl_rule" "ssh" {
  network_acl_id = "acl-0a1b2c3d4e5f60718"
  rule_number    = 100
  egress         = false
  protocol       = "tcp"
  rule_action    = "allow"
  cidr_block     = "0.0.0.0/0"
  from_port      = 22
  to_port        = 22
}

resource "aws_subnet" "public" {
  vpc_id                  = "vpc-0a1b2c3d4e5f60718"
  cidr_block              = "10.0.1.0/24"
  map_public_ip_on_launch = true
}

resource "aws_route" "internet" {
  route_table_id         = "rtb-0a1b2c3d4e5f60718"
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = "igw-0a1b2c3d4e5f60718"
}
