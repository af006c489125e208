//! Writer-side change: how a new version of a writer's shape differs from the old one, judged by
//! who reads what. A change that widens what the writer sends breaks a reader that reads the path
//! (error); the same change where no known reader looks is a warning; an addition is info.

use super::expect::Expectation;
use super::finding::{Category, Ctx, Finding, Location, Rule, Severity, join};
use super::naming;
use super::shape::{Kind, Shape};
use super::subset::escapes;

/// Compares two versions of a writer's shape; `readers` are the known readers with what they read.
/// Each reader that reads a changed path is assumed to rely on what the old writer sent there.
pub fn compare_writer(
    old: &Shape,
    new: &Shape,
    readers: &[(String, Expectation)],
    ctx: &Ctx,
) -> Vec<Finding> {
    let mut out = Vec::new();
    Cmp {
        readers,
        ctx,
        out: &mut out,
    }
    .shapes(old, new, "");
    out
}

struct Cmp<'a> {
    readers: &'a [(String, Expectation)],
    ctx: &'a Ctx,
    out: &'a mut Vec<Finding>,
}

impl Cmp<'_> {
    /// Emits one error per reader that reads `path` (and does not cope, per `copes`), or one
    /// finding of `unread` severity when none does.
    fn emit(
        &mut self,
        rule: Rule,
        path: &str,
        unread: Severity,
        message: String,
        copes: impl Fn(&Expectation) -> bool,
    ) {
        let mut any = false;
        for (repo, exp) in self
            .readers
            .iter()
            .filter(|(_, e)| !path.is_empty() && e.reads(path))
        {
            any = true;
            if copes(exp) {
                continue;
            }
            let mut f = self.ctx.finding(
                rule.clone(),
                Severity::Error,
                path,
                None,
                format!("{message}; {repo} reads it"),
            );
            f.reader = Some(Location {
                repo: repo.clone(),
                contract: self.ctx.contract.clone(),
                path: path.to_string(),
            });
            self.out.push(f);
        }
        if !any {
            let note = if unread == Severity::Info {
                ""
            } else {
                "; no known reader reads it"
            };
            self.out.push(
                self.ctx
                    .finding(rule, unread, path, None, format!("{message}{note}")),
            );
        }
    }

    fn shapes(&mut self, old: &Shape, new: &Shape, path: &str) {
        if new.nullable && !old.nullable {
            let copes =
                |e: &Expectation| read_at(e, path).is_some_and(|r| r.nullable == Some(true));
            self.emit(
                Rule::new(Category::Nullability, "became-nullable"),
                path,
                Severity::Warning,
                format!("`{path}` may now be null"),
                copes,
            );
        }
        match (&old.kind, &new.kind) {
            (Kind::Object(o), Kind::Object(n)) => {
                for (name, of) in &o.fields {
                    let p = join(path, name);
                    let Some(nf) = n.fields.get(name) else {
                        let key = naming::key(name);
                        let renamed = n
                            .fields
                            .keys()
                            .find(|k| naming::key(k) == key || naming::near(k, name));
                        let msg = match renamed {
                            Some(k) => {
                                format!("`{p}` is removed (renamed to `{}`?)", join(path, k))
                            }
                            None => format!("`{p}` is removed"),
                        };
                        self.emit(
                            Rule::new(Category::Existence, "field-removed"),
                            &p,
                            Severity::Warning,
                            msg,
                            |_| false,
                        );
                        continue;
                    };
                    if of.required && !nf.required {
                        let copes = |e: &Expectation| {
                            read_at(e, &p).is_some_and(|r| r.optional == Some(true))
                        };
                        self.emit(
                            Rule::new(Category::Requiredness, "became-optional"),
                            &p,
                            Severity::Warning,
                            format!("`{p}` may now be omitted"),
                            copes,
                        );
                    }
                    self.shapes(&of.shape, &nf.shape, &p);
                }
                for name in n.fields.keys().filter(|k| !o.fields.contains_key(*k)) {
                    let p = join(path, name);
                    let f = self.ctx.finding(
                        Rule::new(Category::Existence, "field-added"),
                        Severity::Info,
                        &p,
                        None,
                        format!("`{p}` is added"),
                    );
                    self.out.push(f);
                }
            }
            (Kind::Array { items: o }, Kind::Array { items: n }) => {
                self.shapes(o, n, &format!("{path}[]"))
            }
            _ => {
                for i in escapes(
                    &Shape {
                        nullable: true,
                        ..old.clone()
                    },
                    new,
                    path,
                    false,
                ) {
                    let cat = i.rule.category;
                    let rule = Rule::new(cat, &i.rule.name);
                    let sev = if i.severity == Severity::Error {
                        Severity::Warning
                    } else {
                        Severity::Info
                    };
                    self.emit(rule, &i.path, sev, i.message, |_| false);
                }
            }
        }
    }
}

fn read_at<'a>(e: &'a Expectation, path: &str) -> Option<&'a super::expect::Read> {
    let mut fields = &e.fields;
    let mut found = None;
    for seg in path.split('.') {
        let r = fields.get(seg.trim_end_matches("[]"))?;
        fields = &r.fields;
        found = Some(r);
    }
    found
}
