//! Lambda `network-guard`: the changes that open the way in (routes, route
//! tables, network ACLs, public addresses at launch, internet gateways) →
//! the NET rules → one alert. The wiring is
//! `access_guard::lambda::network_guard`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    access_guard::lambda::serve::<access_guard::lambda::network_guard::Deps>().await
}
