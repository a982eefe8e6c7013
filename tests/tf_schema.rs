//! An offline `terraform validate` for names: every argument and nested
//! block of every `resource` and `data` block in `infra/` exists in the AWS
//! provider's schema. The schema comes from the npm package
//! `@cdktf/provider-aws` (21.22.1 = provider 6.25.0), which ships it as
//! TypeScript declarations, one folder per type, each argument documented
//! with a link that names it in snake_case. The test command unpacks it and
//! names the folder in `ACCESS_GUARD_TF_SCHEMA`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SCHEMA_VAR: &str = "ACCESS_GUARD_TF_SCHEMA";
const DOC_LINK: &str = "{@link https://registry.terraform.io/providers/hashicorp/aws/";
/// Arguments Terraform itself takes on every block.
const META: [&str; 8] = [
    "count",
    "for_each",
    "depends_on",
    "provider",
    "lifecycle",
    "provisioner",
    "connection",
    "timeouts",
];

/// The arguments and nested blocks of a type (a nested block has its own).
#[derive(Debug, Default)]
struct Spec(BTreeMap<String, Option<Spec>>);

/// ("resource" | "data", "aws_…") → its spec.
type Schema = BTreeMap<(String, String), Spec>;

/// One declarations file: its type and each interface's fields
/// (snake_case name, declared type).
fn read_declarations(text: &str) -> Option<((String, String), Spec)> {
    let mut interfaces: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut top = None;
    let mut current = None;
    let mut kind_and_type = None;
    let mut pending: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("export interface ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if rest.contains("extends cdktf.TerraformMetaArguments") {
                top = Some(name.clone());
            }
            interfaces.entry(name.clone()).or_default();
            current = Some(name);
            pending = None;
        } else if let Some(at) = line.find(DOC_LINK) {
            // …/6.25.0/docs/resources/cloudwatch_event_target#role_arn CloudwatchEventTarget#role_arn}
            let link = &line[at + DOC_LINK.len()..];
            let Some(docs) = link.split("/docs/").nth(1) else {
                continue;
            };
            let target = docs.split(' ').next().unwrap_or_default();
            let (page, arg) = target.split_once('#').unwrap_or((target, ""));
            if let Some((kind, name)) = page.split_once('/') {
                let kind = if kind == "resources" {
                    "resource"
                } else {
                    "data"
                };
                kind_and_type.get_or_insert((kind.to_string(), format!("aws_{name}")));
            }
            pending = (!arg.is_empty()).then(|| arg.to_string());
        } else if let Some(rest) = line.strip_prefix("readonly ") {
            if let (Some(snake), Some(iface)) = (pending.take(), &current) {
                let declared = rest.split_once(':').map(|(_, t)| t).unwrap_or_default();
                interfaces
                    .entry(iface.clone())
                    .or_default()
                    .push((snake, declared.trim_end_matches(';').to_string()));
            }
        }
    }
    fn spec(
        name: &str,
        interfaces: &BTreeMap<String, Vec<(String, String)>>,
        depth: usize,
    ) -> Spec {
        let mut out = BTreeMap::new();
        for (snake, declared) in interfaces.get(name).into_iter().flatten() {
            let nested = declared
                .split(|c: char| !c.is_ascii_alphanumeric())
                .find(|word| *word != name && interfaces.contains_key(*word))
                .filter(|_| depth < 8)
                .map(|word| spec(word, interfaces, depth + 1));
            out.insert(snake.clone(), nested);
        }
        Spec(out)
    }
    let top = top?;
    Some((kind_and_type?, spec(&top, &interfaces, 0)))
}

fn load_schema(package: &Path) -> Schema {
    let lib = package.join("lib");
    let mut schema = Schema::new();
    for entry in std::fs::read_dir(&lib).unwrap_or_else(|e| panic!("{}: {e}", lib.display())) {
        let path = entry.expect("entry").path().join("index.d.ts");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if let Some((key, spec)) = read_declarations(&text) {
            schema.insert(key, spec);
        }
    }
    schema
}

