//! Provider credential formats (ECS-TD-008): one table, data only. Each
//! format is a fixed prefix, a body of one alphabet and a length, and where
//! the provider publishes one, a checksum, so that a random string of the
//! right length is not taken for a credential. Formats from the providers'
//! own documentation and from what GitHub secret scanning, gitleaks and
//! Kingfisher publish. Matching is hand-written (no regular expressions):
//! nothing to compile when a Lambda starts, a few comparisons per value.

use crate::finding::Severity;

/// The characters a format's body is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// `0-9A-Za-z`.
    Base62,
    /// `0-9A-Za-z`, `-` and `_`.
    Base64Url,
    /// `0-9A-Za-z`, `+`, `/` and `=`.
    Base64,
    /// `0-9a-f` (either case).
    Hex,
    /// `0-9a-z`.
    LowerAlnum,
    /// `0-9A-Z`.
    UpperAlnum,
    /// `0-9A-Za-z`, `-`, `_` and `.`.
    Dotted,
}

impl Alphabet {
    pub fn contains(self, c: u8) -> bool {
        match self {
            Alphabet::Base62 => c.is_ascii_alphanumeric(),
            Alphabet::Base64Url => c.is_ascii_alphanumeric() || c == b'-' || c == b'_',
            Alphabet::Base64 => c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=',
            Alphabet::Hex => c.is_ascii_hexdigit(),
            Alphabet::LowerAlnum => c.is_ascii_lowercase() || c.is_ascii_digit(),
            Alphabet::UpperAlnum => c.is_ascii_uppercase() || c.is_ascii_digit(),
            Alphabet::Dotted => c.is_ascii_alphanumeric() || b"-_.".contains(&c),
        }
    }
}

/// A checksum the format carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    None,
    /// The last 6 characters are the CRC32 of the rest of the body in base62
    /// (GitHub's classic tokens, npm's tokens).
    Crc32Base62,
}

/// One provider's credential format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Stable id of the kind (`github-classic-token`).
    pub id: &'static str,
    pub provider: &'static str,
    /// How alerts name it: "a GitHub personal access token".
    pub describe: &'static str,
    pub prefix: &'static str,
    pub body: Alphabet,
    /// Body length, inclusive.
    pub min: usize,
    pub max: usize,
    pub checksum: Checksum,
    pub severity: Severity,
}

// One row of the table per call, the fields in the table's column order.
#[allow(clippy::too_many_arguments)]
const fn format(
    id: &'static str,
    provider: &'static str,
    describe: &'static str,
    prefix: &'static str,
    body: Alphabet,
    (min, max): (usize, usize),
    checksum: Checksum,
    severity: Severity,
) -> Format {
    Format {
        id,
        provider,
        describe,
        prefix,
        body,
        min,
        max,
        checksum,
        severity,
    }
}

use Alphabet::{Base62, Base64, Base64Url, Dotted, Hex, LowerAlnum, UpperAlnum};
use Checksum::{Crc32Base62, None as NoSum};
use Severity::{Critical, High, Medium};

