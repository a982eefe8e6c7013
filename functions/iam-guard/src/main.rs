//! Lambda `iam-guard`: IAM policy and trust changes → the IAM-ECS rules →
//! one alert. The wiring is `access_guard::lambda::iam_guard`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    access_guard::lambda::serve::<access_guard::lambda::iam_guard::Deps>().await
}
