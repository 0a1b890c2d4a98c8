//! Hyper's syntax that sqlparser's PostgreSQL dialect lacks, rewritten on the
//! token stream before parsing (tokens keep their positions, so errors
//! still point into the statement as written; string literals are tokens
//! and are never looked into):
//! - `x [NOT] BETWEEN SYMMETRIC low AND high`: SYMMETRIC goes, and `low` is
//!   wrapped in a call of [`SYMMETRIC_MARKER`]; `BETWEEN ASYMMETRIC` is
//!   plain BETWEEN;
//! - a window frame's `EXCLUDE CURRENT ROW | GROUP | TIES | NO OTHERS`: the
//!   clause goes, and a call of `"exclude ..."` ([`exclusion_of`]) becomes
//!   the window's last ORDER BY key (an ORDER BY is added when the window
//!   has none).
//!
//! Invariant: the markers' tokens carry an empty span (line 0), which no
//! token of a statement has, so a user's own `"between symmetric"(x)` is
//! never taken for one.

use sqlparser::ast::{Expr, Function, ObjectNamePart};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, Precedence};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Span, Token, TokenWithSpan, Word};

/// The function name that marks a symmetric BETWEEN's lower bound.
pub(crate) const SYMMETRIC_MARKER: &str = "between symmetric";

/// The marker functions of the EXCLUDE clauses, by the clause's words.
const EXCLUSIONS: [(&str, &str); 4] = [
    ("CURRENT ROW", "exclude current row"),
    ("GROUP", "exclude group"),
    ("TIES", "exclude ties"),
    ("NO OTHERS", "exclude no others"),
];

/// The rewritten tokens, or `None` when the statement uses neither form.
pub(crate) fn rewrite(tokens: &[TokenWithSpan]) -> Option<Vec<TokenWithSpan>> {
    let mut out = tokens.to_vec();
    let mut changed = false;
    // Right to left, so that a rewrite never moves the tokens still to do
    // and an inner BETWEEN SYMMETRIC is marked before the outer one parses
    // its bound.
    for i in (0..out.len()).rev() {
        if is_keyword(&out[i], Keyword::BETWEEN) {
            changed |= between(&mut out, i);
        } else if is_keyword(&out[i], Keyword::EXCLUDE) {
            changed |= exclude(&mut out, i);
        }
    }
    changed.then_some(out)
}

/// Whether the marker call `f` names one of our markers; the name.
pub(crate) fn marker_name(f: &Function) -> Option<&str> {
    match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(ident)]
            if ident.span == Span::empty() && ident.quote_style == Some('"') =>
        {
            Some(ident.value.as_str())
        }
        _ => None,
    }
}

/// The bound inside a symmetric BETWEEN's marker, `None` for any other
/// expression.
pub(crate) fn symmetric_bound(low: &Expr) -> Option<&Expr> {
    let Expr::Function(f) = low else {
        return None;
    };
    if marker_name(f) != Some(SYMMETRIC_MARKER) {
        return None;
    }
    match &f.args {
        sqlparser::ast::FunctionArguments::List(list) => match list.args.as_slice() {
            [sqlparser::ast::FunctionArg::Unnamed(sqlparser::ast::FunctionArgExpr::Expr(e))] => {
                Some(e)
            }
            _ => None,
        },
        _ => None,
    }
}

/// The EXCLUDE clause an ORDER BY key marks (its words, as in
/// [`EXCLUSIONS`]), `None` for a real key.
pub(crate) fn exclusion_of(key: &Expr) -> Option<&'static str> {
    let Expr::Function(f) = key else {
        return None;
    };
    let name = marker_name(f)?;
    EXCLUSIONS
        .iter()
        .find(|(_, marker)| *marker == name)
        .map(|(words, _)| *words)
}

fn is_keyword(t: &TokenWithSpan, k: Keyword) -> bool {
    matches!(&t.token, Token::Word(w) if w.keyword == k && w.quote_style.is_none())
}

fn is_word(t: &TokenWithSpan, text: &str) -> bool {
    matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(text))
}

/// The next token at or after `i` that is not whitespace.
fn next_solid(tokens: &[TokenWithSpan], i: usize) -> Option<usize> {
    (i..tokens.len()).find(|&j| !matches!(tokens[j].token, Token::Whitespace(_)))
}

fn marker(name: &str) -> TokenWithSpan {
    TokenWithSpan::new(
        Token::Word(Word {
            value: name.to_owned(),
            quote_style: Some('"'),
            keyword: Keyword::NoKeyword,
        }),
        Span::empty(),
    )
}

fn plain(token: Token) -> TokenWithSpan {
    TokenWithSpan::new(token, Span::empty())
}

