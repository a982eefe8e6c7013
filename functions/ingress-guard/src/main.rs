//! Lambda `ingress-guard`: security-group ingress events → revoke the
//! world-open rule, notify. The wiring is `access_guard::lambda::ingress_guard`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    access_guard::lambda::serve::<access_guard::lambda::ingress_guard::Deps>().await
}