fn check_body(at: &str, body: &hcl::Body, spec: &Spec, problems: &mut Vec<String>) {
    for attr in body.attributes() {
        let key = attr.key();
        if !META.contains(&key) && !spec.0.contains_key(key) {
            problems.push(format!("{at}: unknown argument {key:?}"));
        }
    }
    for block in body.blocks() {
        let name = block.identifier();
        if name == "dynamic" {
            let label = block
                .labels()
                .first()
                .map(|l| l.as_str())
                .unwrap_or_default();
            match spec.0.get(label) {
                Some(Some(nested)) => {
                    for content in block
                        .body()
                        .blocks()
                        .filter(|b| b.identifier() == "content")
                    {
                        check_body(&format!("{at}.{label}"), content.body(), nested, problems);
                    }
                }
                _ => problems.push(format!("{at}: unknown block dynamic {label:?}")),
            }
            continue;
        }
        if META.contains(&name) {
            continue;
        }
        match spec.0.get(name) {
            Some(Some(nested)) => {
                check_body(&format!("{at}.{name}"), block.body(), nested, problems)
            }
            Some(None) => problems.push(format!("{at}: {name:?} is an argument, not a block")),
            None => problems.push(format!("{at}: unknown block {name:?}")),
        }
    }
}

/// Problems found in one file's text.
fn check_text(name: &str, text: &str, schema: &Schema) -> (usize, Vec<String>) {
    let body: hcl::Body = hcl::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut problems = Vec::new();
    let mut checked = 0;
    for block in body.blocks() {
        let kind = block.identifier();
        if kind != "resource" && kind != "data" {
            continue;
        }
        let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
        let [tf_type, label] = labels[..] else {
            continue;
        };
        checked += 1;
        let at = format!("{name}: {kind} {tf_type}.{label}");
        match schema.get(&(kind.to_string(), tf_type.to_string())) {
            Some(spec) => check_body(&at, block.body(), spec, &mut problems),
            None => problems.push(format!("{at}: unknown {kind} type")),
        }
    }
    (checked, problems)
}

fn tf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("a folder of .tf files")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            tf_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "tf") {
            out.push(path);
        }
    }
}

fn schema() -> Schema {
    let package = std::env::var(SCHEMA_VAR).unwrap_or_else(|_| {
        panic!("{SCHEMA_VAR} is not set: run the README's test command (`make test`), which unpacks @cdktf/provider-aws")
    });
    let schema = load_schema(Path::new(&package));
    assert!(
        schema.len() > 1000,
        "only {} types read from {package}",
        schema.len()
    );
    schema
}

#[test]
fn every_argument_and_block_in_infra_and_the_examples_exists_in_the_provider_schema() {
    let schema = schema();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    // The module, and the examples and fixtures whose plans `access-guard
    // plan` judges.
    tf_files(&root.join("infra"), &mut files);
    tf_files(&root.join("examples"), &mut files);
    tf_files(&root.join("cli/tests/plans/variants"), &mut files);
    files.sort();
    let (mut checked, mut problems) = (0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let (n, found) = check_text(&file.display().to_string(), &text, &schema);
        checked += n;
        problems.extend(found);
    }
    assert!(checked >= 40, "only {checked} blocks checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_finds_misspelt_arguments_blocks_and_types() {
    let schema = schema();
    let wrong = r#"
resource "aws_cloudwatch_event_target" "t" {
  rule           = "r"
  arn            = "a"
  event_bus_nme  = "x"
  retry_policy {
    maximum_event_age_in_secs = 60
  }
}
data "aws_iam_policy_document" "p" {
  dynamic "statment" {
    for_each = []
    content {}
  }
  statement {
    actions = []
    principals {
      type        = "AWS"
      identifier  = []
    }
  }
}
resource "aws_cloudwatch_event_bussy" "b" {}
"#;
    let (_, problems) = check_text("wrong.tf", wrong, &schema);
    let text = problems.join("\n");
    for expected in [
        "aws_cloudwatch_event_target.t: unknown argument \"event_bus_nme\"",
        "aws_cloudwatch_event_target.t.retry_policy: unknown argument \"maximum_event_age_in_secs\"",
        "aws_iam_policy_document.p: unknown block dynamic \"statment\"",
        "aws_iam_policy_document.p.statement.principals: unknown argument \"identifier\"",
        "aws_cloudwatch_event_bussy.b: unknown resource type",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
    assert_eq!(problems.len(), 5, "{text}");
}
