# The same commands locally and in CI (.ci/run calls `make test`).
.PHONY: run test lint fmt package bench readme conformance clean

# The main job: the CLI over the sample events with the embedded default policy.
run:
	cargo run --quiet -p access-guard-cli --bin access-guard -- check events/

# Everything: fmt check, clippy -D warnings, unit, snapshot, property and
# end-to-end tests (moto server installed into .venv and started on 127.0.0.1).
test:
	scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

# Lambda zips for arm64 (cargo-lambda from PyPI into .venv, zig for cross builds).
package:
	scripts/package.sh

# Cold start, warm latency, memory, archive scan, artifact sizes, and the
# sweep against Prowler (scripts/bench_sweep.sh) (not part of test).
bench:
	scripts/bench.sh

# Regenerate the README's rule table from the registry.
readme:
	cargo run --quiet -p access-guard-cli --bin access-guard -- rules --markdown > target/rules.md
	python3 scripts/readme_rules.py target/rules.md README.md

# Score the CLI on the conformance corpus beside the repo (not part of the tests).
conformance:
	python3 ../shared/conformance/check.py

clean:
	cargo clean
	rm -rf target/lambda
