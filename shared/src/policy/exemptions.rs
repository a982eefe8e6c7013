//! Exemptions: what one covers (a group, an account, an OU), when it holds
//! (its expiry; a tag's reason and window), and which one applies to a
//! group — written in the policy or carried by the exemption tag.

use serde::Serialize;
use time::macros::format_description;
use time::Date;

use super::file::ExemptionFile;
use super::organization::is_account_id;
use super::{Policy, PolicyError};

/// What an exemption covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionScope {
    Group(String),
    Account(String),
    /// Every account of an organizational unit, at any depth below it.
    Ou(String),
}

/// An exemption written in the policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemption {
    pub scope: ExemptionScope,
    pub reason: String,
    pub owner: Option<String>,
    pub expires: Option<Date>,
}

/// Whether an exemption that applies to a group holds today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionStatus {
    Active,
    /// Past its expiry date: reported, not honoured.
    Expired,
    /// Written so that it cannot be read (e.g. a bad date in the tag): not honoured.
    Invalid,
    /// A tag without `expires=`, or expiring beyond `max_tag_exemption_days`:
    /// not honoured (tag exemptions expire).
    Unbounded,
}

impl ExemptionStatus {
    /// How the alert says it.
    pub fn phrase(self) -> &'static str {
        match self {
            ExemptionStatus::Active => "active",
            ExemptionStatus::Expired => "EXPIRED, not honoured",
            ExemptionStatus::Invalid => "UNREADABLE, not honoured",
            ExemptionStatus::Unbounded => {
                "NOT HONOURED: a tag exemption needs expires= within max_tag_exemption_days"
            }
        }
    }
}

/// The exemption that applies to one event's group, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExemptionMatch {
    /// `policy group sg-…`, `policy account 1234…`, or `tag access-guard:exempt`.
    pub source: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    pub status: ExemptionStatus,
}

impl ExemptionMatch {
    pub fn is_active(&self) -> bool {
        self.status == ExemptionStatus::Active
    }
}

fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("expected a date YYYY-MM-DD, found {text:?}"))
}

fn format_date(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| date.to_string())
}