/// Every prefixed format, longest prefixes first where they overlap
/// (`sk-ant-` before `sk-`).
#[rustfmt::skip]
pub static FORMATS: &[Format] = &[
    format("github-classic-token", "GitHub", "a GitHub personal access token", "ghp_", Base62, (36, 36), Crc32Base62, Critical),
    format("github-oauth-token", "GitHub", "a GitHub OAuth token", "gho_", Base62, (36, 36), Crc32Base62, Critical),
    format("github-user-token", "GitHub", "a GitHub user-to-server token", "ghu_", Base62, (36, 36), Crc32Base62, Critical),
    format("github-app-token", "GitHub", "a GitHub app installation token", "ghs_", Base62, (36, 36), Crc32Base62, Critical),
    format("github-refresh-token", "GitHub", "a GitHub refresh token", "ghr_", Base62, (36, 36), Crc32Base62, Critical),
    format("github-fine-grained-token", "GitHub", "a GitHub fine-grained token", "github_pat_", Base64Url, (82, 82), NoSum, Critical),
    format("gitlab-token", "GitLab", "a GitLab personal access token", "glpat-", Dotted, (20, 64), NoSum, Critical),
    format("npm-token", "npm", "an npm access token", "npm_", Base62, (36, 36), Crc32Base62, Critical),
    format("pypi-token", "PyPI", "a PyPI API token", "pypi-AgEIcHlwaS5vcmc", Base64Url, (50, 1000), NoSum, Critical),
    format("slack-bot-token", "Slack", "a Slack bot token", "xoxb-", Base64Url, (20, 255), NoSum, High),
    format("slack-user-token", "Slack", "a Slack user token", "xoxp-", Base64Url, (20, 255), NoSum, High),
    format("slack-workspace-token", "Slack", "a Slack workspace token", "xoxa-", Base64Url, (20, 255), NoSum, High),
    format("slack-refresh-token", "Slack", "a Slack refresh token", "xoxr-", Base64Url, (20, 255), NoSum, High),
    format("slack-session-token", "Slack", "a Slack session token", "xoxs-", Base64Url, (20, 255), NoSum, High),
    format("slack-config-token", "Slack", "a Slack configuration token", "xoxe.xox", Base64Url, (20, 255), NoSum, High),
    format("slack-app-token", "Slack", "a Slack app-level token", "xapp-", Base64Url, (20, 255), NoSum, High),
    format("stripe-live-secret-key", "Stripe", "a Stripe secret key", "sk_live_", Base62, (24, 247), NoSum, Critical),
    format("stripe-live-restricted-key", "Stripe", "a Stripe restricted key", "rk_live_", Base62, (24, 247), NoSum, Critical),
    format("stripe-test-secret-key", "Stripe", "a Stripe test-mode secret key", "sk_test_", Base62, (24, 247), NoSum, Medium),
    format("anthropic-api-key", "Anthropic", "an Anthropic API key", "sk-ant-", Base64Url, (80, 160), NoSum, Critical),
    format("openai-project-key", "OpenAI", "an OpenAI API key", "sk-proj-", Base64Url, (40, 300), NoSum, Critical),
    format("openai-service-key", "OpenAI", "an OpenAI service-account key", "sk-svcacct-", Base64Url, (40, 300), NoSum, Critical),
    format("openai-admin-key", "OpenAI", "an OpenAI admin key", "sk-admin-", Base64Url, (40, 300), NoSum, Critical),
    format("openai-style-key", "OpenAI", "an OpenAI-style API key", "sk-", Base64Url, (20, 200), NoSum, High),
    format("google-api-key", "Google", "a Google API key", "AIza", Base64Url, (35, 35), NoSum, High),
    format("shopify-access-token", "Shopify", "a Shopify access token", "shpat_", Hex, (32, 32), NoSum, Critical),
    format("shopify-custom-app-token", "Shopify", "a Shopify custom app access token", "shpca_", Hex, (32, 32), NoSum, Critical),
    format("shopify-private-app-token", "Shopify", "a Shopify private app password", "shppa_", Hex, (32, 32), NoSum, Critical),
    format("shopify-shared-secret", "Shopify", "a Shopify app shared secret", "shpss_", Hex, (32, 32), NoSum, Critical),
    format("databricks-token", "Databricks", "a Databricks personal access token", "dapi", Hex, (32, 32), NoSum, Critical),
    format("mailgun-key", "Mailgun", "a Mailgun API key", "key-", LowerAlnum, (32, 32), NoSum, High),
    format("twilio-api-key", "Twilio", "a Twilio API key", "SK", Hex, (32, 32), NoSum, High),
    format("sendgrid-api-key", "SendGrid", "a SendGrid API key", "SG.", Dotted, (66, 66), NoSum, High),
    format("digitalocean-token", "DigitalOcean", "a DigitalOcean personal access token", "dop_v1_", Hex, (64, 64), NoSum, Critical),
    format("digitalocean-oauth-token", "DigitalOcean", "a DigitalOcean OAuth token", "doo_v1_", Hex, (64, 64), NoSum, Critical),
    format("vault-service-token", "HashiCorp", "a HashiCorp Vault service token", "hvs.", Base64Url, (24, 200), NoSum, Critical),
    format("vault-batch-token", "HashiCorp", "a HashiCorp Vault batch token", "hvb.", Base64Url, (24, 300), NoSum, Critical),
    format("docker-hub-token", "Docker", "a Docker Hub access token", "dckr_pat_", Base64Url, (27, 27), NoSum, High),
    format("huggingface-token", "Hugging Face", "a Hugging Face access token", "hf_", Base62, (34, 34), NoSum, High),
    format("linear-api-key", "Linear", "a Linear API key", "lin_api_", Base62, (40, 40), NoSum, High),
    format("postman-api-key", "Postman", "a Postman API key", "PMAK-", Dotted, (59, 59), NoSum, High),
    format("newrelic-user-key", "New Relic", "a New Relic user API key", "NRAK-", UpperAlnum, (27, 27), NoSum, High),
    format("doppler-token", "Doppler", "a Doppler service token", "dp.st.", Base64Url, (40, 100), NoSum, Critical),
    format("doppler-personal-token", "Doppler", "a Doppler personal token", "dp.pt.", Base62, (43, 43), NoSum, Critical),
    format("grafana-service-token", "Grafana", "a Grafana service-account token", "glsa_", Base64Url, (41, 41), NoSum, High),
    format("grafana-cloud-token", "Grafana", "a Grafana Cloud token", "glc_", Base64, (32, 400), NoSum, High),
    format("sentry-user-token", "Sentry", "a Sentry user auth token", "sntryu_", Hex, (64, 64), NoSum, High),
    format("sentry-org-token", "Sentry", "a Sentry organization token", "sntrys_", Base64, (60, 300), NoSum, High),
    format("atlassian-api-token", "Atlassian", "an Atlassian API token", "ATATT3", Base64, (180, 200), NoSum, High),
    format("square-access-token", "Square", "a Square access token", "sq0atp-", Base64Url, (22, 22), NoSum, Critical),
    format("square-oauth-secret", "Square", "a Square OAuth secret", "sq0csp-", Base64Url, (43, 43), NoSum, Critical),
    format("notion-token", "Notion", "a Notion integration token", "ntn_", Base62, (46, 46), NoSum, High),
    format("heroku-api-key", "Heroku", "a Heroku API key", "HRKU-", Base64Url, (60, 60), NoSum, High),
    format("pulumi-token", "Pulumi", "a Pulumi access token", "pul-", Hex, (40, 40), NoSum, High),
];

