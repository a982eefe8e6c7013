//! The access map rendered (DESIGN §15): the text tree for terminals, and
//! the self-contained HTML report (one file, no network: its page, styles
//! and script are `report.html`; the documents go into its data block).
//! The JSON is the documents' own ([`MapDocument::to_json`]).

use std::fmt::Write;

use serde::Serialize;

use crate::report::map::{MapDocument, MapPath};

/// The report's page. Its script is pinned by its hash in the page's
/// Content-Security-Policy: it is never changed here.
const PAGE: &str = include_str!("report.html");

/// Where the documents go: a JSON string inside the data block.
const PLACEHOLDER: &str = "\"__ACCESS_MAP_DATA__\"";

#[derive(Serialize)]
struct Data<'a> {
    generated: &'a str,
    documents: &'a [MapDocument],
}

/// The HTML report of `documents`, generated at `generated` (RFC 3339).
/// The data is JSON inside `<script type="application/json">`, every `<`
/// written `\u003c` so that nothing in it (a tag, `</script>`) is read as
/// markup; the page inserts every value as text.
pub fn html(documents: &[MapDocument], generated: &str) -> String {
    let json = serde_json::to_string(&Data {
        generated,
        documents,
    })
    .unwrap_or_else(|e| format!(r#"{{"error":"the map could not be written: {e}"}}"#));
    let json = json
        .replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    PAGE.replacen(PLACEHOLDER, &json, 1)
}

/// One document as a tree for a terminal: the target, then each path with
/// its hops and their evidence, then what an intruder holds there.
pub fn tree(doc: &MapDocument) -> String {
    let mut out = String::new();
    let severity = doc
        .severity
        .map_or("no way in".to_string(), |s| s.as_str().to_ascii_uppercase());
    let _ = writeln!(
        out,
        "{} {} [{severity}] {} {}",
        doc.target.kind.as_str(),
        doc.target.id,
        doc.account,
        doc.region
    );
    let last_path = doc.paths.len();
    for (i, p) in doc.paths.iter().enumerate() {
        path(&mut out, p, i + 1 == last_path && doc.holds.is_empty());
    }
    if !doc.holds.is_empty() {
        let _ = writeln!(out, "└── holds");
        for (i, h) in doc.holds.iter().enumerate() {
            let branch = if i + 1 == doc.holds.len() {
                "└──"
            } else {
                "├──"
            };
            let _ = writeln!(out, "    {branch} {} {}", h.severity.as_str(), h.label);
        }
    }
    out
}

fn path(out: &mut String, p: &MapPath, last: bool) {
    let (branch, stem) = if last {
        ("└──", "    ")
    } else {
        ("├──", "│   ")
    };
    let _ = writeln!(
        out,
        "{branch} {} {} ({}): {}",
        p.status.as_str(),
        p.kind.as_str(),
        p.severity.as_str(),
        p.summary
    );
    let mut lines: Vec<String> = Vec::new();
    for hop in &p.hops {
        let mut line = hop.label.clone();
        if !hop.evidence.is_empty() {
            line.push_str(&format!(": {}", hop.evidence.join("; ")));
        }
        if let Some(why) = &hop.unknown {
            line.push_str(&format!(" (unknown: {why})"));
        }
        lines.push(line);
    }
    if let Some(why) = &p.why {
        lines.push(format!("why: {why}"));
    }
    for (i, line) in lines.iter().enumerate() {
        let twig = if i + 1 == lines.len() {
            "└──"
        } else {
            "├──"
        };
        let _ = writeln!(out, "{stem}{twig} {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use crate::report::map::{
        path as make_path, Hold, HoldKind, Hop, HopKind, MapTarget, PathKind, TargetKind,
    };

    fn doc() -> MapDocument {
        let hold = Hold {
            kind: HoldKind::TaskRole,
            id: "arn:aws:iam::111122223333:role/app".into(),
            label: "task role app: admin-level or wildcard".into(),
            severity: Severity::Critical,
            evidence: vec![],
        };
        let mut d = MapDocument::new(
            "111122223333",
            "eu-west-1",
            MapTarget {
                kind: TargetKind::Service,
                id: "prod/web".into(),
                arn: None,
                console: None,
            },
            vec![hold.clone()],
        );
        d.push(make_path(
            PathKind::Network,
            vec![
                Hop::new(HopKind::Internet, "internet", "internet"),
                Hop::new(HopKind::InternetGateway, "igw-0ab", "igw-0ab")
                    .evidence("route rtb-1 0.0.0.0/0 → igw-0ab (subnet-1)"),
                Hop::new(
                    HopKind::SecurityGroupRule,
                    "sgr-1",
                    "sg-1 tcp 8080 from 0.0.0.0/0 </script><script>alert(1)</script>",
                ),
                Hop::new(HopKind::Service, "prod/web", "service prod/web"),
            ],
            None,
            Some(&hold),
            Severity::Critical,
        ));
        d
    }

    #[test]
    fn the_tree_shows_each_path_its_hops_and_the_holds() {
        let text = tree(&doc());
        assert_eq!(
            text,
            "service prod/web [CRITICAL] 111122223333 eu-west-1\n\
             ├── open network (critical): internet → igw-0ab → sg-1 tcp 8080 from 0.0.0.0/0 </script><script>alert(1)</script> → service prod/web (task role app: admin-level or wildcard)\n\
             │   ├── internet\n\
             │   ├── igw-0ab: route rtb-1 0.0.0.0/0 → igw-0ab (subnet-1)\n\
             │   ├── sg-1 tcp 8080 from 0.0.0.0/0 </script><script>alert(1)</script>\n\
             │   └── service prod/web\n\
             └── holds\n    \
             └── critical task role app: admin-level or wildcard\n"
        );
    }

    #[test]
    fn the_report_holds_the_documents_as_data_never_as_markup() {
        let page = html(&[doc()], "2026-12-07T10:00:00Z");
        assert!(!page.contains(PLACEHOLDER), "the data block is filled");
        assert!(
            !page.contains("</script><script>alert"),
            "a tag in the data is never markup"
        );
        assert!(page.contains(r"\u003c/script>\u003cscript>alert(1)\u003c/script>"));
        // The data block reads back as the documents.
        let start = page
            .find(r#"<script type="application/json" id="access-map-data">"#)
            .unwrap();
        let body = &page[start..];
        let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
        let data: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(data["generated"], "2026-12-07T10:00:00Z");
        assert_eq!(data["documents"][0]["target"]["id"], "prod/web");
        assert_eq!(
            data["documents"][0]["paths"][0]["hops"][2]["label"],
            "sg-1 tcp 8080 from 0.0.0.0/0 </script><script>alert(1)</script>"
        );
        // No address outside the page: nothing is fetched.
        for needle in ["src=\"http", "href=\"http", "@import", "url(http"] {
            assert!(!page.contains(needle), "{needle}");
        }
    }
}