fn is_ou_id(text: &str) -> bool {
    text.strip_prefix("ou-").is_some_and(|rest| {
        rest.len() >= 10
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

/// Validates `[[exemptions]]`: one scope each (a group, an account or an
/// OU), a reason, and an expiry that is a date when it is written.
pub(super) fn exemptions(
    files: Vec<ExemptionFile>,
    err: &impl Fn(&str, String) -> PolicyError,
) -> Result<Vec<Exemption>, PolicyError> {
    let mut exemptions = Vec::new();
    for (i, ex) in files.into_iter().enumerate() {
        let key = format!("exemptions[{i}]");
        let scope = match (ex.group_id, ex.account, ex.ou) {
            (None, None, Some(ou)) if is_ou_id(&ou) => ExemptionScope::Ou(ou),
            (None, None, Some(ou)) => {
                return Err(err(
                    &format!("{key}.ou"),
                    format!("{ou:?} is not an organizational unit id (ou-…)"),
                ));
            }
            (Some(g), None, None) if g.starts_with("sg-") => ExemptionScope::Group(g),
            (Some(g), None, None) => {
                return Err(err(
                    &format!("{key}.group_id"),
                    format!("{g:?} is not a security group id (sg-…)"),
                ));
            }
            (None, Some(a), None) if is_account_id(&a) => ExemptionScope::Account(a),
            (None, Some(a), None) => {
                return Err(err(
                    &format!("{key}.account"),
                    format!("{a:?} is not a 12-digit account id"),
                ));
            }
            _ => {
                return Err(err(
                    &key,
                    "needs exactly one of group_id, account or ou".to_string(),
                ));
            }
        };
        let reason = ex.reason.filter(|r| !r.trim().is_empty()).ok_or_else(|| {
            err(
                &format!("{key}.reason"),
                "missing: every exemption says why".to_string(),
            )
        })?;
        let expires = match ex.expires {
            Some(text) => Some(parse_date(&text).map_err(|p| err(&format!("{key}.expires"), p))?),
            None => None,
        };
        exemptions.push(Exemption {
            scope,
            reason,
            owner: ex.owner,
            expires,
        });
    }
    Ok(exemptions)
}

impl Policy {
    /// True when an exemption names an OU: the guard then reads the OUs an
    /// account sits in (`organizations:ListParents`).
    pub fn has_ou_exemptions(&self) -> bool {
        self.exemptions
            .iter()
            .any(|ex| matches!(ex.scope, ExemptionScope::Ou(_)))
    }

    /// Reads the exemption tag's value `<reason>;expires=YYYY-MM-DD`. It
    /// holds only with a reason and an expiry from today to
    /// `max_tag_exemption_days` ahead (DESIGN §7.11).
    pub fn tag_exemption(&self, value: &str, today: Date) -> ExemptionMatch {
        self.tag_exemption_set_on(value, today, today)
    }

    /// As [`Policy::tag_exemption`], with the window judged from the day the
    /// tag was set (`set_on`, when earlier than `today`): a tag whose expiry
    /// lay beyond the window when it was set is never honoured, not even
    /// once its date comes within `max_tag_exemption_days` of today
    /// (DESIGN §7.12).
    pub fn tag_exemption_set_on(&self, value: &str, set_on: Date, today: Date) -> ExemptionMatch {
        let from = set_on.min(today);
        let mut parts = value.split(';');
        let reason = parts.next().unwrap_or_default().trim().to_string();
        let mut expires = None;
        let mut status = ExemptionStatus::Unbounded;
        for part in parts {
            match part.trim().split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("expires") => match parse_date(v) {
                    Ok(date) => {
                        expires = Some(format_date(date));
                        let latest =
                            from + time::Duration::days(self.max_tag_exemption_days.into());
                        status = if date < today {
                            ExemptionStatus::Expired
                        } else if date > latest {
                            ExemptionStatus::Unbounded
                        } else {
                            ExemptionStatus::Active
                        };
                    }
                    Err(_) => {
                        expires = Some(v.trim().to_string());
                        status = ExemptionStatus::Invalid;
                    }
                },
                _ => {}
            }
        }
        // An alert's exemption command carries `<reason>` to fill in: pasted
        // as it is, it exempts nothing.
        if reason.is_empty() || (reason.starts_with('<') && reason.ends_with('>')) {
            status = ExemptionStatus::Invalid;
        }
        ExemptionMatch {
            source: format!("tag {}", self.exemption_tag_key),
            reason,
            owner: None,
            expires,
            status,
        }
    }

    /// Exemptions in the policy file that are past due on `today`, by key.
    pub fn expired_exemptions(&self, today: Date) -> Vec<String> {
        self.exemptions
            .iter()
            .enumerate()
            .filter(|(_, ex)| ex.expires.is_some_and(|d| d < today))
            .map(|(i, ex)| {
                format!(
                    "exemptions[{i}].expires: {} is past",
                    ex.expires.map(format_date).unwrap_or_default()
                )
            })
            .collect()
    }

    /// The exemption that covers this group, account or one of the OUs the
    /// account sits in (`ous`): an active one if any, else an expired or
    /// unreadable one (so that it is reported), else none.
    pub fn exemption_for(
        &self,
        group_id: Option<&str>,
        account: &str,
        ous: &[String],
        tags: &[(String, String)],
        today: Date,
    ) -> Option<ExemptionMatch> {
        let mut found: Vec<ExemptionMatch> = Vec::new();
        for ex in &self.exemptions {
            let source = match &ex.scope {
                ExemptionScope::Group(g) if Some(g.as_str()) == group_id => {
                    format!("policy group {g}")
                }
                ExemptionScope::Account(a) if a == account => format!("policy account {a}"),
                ExemptionScope::Ou(ou) if ous.contains(ou) => {
                    format!("policy OU {ou} (account {account})")
                }
                _ => continue,
            };
            found.push(ExemptionMatch {
                source,
                reason: ex.reason.clone(),
                owner: ex.owner.clone(),
                expires: ex.expires.map(format_date),
                status: if ex.expires.is_some_and(|d| d < today) {
                    ExemptionStatus::Expired
                } else {
                    ExemptionStatus::Active
                },
            });
        }
        for (key, value) in tags {
            if key == &self.exemption_tag_key {
                found.push(self.tag_exemption(value, today));
            }
        }
        found
            .iter()
            .find(|m| m.is_active())
            .or_else(|| found.first())
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::policy;
    use super::*;
    use time::macros::date;

    #[test]
    fn exemptions_by_ou() {
        let org = "[organization]\naccounts = [\"111122223333\"]\nregions = [\"eu-west-1\"]\n";
        let p = policy(&format!(
            "[[exemptions]]\nou = \"ou-ab12-34567890\"\nreason = \"sandboxes\"\n{org}"
        ))
        .unwrap();
        assert!(p.has_ou_exemptions());
        assert_eq!(
            policy("[[exemptions]]\nou = \"ou-ab12-34567890\"\nreason = \"sandboxes\"\n")
                .unwrap_err()
                .key,
            "exemptions[0].ou",
            "a single-account deployment cannot read OUs"
        );
        let today = date!(2026 - 06 - 01);
        let inside = [
            "ou-ab12-34567890".to_string(),
            "ou-ab12-00000001".to_string(),
        ];
        let m = p
            .exemption_for(Some("sg-1"), "111122223333", &inside, &[], today)
            .unwrap();
        assert!(m.is_active());
        assert_eq!(
            m.source,
            "policy OU ou-ab12-34567890 (account 111122223333)"
        );
        assert!(p
            .exemption_for(Some("sg-1"), "111122223333", &[], &[], today)
            .is_none());
        for (text, key) in [
            ("[[exemptions]]\nou = \"sandbox\"\nreason = \"x\"\n", "exemptions[0].ou"),
            ("[[exemptions]]\nou = \"ou-ab12-34567890\"\naccount = \"111122223333\"\nreason = \"x\"\n", "exemptions[0]"),
        ] {
            assert_eq!(policy(text).unwrap_err().key, key, "{text}");
        }
    }

    #[test]
    fn exemptions_by_group_account_and_tag() {
        let p = policy(
            "[[exemptions]]\ngroup_id = \"sg-1\"\nreason = \"bastion\"\nexpires = \"2026-01-01\"\n\
             [[exemptions]]\naccount = \"111122223333\"\nreason = \"sandbox\"\n",
        )
        .unwrap();
        let today = date!(2026 - 06 - 01);
        let m = p
            .exemption_for(Some("sg-1"), "999999999999", &[], &[], today)
            .unwrap();
        assert_eq!(m.status, ExemptionStatus::Expired);
        let m = p
            .exemption_for(Some("sg-1"), "111122223333", &[], &[], today)
            .unwrap();
        assert!(
            m.is_active(),
            "an active exemption wins over an expired one"
        );
        assert_eq!(
            p.expired_exemptions(today),
            vec!["exemptions[0].expires: 2026-01-01 is past"]
        );

        let tag = |v: &str| vec![("access-guard:exempt".to_string(), v.to_string())];
        let m = p
            .exemption_for(
                Some("sg-2"),
                "0",
                &[],
                &tag("public web;expires=2026-08-30"),
                today,
            )
            .unwrap();
        assert!(m.is_active() && m.reason == "public web");
        // Tag exemptions expire: none, or beyond 90 days, is not honoured.
        for value in [
            "public web",
            "public web;expires=2026-08-31",
            "public web;expires=2099-12-31",
        ] {
            let m = p
                .exemption_for(Some("sg-2"), "0", &[], &tag(value), today)
                .unwrap();
            assert_eq!(m.status, ExemptionStatus::Unbounded, "{value}");
        }
        let short = policy("max_tag_exemption_days = 7\n").unwrap();
        let m = short
            .exemption_for(Some("sg-2"), "0", &[], &tag("x;expires=2026-06-09"), today)
            .unwrap();
        assert_eq!(m.status, ExemptionStatus::Unbounded);
        let m = p
            .exemption_for(
                Some("sg-2"),
                "0",
                &[],
                &tag("old;expires=2025-01-01"),
                today,
            )
            .unwrap();
        assert_eq!(m.status, ExemptionStatus::Expired);
        let m = p
            .exemption_for(Some("sg-2"), "0", &[], &tag("x;expires=someday"), today)
            .unwrap();
        assert_eq!(m.status, ExemptionStatus::Invalid);
        assert!(p
            .exemption_for(Some("sg-2"), "0", &[], &[], today)
            .is_none());
    }
}