/// The base62 digits GitHub and npm encode their checksums with.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn base62_value(text: &[u8]) -> Option<u64> {
    text.iter().try_fold(0u64, |acc, c| {
        let digit = BASE62.iter().position(|d| d == c)? as u64;
        acc.checked_mul(62)?.checked_add(digit)
    })
}

impl Format {
    /// True when `body` (what follows the prefix) passes the checksum.
    fn checksum_holds(&self, body: &[u8]) -> bool {
        match self.checksum {
            Checksum::None => true,
            Checksum::Crc32Base62 => {
                let Some(split) = body.len().checked_sub(6) else {
                    return false;
                };
                let (payload, sum) = body.split_at(split);
                base62_value(sum) == Some(u64::from(crc32fast::hash(payload)))
            }
        }
    }
}

/// What a prefixed format made of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Credential(&'static Format),
    /// The format's shape, but its checksum fails: not a credential.
    ChecksumFails(&'static Format),
}

/// The first format the value holds a token of: the prefix at a token
/// boundary, then a body of the format's alphabet and length, then a
/// boundary. A token that has the shape and fails its checksum says so.
/// Only positions after a boundary are tried, and only the formats whose
/// prefix starts with the byte there: a few comparisons per value.
pub fn find(value: &str) -> Option<Match> {
    let bytes = value.as_bytes();
    let mut failed = None;
    for at in 0..bytes.len() {
        if at > 0 && bytes[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = &bytes[at..];
        for f in FORMATS {
            if f.prefix.as_bytes()[0] != rest[0] || !rest.starts_with(f.prefix.as_bytes()) {
                continue;
            }
            let body = &rest[f.prefix.len()..];
            let len = body.iter().take_while(|&&c| f.body.contains(c)).count();
            if len < f.min || len > f.max {
                continue;
            }
            if f.checksum_holds(&body[..len]) {
                return Some(Match::Credential(f));
            }
            failed = failed.or(Some(Match::ChecksumFails(f)));
        }
    }
    failed
}

/// The prefix of the token format the whole of `value` is, if any
/// (`ghp_` of a GitHub token): what redaction may keep of it.
pub fn whole_token_prefix(value: &str) -> Option<&'static str> {
    FORMATS.iter().find_map(|f| {
        let body = value.strip_prefix(f.prefix)?.as_bytes();
        (body.len() >= f.min && body.len() <= f.max && body.iter().all(|&c| f.body.contains(c)))
            .then_some(f.prefix)
    })
}

