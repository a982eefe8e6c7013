//! Evaluation alone (parse + rules + plan, no I/O), per event kind.

use access_guard::model::stream::read_document;
use access_guard::policy::Policy;
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn evaluate(c: &mut Criterion) {
    let policy = Policy::embedded();
    let today = time::macros::date!(2026 - 11 - 02);
    for (kind, file) in [
        ("security group ingress", "sg-mixed-ssh-and-https.json"),
        ("task definition, 3 containers", "td-multi-container.json"),
        ("create service", "svc-create-public-ip.json"),
    ] {
        let bytes = std::fs::read(format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR")))
            .expect("sample event");
        c.bench_function(kind, |b| {
            b.iter(|| {
                for event in read_document(black_box(&bytes), file).into_iter().flatten() {
                    black_box(access_guard::guards::offline::evaluate(&event, &policy, today).ok());
                }
            })
        });
        // The share of the above spent reading the event into a JSON tree.
        c.bench_function(&format!("{kind}: reading the event only"), |b| {
            b.iter(|| black_box(read_document(black_box(&bytes), file)))
        });
    }
}

criterion_group!(benches, evaluate);
criterion_main!(benches);
