//! Lambda `sweep`: on its schedule, one work item per (account, region) on
//! the work queue; from the queue, the sweep of one place; once a day, the
//! summary. The wiring is `access_guard::lambda::sweep`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    access_guard::lambda::serve::<access_guard::lambda::sweep::Deps>().await
}
