//! Secret detection in environment values (ECS-TD-007/008/009). Detection
//! returns what kind of secret a value looks like, never the value; callers
//! show its length and, for a token of a known format, that format's prefix
//! ([`redact`]).
//!
//! Structure comes before entropy: AWS keys, private-key blocks, JSON Web
//! Tokens (their header decoded), credentials in URLs and connection
//! strings, webhook URLs, then the provider formats of [`formats::FORMATS`]
//! (with checksums where the format has one), and only then entropy, which
//! never fires on what decodes to ordinary text or JSON, on paths, on URLs
//! without credentials, or on digests and UUIDs. Everything is written out
//! rather than compiled as regular expressions: no start-up cost in the
//! Lambda and each check reads as what it is.
//!
//! Layer: model (with `model` and `finding`). Imports nothing of
//! the crate outside its layer.

pub mod formats;
pub mod record;

use base64::Engine as _;

/// What a value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    AwsAccessKeyId,
    AwsSecretAccessKey,
    PrivateKey,
    Jwt,
    UrlCredentials,
    /// A provider's credential format.
    Format(&'static formats::Format),
    /// A credential recognised by its structure (connection strings, webhooks…).
    Structured(&'static str),
    /// A documentation example (AWS's `AKIAIOSFODNN7EXAMPLE`): reported as
    /// such, at info, not as a leak.
    Example(&'static str),
    HighEntropy,
}

impl SecretKind {
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKeyId => "an AWS access key id",
            SecretKind::AwsSecretAccessKey => "an AWS secret access key",
            SecretKind::PrivateKey => "a private key",
            SecretKind::Jwt => "a JSON Web Token",
            SecretKind::UrlCredentials => "a URL with a password in it",
            SecretKind::Format(f) => f.describe,
            SecretKind::Structured(kind) | SecretKind::Example(kind) => kind,
            SecretKind::HighEntropy => "a high-entropy string (likely a key or token)",
        }
    }

    /// True for documentation examples, which are not leaks.
    pub fn is_example(self) -> bool {
        matches!(self, SecretKind::Example(_))
    }
}

/// The example credentials of the AWS documentation.
const AWS_EXAMPLES: [&str; 4] = [
    "AKIAIOSFODNN7EXAMPLE",
    "AKIAI44QH8DHBEXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
];

/// True when the value is one of the AWS documentation's example keys (the
/// whole value: an example beside a real key is not an example).
pub fn is_documentation_example(value: &str) -> bool {
    AWS_EXAMPLES.iter().any(|e| value.trim() == *e)
}

/// Values that stand for a secret rather than being one.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    let first = v.chars().next().unwrap_or(' ');
    lower.starts_with("${")
        || lower.starts_with("$(")
        || lower.starts_with("{{")
        || (v.starts_with('<') && v.ends_with('>'))
        || lower.starts_with("arn:")
        || v.chars().all(|c| c == first)
        || matches!(
            lower.as_str(),
            "changeme"
                | "change_me"
                | "change-me"
                | "password"
                | "secret"
                | "example"
                | "dummy"
                | "placeholder"
                | "todo"
                | "tbd"
                | "none"
                | "null"
                | "nil"
                | "true"
                | "false"
                | "redacted"
                | "test"
                | "xxx"
                | "unset"
                | "default"
        )
        || lower.starts_with("your_")
        || lower.starts_with("your-")
}

/// Numbers and booleans are settings, not secrets.
fn is_setting(value: &str) -> bool {
    let v = value.trim();
    v.parse::<f64>().is_ok()
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off"
        )
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

/// True when the value holds an AWS access key id that is not the
/// documentation's example (what [`detect`] reports as one), cheaply.
pub fn is_access_key_id(value: &str) -> bool {
    has_access_key_id(value) && !is_documentation_example(value) && !is_placeholder(value)
}

