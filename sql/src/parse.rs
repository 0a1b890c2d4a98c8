//! Parsing: sqlparser with the PostgreSQL dialect, with its errors turned into
//! [`SqlError`]s that carry a position (sqlparser keeps positions inside its
//! message text; this is the one place that reads them out).

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Span, Token, Tokenizer};

use crate::error::{Position, SqlError, state};

pub(crate) mod extensions;

/// One statement of a script: its text and the line it starts on (0-based
/// offset to add to positions inside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementText {
    /// The statement, without the terminating `;`.
    pub text: String,
    /// Lines before the statement's first line in the script.
    pub line_offset: u64,
}

/// Parses exactly one statement.
pub(crate) fn parse_one(sql: &str) -> Result<Statement, SqlError> {
    if let Some(statement) = parse_table_statement(sql)? {
        return Ok(statement);
    }
    let dialect = PostgreSqlDialect {};
    let rewritten = Tokenizer::new(&dialect, sql)
        .with_unescape(true)
        .tokenize_with_location()
        .ok()
        .and_then(|tokens| extensions::rewrite(&tokens));
    let mut statements = match rewritten {
        Some(tokens) => Parser::new(&dialect)
            .with_tokens_with_locations(tokens)
            .parse_statements(),
        None => Parser::parse_sql(&dialect, sql),
    }
    .map_err(|e| convert(e, sql))?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(SqlError::new(
            state::SYNTAX_ERROR,
            "empty statement: there is nothing to run",
        )),
        _ => Err(
            SqlError::new(state::SYNTAX_ERROR, "multi-part queries are disabled")
                .hint("run one statement per call, or split the script with split_statements"),
        ),
    }
}

/// `TABLE t [ORDER BY ...] [LIMIT ...]`, which sqlparser reads as a query
/// but not as a statement: the query `SELECT * FROM t ...`; `None` for
/// statements that do not start with TABLE.
fn parse_table_statement(sql: &str) -> Result<Option<Statement>, SqlError> {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        return Ok(None); // the parser reports it
    };
    let first = tokens.iter().find(|t| !matches!(t, Token::Whitespace(_)));
    if !matches!(first, Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("TABLE"))
    {
        return Ok(None);
    }
    let mut parser = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(|e| convert(e, sql))?;
    let mut query = parser.parse_query().map_err(|e| convert(e, sql))?;
    while parser.consume_token(&Token::SemiColon) {}
    if parser.peek_token().token != Token::EOF {
        return Err(convert(
            ParserError::ParserError(format!(
                "Expected: end of statement, found: {}",
                parser.peek_token()
            )),
            sql,
        ));
    }
    if let sqlparser::ast::SetExpr::Table(t) = query.body.as_ref() {
        let Some(name) = &t.table_name else {
            return Ok(None);
        };
        let mut from = String::new();
        if let Some(schema) = &t.schema_name {
            from = format!("{schema}.");
        }
        from.push_str(&name.to_string());
        let select = Parser::new(&dialect)
            .try_with_sql(&format!("SELECT * FROM {from}"))
            .and_then(|mut p| p.parse_query())
            .map_err(|e| convert(e, sql))?;
        query.body = select.body;
    }
    Ok(Some(Statement::Query(query)))
}

/// `DETACH DATABASE alias` (sqlparser's PostgreSQL dialect has no DETACH):
/// the alias (folded as identifiers are) and its span, `None` for any other
/// statement.
pub(crate) fn parse_detach(sql: &str) -> Result<Option<(String, Span)>, SqlError> {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize_with_location() else {
        return Ok(None); // the parser reports it
    };
    let words: Vec<_> = tokens
        .iter()
        .filter(|t| {
            !matches!(
                t.token,
                Token::Whitespace(_) | Token::EOF | Token::SemiColon
            )
        })
        .collect();
    let is_word = |i: usize, kw: &str| matches!(words.get(i).map(|t| &t.token), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw));
    if !is_word(0, "DETACH") {
        return Ok(None);
    }
    let syntax = |at: usize, what: &str| {
        let span = words.get(at).map_or(Span::empty(), |t| t.span);
        SqlError::new(state::SYNTAX_ERROR, format!("syntax error: {what}"))
            .at(span)
            .hint("DETACH DATABASE alias")
    };
    if !is_word(1, "DATABASE") {
        return Err(syntax(1, "expected DATABASE after DETACH"));
    }
    let Some(Token::Word(w)) = words.get(2).map(|t| &t.token) else {
        return Err(syntax(2, "expected the database alias"));
    };
    if words.len() > 3 {
        return Err(syntax(3, "unexpected text after the database alias"));
    }
    let alias = match w.quote_style {
        Some(_) => w.value.clone(),
        None => w.value.to_lowercase(),
    };
    Ok(Some((alias, words[2].span)))
}

