//! Lambda `retro-scan`: a batch of the trail's objects from the retro
//! scan's Distributed Map, or the run's summary. The wiring is
//! `access_guard::lambda::retro_scan`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    access_guard::lambda::serve::<access_guard::lambda::retro_scan::Deps>().await
}
