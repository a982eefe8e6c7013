//! Lambda `instance-guard`: launches, launch templates and metadata updates
//! → the EC2-CI rules → one alert. The wiring is
//! `access_guard::lambda::instance_guard`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    access_guard::lambda::serve::<access_guard::lambda::instance_guard::Deps>().await
}
