//! Regular-expression functions: `regexp_like` (and the `~` operators),
//! `regexp_replace`, `regexp_substr`, `regexp_count`, `regexp_instr`.
//!
//! Patterns use the `regex` crate's syntax, which agrees with PostgreSQL's
//! for the common constructs (classes, groups, alternation, anchors,
//! quantifiers); back-references inside a pattern are not supported and
//! are an error. Flags: `i` (case-insensitive), `c` (case-sensitive), `g`
//! (every match, `regexp_replace` only), `n`/`m` (newline-sensitive), `s`.
//! Replacement strings name groups as `\1`..`\9`, and `\&` is the match.
//!
//! A pattern is compiled once per distinct (pattern, flags) in a batch.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, StringBuilder};
use arrow::datatypes::DataType;
use regex::{Regex, RegexBuilder};

use super::{ScalarFunction, bad_args, invalid};
use crate::error::Result;

pub(super) fn return_type(func: ScalarFunction, args: &[DataType]) -> Result<DataType> {
    use DataType::Utf8;
    use ScalarFunction::*;
    let texts = |n: std::ops::RangeInclusive<usize>| {
        n.contains(&args.len()) && args.iter().all(|t| *t == Utf8)
    };
    Ok(match func {
        RegexpLike if texts(2..=3) => DataType::Boolean,
        RegexpReplace if texts(3..=4) => Utf8,
        RegexpSubstr if texts(2..=2) => Utf8,
        RegexpCount | RegexpInstr if texts(2..=2) => DataType::Int32,
        _ => return Err(bad_args(func, args)),
    })
}

/// The flags of `regexp_*`, parsed.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    global: bool,
    case_insensitive: bool,
    multi_line: bool,
    dot_all: bool,
}

fn flags(function: &str, text: &str) -> Result<Flags> {
    let mut f = Flags::default();
    for c in text.chars() {
        match c {
            'g' => f.global = true,
            'i' => f.case_insensitive = true,
            'c' => f.case_insensitive = false,
            'n' | 'm' => f.multi_line = true,
            's' => f.dot_all = true,
            other => {
                return Err(invalid(
                    function,
                    format!("invalid regular expression option: \"{other}\""),
                ));
            }
        }
    }
    Ok(f)
}

/// Compiles patterns, remembering the last one (patterns are usually
/// constants).
#[derive(Default)]
struct Cache {
    last: Option<(String, bool, bool, bool, Regex)>,
}

impl Cache {
    fn get(&mut self, function: &str, pattern: &str, f: Flags) -> Result<&Regex> {
        let hit = matches!(&self.last, Some((p, ci, ml, da, _))
            if p == pattern && *ci == f.case_insensitive && *ml == f.multi_line && *da == f.dot_all);
        if !hit {
            let re = RegexBuilder::new(pattern)
                .case_insensitive(f.case_insensitive)
                .multi_line(f.multi_line)
                .dot_matches_new_line(f.dot_all)
                .build()
                .map_err(|e| invalid(function, format!("invalid regular expression: {e}")))?;
            self.last = Some((
                pattern.to_string(),
                f.case_insensitive,
                f.multi_line,
                f.dot_all,
                re,
            ));
        }
        match &self.last {
            Some((.., re)) => Ok(re),
            None => Err(crate::error::Error::internal("regex cache is empty")),
        }
    }
}

/// The text at row `i` of argument `arg`.
fn text(args: &[ArrayRef], arg: usize, i: usize) -> Option<&str> {
    let a = args.get(arg)?.as_string_opt::<i32>()?;
    a.is_valid(i).then(|| a.value(i))
}

