# The seed's setup made safe: the tasks have no public IP and admit only
# the load balancer; the load balancer serves HTTPS with a current TLS
# policy and redirects HTTP; the container runs as a user, read-only, with
# every capability dropped, from a pinned image of the account's registry;
# the task role may read one bucket. `access-guard plan` finds nothing in
# its plan (plan.json).

variable "vpc_id" {
  type    = string
  default = "vpc-0a1b2c3d4e5f60718"
}

variable "public_subnets" {
  type    = list(string)
  default = ["subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"]
}

variable "private_subnets" {
  type    = list(string)
  default = ["subnet-0c1d2e3f4a5b60718", "subnet-0d1e2f3a4b5c60718"]
}

variable "certificate_arn" {
  type    = string
  default = "arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-0000-4000-8000-000000000001"
}

variable "exec_kms_key" {
  type    = string
  default = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-0000-4000-8000-000000000002"
}

variable "log_bucket" {
  type    = string
  default = "seed-alb-logs-111122223333"
}

resource "aws_ecs_cluster" "main" {
  name = "seed"

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  configuration {
    execute_command_configuration {
      kms_key_id = var.exec_kms_key
      logging    = "OVERRIDE"
      log_configuration {
        cloud_watch_log_group_name     = "/ecs/seed/exec"
        cloud_watch_encryption_enabled = true
      }
    }
  }

  tags = { owner = "platform", env = "production" }
}

resource "aws_security_group" "alb" {
  name        = "seed-alb"
  description = "load balancer"
  vpc_id      = var.vpc_id

  ingress {
    description = "https"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "http, redirected to https"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "web" {
  name        = "seed-web"
  description = "tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "web_from_alb" {
  security_group_id            = aws_security_group.web.id
  description                  = "from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8080
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_lb" "web" {
  name                       = "seed-web"
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnets
  drop_invalid_header_fields = true
  desync_mitigation_mode     = "strictest"
  enable_deletion_protection = true

  access_logs {
    bucket  = var.log_bucket
    enabled = true
  }
}

resource "aws_lb_target_group" "web" {
  name        = "seed-web"
  port        = 8080
  protocol    = "HTTPS"
  target_type = "ip"
  vpc_id      = var.vpc_id

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
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_iam_role" "task" {
  name = "seed-task"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "task" {
  name = "read-assets"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = ["arn:aws:s3:::seed-assets-111122223333/*"]
    }]
  })
}

resource "aws_ecs_task_definition" "app" {
  family                   = "seed-app"
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  cpu                      = "256"
  memory                   = "512"
  task_role_arn            = aws_iam_role.task.arn
  execution_role_arn       = "arn:aws:iam::111122223333:role/seed-execution"
  container_definitions = jsonencode([{
    name                   = "app"
    image                  = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/seed-app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    essential              = true
    user                   = "10001"
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = 8080, protocol = "tcp" }]
    linuxParameters        = { capabilities = { drop = ["ALL"] }, initProcessEnabled = true }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = "/ecs/seed/app"
        awslogs-region        = "eu-west-1"
        awslogs-stream-prefix = "app"
        mode                  = "non-blocking"
      }
    }
  }])
  tags = { owner = "platform", env = "production" }
}

resource "aws_ecs_service" "web" {
  name            = "seed-web"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.app.arn
  desired_count   = 2
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = var.private_subnets
    security_groups  = [aws_security_group.web.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "app"
    container_port   = 8080
  }

  tags = { owner = "platform", env = "production" }
}
