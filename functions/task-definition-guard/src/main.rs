//! Lambda `task-definition-guard`: RegisterTaskDefinition → the ECS-TD rules →
//! one alert. The wiring is `access_guard::lambda::task_definition_guard`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    access_guard::lambda::serve::<access_guard::lambda::task_definition_guard::Deps>().await
}
