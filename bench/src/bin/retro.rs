//! The retro-scan function's handler over a trail in an S3-compatible
//! store, in this process, one batch after another as one Lambda instance
//! takes them: its throughput on one thread, for the Distributed Map's
//! figures in BENCHMARKS.md.
//!
//!     access-guard-retro-bench BUCKET PREFIX RESULTS BATCH
//!
//! The store is `AWS_ENDPOINT_URL` (path-style addressing); RESULTS is a
//! bucket it creates for the findings. Prints the objects, bytes read
//! (gzipped), events, findings and wall time.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use access_guard::aws::objects::S3Objects;
use access_guard::aws::SnsNotifier;
use access_guard::config::FunctionConfig;
use access_guard::lambda::retro_scan::{handle, Deps};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, bucket, prefix, results, batch] = &args[..] else {
        anyhow::bail!("usage: access-guard-retro-bench BUCKET PREFIX RESULTS BATCH");
    };
    let batch: usize = batch.parse()?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket(results).send().await?;
    let mut items = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for o in page?.contents() {
            items.push(json!({"Key": o.key(), "Size": o.size()}));
        }
    }
    let results_bucket = results.clone();
    let config = FunctionConfig::from_lookup(move |name| match name {
        "ACCESS_GUARD_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:unused".to_string()),
        "ACCESS_GUARD_RETRO_BUCKET" => Some(results_bucket.clone()),
        _ => None,
    })?;
    let deps = Deps {
        objects: Box::new(S3Objects::new(s3)),
        notifier: Box::new(SnsNotifier::new(
            aws_sdk_sns::Client::new(&sdk),
            config.topic_arn.clone(),
        )),
        bucket: results.clone(),
        config,
    };
    let started = Instant::now();
    let (mut bytes, mut events, mut findings, mut failed) = (0, 0, 0, 0);
    for (n, chunk) in items.chunks(batch).enumerate() {
        let mut context = lambda_runtime::Context::default();
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
        context.deadline = (now + Duration::from_secs(900)).as_millis() as u64;
        let payload = json!({"Items": chunk, "BatchInput": {"run": "bench", "bucket": bucket}});
        let out: Value = handle(LambdaEvent::new(payload, context), &deps)
            .await
            .map_err(|e| anyhow::anyhow!("batch {n}: {e}"))?;
        let get = |f: &str| out[f].as_u64().unwrap_or(0);
        bytes += get("bytes");
        events += get("events");
        findings += get("findings");
        failed += out["failed"].as_array().map_or(0, Vec::len)
            + out["unread"].as_array().map_or(0, Vec::len);
    }
    println!(
        "{} {bytes} {events} {findings} {failed} {:.3}",
        items.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
