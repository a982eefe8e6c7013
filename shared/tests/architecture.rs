//! The library's layers import downwards only, and no module imports
//! itself in a circle (DESIGN §2, STYLE item 11).
//!
//! Reads the module tree from `src/lib.rs` (following `mod` declarations,
//! leaving out `#[cfg(test)]` modules: tests may reach anywhere), collects
//! every path that starts with `crate::`, `super::` or `self::` — in `use`
//! trees, in code, in macro calls — and checks two things:
//! - a file never names a module of a layer above its own ([`LAYERS`]);
//! - among the children of any module (the top-level modules, the rules'
//!   families, the guards, …) no two import each other, directly or round
//!   about.
//!
//! Each failure names the file and the path it imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The layers, from the ground up. A module may import its own layer and
/// those before it, never one after it. Every top-level module of the crate
/// sits in exactly one.
const LAYERS: &[(&str, &[&str])] = &[
    // What an event and the estate are, secrets and findings: no knowledge of policy.
    ("model", &["model", "secrets", "finding", "iac"]),
    // The operator's choices, validated.
    ("policy", &["policy"]),
    // The catalog: pure functions of the model and the policy.
    ("rules", &["rules"]),
    // What a guard did or would do, the plan of revocations, and the
    // sweep's record of each finding (the state table's items, pure).
    ("report", &["report", "state"]),
    // Rendering a report: the alert, Security Hub's format, chat, console links.
    ("output", &["output"]),
    // The traits guards act through, the types they carry, their fakes.
    ("ports", &["ports"]),
    // The guards and the sweep: decisions, through the ports.
    ("guards", &["guards", "before", "sweep", "map", "retro"]),
    // SDK-backed adapters of the ports: AWS calls and translation, no decisions.
    ("adapters", &["aws"]),
    // The Lambda runner and the functions' configuration.
    ("wiring", &["config", "lambda"]),
];

/// One import of a file: the module it names and the path as written.
#[derive(Debug, Clone)]
struct Import {
    /// The module the path lands in (the longest known module prefix).
    target: Vec<String>,
    written: String,
}

/// A file of the crate, its module path and what it imports.
#[derive(Debug)]
struct Unit {
    file: PathBuf,
    module: Vec<String>,
    imports: Vec<Import>,
}

/// Raw paths of one file, before modules are known.
#[derive(Debug)]
struct RawUnit {
    file: PathBuf,
    module: Vec<String>,
    /// Absolute paths (segments after `crate`), as written. A path with no
    /// `crate`/`self`/`super` is taken relative to the module, and kept
    /// only when it starts with one of the module's children.
    paths: Vec<(Vec<String>, String)>,
    /// What the module re-exports (`pub use`): name → absolute path.
    reexports: Vec<(String, Vec<String>)>,
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .map(|m| m.path().is_ident("test"))
                .unwrap_or(false)
    })
}

/// Collects the paths of one module's items (not its child modules, which
/// are visited as units of their own).
struct Paths<'a> {
    module: &'a [String],
    out: Vec<(Vec<String>, String)>,
    reexports: Vec<(String, Vec<String>)>,
    /// Inside a `pub use`: the names it binds are re-exports.
    reexporting: bool,
    inline_children: Vec<(String, Vec<syn::Item>)>,
    file_children: Vec<String>,
}

