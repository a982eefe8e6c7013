//! Lambda `ingress-guard`: security-group ingress events → revoke the
//! world-open rule, notify. Wiring only; the handler is in `handler.rs`.

use ingress_guard::handler::{self, Deps};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Logs never print an event body, at any level.
    access_guard::lambda::init_tracing_to(std::io::stdout)?;
    // A bad configuration or policy fails the start, loudly, naming the key.
    let config = access_guard::config::FunctionConfig::from_env()?;
    let sdk = access_guard::aws::sdk_config().await;
    let deps = Deps::new(&sdk, config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        handler::handle(event, &deps)
    }))
    .await
}
