//! Any bytes, as a file the CLI or a Lambda could be handed: read every
//! record, evaluate it offline, render its alert. Must never panic.
#![no_main]

use access_guard::model::stream::read_document;
use access_guard::output::notify::Notification;
use access_guard::policy::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let policy = Policy::embedded();
    for event in read_document(data, "fuzz").into_iter().flatten() {
        if let Ok(report) = access_guard::guards::offline::evaluate(&event, &policy, time::macros::date!(2026 - 01 - 01)) {
            let _ = Notification::render(&report);
        }
    }
});
