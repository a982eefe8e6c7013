//! Lambda `service-guard`: ECS service, task-set and standalone-task calls →
//! the ECS-SVC rules, joined with what AWS says → one alert. The wiring is
//! `access_guard::lambda::service_guard`.

// One thread: a guard's work is waiting on AWS, a few calls at a time,
// and at the module's default of 128 MB a function has a fraction of one
// vCPU; worker threads would only add to the cold start (BENCHMARKS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    access_guard::lambda::serve::<access_guard::lambda::service_guard::Deps>().await
}
