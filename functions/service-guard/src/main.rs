//! Lambda `service-guard`: ECS service, task-set and standalone-task calls →
//! the ECS-SVC rules, joined with what AWS says → one alert. The wiring is
//! `access_guard::lambda::service_guard`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    access_guard::lambda::serve::<access_guard::lambda::service_guard::Deps>().await
}