/// A well-formed fake of the format (valid checksum included), the same for
/// the same `seed`: for tests and the benchmark's corpus. Never a real
/// credential: the body is pseudo-random.
pub fn well_formed(f: &Format, seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let span = (f.max.min(f.min + 16) - f.min + 1) as u64;
    let len = f.min + (next() % span) as usize;
    let pool: Vec<u8> = (0u8..=127)
        .filter(|&c| f.body.contains(c) && c != b'=')
        .collect();
    let random = |n: usize, next: &mut dyn FnMut() -> u64| -> Vec<u8> {
        (0..n)
            .map(|_| pool[(next() % pool.len() as u64) as usize])
            .collect()
    };
    let body = match f.checksum {
        Checksum::None => random(len, &mut next),
        Checksum::Crc32Base62 => {
            let mut payload = random(len - 6, &mut next);
            let mut sum = u64::from(crc32fast::hash(&payload));
            let mut digits = [b'0'; 6];
            for d in digits.iter_mut().rev() {
                *d = BASE62[(sum % 62) as usize];
                sum /= 62;
            }
            payload.extend_from_slice(&digits);
            payload
        }
    };
    format!("{}{}", f.prefix, String::from_utf8_lossy(&body))
}

/// The table as documentation rows: provider, kind, shape, severity.
pub fn rows() -> Vec<String> {
    FORMATS
        .iter()
        .map(|f| {
            let sum = match f.checksum {
                Checksum::None => "",
                Checksum::Crc32Base62 => ", CRC32 checksum",
            };
            let len = if f.min == f.max {
                f.min.to_string()
            } else {
                format!("{}-{}", f.min, f.max)
            };
            format!(
                "{:<13} {:<34} {}… + {len} {:?}{sum} ({})",
                f.provider, f.id, f.prefix, f.body, f.severity
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(found: Option<Match>, f: &Format) -> bool {
        matches!(found, Some(Match::Credential(g)) if g.id == f.id)
    }

    #[test]
    fn every_format_finds_its_own_well_formed_token_alone_and_inside_a_value() {
        for (i, f) in FORMATS.iter().enumerate() {
            for seed in [1, 7, 42 + i as u64] {
                let token = well_formed(f, seed);
                assert!(
                    same(find(&token), f),
                    "{}: {:?}",
                    f.id,
                    find(&token).map(|m| format!("{m:?}"))
                );
                let inside = format!("Bearer {token}");
                assert!(same(find(&inside), f), "{} inside a value", f.id);
            }
        }
    }

    #[test]
    fn a_near_miss_is_not_the_format() {
        for f in FORMATS {
            let token = well_formed(f, 3);
            let body = &token[f.prefix.len()..];
            // One character short of the shortest body.
            let short = format!("{}{}", f.prefix, &body[..f.min - 1]);
            assert!(!same(find(&short), f), "{} one short", f.id);
            // Glued to a word: no boundary before the prefix.
            let glued = format!("x{token}");
            assert!(!same(find(&glued), f), "{} glued", f.id);
        }
    }

    #[test]
    fn a_checksum_that_fails_is_not_a_credential() {
        let mut checked = 0;
        for f in FORMATS
            .iter()
            .filter(|f| f.checksum == Checksum::Crc32Base62)
        {
            let mut token = well_formed(f, 9).into_bytes();
            let last = token.len() - 1;
            token[last] = if token[last] == b'0' { b'1' } else { b'0' };
            let token = String::from_utf8(token).unwrap();
            assert_eq!(find(&token), Some(Match::ChecksumFails(f)), "{}", f.id);
            checked += 1;
        }
        assert_eq!(checked, 6, "GitHub's five classic kinds and npm");
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut ids: Vec<&str> = FORMATS.iter().map(|f| f.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "ids are unique");
        for (i, f) in FORMATS.iter().enumerate() {
            assert!(f.min <= f.max && f.min > 0, "{}", f.id);
            // A prefix that extends an earlier one would never be reached.
            for earlier in &FORMATS[..i] {
                assert!(
                    !f.prefix.starts_with(earlier.prefix),
                    "{} is shadowed by {}",
                    f.id,
                    earlier.id
                );
            }
        }
        assert!(FORMATS.len() >= 50);
        assert_eq!(rows().len(), FORMATS.len());
    }
}
