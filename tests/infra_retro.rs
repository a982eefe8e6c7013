//! The retro scan in the module (`infra/retro.tf`): off by default, its
//! state machine valid ASL once rendered, its roles granted exactly what
//! its definition and its code call, its table the lines the code writes.

use super::*;

const STATE_MACHINE: &str = "infra/retro/state_machine.asl.json";
const ASL_VALIDATOR_VAR: &str = "ACCESS_GUARD_ASL_VALIDATOR";

/// A `resource` or `data` block of `file` by its labels.
fn labelled_block(file: &str, kind: &str, labels: &[&str]) -> hcl::Block {
    parsed(file)
        .blocks()
        .find(|b| {
            b.identifier() == kind
                && b.labels()
                    .iter()
                    .map(|l| l.as_str())
                    .eq(labels.iter().copied())
        })
        .unwrap_or_else(|| panic!("{kind} {labels:?} missing from {file}"))
        .clone()
}

/// An attribute of a body, as the expression written.
fn attribute_expr(body: &hcl::Body, key: &str) -> Option<hcl::Expression> {
    body.attributes()
        .find(|a| a.key() == key)
        .map(|a| a.expr().clone())
}

/// The retro scan's state machine as Terraform renders it (templatefile),
/// with sample values for every placeholder: the placeholders the template
/// uses are exactly the ones `infra/retro.tf` passes, and none is left.
fn rendered_state_machine() -> Value {
    let template = std::fs::read_to_string(repo().join(STATE_MACHINE)).expect(STATE_MACHINE);
    let used: BTreeSet<String> = template
        .match_indices("${")
        .map(|(at, _)| {
            let rest = &template[at + 2..];
            rest[..rest.find('}').expect("a closed placeholder")].to_string()
        })
        .collect();
    let machine = labelled_block(
        "infra/retro.tf",
        "resource",
        &["aws_sfn_state_machine", "retro"],
    );
    let definition = attribute_expr(machine.body(), "definition").expect("definition");
    let hcl::Expression::FuncCall(call) = &definition else {
        panic!("definition = templatefile(...): {}", hcl_text(&definition));
    };
    assert_eq!(call.name.to_string(), "templatefile");
    assert!(
        hcl_text(&call.args[0]).contains("/retro/state_machine.asl.json"),
        "{}",
        hcl_text(&call.args[0])
    );
    let passed: BTreeSet<String> = object_keys(&call.args[1]).into_iter().collect();
    assert_eq!(
        used, passed,
        "placeholders of {STATE_MACHINE} and what retro.tf passes"
    );
    let samples: BTreeMap<&str, &str> = BTreeMap::from([
        ("trail_bucket", "org-trail-bucket"),
        (
            "results_bucket",
            "ecs-access-guard-retro-111122223333-eu-west-1",
        ),
        (
            "function_arn",
            "arn:aws:lambda:eu-west-1:111122223333:function:ecs-access-guard-retro-scan",
        ),
        ("max_items_per_batch", "50"),
        ("max_concurrency", "100"),
        ("tolerated_failure_percentage", "0"),
        (
            "topic_arn",
            "arn:aws:sns:eu-west-1:111122223333:ecs-access-guard-alerts",
        ),
    ]);
    assert_eq!(
        samples
            .keys()
            .map(|k| k.to_string())
            .collect::<BTreeSet<_>>(),
        passed
    );
    let mut text = template;
    for (name, value) in &samples {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    assert!(!text.contains("${"), "a placeholder left in {text}");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{STATE_MACHINE} rendered is not JSON: {e}\n{text}"))
}

/// Whether asl-validator (npm; the test command installs it and names it
/// in ACCESS_GUARD_ASL_VALIDATOR) takes `definition`, and what it said.
fn asl_validates(definition: &Value) -> (bool, String) {
    let validator = std::env::var(ASL_VALIDATOR_VAR).unwrap_or_else(|_| {
        panic!("{ASL_VALIDATOR_VAR} is not set: run the README's test command (`make test`), which installs asl-validator")
    });
    let path = std::env::temp_dir().join(format!("{}.asl.json", unique("retro")));
    std::fs::write(&path, serde_json::to_vec_pretty(definition).expect("JSON")).expect("write");
    let out = std::process::Command::new(&validator)
        .arg("--json-path")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{validator}: {e}"));
    let _ = std::fs::remove_file(&path);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn the_retro_state_machine_is_valid_asl_once_rendered() {
    let definition = rendered_state_machine();
    let (valid, said) = asl_validates(&definition);
    assert!(valid, "{STATE_MACHINE}: {said}");
    // The validator rejects what is broken: a state sent to one that does
    // not exist.
    let mut broken = definition.clone();
    broken["States"]["Defaults"]["Next"] = Value::from("Nowhere");
    let (valid, said) = asl_validates(&broken);
    assert!(!valid, "asl-validator took a broken definition: {said}");
}

/// Every state of a definition, nested ones (a Map's ItemProcessor) included.
fn states_of(definition: &Value, out: &mut Vec<(String, Value)>) {
    for (name, state) in definition["States"].as_object().expect("States") {
        out.push((name.clone(), state.clone()));
        if let Some(processor) = state.get("ItemProcessor") {
            states_of(processor, out);
        }
    }
}

/// What a state machine's role must be granted for what its definition and
/// configuration use, as AWS documents it (each row's source above it).
const STATE_MACHINE_RULES: &[(&str, &[&str])] = &[
    // Lambda's optimized integration: "IAM policies for calling AWS Lambda",
    // https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
    (
        "Task arn:aws:states:::lambda:invoke",
        &["lambda:InvokeFunction"],
    ),
    // SNS's optimized integration: "IAM policies for calling Amazon SNS",
    // https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html
    ("Task arn:aws:states:::sns:publish", &["sns:Publish"]),
    // "ItemReader (Map)", IAM policies for datasets: listing a bucket,
    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html
    // https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html
    (
        "ItemReader arn:aws:states:::s3:listObjectsV2",
        &["s3:ListBucket"],
    ),
    // The same pages: reading an S3 Inventory manifest and its files.
    (
        "ItemReader arn:aws:states:::s3:getObject",
        &["s3:GetObject"],
    ),
    // "ResultWriter (Map)", IAM policies for ResultWriter,
    // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html
    (
        "ResultWriter arn:aws:states:::s3:putObject",
        &[
            "s3:PutObject",
            "s3:GetObject",
            "s3:ListMultipartUploadParts",
            "s3:AbortMultipartUpload",
        ],
    ),
    // "IAM policies for using Distributed Map states": starting the child
    // workflows, following and stopping them,
    // https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html
    (
        "ProcessorConfig DISTRIBUTED",
        &[
            "states:StartExecution",
            "states:DescribeExecution",
            "states:StopExecution",
        ],
    ),
    // "IAM Policies for logging to CloudWatch Logs",
    // https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
    (
        "logging_configuration",
        &[
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ],
    ),
    // "IAM policies for AWS X-Ray",
    // https://docs.aws.amazon.com/step-functions/latest/dg/xray-iam.html
    (
        "tracing_configuration",
        &[
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
        ],
    ),
    // Writing to and reading from a bucket encrypted with SSE-KMS:
    // kms:GenerateDataKey to write (each part of a multipart upload too),
    // kms:Decrypt to read and to complete a multipart upload,
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html
    (
        "ResultWriter to a bucket encrypted with the module's key",
        &["kms:GenerateDataKey", "kms:Decrypt"],
    ),
];

/// The actions of each statement of policy document `name` in `file`
/// (plain or dynamic), by sid: a list written out, or a local of the file.
fn statement_actions(file: &str, name: &str) -> BTreeMap<String, BTreeSet<String>> {
    let document = labelled_block(file, "data", &["aws_iam_policy_document", name]);
    let mut bodies: Vec<hcl::Body> = Vec::new();
    for block in document.body().blocks() {
        match block.identifier() {
            "statement" => bodies.push(block.body().clone()),
            "dynamic" => bodies.extend(
                block
                    .body()
                    .blocks()
                    .filter(|b| b.identifier() == "content")
                    .map(|b| b.body().clone()),
            ),
            _ => {}
        }
    }
    bodies
        .iter()
        .map(|body| {
            let sid = attribute_expr(body, "sid")
                .map(|e| hcl_text(&e).trim_matches('"').to_string())
                .unwrap_or_else(|| panic!("a statement of {name} without a sid"));
            let actions = attribute_expr(body, "actions").expect("actions");
            let text = hcl_text(&actions);
            let list = match text.strip_prefix("local.") {
                Some(local) => local_in(file, local),
                None => serde_json::to_value(hcl::Value::from(actions)).expect("a list"),
            };
            (sid, strings(&list))
        })
        .collect()
}

/// Least privilege for the state machine: its role holds exactly the
/// actions the documented rules derive from what its definition uses (the
/// rendered ASL) and from its logging, tracing and results bucket, each
/// scoped to the resource the definition names.
#[test]
fn the_retro_state_machine_role_grants_exactly_what_its_definition_calls() {
    let definition = rendered_state_machine();
    let mut uses: BTreeSet<String> = BTreeSet::new();
    let mut states = Vec::new();
    states_of(&definition, &mut states);
    for (name, state) in &states {
        if state["Type"] == "Task" {
            uses.insert(format!("Task {}", state["Resource"].as_str().expect(name)));
        }
        if let Some(reader) = state.get("ItemReader") {
            uses.insert(format!(
                "ItemReader {}",
                reader["Resource"].as_str().expect(name)
            ));
        }
        if let Some(writer) = state.get("ResultWriter") {
            uses.insert(format!(
                "ResultWriter {}",
                writer["Resource"].as_str().expect(name)
            ));
            // Into the results bucket, under results/ (what WriteMapResults grants).
            assert_eq!(
                writer["Parameters"]["Bucket"],
                "ecs-access-guard-retro-111122223333-eu-west-1"
            );
            assert_eq!(writer["Parameters"]["Prefix"], "results");
        }
        if let Some(mode) = state["ItemProcessor"]["ProcessorConfig"]["Mode"].as_str() {
            uses.insert(format!("ProcessorConfig {mode}"));
        }
    }
    let machine = labelled_block(
        "infra/retro.tf",
        "resource",
        &["aws_sfn_state_machine", "retro"],
    );
    let blocks: BTreeSet<&str> = machine.body().blocks().map(|b| b.identifier()).collect();
    if blocks.contains("logging_configuration") {
        uses.insert("logging_configuration".to_string());
    }
    let tracing = machine
        .body()
        .blocks()
        .find(|b| b.identifier() == "tracing_configuration")
        .and_then(|b| attribute_expr(b.body(), "enabled"));
    if tracing == Some(hcl::Expression::Bool(true)) {
        uses.insert("tracing_configuration".to_string());
    }
    let encryption = block_text(
        "infra/retro.tf",
        &[
            "aws_s3_bucket_server_side_encryption_configuration",
            "retro",
        ],
    );
    if holds(&encryption, "kms_master_key_id = aws_kms_key.guard.arn") {
        uses.insert("ResultWriter to a bucket encrypted with the module's key".to_string());
    }

    let rules: BTreeMap<&str, &[&str]> = STATE_MACHINE_RULES.iter().copied().collect();
    let mut derived: BTreeSet<String> = BTreeSet::new();
    for used in &uses {
        let actions = rules.get(used.as_str()).unwrap_or_else(|| {
            panic!("no documented rule for {used}: add its row, with its source")
        });
        derived.extend(actions.iter().map(|a| a.to_string()));
    }
    // Every rule applies: the definition uses each of them.
    assert_eq!(
        uses,
        rules.keys().map(|k| k.to_string()).collect::<BTreeSet<_>>()
    );

    let statements = statement_actions("infra/retro.tf", "retro_state_machine");
    let granted: BTreeSet<String> = statements.values().flatten().cloned().collect();
    assert_eq!(granted, derived);

    // Each scoped to what the definition names.
    let document = normalized(&block_text(
        "infra/retro.tf",
        &["aws_iam_policy_document", "retro_state_machine"],
    ));
    for part in [
        "sid = \"InvokeRetroScan\" actions = [\"lambda:InvokeFunction\"] resources = [local.retro_function_arn, \"${local.retro_function_arn}:*\"]",
        "sid = \"ListTrail\" actions = [\"s3:ListBucket\"] resources = [\"arn:${local.partition}:s3:::${var.retro_trail_bucket}\"]",
        "for_each = var.retro_inventory_bucket != null ? [1] : [] content { sid = \"ReadInventory\" actions = [\"s3:GetObject\"] resources = [\"arn:${local.partition}:s3:::${var.retro_inventory_bucket}/*\"]",
        "resources = [\"${aws_s3_bucket.retro[0].arn}/results/*\"]",
        "sid = \"ResultsKey\" actions = local.retro_state_machine_kms_actions resources = [aws_kms_key.guard.arn]",
        "sid = \"StartChildWorkflows\" actions = [\"states:StartExecution\"] resources = [\"arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.retro_state_machine}\"]",
        "resources = [\"arn:${local.partition}:states:${local.region}:${local.account}:execution:${local.retro_state_machine}/*\"]",
        "sid = \"PublishSummaryFailure\" actions = [\"sns:Publish\"] resources = [aws_sns_topic.alerts.arn]",
    ] {
        assert!(holds(&document, part), "{part} missing from {document}");
    }
    assert_eq!(
        attribute_text(
            "infra/retro.tf",
            &["aws_sfn_state_machine", "retro"],
            &["name"]
        ),
        "local.retro_state_machine"
    );
    let text = std::fs::read_to_string(repo().join(STATE_MACHINE)).expect(STATE_MACHINE);
    assert_eq!(
        text.matches("\"FunctionName\": \"${function_arn}\"")
            .count(),
        3,
        "every lambda:invoke calls the retro-scan function"
    );
    // The role and the key: the state machine's role may use the key for
    // the results it writes, with retro_scan only.
    let key = normalized(&block_text(
        "infra/kms.tf",
        &["aws_iam_policy_document", "key"],
    ));
    assert!(
        holds(
            &key,
            "for_each = var.retro_scan ? [1] : [] content { sid = \"RetroScanResults\" actions = local.retro_state_machine_kms_actions"
        ),
        "{key}"
    );
    assert!(
        holds(
            &key,
            "identifiers = [aws_iam_role.retro_state_machine[0].arn]"
        ),
        "{key}"
    );
    // Only Step Functions, for this state machine, assumes the role.
    assert_eq!(
        conditions("infra/retro.tf", "retro_state_machine_assume", None),
        vec![
            condition("StringEquals", "aws:SourceAccount", "[local.account]"),
            condition(
                "ArnLike",
                "aws:SourceArn",
                "[\"arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.retro_state_machine}\"]"
            ),
        ]
    );
}

/// The retro-scan function: its code's calls, on the trail's objects and
/// its results bucket only (the prefixes it writes and reads), the trail's
/// key only when named, no sink, no member account, no EventBridge rule.
#[test]
fn the_retro_scan_function_is_granted_its_calls_on_the_trail_and_its_results_only() {
    let granted = local("function_actions");
    assert_eq!(
        strings(&granted["retro-scan"]),
        code_set(access_guard::lambda::retro_scan::IAM_ACTIONS)
    );
    assert!(local("event_patterns").get("retro-scan").is_none());
    let policy = block_text("infra/iam.tf", &["aws_iam_policy_document", "function"]);
    let statements: Vec<String> = policy
        .split("dynamic \"statement\"")
        .skip(1)
        .map(normalized)
        .collect();
    let by_sid = |sid: &str| -> &String {
        statements
            .iter()
            .find(|s| s.contains(&format!("sid=\"{sid}\"")))
            .unwrap_or_else(|| panic!("{sid} missing from {policy}"))
    };
    for (sid, action, resources) in [
        (
            "ReadTrailAndResults",
            "s3:GetObject",
            "resources = local.retro_read_objects",
        ),
        (
            "ListRunSummaries",
            "s3:ListBucket",
            "resources = [aws_s3_bucket.retro[0].arn]",
        ),
        (
            "WriteFindings",
            "s3:PutObject",
            "resources = local.retro_write_objects",
        ),
    ] {
        let statement = by_sid(sid);
        assert!(
            holds(
                statement,
                &format!("for_each = each.key == \"retro-scan\" ? [for a in local.function_actions[each.key] : a if a == \"{action}\"] : []")
            ),
            "{sid}: {statement}"
        );
        assert!(holds(statement, resources), "{sid}: {statement}");
    }
    assert!(holds(
        by_sid("ListRunSummaries"),
        "test = \"StringLike\" variable = \"s3:prefix\" values = [\"summaries/*\"]"
    ));
    // S3 is granted in these three statements alone (s3:prefix is the
    // condition key of the listing).
    assert_eq!(
        normalized(&policy)
            .replace("\"s3:prefix\"", "")
            .matches("\"s3:")
            .count(),
        3,
        "{policy}"
    );
    let read = normalized(&hcl_text(&local_expr_in(
        "infra/retro.tf",
        "retro_read_objects",
    )));
    for part in [
        "\"arn:${local.partition}:s3:::${var.retro_trail_bucket}/*\"",
        "\"${aws_s3_bucket.retro[0].arn}/summaries/*\"",
        "\"${aws_s3_bucket.retro[0].arn}/results/*\"",
    ] {
        assert!(holds(&read, part), "{part}: {read}");
    }
    let write = normalized(&hcl_text(&local_expr_in(
        "infra/retro.tf",
        "retro_write_objects",
    )));
    // Where the code writes: its findings and its summaries.
    for prefix in [
        access_guard::retro::FINDINGS_PREFIX,
        access_guard::retro::SUMMARIES_PREFIX,
    ] {
        let part = format!("\"${{aws_s3_bucket.retro[0].arn}}/{prefix}*\"");
        assert!(holds(&write, &part), "{part}: {write}");
    }
    assert!(!write.contains("results/"), "{write}");

    // The trail's key: decrypt, on that key, only when it is named.
    assert_eq!(
        strings(&local_in("infra/retro.tf", "retro_trail_kms_actions")),
        code_set(&["kms:Decrypt"])
    );
    let decrypt = by_sid("DecryptTrail");
    assert!(holds(
        decrypt,
        "for_each = each.key == \"retro-scan\" && var.retro_trail_kms_key_arn != null ? local.retro_trail_kms_actions : []"
    ), "{decrypt}");
    assert!(
        holds(decrypt, "resources = [var.retro_trail_kms_key_arn]"),
        "{decrypt}"
    );
    assert_eq!(
        variable_default("infra/variables.tf", "retro_trail_kms_key_arn"),
        Some(hcl::Expression::Null)
    );
    assert_eq!(policy.matches("var.retro_trail_kms_key_arn").count(), 2);

    // No sink, no failure queue, no member role.
    for sid in [
        "ImportFindings",
        "ResolveFindings",
        "PublishChatbot",
        "FailureQueue",
    ] {
        assert!(
            by_sid(sid).contains("each.key!=\"retro-scan\"")
                || by_sid(sid).contains("each.key==\"retro-scan\"?[]"),
            "{sid}: {}",
            by_sid(sid)
        );
    }
    assert!(holds(
        by_sid("AssumeMemberRole"),
        "for_each = local.organization && contains(local.member_functions, each.key) ?"
    ));
    assert_eq!(
        normalized(&hcl_text(&local_expr_in(
            "infra/main.tf",
            "member_functions"
        ))),
        normalized("toset([for f in local.functions : f if f != \"retro-scan\"])")
    );
    let stack_set = attribute_text(
        "infra/organization.tf",
        &["aws_cloudformation_stack_set", "member"],
        &["parameters"],
    );
    assert!(holds(
        &stack_set,
        "CentralRoleArns = join(\",\", [for f in local.member_functions : aws_iam_role.function[f].arn])"
    ), "{stack_set}");
    let outputs =
        normalized(&std::fs::read_to_string(repo().join("infra/outputs.tf")).expect("outputs"));
    assert!(holds(
        &outputs,
        "central_role_arns = [for f in local.member_functions : aws_iam_role.function[f].arn]"
    ));

    // Its environment: the common one, its results bucket, no sink.
    let function = block_text("infra/lambda.tf", &["aws_lambda_function", "guard"]);
    assert!(
        holds(
            &function,
            "each.key == \"retro-scan\" ? local.retro_environment : local.sinks_environment"
        ),
        "{function}"
    );
    assert_eq!(
        normalized(&hcl_text(&local_expr_in(
            "infra/retro.tf",
            "retro_environment"
        ))),
        normalized(&format!(
            "var.retro_scan ? {{ {} = aws_s3_bucket.retro[0].id }} : {{}}",
            access_guard::config::RETRO_BUCKET_VAR
        ))
    );
    // Its timeout fits an Express child workflow (five minutes).
    let timeout = std::fs::read_to_string(repo().join("infra/variables.tf")).expect("variables");
    assert!(
        holds(&timeout, "var.retro_timeout_seconds < 300"),
        "retro_timeout_seconds"
    );
    assert!(holds(
        &function,
        "each.key == \"retro-scan\" ? var.retro_timeout_seconds"
    ));
}

/// Off by default (retro_scan = false): the function is not deployed, and
/// every resource of the retro scan is counted on retro_scan.
#[test]
fn nothing_of_the_retro_scan_exists_without_retro_scan() {
    assert_eq!(
        variable_default("infra/variables.tf", "retro_scan"),
        Some(hcl::Expression::Bool(false))
    );
    assert_eq!(
        normalized(&hcl_text(&local_expr_in("infra/main.tf", "functions"))),
        normalized("toset([for f in keys(local.function_actions) : f if f != \"retro-scan\" || var.retro_scan])")
    );
    let body = parsed("infra/retro.tf");
    let mut counted = 0;
    for block in body
        .blocks()
        .filter(|b| b.identifier() == "resource" || b.identifier() == "data")
    {
        let count = attribute_expr(block.body(), "count")
            .map(|e| normalized(&hcl_text(&e)))
            .unwrap_or_default();
        assert_eq!(
            count,
            normalized("var.retro_scan ? 1 : 0"),
            "{} {:?}",
            block.identifier(),
            block.labels()
        );
        assert!(attribute_expr(block.body(), "for_each").is_none());
        counted += 1;
    }
    assert!(counted >= 14, "only {counted} blocks in retro.tf");
    // What the rest of the module adds for it: on retro_scan, or keyed on
    // the function, which local.functions holds only with retro_scan.
    let key = normalized(&block_text(
        "infra/kms.tf",
        &["aws_iam_policy_document", "key"],
    ));
    assert!(holds(
        &key,
        "for_each = var.retro_scan ? [1] : [] content { sid = \"RetroScanResults\""
    ));
    let outputs = parsed("infra/outputs.tf");
    let retro_outputs: Vec<&hcl::Block> = outputs
        .blocks()
        .filter(|b| {
            b.labels()
                .first()
                .is_some_and(|l| l.as_str().starts_with("retro_"))
        })
        .collect();
    assert_eq!(retro_outputs.len(), 4);
    for output in retro_outputs {
        let value = hcl_text(&attribute_expr(output.body(), "value").expect("value"));
        assert!(
            value.starts_with("var.retro_scan ?") && value.ends_with(": null"),
            "{value}"
        );
    }
}

/// Athena's table over the findings: the columns of a line of JSON Lines
/// (every value a string) but the partition keys, which the key carries
/// (findings/account=…/region=…/date=…/), read by the JSON SerDe.
#[test]
fn the_findings_table_reads_the_json_lines_the_retro_scan_writes() {
    let columns: Vec<String> = local_in("infra/retro.tf", "retro_columns")
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c.as_str().expect("a name").to_string())
        .collect();
    let keys: Vec<String> = local_in("infra/retro.tf", "retro_partition_keys")
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c.as_str().expect("a name").to_string())
        .collect();
    assert_eq!(keys, ["account", "region", "date"]);
    let line = [
        "run",
        "account",
        "region",
        "date",
        "event_time",
        "event_id",
        "event_name",
        "actor",
        "source_ip",
        "resource",
        "rule",
        "severity",
        "title",
        "detail",
        "object",
    ];
    let expected: Vec<String> = line
        .iter()
        .filter(|c| !keys.iter().any(|k| k.as_str() == **c))
        .map(|c| c.to_string())
        .collect();
    assert_eq!(columns, expected);
    let table = normalized(&block_text(
        "infra/retro.tf",
        &["aws_glue_catalog_table", "retro_findings"],
    ));
    for part in [
        "table_type = \"EXTERNAL_TABLE\"",
        "dynamic \"partition_keys\" { for_each = local.retro_partition_keys content { name = partition_keys.value type = \"string\" } }",
        "location = \"s3://${aws_s3_bucket.retro[0].id}/findings/\"",
        "serialization_library = \"org.openx.data.jsonserde.JsonSerDe\"",
        "dynamic \"columns\" { for_each = local.retro_columns content { name = columns.value type = \"string\" } }",
    ] {
        assert!(holds(&table, part), "{part} missing from {table}");
    }
    // The table reads where the code writes its findings.
    assert!(holds(
        &table,
        &format!(
            "location = \"s3://${{aws_s3_bucket.retro[0].id}}/{}\"",
            access_guard::retro::FINDINGS_PREFIX
        )
    ));
}
