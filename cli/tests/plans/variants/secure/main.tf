# One resource of each kind `access-guard plan` reads, each written safely;
# ../insecure is each written the way that breaks its rules.

resource "aws_ecs_cluster" "main" {
  name = "main"

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-0000-4000-8000-000000000002"
      logging    = "OVERRIDE"
      log_configuration {
        cloud_watch_log_group_name     = "/ecs/exec"
        cloud_watch_encryption_enabled = true
      }
    }
  }

  tags = { owner = "platform" }
}

resource "aws_ecs_account_setting_default" "insights" {
  name  = "containerInsights"
  value = "enabled"
}

resource "aws_ecs_capacity_provider" "hosts" {
  name = "hosts"

  auto_scaling_group_provider {
    auto_scaling_group_arn         = "arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:0a1b2c3d-0000-4000-8000-000000000003:autoScalingGroupName/hosts"
    managed_termination_protection = "ENABLED"
  }
}

resource "aws_security_group" "web" {
  name        = "web"
  description = "https from the internet"
  vpc_id      = "vpc-0a1b2c3d4e5f60718"

  ingress {
    description = "https"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group_rule" "admin" {
  type              = "ingress"
  security_group_id = "sg-0a1b2c3d4e5f60718"
  description       = "ssh from the office"
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["203.0.113.0/28"]
}

resource "aws_launch_template" "hosts" {
  name = "hosts"
  # echo ECS_CLUSTER=main >> /etc/ecs/ecs.config: the ECS agent joins cluster main.
  user_data = "IyEvYmluL2Jhc2gKZWNobyBFQ1NfQ0xVU1RFUj1tYWluID4+IC9ldGMvZWNzL2Vjcy5jb25maWcK"

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  network_interfaces {
    associate_public_ip_address = false
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
  name = "read-assets"
  role = aws_iam_role.task.id
  policy = <<-JSON
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Action": [
            "s3:GetObject"
          ],
          "Resource": [
            "arn:aws:s3:::assets-111122223333/*"
          ]
        }
      ]
    }
    JSON
}

resource "aws_ecs_task_definition" "app" {
  family                   = "app"
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  cpu                      = "256"
  memory                   = "512"
  task_role_arn            = "arn:aws:iam::111122223333:role/app"
  execution_role_arn       = "arn:aws:iam::111122223333:role/app-execution"
  container_definitions = <<-JSON
    [
      {
        "name": "app",
        "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "essential": true,
        "user": "10001",
        "readonlyRootFilesystem": true,
        "linuxParameters": {
          "capabilities": {
            "drop": [
              "ALL"
            ]
          }
        },
        "secrets": [
          {
            "name": "DB_PASSWORD",
            "valueFrom": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf"
          }
        ],
        "portMappings": [
          {
            "containerPort": 8443,
            "protocol": "tcp"
          }
        ],
        "mountPoints": [
          {
            "sourceVolume": "data",
            "containerPath": "/data",
            "readOnly": true
          }
        ],
        "logConfiguration": {
          "logDriver": "awslogs",
          "options": {
            "awslogs-group": "/ecs/app",
            "awslogs-region": "eu-west-1",
            "awslogs-stream-prefix": "app",
            "mode": "non-blocking"
          }
        }
      }
    ]
    JSON

  volume {
    name = "data"
    efs_volume_configuration {
      file_system_id     = "fs-0a1b2c3d"
      transit_encryption = "ENABLED"
    }
  }

  tags = { owner = "platform" }
}

resource "aws_ecs_service" "private" {
  name            = "private"
  cluster         = "main"
  task_definition = "app"
  desired_count   = 1
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = ["subnet-0c1d2e3f4a5b60718"]
    security_groups  = ["sg-0a1b2c3d4e5f60718"]
    assign_public_ip = false
  }

  tags = { owner = "platform" }
}

resource "aws_lb" "web" {
  name                       = "web"
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.web.id]
  subnets                    = ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"]
  drop_invalid_header_fields = true
  desync_mitigation_mode     = "defensive"
  enable_deletion_protection = true

  access_logs {
    bucket  = "alb-logs-111122223333"
    enabled = true
  }
}

resource "aws_lb_target_group" "app" {
  name        = "app"
  port        = 8443
  protocol    = "HTTPS"
  target_type = "ip"
  vpc_id      = "vpc-0a1b2c3d4e5f60718"

  health_check {
    protocol = "HTTPS"
    path     = "/health"
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.web.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
  certificate_arn   = "arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-0000-4000-8000-000000000001"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}

resource "aws_network_acl_rule" "https" {
  network_acl_id = "acl-0a1b2c3d4e5f60718"
  rule_number    = 100
  egress         = false
  protocol       = "tcp"
  rule_action    = "allow"
  cidr_block     = "0.0.0.0/0"
  from_port      = 443
  to_port        = 443
}

resource "aws_subnet" "private" {
  vpc_id                  = "vpc-0a1b2c3d4e5f60718"
  cidr_block              = "10.0.2.0/24"
  map_public_ip_on_launch = false
}

resource "aws_route" "nat" {
  route_table_id         = "rtb-0b1c2d3e4f5a60718"
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = "nat-0a1b2c3d4e5f60718"
}