/// Splits a script into statements at top-level semicolons (quotes, comments
/// and dollar-quoted strings are respected by the tokenizer). Empty statements
/// are dropped.
///
/// # Errors
/// A tokenizer error (an unterminated string, ...) with its position.
pub fn split_statements(script: &str) -> Result<Vec<StatementText>, SqlError> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, script)
        .tokenize_with_location()
        .map_err(|e| syntax_at(&e.message, e.location))?;
    let line_starts = line_starts(script);
    let offset_of = |loc: Location| -> usize {
        let line_start = line_starts
            .get((loc.line.max(1) - 1) as usize)
            .copied()
            .unwrap_or(script.len());
        let col = (loc.column.max(1) - 1) as usize;
        script[line_start..]
            .char_indices()
            .nth(col)
            .map_or(script.len(), |(i, _)| line_start + i)
    };
    let mut out = Vec::new();
    let mut start: Option<Location> = None;
    for token in &tokens {
        match &token.token {
            Token::SemiColon => {
                if let Some(s) = start.take() {
                    push_statement(
                        script,
                        offset_of(s),
                        offset_of(token.span.start),
                        s,
                        &mut out,
                    );
                }
            }
            Token::Whitespace(_) | Token::EOF => {}
            _ => {
                start.get_or_insert(token.span.start);
            }
        }
    }
    if let Some(s) = start {
        push_statement(script, offset_of(s), script.len(), s, &mut out);
    }
    Ok(out)
}

fn push_statement(
    script: &str,
    from: usize,
    to: usize,
    start: Location,
    out: &mut Vec<StatementText>,
) {
    // Keep the statement's first line whole so that columns stay as in the script.
    let line_start = script[..from].rfind('\n').map_or(0, |i| i + 1);
    let text = format!(
        "{}{}",
        " ".repeat(script[line_start..from].chars().count()),
        &script[from..to]
    );
    out.push(StatementText {
        text: text.trim_end().to_string(),
        line_offset: start.line - 1,
    });
}

fn line_starts(s: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(s.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn syntax_at(message: &str, location: Location) -> SqlError {
    SqlError::new(state::SYNTAX_ERROR, format!("syntax error: {message}"))
        .at(Span::new(location, location))
}

/// Turns a sqlparser error into a positioned syntax error; an error at the
/// end of input (sqlparser gives it no location) points just past the text.
fn convert(e: ParserError, sql: &str) -> SqlError {
    let text = match e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
        ParserError::RecursionLimitExceeded => {
            return SqlError::new(state::SYNTAX_ERROR, "statement is nested too deeply")
                .hint("simplify the statement");
        }
    };
    match split_location(&text) {
        Some((message, line, column)) => {
            let mut err = SqlError::new(state::SYNTAX_ERROR, format!("syntax error: {message}"));
            err.position = Some(Position {
                line,
                column,
                len: 1,
            });
            err
        }
        None => {
            let mut err = SqlError::new(state::SYNTAX_ERROR, format!("syntax error: {text}"));
            if text.ends_with("found: EOF") {
                let trimmed = sql.trim_end();
                let line = trimmed.lines().count().max(1) as u64;
                let column = trimmed.lines().last().map_or(0, |l| l.chars().count()) as u64 + 1;
                err.position = Some(Position {
                    line,
                    column,
                    len: 1,
                });
            }
            err
        }
    }
}

/// Splits "Expected: x, found: y at Line: 1, Column: 8" into its parts.
fn split_location(text: &str) -> Option<(&str, u64, u64)> {
    let at = text.rfind(" at Line: ")?;
    let rest = &text[at + " at Line: ".len()..];
    let (line, column) = rest.split_once(", Column: ")?;
    Some((
        &text[..at],
        line.trim().parse().ok()?,
        column.trim().parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_one("SELECT * FROM").unwrap_err();
        assert_eq!(e.sqlstate, state::SYNTAX_ERROR);
        let p = e.position.expect("position");
        assert_eq!((p.line, p.column), (1, 14));
        let e = parse_one("SELECT 1,\n  2 +* 3").unwrap_err();
        assert_eq!(e.position.unwrap().line, 2);
    }

    #[test]
    fn one_statement_per_call() {
        assert!(
            parse_one("SELECT 1; SELECT 2")
                .unwrap_err()
                .message
                .contains("multi-part")
        );
        assert!(parse_one("  ").is_err());
    }

    #[test]
    fn split_respects_quotes_and_comments() {
        let parts = split_statements(
            "CREATE TABLE t(a text);\n-- a; comment\nINSERT INTO t VALUES ('x;y');\n\n  SELECT 1",
        )
        .unwrap();
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(parts[1].text, "INSERT INTO t VALUES ('x;y')");
        assert_eq!(parts[1].line_offset, 2);
        assert_eq!(parts[2].text, "  SELECT 1");
        assert_eq!(parts[2].line_offset, 4);
        assert!(split_statements("SELECT 'unterminated").is_err());
    }
}
