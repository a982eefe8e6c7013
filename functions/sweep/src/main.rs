//! Lambda `sweep`: on its schedule, one work item per (account, region) on
//! the work queue; from the queue, the sweep of one place; once a day, the
//! summary. Wiring only; the handler is in `handler.rs`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use sweep::handler::{self, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Logs never print a finding's secret: details are redacted by the rules.
    access_guard::lambda::init_tracing_to(std::io::stdout)?;
    // A bad configuration or policy fails the start, loudly, naming the key.
    let config = access_guard::config::FunctionConfig::from_env()?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(access_guard::aws::sweep_timeouts())
        .load()
        .await;
    let deps = Deps::new(&sdk, config)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::handle(event, &deps)
    }))
    .await
}