/// `BETWEEN [A]SYMMETRIC` at `i`: whether anything was rewritten.
fn between(tokens: &mut Vec<TokenWithSpan>, i: usize) -> bool {
    let Some(j) = next_solid(tokens, i + 1) else {
        return false;
    };
    if is_keyword(&tokens[j], Keyword::ASYMMETRIC) {
        tokens.remove(j);
        return true;
    }
    if !is_keyword(&tokens[j], Keyword::SYMMETRIC) {
        return false;
    }
    // Where the lower bound ends: parse it as BETWEEN does. When it does
    // not parse, nothing changes and the parser reports the error.
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens[j + 1..].to_vec());
    let Ok(low) = parser.parse_subexpr(dialect.between_low_bound_precedence()) else {
        return false;
    };
    let comparison = matches!(
        parser.peek_token_ref().token,
        Token::Eq
            | Token::DoubleEq
            | Token::Neq
            | Token::Lt
            | Token::LtEq
            | Token::Gt
            | Token::GtEq
    );
    if comparison
        && parser
            .parse_infix(low, dialect.prec_value(Precedence::Between))
            .is_err()
    {
        return false;
    }
    let end = j + 1 + parser.index();
    tokens.insert(end, plain(Token::RParen));
    tokens[j] = marker(SYMMETRIC_MARKER);
    tokens.insert(j + 1, plain(Token::LParen));
    true
}

/// `EXCLUDE ...)` at `i` closing a window specification: whether it was
/// rewritten.
fn exclude(tokens: &mut Vec<TokenWithSpan>, i: usize) -> bool {
    let Some(w1) = next_solid(tokens, i + 1) else {
        return false;
    };
    let (words, last) = if is_word(&tokens[w1], "CURRENT") || is_word(&tokens[w1], "NO") {
        let Some(w2) = next_solid(tokens, w1 + 1) else {
            return false;
        };
        match (
            is_word(&tokens[w1], "CURRENT"),
            is_word(&tokens[w2], "ROW"),
            is_word(&tokens[w2], "OTHERS"),
        ) {
            (true, true, _) => ("CURRENT ROW", w2),
            (false, _, true) => ("NO OTHERS", w2),
            _ => return false,
        }
    } else if is_word(&tokens[w1], "GROUP") {
        ("GROUP", w1)
    } else if is_word(&tokens[w1], "TIES") {
        ("TIES", w1)
    } else {
        return false;
    };
    let Some(close) = next_solid(tokens, last + 1) else {
        return false;
    };
    if tokens[close].token != Token::RParen {
        return false;
    }
    // The window specification's opening parenthesis, and in it (outside
    // nested parentheses) the frame's first word and whether there is an
    // ORDER BY before it.
    let mut depth = 0usize;
    let mut open = None;
    for (k, t) in tokens[..i].iter().enumerate().rev() {
        match t.token {
            Token::RParen => depth += 1,
            Token::LParen if depth == 0 => {
                open = Some(k);
                break;
            }
            Token::LParen => depth -= 1,
            _ => {}
        }
    }
    let Some(open) = open else {
        return false;
    };
    let mut depth = 0usize;
    let mut frame = None;
    let mut ordered = false;
    for (k, t) in tokens.iter().enumerate().take(i).skip(open + 1) {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            _ if is_keyword(t, Keyword::ORDER) => ordered = true,
            _ if [Keyword::ROWS, Keyword::RANGE, Keyword::GROUPS]
                .iter()
                .any(|kw| is_keyword(t, *kw)) =>
            {
                frame = Some(k);
                break;
            }
            _ => {}
        }
    }
    let Some(frame) = frame else {
        return false;
    };
    let Some((_, name)) = EXCLUSIONS.iter().find(|(w, _)| *w == words) else {
        return false;
    };
    tokens.drain(i..=last);
    let mut key = Vec::with_capacity(5);
    if ordered {
        key.push(plain(Token::Comma));
    } else {
        key.push(plain(Token::make_keyword("ORDER")));
        key.push(plain(Token::make_keyword("BY")));
    }
    key.extend([marker(name), plain(Token::LParen), plain(Token::RParen)]);
    tokens.splice(frame..frame, key);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::tokenizer::Tokenizer;

    fn rewritten(sql: &str) -> Option<String> {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        rewrite(&tokens).map(|t| {
            t.iter()
                .map(|t| t.token.to_string())
                .collect::<Vec<_>>()
                .join("")
        })
    }

    #[test]
    fn symmetric_bounds_are_marked() {
        assert_eq!(
            rewritten("SELECT 2 BETWEEN SYMMETRIC 3 + 1 AND 1").as_deref(),
            Some("SELECT 2 BETWEEN \"between symmetric\"( 3 + 1) AND 1")
        );
        assert_eq!(
            rewritten("SELECT 2 NOT BETWEEN ASYMMETRIC 1 AND 3").as_deref(),
            Some("SELECT 2 NOT BETWEEN  1 AND 3")
        );
        assert_eq!(
            rewritten("SELECT 'BETWEEN SYMMETRIC', 2 BETWEEN 1 AND 3"),
            None
        );
    }

    #[test]
    fn exclusions_become_order_keys() {
        assert_eq!(
            rewritten(
                "SELECT sum(v) OVER (ORDER BY o ROWS UNBOUNDED PRECEDING EXCLUDE TIES) FROM t"
            )
            .as_deref(),
            Some(
                "SELECT sum(v) OVER (ORDER BY o ,\"exclude ties\"()ROWS UNBOUNDED PRECEDING ) FROM t"
            )
        );
        assert_eq!(
            rewritten(
                "SELECT sum(v) OVER (PARTITION BY (a) RANGE CURRENT ROW EXCLUDE CURRENT ROW)"
            )
            .as_deref(),
            Some(
                "SELECT sum(v) OVER (PARTITION BY (a) ORDERBY\"exclude current row\"()RANGE CURRENT ROW )"
            )
        );
        assert_eq!(rewritten("SELECT exclude FROM t"), None);
    }
}