/// PostgreSQL's replacement syntax (`\1`, `\&`, `\\`) in the `regex`
/// crate's (`${1}`, `${0}`, `\`, with `$` escaped).
fn replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d @ '0'..='9') => {
                    chars.next();
                    out.push_str(&format!("${{{d}}}"));
                }
                Some('&') => {
                    chars.next();
                    out.push_str("${0}");
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

pub(super) fn evaluate(func: ScalarFunction, args: &[ArrayRef]) -> Result<ArrayRef> {
    use ScalarFunction::*;
    let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
    return_type(func, &types)?;
    let rows = args.first().map_or(0, |a| a.len());
    let name = match func {
        RegexpLike => "regexp_like",
        RegexpReplace => "regexp_replace",
        RegexpSubstr => "regexp_substr",
        RegexpCount => "regexp_count",
        _ => "regexp_instr",
    };
    let flags_arg = match func {
        RegexpLike => 2,
        RegexpReplace => 3,
        _ => usize::MAX,
    };
    let mut cache = Cache::default();
    // Each row: None when an argument is NULL, else the string and regex.
    let mut row = |i: usize| -> Result<Option<(&str, Regex, Flags)>> {
        let (Some(s), Some(p)) = (text(args, 0, i), text(args, 1, i)) else {
            return Ok(None);
        };
        let f = if args.len() > flags_arg {
            match text(args, flags_arg, i) {
                Some(f) => flags(name, f)?,
                None => return Ok(None),
            }
        } else {
            Flags::default()
        };
        Ok(Some((s, cache.get(name, p, f)?.clone(), f)))
    };
    match func {
        RegexpLike => {
            let out = (0..rows)
                .map(|i| Ok(row(i)?.map(|(s, re, _)| re.is_match(s))))
                .collect::<Result<BooleanArray>>()?;
            Ok(Arc::new(out))
        }
        RegexpCount | RegexpInstr => {
            let out = (0..rows)
                .map(|i| {
                    let Some((s, re, _)) = row(i)? else {
                        return Ok(None);
                    };
                    let n = if func == RegexpCount {
                        re.find_iter(s).count()
                    } else {
                        re.find(s).map_or(0, |m| s[..m.start()].chars().count() + 1)
                    };
                    Ok(Some(i32::try_from(n).unwrap_or(i32::MAX)))
                })
                .collect::<Result<Int32Array>>()?;
            Ok(Arc::new(out))
        }
        _ => {
            let mut b = StringBuilder::with_capacity(rows, 0);
            for i in 0..rows {
                let Some((s, re, f)) = row(i)? else {
                    b.append_null();
                    continue;
                };
                if func == RegexpSubstr {
                    b.append_option(re.find(s).map(|m| m.as_str()));
                    continue;
                }
                let Some(r) = text(args, 2, i) else {
                    b.append_null();
                    continue;
                };
                let r = replacement(r);
                let out = if f.global {
                    re.replace_all(s, r.as_str())
                } else {
                    re.replace(s, r.as_str())
                };
                b.append_value(out);
            }
            Ok(Arc::new(b.finish()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::strs;

    fn call(func: ScalarFunction, args: &[&str]) -> ArrayRef {
        let args: Vec<ArrayRef> = args.iter().map(|a| strs(&[Some(a)])).collect();
        evaluate(func, &args).unwrap()
    }

    #[test]
    fn replace_first_or_every_match_with_groups() {
        let out = call(ScalarFunction::RegexpReplace, &["abcabc", "b", "X"]);
        assert_eq!(out.as_string::<i32>().value(0), "aXcabc");
        let out = call(ScalarFunction::RegexpReplace, &["abcabc", "b", "X", "g"]);
        assert_eq!(out.as_string::<i32>().value(0), "aXcaXc");
        let out = call(ScalarFunction::RegexpReplace, &["abc", "(a)(b)", "\\2\\1$"]);
        assert_eq!(out.as_string::<i32>().value(0), "ba$c");
    }

    #[test]
    fn positions_count_characters() {
        let out = call(ScalarFunction::RegexpInstr, &["ééc", "c"]);
        assert_eq!(
            out.as_primitive::<arrow::datatypes::Int32Type>().value(0),
            3
        );
    }

    #[test]
    fn bad_pattern_and_flag_are_errors() {
        let args: Vec<ArrayRef> = vec![strs(&[Some("a")]), strs(&[Some("(")])];
        assert!(evaluate(ScalarFunction::RegexpLike, &args).is_err());
        let args: Vec<ArrayRef> = vec![strs(&[Some("a")]), strs(&[Some("a")]), strs(&[Some("z")])];
        assert!(evaluate(ScalarFunction::RegexpLike, &args).is_err());
    }
}
