//! Lambda `cluster-guard`: clusters, account settings and capacity providers
//! → the ECS-CL rules → one alert. The wiring is
//! `access_guard::lambda::cluster_guard`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    access_guard::lambda::serve::<access_guard::lambda::cluster_guard::Deps>().await
}
