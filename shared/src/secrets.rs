//! Secret detection in environment values (ECS-TD-007/008/009). Detection
//! returns what kind of secret a value looks like, never the value; callers
//! show at most its first 4 characters ([`crate::notify::redact`]).
//!
//! The patterns are few and fixed-shape (prefixes, separators, character
//! classes), so they are written out rather than compiled as regular
//! expressions: no start-up cost in the Lambda and each check reads as what it is.

/// What a value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    AwsAccessKeyId,
    AwsSecretAccessKey,
    PrivateKey,
    Jwt,
    UrlCredentials,
    Token(&'static str),
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
            SecretKind::Token(kind) => kind,
            SecretKind::HighEntropy => "a high-entropy string (likely a key or token)",
        }
    }
}

/// Token prefixes of well-known services, with the minimum length of what follows.
const TOKEN_PREFIXES: [(&str, usize, &str); 12] = [
    ("github_pat_", 20, "a GitHub fine-grained token"),
    ("ghp_", 30, "a GitHub personal access token"),
    ("gho_", 30, "a GitHub OAuth token"),
    ("ghs_", 30, "a GitHub app token"),
    ("ghu_", 30, "a GitHub user token"),
    ("ghr_", 30, "a GitHub refresh token"),
    ("glpat-", 20, "a GitLab personal access token"),
    ("sk_live_", 16, "a Stripe secret key"),
    ("rk_live_", 16, "a Stripe restricted key"),
    ("sk-ant-", 20, "an Anthropic API key"),
    ("sk-", 20, "an OpenAI-style API key"),
    ("xox", 12, "a Slack token"),
];

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

fn looks_like_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.trim().split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[0].len() >= 10
        && parts[1].len() >= 10
        && parts.iter().all(|p| is_base64url(p))
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

fn token_kind(value: &str) -> Option<&'static str> {
    let v = value.trim();
    TOKEN_PREFIXES.iter().find_map(|&(prefix, min, kind)| {
        let rest = v.strip_prefix(prefix)?;
        let rest = if prefix == "xox" {
            // xoxb-, xoxp-, xoxa-, xoxr-, xoxs-
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), Some('-')) if "abprs".contains(c) => chars.as_str(),
                _ => return None,
            }
        } else {
            rest
        };
        (rest.len() >= min
            && rest
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'))
        .then_some(kind)
    })
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
    classes.iter().filter(|&&c| c).count() == 3 && entropy(v) >= 4.0
}

/// What a value looks like, if it looks like a secret. `beside_access_key`
/// says the same container also holds an AWS access key id.
pub fn detect(value: &str, beside_access_key: bool) -> Option<SecretKind> {
    if is_placeholder(value) || is_setting(value) {
        return None;
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
    if has_url_credentials(value) {
        return Some(SecretKind::UrlCredentials);
    }
    if let Some(kind) = token_kind(value) {
        return Some(SecretKind::Token(kind));
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
    fn detects_the_known_shapes() {
        // Test values are assembled so that no whole secret-shaped literal sits in the source.
        let akia = format!("AKIA{}", "IOSFODNN7EXAMPL1");
        assert_eq!(detect(&akia, false), Some(SecretKind::AwsAccessKeyId));
        let secret = format!("wJalrXUtnFEMI/K7MDENG/{}", "bPxRfiCYEXAMPLEKEY");
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
        assert_eq!(
            detect(
                &format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"),
                false
            )
            .map(SecretKind::describe),
            Some("a GitHub personal access token")
        );
        assert_eq!(
            detect(&format!("xoxb-{}", "1234567890-abcdef"), false).map(SecretKind::describe),
            Some("a Slack token")
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
        let forty = format!("wJalrXUtnFEMI/K7MDENG/{}", "bPxRfiCYEXAMPLEKEY");
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