/// What may be shown of a secret's value: the prefix of its token format
/// when the whole value is a token of a known format (`ghp_…(40 chars)`,
/// `AKIA…(20 chars)`: the prefix says what kind of credential it is and is
/// the same for every token of its kind), and its length alone for any
/// other value (`…(8 chars)`): a password's first characters are part of
/// the password.
pub fn redact(value: &str) -> String {
    let count = value.chars().count();
    let bytes = value.as_bytes();
    let aws_key_id = bytes.len() == 20
        && (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && bytes[4..].iter().all(|&c| is_key_char(c));
    let prefix = if aws_key_id {
        &value[..4]
    } else {
        formats::whole_token_prefix(value).unwrap_or("")
    };
    format!("{prefix}…({count} chars)")
}

/// `AKIA…`/`ASIA…` followed by 16 upper-case letters or digits, anywhere in the value.
fn has_access_key_id(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.windows(20).enumerate().any(|(i, w)| {
        (w.starts_with(b"AKIA") || w.starts_with(b"ASIA"))
            && w[4..].iter().all(|&c| is_key_char(c))
            && (i == 0 || !is_key_char(bytes[i - 1]))
            && bytes.get(i + 20).is_none_or(|&c| !is_key_char(c))
    })
}

/// Exactly 40 characters of the secret-key alphabet, mixed case and digits.
fn looks_like_secret_access_key(value: &str) -> bool {
    let v = value.trim();
    v.len() == 40
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+')
        && v.bytes().any(|c| c.is_ascii_lowercase())
        && v.bytes().any(|c| c.is_ascii_uppercase())
        && v.bytes().any(|c| c.is_ascii_digit())
}

fn is_base64url(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'=')
}

/// Three base64url parts whose first decodes to a JSON header with `alg`.
fn looks_like_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.trim().split('.').collect();
    if !(parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[1].len() >= 10
        && parts.iter().all(|p| is_base64url(p)))
    {
        return false;
    }
    decoded(parts[0])
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .is_some_and(|h| h.get("alg").is_some())
}

/// `scheme://user:password@host` with a real password.
fn has_url_credentials(value: &str) -> bool {
    let mut rest = value;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let authority = after.split(['/', '?', '#', ' ']).next().unwrap_or_default();
        if let Some((userinfo, _host)) = authority.rsplit_once('@') {
            if let Some((_user, password)) = userinfo.split_once(':') {
                if !password.is_empty() && !is_placeholder(password) {
                    return true;
                }
            }
        }
        rest = after;
    }
    false
}

/// `Key=value;` pairs (Azure, .NET, ODBC) whose key names a credential.
fn connection_string_secret(value: &str) -> Option<&'static str> {
    if !value.contains('=') || !value.contains(';') {
        return None;
    }
    for pair in value.split(';') {
        let Some((key, secret)) = pair.split_once('=') else {
            continue;
        };
        let secret = secret.trim();
        if secret.is_empty() || is_placeholder(secret) {
            continue;
        }
        match key.trim().to_ascii_lowercase().as_str() {
            "accountkey" => return Some("an Azure storage account key (connection string)"),
            "sharedaccesskey" => return Some("an Azure shared access key (connection string)"),
            "password" | "pwd" => return Some("a password in a connection string"),
            _ => {}
        }
    }
    None
}

/// Slack incoming webhooks and workflow triggers: the URL is the credential.
fn slack_webhook(value: &str) -> bool {
    [
        "hooks.slack.com/services/T",
        "hooks.slack.com/workflows/T",
        "hooks.slack.com/triggers/T",
    ]
    .iter()
    .any(|p| {
        value.find(p).is_some_and(|at| {
            let path = &value[at + p.len() - 1..];
            let parts: Vec<&str> = path.split(['/', '?', '#', ' ']).collect();
            parts.len() >= 3
                && parts[2].len() >= 20
                && parts[2].bytes().all(|c| c.is_ascii_alphanumeric())
        })
    })
}