impl Paths<'_> {
    /// Resolves `crate::a::b`, `super::a`, `self::a` to segments from the
    /// crate root; other paths (std, other crates, locals) give `None`.
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        match first.as_str() {
            "crate" | "$crate" => Some(segments[1..].to_vec()),
            "self" => {
                let mut out = self.module.to_vec();
                out.extend_from_slice(&segments[1..]);
                Some(out)
            }
            "super" => {
                let mut base = self.module.to_vec();
                let mut rest = segments;
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.extend_from_slice(rest);
                Some(base)
            }
            // Perhaps a child module (`use place::Home`): kept only if one
            // (see `resolve`); std, other crates and locals fall away there.
            name if name.starts_with(|c: char| c.is_ascii_lowercase()) && segments.len() > 1 => {
                let mut out = self.module.to_vec();
                out.extend_from_slice(segments);
                Some(out)
            }
            _ => None,
        }
    }

    fn record(&mut self, segments: Vec<String>) {
        if let Some(abs) = self.absolute(&segments) {
            self.out.push((abs, segments.join("::")));
        }
    }

    /// A name a `pub use` binds: other modules that name it through this
    /// one reach the module that defines it.
    fn reexport(&mut self, name: &syn::Ident, full: &[String]) {
        if !self.reexporting || name == "self" || name == "_" {
            return;
        }
        if let Some(abs) = self.absolute(full) {
            self.reexports.push((name.to_string(), abs));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.reexport(&n.ident, &full);
                self.record(full);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.reexport(&r.rename, &full);
                self.record(full);
            }
            syn::UseTree::Glob(_) => self.record(prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }

    /// `crate::a::b` inside a macro's tokens (`format!`, `vec!`, our `rule!`).
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        let flat: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < flat.len() {
            match &flat[i] {
                proc_macro2::TokenTree::Group(g) => self.tokens(g.stream()),
                proc_macro2::TokenTree::Ident(id)
                    if (id == "crate" || id == "super" || id == "self")
                        && separator_at(&flat, i + 1) =>
                {
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    while separator_at(&flat, j) {
                        match flat.get(j + 2) {
                            Some(proc_macro2::TokenTree::Ident(next)) => {
                                segments.push(next.to_string());
                                j += 3;
                            }
                            _ => break,
                        }
                    }
                    self.record(segments);
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// True when `tokens[i..]` starts with `::`.
fn separator_at(tokens: &[proc_macro2::TokenTree], i: usize) -> bool {
    matches!(
        (tokens.get(i), tokens.get(i + 1)),
        (Some(proc_macro2::TokenTree::Punct(a)), Some(proc_macro2::TokenTree::Punct(b)))
            if a.as_char() == ':' && b.as_char() == ':' && a.spacing() == proc_macro2::Spacing::Joint
    )
}

impl<'ast> Visit<'ast> for Paths<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if is_cfg_test(&m.attrs) {
            return;
        }
        match &m.content {
            Some((_, items)) => self
                .inline_children
                .push((m.ident.to_string(), items.clone())),
            None => self.file_children.push(m.ident.to_string()),
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_cfg_test(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if !is_cfg_test(&i.attrs) {
            syn::visit::visit_item_impl(self, i);
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if !is_cfg_test(&u.attrs) {
            self.reexporting = !matches!(u.vis, syn::Visibility::Inherited);
            self.use_tree(&mut Vec::new(), &u.tree);
            self.reexporting = false;
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(segments);
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.tokens(m.tokens.clone());
    }
}

/// Reads the module tree under `src` (from `lib.rs`).
fn read_tree(src: &Path) -> Result<Vec<RawUnit>, String> {
    let mut units = Vec::new();
    read_file(&src.join("lib.rs"), src, Vec::new(), &mut units)?;
    Ok(units)
}

fn read_file(
    file: &Path,
    dir: &Path,
    module: Vec<String>,
    units: &mut Vec<RawUnit>,
) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let parsed = syn::parse_file(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    read_items(file, dir, module, &parsed.items, units)
}

/// `dir` is where the module's child files live (`src/` for `lib.rs`,
/// `src/a/` for `src/a.rs` and `src/a/mod.rs`).
fn read_items(
    file: &Path,
    dir: &Path,
    module: Vec<String>,
    items: &[syn::Item],
    units: &mut Vec<RawUnit>,
) -> Result<(), String> {
    let mut paths = Paths {
        module: &module,
        out: Vec::new(),
        reexports: Vec::new(),
        reexporting: false,
        inline_children: Vec::new(),
        file_children: Vec::new(),
    };
    for item in items {
        paths.visit_item(item);
    }
    let Paths {
        out,
        reexports,
        inline_children,
        file_children,
        ..
    } = paths;
    units.push(RawUnit {
        file: file.to_path_buf(),
        module: module.clone(),
        paths: out,
        reexports,
    });
    for (name, items) in inline_children {
        let mut child = module.clone();
        child.push(name.clone());
        read_items(file, &dir.join(&name), child, &items, units)?;
    }
    for name in file_children {
        let mut child = module.clone();
        child.push(name.clone());
        let flat = dir.join(format!("{name}.rs"));
        let nested = dir.join(&name).join("mod.rs");
        let path = if flat.exists() { flat } else { nested };
        read_file(&path, &dir.join(&name), child, units)?;
    }
    Ok(())
}

/// Maps each path to the module that defines what it names, following
/// re-exports (`pub use`), so that a sibling reached through its parent's
/// re-export is still an import of that sibling.
fn resolve(raw: Vec<RawUnit>) -> Vec<Unit> {
    let modules: BTreeSet<Vec<String>> = raw.iter().map(|u| u.module.clone()).collect();
    let reexports: BTreeMap<(Vec<String>, String), Vec<String>> = raw
        .iter()
        .flat_map(|u| {
            u.reexports
                .iter()
                .map(|(name, abs)| ((u.module.clone(), name.clone()), abs.clone()))
        })
        .collect();
    let land = |mut abs: Vec<String>| -> Option<Vec<String>> {
        for _ in 0..8 {
            let module = (0..=abs.len())
                .rev()
                .map(|n| abs[..n].to_vec())
                .find(|prefix| modules.contains(prefix))?;
            let Some(name) = abs.get(module.len()) else {
                return Some(module);
            };
            match reexports.get(&(module.clone(), name.clone())) {
                Some(target) if !target.starts_with(&abs) => {
                    let mut next = target.clone();
                    next.extend_from_slice(&abs[module.len() + 1..]);
                    abs = next;
                }
                _ => return Some(module),
            }
        }
        None
    };
    raw.into_iter()
        .map(|u| {
            let module = u.module.clone();
            let imports = u
                .paths
                .into_iter()
                .filter_map(|(abs, written)| {
                    // A path relative to the module counts only through a
                    // child module of it (`place::Home`), not a local name.
                    let relative = abs.len() > module.len()
                        && abs.starts_with(&module)
                        && !written.starts_with("crate")
                        && !written.starts_with("self")
                        && !written.starts_with("super");
                    if relative && !modules.contains(&abs[..module.len() + 1]) {
                        return None;
                    }
                    let target = land(abs)?;
                    Some(Import { target, written })
                })
                .collect();
            Unit {
                file: u.file,
                module: u.module,
                imports,
            }
        })
        .collect()
}

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&top))
}

/// Every breach of the layer order and every cycle, one line each.
fn problems(src: &Path) -> Result<Vec<String>, String> {
    let units = resolve(read_tree(src)?);
    let shown = |file: &Path| {
        file.strip_prefix(src)
            .map(|p| format!("src/{}", p.display()))
            .unwrap_or_else(|_| file.display().to_string())
    };
    let mut out = Vec::new();
    let mut upward = BTreeSet::new();

    // Every top-level module sits in a layer.
    let tops: BTreeSet<&str> = units
        .iter()
        .filter_map(|u| u.module.first().map(String::as_str))
        .collect();
    for top in &tops {
        if layer_of(top).is_none() {
            out.push(format!(
                "module `{top}` sits in no layer: add it to LAYERS in tests/architecture.rs"
            ));
        }
    }

    // Downwards only.
    for unit in &units {
        let Some(own) = unit.module.first().and_then(|m| layer_of(m)) else {
            continue;
        };
        for import in &unit.imports {
            let Some(theirs) = import.target.first().and_then(|m| layer_of(m)) else {
                continue;
            };
            if theirs > own {
                upward.insert(format!(
                    "{} (layer {}) imports {} (layer {}): a layer imports only those below it",
                    shown(&unit.file),
                    LAYERS[own].0,
                    import.written,
                    LAYERS[theirs].0
                ));
            }
        }
    }

    out.extend(upward);

    // No cycles among the children of any module.
    // (parent, child a, child b) -> one (file, import) that makes a -> b.
    let mut edges: BTreeMap<Vec<String>, Siblings> = BTreeMap::new();
    for unit in &units {
        for import in &unit.imports {
            let common = unit
                .module
                .iter()
                .zip(&import.target)
                .take_while(|(a, b)| a == b)
                .count();
            let (Some(from), Some(to)) = (unit.module.get(common), import.target.get(common))
            else {
                continue; // an ancestor or a descendant: not siblings
            };
            edges
                .entry(unit.module[..common].to_vec())
                .or_default()
                .entry((from.clone(), to.clone()))
                .or_insert_with(|| (shown(&unit.file), import.written.clone()));
        }
    }
    for (parent, siblings) in &edges {
        for cycle in cycles(siblings.keys()) {
            let place = if parent.is_empty() {
                "the crate".to_string()
            } else {
                parent.join("::")
            };
            let mut line = format!("import cycle in {place}: {}", cycle.join(" -> "));
            for pair in cycle.windows(2) {
                let (file, written) = &siblings[&(pair[0].clone(), pair[1].clone())];
                line.push_str(&format!(
                    "\n    {} -> {}: {file} imports {written}",
                    pair[0], pair[1]
                ));
            }
            out.push(line);
        }
    }
    Ok(out)
}

/// The import edges between the children of one module: (from, to) to one
/// (file, path as written) that makes it.
type Siblings = BTreeMap<(String, String), (String, String)>;

/// The strongly connected components with more than one member, each as a
/// closed walk (`a -> b -> a`) through its members.
fn cycles<'a>(edges: impl Iterator<Item = &'a (String, String)>) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (a, b) in edges {
        next.entry(a).or_default().insert(b);
        next.entry(b).or_default();
    }
    // Reachability is small here (tens of nodes): closure by search.
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            for m in &next[n] {
                if seen.insert(m.to_string()) {
                    stack.push(m);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&str, BTreeSet<String>> = next.keys().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in next.keys() {
        if done.contains(*n) || !reachable[n].contains(*n) {
            continue;
        }
        // One walk n -> … -> n through the shortest path back.
        let mut walk = vec![n.to_string()];
        let path = shortest(&next, n, n);
        walk.extend(path);
        for m in next.keys() {
            if reachable[n].contains(*m) && reachable[m].contains(*n) {
                done.insert(m.to_string());
            }
        }
        out.push(walk);
    }
    out
}

/// The nodes after `from` on a shortest path to `to` (breadth first).
fn shortest(next: &BTreeMap<&str, BTreeSet<&str>>, from: &str, to: &str) -> Vec<String> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    while let Some(n) = queue.pop_front() {
        for m in &next[n] {
            if *m == to {
                let mut path = vec![to.to_string()];
                let mut at = n;
                while at != from {
                    path.push(at.to_string());
                    at = parent[at];
                }
                path.reverse();
                return path;
            }
            if !parent.contains_key(m) && *m != from {
                parent.insert(m, n);
                queue.push_back(m);
            }
        }
    }
    Vec::new()
}

#[test]
fn the_library_imports_downwards_only_and_has_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = problems(&src).unwrap();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// A throwaway crate tree under the system's temp directory.
struct Planted(PathBuf);

impl Planted {
    fn new(name: &str, files: &[(&str, &str)]) -> Planted {
        let root = std::env::temp_dir().join(format!(
            "access-guard-architecture-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        Planted(root)
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_planted_upward_import_is_named_with_its_file() {
    let tree = Planted::new(
        "upward",
        &[
            (
                "lib.rs",
                "pub mod model;\npub mod rules;\npub mod guards;\n",
            ),
            ("model/mod.rs", "pub mod event;\n"),
            // The model reaching up into the guards.
            (
                "model/event.rs",
                "use crate::guards::ingress::plan;\npub struct Event;\n",
            ),
            ("rules.rs", "use crate::model::event::Event;\n"),
            ("guards/mod.rs", "pub mod ingress;\n"),
            ("guards/ingress.rs", "pub fn plan() {}\n"),
        ],
    );
    let found = problems(&tree.0).unwrap();
    assert_eq!(
        found,
        ["src/model/event.rs (layer model) imports crate::guards::ingress::plan (layer guards): \
          a layer imports only those below it"]
    );
}

#[test]
fn an_upward_path_in_code_or_a_macro_is_caught_as_well_as_a_use() {
    let tree = Planted::new(
        "inline",
        &[
            ("lib.rs", "pub mod model;\npub mod policy;\n"),
            (
                "model.rs",
                "pub fn f() -> usize { crate::policy::LIMIT }\n\
                 pub fn g() -> Vec<usize> { vec![super::policy::LIMIT] }\n\
                 #[cfg(test)]\nmod tests { use crate::policy::LIMIT; }\n",
            ),
            ("policy.rs", "pub const LIMIT: usize = 1;\n"),
        ],
    );
    let found = problems(&tree.0).unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("crate::policy::LIMIT"), "{found:?}");
    assert!(found[1].contains("super::policy::LIMIT"), "{found:?}");
}

#[test]
fn a_planted_cycle_between_sibling_modules_is_named_with_both_imports() {
    let tree = Planted::new(
        "cycle",
        &[
            ("lib.rs", "pub mod model;\n"),
            ("model/mod.rs", "pub mod event;\npub mod stream;\n"),
            (
                "model/event.rs",
                "use super::stream::read;\npub struct Event;\n",
            ),
            (
                "model/stream.rs",
                "use crate::model::event::Event;\npub fn read() {}\n",
            ),
        ],
    );
    let found = problems(&tree.0).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0],
        "import cycle in model: event -> stream -> event\n    \
         event -> stream: src/model/event.rs imports super::stream::read\n    \
         stream -> event: src/model/stream.rs imports crate::model::event::Event"
    );
}

#[test]
fn a_cycle_through_a_parents_reexport_is_still_a_cycle() {
    let tree = Planted::new(
        "reexport",
        &[
            ("lib.rs", "pub mod aws;\n"),
            (
                "aws/mod.rs",
                "pub mod ec2;\npub mod organization;\npub use ec2::Groups;\n\
                 pub use organization::Clients;\n",
            ),
            // Each reaches the other only through the parent.
            ("aws/ec2.rs", "use super::Clients;\npub struct Groups;\n"),
            (
                "aws/organization.rs",
                "use crate::aws::Groups;\npub struct Clients;\n",
            ),
        ],
    );
    let found = problems(&tree.0).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("import cycle in aws: ec2 -> organization -> ec2"),
        "{found:?}"
    );
}

#[test]
fn a_module_outside_the_table_is_reported() {
    let tree = Planted::new(
        "unplaced",
        &[("lib.rs", "pub mod misc;\n"), ("misc.rs", "")],
    );
    let found = problems(&tree.0).unwrap();
    assert_eq!(
        found,
        ["module `misc` sits in no layer: add it to LAYERS in tests/architecture.rs"]
    );
}
