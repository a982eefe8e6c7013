//! The roots of trust of the functions' HTTPS calls to AWS.
//!
//! In the commercial regions and GovCloud (US), every AWS service
//! endpoint's certificate chains to a root of Amazon Trust Services (S3 was
//! the last to move, in June 2022). There the functions trust those five
//! roots alone ([`TlsRoots::Amazon`], the default): a certificate from any
//! other authority, however trusted by the operating system, cannot stand
//! in for AWS's, and the start-up reads no system store. That store is
//! about 140 certificates read from files and parsed, once for the first
//! client and again into each client's store: on the benchmark machine,
//! init went from 8.4–8.7 ms to 5.1–6.7 ms without it (BENCHMARKS.md).
//!
//! [`TlsRoots::System`] (`ACCESS_GUARD_TLS_ROOTS=system`) trusts the
//! operating system's store as the SDK does by default. It is the default
//! in every other partition (China, the isolated regions, the European
//! Sovereign Cloud), whose endpoints have authorities of their own, and
//! the choice for an HTTPS proxy (inspecting or not: its own certificate is
//! checked against the same roots) or an HTTPS endpoint override.

use aws_sdk_sns::config::SharedHttpClient;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder};

/// The environment variable that chooses the roots: `amazon` or `system`.
pub const TLS_ROOTS_VAR: &str = "ACCESS_GUARD_TLS_ROOTS";

/// Amazon Root CA 1 to 4 and Starfield Services Root Certificate Authority
/// G2, as PEM.
pub const AMAZON_ROOTS_PEM: &str = include_str!("amazon_roots.pem");

/// Which authorities a function trusts for its calls to AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsRoots {
    /// Amazon Trust Services' roots alone.
    Amazon,
    /// The operating system's store.
    System,
}

impl TlsRoots {
    /// The roots `value` (the variable's) names; unset, [`TlsRoots::Amazon`]
    /// in a region of the commercial partition or of GovCloud (US) (or with
    /// no region), [`TlsRoots::System`] in any other. Anything else is an
    /// error that names the variable, so that the start fails.
    pub fn parse(value: Option<&str>, region: Option<&str>) -> Result<TlsRoots, String> {
        match value.map(str::trim) {
            None | Some("") if region.is_some_and(|r| !served_by_amazon_trust(r)) => {
                Ok(TlsRoots::System)
            }
            None | Some("") | Some("amazon") => Ok(TlsRoots::Amazon),
            Some("system") => Ok(TlsRoots::System),
            Some(other) => Err(format!(
                "{TLS_ROOTS_VAR}: {other:?} is neither \"amazon\" nor \"system\""
            )),
        }
    }

    /// The roots this process's environment names (see [`TlsRoots::parse`]).
    pub fn from_env() -> Result<TlsRoots, String> {
        let var = |name: &str| std::env::var(name).ok();
        let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
        TlsRoots::parse(var(TLS_ROOTS_VAR).as_deref(), region.as_deref())
    }
}

/// Whether `region` is one of the commercial partition's
/// (`^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`, as the SDK's partitions
/// have it) or GovCloud (US)'s (`^us-gov-\w+-\d+$`).
fn served_by_amazon_trust(region: &str) -> bool {
    const COMMERCIAL: [&str; 9] = ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"];
    let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match region.split('-').collect::<Vec<_>>()[..] {
        [area, name, n] => COMMERCIAL.contains(&area) && word(name) && number(n),
        ["us", "gov", name, n] => word(name) && number(n),
        _ => false,
    }
}

/// The HTTP client of a function's SDK configuration: the SDK's default
/// (`default_https_client` of aws-smithy-runtime: rustls over aws-lc, the
/// proxy the environment names), trusting `roots`. It is built as the SDK
/// builds its own, through `build_with_connector_fn`.
pub fn http_client(roots: TlsRoots) -> SharedHttpClient {
    let trust = match roots {
        TlsRoots::Amazon => TrustStore::empty().with_pem_certificate(AMAZON_ROOTS_PEM.as_bytes()),
        TlsRoots::System => TrustStore::default(),
    };
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a trust store alone is a valid TLS context");
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    use sha2::{Digest, Sha256};

    /// The SHA-256 fingerprints Amazon Trust Services publishes for its
    /// roots (https://www.amazontrust.com/repository/).
    const PUBLISHED: [&str; 5] = [
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
        "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
    ];

    #[test]
    fn the_amazon_roots_are_the_five_published_ones_and_nothing_else() {
        let fingerprints: Vec<String> = CertificateDer::pem_slice_iter(AMAZON_ROOTS_PEM.as_bytes())
            .map(|der| {
                let der = der.expect("a parsable PEM block");
                Sha256::digest(der.as_ref())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            })
            .collect();
        assert_eq!(fingerprints, PUBLISHED);
        // Each block's comment names the fingerprint it holds.
        for fingerprint in PUBLISHED {
            let named = fingerprint
                .as_bytes()
                .chunks(2)
                .map(|pair| std::str::from_utf8(pair).unwrap().to_uppercase())
                .collect::<Vec<_>>()
                .join(":");
            assert!(
                AMAZON_ROOTS_PEM.contains(&format!("# SHA-256 {named}")),
                "{named}"
            );
        }
    }

    #[test]
    fn the_roots_are_amazons_unless_the_operator_or_the_partition_says_otherwise() {
        let cases = [
            (None, Some("us-east-1"), Ok(TlsRoots::Amazon)),
            (None, None, Ok(TlsRoots::Amazon)),
            (Some(""), Some("eu-west-1"), Ok(TlsRoots::Amazon)),
            (None, Some("ap-southeast-5"), Ok(TlsRoots::Amazon)),
            (None, Some("us-gov-west-1"), Ok(TlsRoots::Amazon)),
            (Some("amazon"), Some("cn-north-1"), Ok(TlsRoots::Amazon)),
            (None, Some("cn-northwest-1"), Ok(TlsRoots::System)),
            (None, Some("us-iso-east-1"), Ok(TlsRoots::System)),
            (None, Some("us-isob-east-1"), Ok(TlsRoots::System)),
            (None, Some("eu-isoe-west-1"), Ok(TlsRoots::System)),
            (None, Some("eusc-de-east-1"), Ok(TlsRoots::System)),
            (None, Some("somewhere"), Ok(TlsRoots::System)),
            (Some(" system "), Some("us-east-1"), Ok(TlsRoots::System)),
        ];
        for (value, region, want) in cases {
            assert_eq!(
                TlsRoots::parse(value, region),
                want,
                "{value:?} in {region:?}"
            );
        }
        let error = TlsRoots::parse(Some("Amazon"), Some("us-east-1")).unwrap_err();
        assert!(
            error.starts_with(TLS_ROOTS_VAR) && error.contains("\"Amazon\""),
            "{error}"
        );
    }
}