/// A Telegram bot token: the bot's id (8–10 digits), `:`, then 35 characters
/// that start with `AA`.
fn telegram_bot_token(value: &str) -> bool {
    let v = value.trim();
    let Some((id, secret)) = v.split_once(':') else {
        return false;
    };
    (8..=10).contains(&id.len())
        && id.bytes().all(|c| c.is_ascii_digit())
        && secret.len() == 35
        && secret.starts_with("AA")
        && secret
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// A Mailchimp API key: 32 hex digits, `-us`, the data centre's number.
fn mailchimp_key(value: &str) -> bool {
    let v = value.trim();
    v.split_once("-us").is_some_and(|(key, dc)| {
        key.len() == 32
            && key.bytes().all(|c| c.is_ascii_hexdigit())
            && (1..=2).contains(&dc.len())
            && dc.bytes().all(|c| c.is_ascii_digit())
    })
}

/// What a base64 (or base64url) value decodes to, if it decodes.
fn decoded(value: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let v = value.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(v).ok())
}

/// Text a person wrote (or JSON): printable, with spaces or punctuation, or
/// an object or array.
fn is_ordinary_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let t = text.trim();
    if (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']')) {
        return serde_json::from_str::<serde_json::Value>(t).is_ok();
    }
    let printable = t.chars().filter(|c| !c.is_control()).count();
    !t.is_empty() && printable == t.chars().count() && t.contains([' ', '\n', ',', ':', '='])
}

/// Shannon entropy in bits per character.
pub fn entropy(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in value.bytes() {
        counts[b as usize] += 1;
    }
    let len = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// A long token-like string of mixed character classes with high entropy.
fn looks_random(value: &str) -> bool {
    let v = value.trim();
    if v.len() < 20 || v.contains(char::is_whitespace) || v.starts_with('/') || v.contains("://") {
        return false;
    }
    if !v
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"+/=_-.".contains(&c))
    {
        return false;
    }
    let classes = [
        v.bytes().any(|c| c.is_ascii_lowercase()),
        v.bytes().any(|c| c.is_ascii_uppercase()),
        v.bytes().any(|c| c.is_ascii_digit()),
    ];
    classes.iter().filter(|&&c| c).count() == 3
        && entropy(v) >= 4.0
        // Base64 of a configuration or of text is not a key.
        && !decoded(v).is_some_and(|bytes| is_ordinary_text(&bytes))
}

/// What a value looks like, if it looks like a secret. `beside_access_key`
/// says the same container also holds an AWS access key id.
pub fn detect(value: &str, beside_access_key: bool) -> Option<SecretKind> {
    if is_placeholder(value) || is_setting(value) {
        return None;
    }
    if is_documentation_example(value) {
        return Some(SecretKind::Example(
            "the AWS documentation's example key (not a leak)",
        ));
    }
    if has_access_key_id(value) {
        return Some(SecretKind::AwsAccessKeyId);
    }
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY") {
        return Some(SecretKind::PrivateKey);
    }
    if looks_like_jwt(value) {
        return Some(SecretKind::Jwt);
    }
    if slack_webhook(value) {
        return Some(SecretKind::Structured("a Slack incoming-webhook URL"));
    }
    if has_url_credentials(value) {
        return Some(SecretKind::UrlCredentials);
    }
    if let Some(kind) = connection_string_secret(value) {
        return Some(SecretKind::Structured(kind));
    }
    if telegram_bot_token(value) {
        return Some(SecretKind::Structured("a Telegram bot token"));
    }
    if mailchimp_key(value) {
        return Some(SecretKind::Structured("a Mailchimp API key"));
    }
    match formats::find(value) {
        Some(formats::Match::Credential(f)) => return Some(SecretKind::Format(f)),
        // The shape without the checksum: a random string, not a credential.
        Some(formats::Match::ChecksumFails(_)) => return None,
        None => {}
    }
    if beside_access_key && looks_like_secret_access_key(value) {
        return Some(SecretKind::AwsSecretAccessKey);
    }
    looks_random(value).then_some(SecretKind::HighEntropy)
}

/// True when the value is a literal that could be a secret (not a
/// placeholder, reference, number or boolean).
pub fn is_literal_secret_candidate(value: &str) -> bool {
    !is_placeholder(value) && !is_setting(value)
}

/// True when the variable points at a secret rather than holding one: a
/// `*_FILE` variable (the Docker convention), a path, an ARN, or a URL
/// without credentials.
pub fn is_reference(name: &str, value: &str) -> bool {
    let v = value.trim();
    let upper = name.trim().to_ascii_uppercase();
    upper.ends_with("_FILE")
        || v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("~/")
        || v.to_ascii_lowercase().starts_with("arn:")
        || (v.contains("://")
            && !has_url_credentials(v)
            && !v.contains(char::is_whitespace)
            && !url_carries_a_token(v))
}

/// A URL whose query, or one of whose path segments, carries what looks like
/// a token (`…/webhooks/123/AbC…`, `?token=…`, a presigned signature): the
/// URL is then the secret, not a pointer to one.
fn url_carries_a_token(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme.contains('?')
        || after_scheme
            .split('/')
            .skip(1)
            .any(|segment| segment.len() >= 20 && looks_random(segment))
}

/// True when a variable name suggests a secret: one of `keywords` (each one
/// or more words, e.g. `api key`) appears among the name's words.
pub fn name_suggests_secret(name: &str, keywords: &[String]) -> bool {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    keywords.iter().any(|k| {
        let key: Vec<String> = k
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        !key.is_empty() && words.windows(key.len()).any(|w| w == key.as_slice())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_shows_a_known_format_s_prefix_and_of_anything_else_its_length_only() {
        let akia = format!("AKIA{}", "IOSFODNN7EXAMPL1");
        assert_eq!(redact(&akia), "AKIA…(20 chars)");
        for f in formats::FORMATS {
            let token = formats::well_formed(f, 7);
            assert_eq!(
                redact(&token),
                format!("{}…({} chars)", f.prefix, token.chars().count()),
                "{}",
                f.id
            );
        }
        // A password, a secret key, anything that merely starts like a
        // token: no character of it is shown.
        for value in [
            "hunter22",
            "q8Zr3LmX/T2vN9pKc7Wd+Hs4Jf6Gb1Ye5Ua0Ri8O",
            "ghp_short",
            "AKIA-not-a-key",
            "x",
            "",
        ] {
            let shown = redact(value);
            assert_eq!(shown, format!("…({} chars)", value.chars().count()));
        }
    }

    #[test]
    fn detects_the_known_shapes() {
        // Test values are assembled so that no whole secret-shaped literal sits in the source.
        let akia = format!("AKIA{}", "IOSFODNN7EXAMPL1");
        assert_eq!(detect(&akia, false), Some(SecretKind::AwsAccessKeyId));
        let secret = format!("q8Zr3LmX/T2vN9pKc7Wd{}", "+Hs4Jf6Gb1Ye5Ua0Ri8O");
        assert_eq!(secret.len(), 40);
        assert_eq!(detect(&secret, true), Some(SecretKind::AwsSecretAccessKey));
        assert_eq!(
            detect("-----BEGIN RSA PRIVATE KEY-----\nMIIE", false),
            Some(SecretKind::PrivateKey)
        );
        let jwt = format!(
            "eyJhbGciOiJIUzI1NiJ9.{}.sig_nature-1",
            "eyJzdWIiOiIxMjM0NTY3ODkwIn0"
        );
        assert_eq!(detect(&jwt, false), Some(SecretKind::Jwt));
        assert_eq!(
            detect("postgres://app:s3cr3tPw@db.internal:5432/app", false),
            Some(SecretKind::UrlCredentials)
        );
        let github = formats::well_formed(&formats::FORMATS[0], 5);
        assert_eq!(
            detect(&github, false).map(SecretKind::describe),
            Some("a GitHub personal access token")
        );
        assert_eq!(
            detect(&format!("xoxb-{}", "1234567890-abcdefghij"), false).map(SecretKind::describe),
            Some("a Slack bot token")
        );
        assert_eq!(
            detect(&format!("sk_live_{}", "4eC39HqLyjWDarjtT1zdp7dc"), false)
                .map(SecretKind::describe),
            Some("a Stripe secret key")
        );
        assert_eq!(
            detect(&format!("sk-proj-{}", "Ab12Cd34Ef56Gh78Ij90Kl"), false)
                .map(SecretKind::describe),
            Some("an OpenAI-style API key")
        );
        assert_eq!(
            detect("Zq8pL3vX9tR2mW7nB4kJ6hF1", false),
            Some(SecretKind::HighEntropy)
        );
    }

    #[test]
    fn placeholders_settings_and_references_are_not_secrets() {
        for value in [
            "changeme",
            "${DB_PASSWORD}",
            "<your-token>",
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf",
            "********",
            "3600",
            "true",
            "https://api.example.com/v1",
            "postgres://app@db.internal:5432/app",
            "postgres://app:${DB_PASSWORD}@db:5432/app",
            "/var/lib/app/data",
            "production",
            "550e8400-e29b-41d4-a716-446655440000",
        ] {
            assert_eq!(detect(value, false), None, "{value}");
        }
        // A 40-character value is an AWS secret key only beside an access key id.
        let forty = format!("q8Zr3LmX/T2vN9pKc7Wd+{}", "Hs4Jf6Gb1Ye5Ua0Ri8O");
        assert_ne!(detect(&forty, false), Some(SecretKind::AwsSecretAccessKey));
    }

    #[test]
    fn secret_names_match_whole_words() {
        let keys: Vec<String> = ["password", "secret", "token", "api key", "auth"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(name_suggests_secret("DB_PASSWORD", &keys));
        assert!(name_suggests_secret("STRIPE_API_KEY", &keys));
        assert!(name_suggests_secret("auth", &keys));
        assert!(!name_suggests_secret("AUTHOR_NAME", &keys));
        assert!(!name_suggests_secret("TOKENIZER_MODEL", &keys));
    }
}

#[cfg(test)]
mod kinds {
    //! The kinds the issue named: found (with their structure), and the
    //! look-alikes that are not secrets. Values are assembled at run time so
    //! that no whole credential-shaped literal sits in the source.
    use super::*;

    fn hex(n: usize) -> String {
        "0123456789abcdef"
            .chars()
            .cycle()
            .skip(3)
            .step_by(7)
            .take(n)
            .collect()
    }

    fn alnum(n: usize) -> String {
        "Zq8pL3vX9tR2mW7nB4kJ6hF1cD5sG0yQ"
            .chars()
            .cycle()
            .take(n)
            .collect()
    }

    #[test]
    fn structured_kinds_are_found() {
        let webhook = format!(
            "https://hooks.slack.com/services/T{}/B{}/{}",
            "04ABCDE12",
            "05FGHIJ34",
            alnum(24)
        );
        let twilio = format!("SK{}", hex(32));
        let shopify = format!("shpat_{}", hex(32));
        let databricks = format!("dapi{}", hex(32));
        let mailgun = format!("key-{}", hex(32));
        let telegram = format!("{}:AA{}", "123456789", alnum(33));
        let azure = format!(
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={}==;EndpointSuffix=core.windows.net",
            alnum(86)
        );
        let mailchimp = format!("{}-us21", hex(32));
        let google = format!("AIza{}", alnum(35));
        for (value, kind) in [
            (webhook, "a Slack incoming-webhook URL"),
            (twilio, "a Twilio API key"),
            (shopify, "a Shopify access token"),
            (databricks, "a Databricks personal access token"),
            (mailgun, "a Mailgun API key"),
            (telegram, "a Telegram bot token"),
            (azure, "an Azure storage account key (connection string)"),
            (mailchimp, "a Mailchimp API key"),
            (google, "a Google API key"),
        ] {
            assert_eq!(
                detect(&value, false).map(SecretKind::describe),
                Some(kind),
                "{kind}"
            );
        }
    }

    #[test]
    fn near_misses_of_the_structured_kinds_are_not() {
        for value in [
            format!(
                "https://hooks.slack.com/services/T{}/B{}",
                "04ABCDE12", "05FGHIJ34"
            ),
            format!("{}:BB{}", "123456789", alnum(33)),
            format!("{}:AA{}", "1234", alnum(33)),
            "Server=db;Database=app;Password=${DB_PASSWORD};".to_string(),
            format!("{}-eu21", hex(32)),
        ] {
            assert_eq!(detect(&value, false), None, "near miss {}", &value[..6]);
        }
    }

    #[test]
    fn look_alikes_are_not_secrets() {
        use base64::engine::general_purpose::STANDARD;
        let config = STANDARD.encode(
            r#"{"feature_flags":{"checkout_v2":true,"search":"beta"},"region":"eu-west-1"}"#,
        );
        let prose = STANDARD.encode("The quick brown fox jumps over the lazy dog, twice.");
        let digest = format!("sha256:{}", hex(64));
        for value in [
            config.as_str(),
            prose.as_str(),
            digest.as_str(),
            "/run/secrets/db_password",
            "https://auth.example.com/oauth2/token",
            "d2c1f0b7e4a94c3e9a5b8f6d1e2c3b4a5f6e7d8c",
            "550e8400-e29b-41d4-a716-446655440000",
        ] {
            assert_eq!(detect(value, false), None, "{value}");
        }
    }

    #[test]
    fn references_are_not_literal_secrets() {
        assert!(is_reference("DB_PASSWORD_FILE", "/run/secrets/db_password"));
        assert!(is_reference(
            "API_TOKEN_URL",
            "https://auth.example.com/oauth2/token"
        ));
        let hook = format!(
            "https://discord.com/api/webhooks/1234567890/{}",
            "Zq8pL3vX9tR2mW7nB4kJ6hF1cD5sG0yQ"
        );
        assert!(!is_reference("DISCORD_WEBHOOK_TOKEN", &hook));
        assert!(!is_reference(
            "API_TOKEN",
            "https://api.example.com/v1?token=abc123def456"
        ));
        assert!(is_reference(
            "TOKEN_SOURCE",
            "arn:aws:ssm:eu-west-1:111122223333:parameter/token"
        ));
        assert!(!is_reference("DB_PASSWORD", "hunter2hunter2"));
        assert!(!is_reference(
            "DATABASE_URL",
            "postgres://app:s3cr3tPw@db:5432/app"
        ));
    }

    #[test]
    fn the_documentation_examples_are_examples() {
        let example = format!("AKIA{}", "IOSFODNN7EXAMPLE");
        let kind = detect(&example, false);
        assert!(kind.is_some_and(SecretKind::is_example), "{kind:?}");
        let real_shape = format!("AKIA{}", "Q3EGRJ7XKZ2MN4PL");
        assert_eq!(detect(&real_shape, false), Some(SecretKind::AwsAccessKeyId));
        // Beside a real key, the example does not make the value an example.
        let both = format!("{example},{real_shape}");
        assert_eq!(detect(&both, false), Some(SecretKind::AwsAccessKeyId));
    }

    #[test]
    fn a_jwt_needs_a_header_that_decodes() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"sub":"1234567890","iat":1516239022}"#);
        assert_eq!(
            detect(&format!("{header}.{claims}.{}", alnum(43)), false),
            Some(SecretKind::Jwt)
        );
        let not_header = URL_SAFE_NO_PAD.encode(r#"{"name":"config"}"#);
        assert_ne!(
            detect(&format!("{not_header}.{claims}.{}", alnum(43)), false),
            Some(SecretKind::Jwt)
        );
    }
}
