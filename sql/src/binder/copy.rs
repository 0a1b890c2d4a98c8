//! `COPY t [(cols)] FROM 'file' | ARRAY['f1', 'f2'] [WITH] (options)` and
//! `COPY t [(cols)] TO 'file.parquet' | 'file.arrow'`: its own parser over
//! sqlparser's tokens, and binding against the catalog. The file name picks
//! the format when FORMAT is not given: `.csv`, `.csv.gz`, `.csv.zst` are
//! CSV, `.parquet` and `.arrow` columnar (whose columns fill the table's by
//! position).
//!
//! Why not sqlparser's `Statement::Copy`: it knows only PostgreSQL's option
//! style and rejects Hyper's (`FORMAT => 'csv', HEADER => true`), unknown
//! option names (which need Hyper's own message), multi-byte delimiters
//! (Hyper's message again) and `NULL` in Hyper's style; its options carry no
//! positions. Here every option is `name [=>] [value]`, so both styles (and a
//! mix) parse, as does the legacy `CSV HEADER ...` tail.
//!
//! Accepted options: FORMAT (csv), HEADER, DELIMITER, QUOTE, ESCAPE, NULL,
//! FORCE_NOT_NULL, FORCE_NULL, ENCODING (utf-8), SANITIZE; ON_CAST_FAILURE
//! 'error' and COMPRESSION 'none'/'auto' are accepted as the defaults they are.

use sqlparser::ast::{Ident, ObjectName};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Span, Token, TokenWithSpan, Tokenizer};

use super::{CatalogView, normalize, not_supported, resolve_table};
use crate::error::{SqlError, state};
use crate::load::{CopyFormat, CopyFrom, CsvOptions};

type BindResult<T> = Result<T, SqlError>;

/// A parsed `COPY ... FROM`.
#[derive(Debug)]
pub(crate) struct CopyStatement {
    table: ObjectName,
    columns: Vec<Ident>,
    sources: Vec<(String, Span)>,
    options: Vec<CopyOption>,
    /// `COPY t TO 'file'` rather than FROM.
    to: bool,
    /// The `COPY` keyword, for errors about the whole statement.
    span: Span,
}

#[derive(Debug)]
struct CopyOption {
    name: String,
    span: Span,
    value: OptionValue,
}

#[derive(Debug)]
enum OptionValue {
    /// A bare option name (`HEADER`).
    Flag,
    /// A string literal.
    Text(String, Span),
    /// A keyword or identifier (`csv`, `true`) or a number, as written.
    Word(String, Span),
    /// `(a, b)`, `ARRAY['a', 'b']` or `*`: column names.
    Names(Vec<String>, Span),
}

impl OptionValue {
    fn span(&self, name: Span) -> Span {
        match self {
            OptionValue::Flag => name,
            OptionValue::Text(_, s) | OptionValue::Word(_, s) | OptionValue::Names(_, s) => *s,
        }
    }
}

fn syntax(message: impl Into<String>, span: Span) -> SqlError {
    SqlError::new(
        state::SYNTAX_ERROR,
        format!("syntax error: {}", message.into()),
    )
    .at(span)
}

fn invalid(message: impl Into<String>, span: Span) -> SqlError {
    SqlError::new(state::INVALID_PARAMETER, message).at(span)
}

/// Parses `sql` when it is a COPY statement; `None` for anything else (and
/// for text the tokenizer rejects, which the general parser then reports).
pub(crate) fn parse_copy(sql: &str) -> BindResult<Option<CopyStatement>> {
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() else {
        return Ok(None);
    };
    let tokens: Vec<TokenWithSpan> = tokens
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let mut p = Cursor { tokens, i: 0 };
    if !p.keyword(Keyword::COPY) {
        return Ok(None);
    }
    p.copy().map(Some)
}

struct Cursor {
    tokens: Vec<TokenWithSpan>,
    i: usize,
}

impl Cursor {
    fn peek(&self) -> (&Token, Span) {
        match self.tokens.get(self.i) {
            Some(t) => (&t.token, t.span),
            None => {
                let end = self
                    .tokens
                    .last()
                    .map_or(Span::empty(), |t| Span::new(t.span.end, t.span.end));
                (&Token::EOF, end)
            }
        }
    }

    fn advance(&mut self) -> (Token, Span) {
        let (t, s) = self.peek();
        let out = (t.clone(), s);
        self.i += 1;
        out
    }

    fn keyword(&mut self, k: Keyword) -> bool {
        if matches!(self.peek().0, Token::Word(w) if w.keyword == k && w.quote_style.is_none()) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn token(&mut self, t: &Token) -> bool {
        if self.peek().0 == t {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Token, what: &str) -> BindResult<Span> {
        let (found, span) = self.peek();
        if found == t {
            self.i += 1;
            Ok(span)
        } else {
            Err(syntax(format!("expected {what}, found {found}"), span))
        }
    }

    fn ident(&mut self) -> BindResult<Ident> {
        match self.advance() {
            (Token::Word(w), span) => Ok(Ident {
                value: w.value,
                quote_style: w.quote_style,
                span,
            }),
            (other, span) => Err(syntax(
                format!("expected an identifier, found {other}"),
                span,
            )),
        }
    }

    fn string(&mut self) -> BindResult<(String, Span)> {
        match self.advance() {
            (
                Token::SingleQuotedString(s)
                | Token::EscapedStringLiteral(s)
                | Token::NationalStringLiteral(s)
                | Token::DollarQuotedString(sqlparser::ast::DollarQuotedString { value: s, .. }),
                span,
            ) => Ok((s, span)),
            (other, span) => Err(syntax(
                format!("expected a string literal, found {other}"),
                span,
            )),
        }
    }

    fn copy(&mut self) -> BindResult<CopyStatement> {
        let span = self.tokens[self.i - 1].span;
        if self.token(&Token::LParen) {
            return Err(not_supported("COPY (query) TO", span));
        }
        let mut parts = vec![self.ident()?];
        while self.token(&Token::Period) {
            parts.push(self.ident()?);
        }
        let table = ObjectName::from(parts);
        let mut columns = Vec::new();
        if self.token(&Token::LParen) {
            loop {
                columns.push(self.ident()?);
                if !self.token(&Token::Comma) {
                    break;
                }
            }
            self.expect(&Token::RParen, "')'")?;
        }
        let to = self.keyword(Keyword::TO);
        if !to && !self.keyword(Keyword::FROM) {
            let (found, at) = self.peek();
            return Err(syntax(format!("expected FROM or TO, found {found}"), at));
        }
        let sources = if to {
            vec![self.string()?]
        } else {
            self.sources()?
        };
        self.keyword(Keyword::WITH);
        let mut options = Vec::new();
        if self.token(&Token::LParen) {
            loop {
                options.push(self.option()?);
                if !self.token(&Token::Comma) {
                    break;
                }
            }
            self.expect(&Token::RParen, "',' or ')'")?;
        }
        self.legacy_options(&mut options)?;
        self.token(&Token::SemiColon);
        let (found, at) = self.peek();
        if found != &Token::EOF {
            return Err(syntax(
                format!("expected the end of the COPY statement, found {found}"),
                at,
            ));
        }
        Ok(CopyStatement {
            table,
            columns,
            sources,
            options,
            to,
            span,
        })
    }

    fn sources(&mut self) -> BindResult<Vec<(String, Span)>> {
        let (t, span) = self.peek();
        if matches!(t, Token::Word(w) if matches!(w.keyword, Keyword::STDIN | Keyword::PROGRAM)) {
            return Err(not_supported("COPY FROM STDIN / PROGRAM", span));
        }
        if !self.keyword(Keyword::ARRAY) {
            return Ok(vec![self.string()?]);
        }
        self.expect(&Token::LBracket, "'['")?;
        let mut out = vec![self.string()?];
        while self.token(&Token::Comma) {
            out.push(self.string()?);
        }
        self.expect(&Token::RBracket, "']'")?;
        Ok(out)
    }

    /// `name [=>] [value]`.
    fn option(&mut self) -> BindResult<CopyOption> {
        let name = self.ident()?;
        let span = name.span;
        let name = name.value.to_lowercase();
        let arrow = self.token(&Token::RArrow);
        let (t, vspan) = self.peek();
        let value = match t.clone() {
            Token::Comma | Token::RParen if !arrow => OptionValue::Flag,
            Token::SingleQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::DollarQuotedString(_) => {
                let (s, sp) = self.string()?;
                OptionValue::Text(s, sp)
            }
            Token::Number(n, _) => {
                self.i += 1;
                OptionValue::Word(n, vspan)
            }
            Token::Mul => {
                self.i += 1;
                OptionValue::Names(vec!["*".into()], vspan)
            }
            Token::LParen => {
                self.i += 1;
                let mut names = vec![normalize(&self.ident()?)];
                while self.token(&Token::Comma) {
                    names.push(normalize(&self.ident()?));
                }
                let end = self.expect(&Token::RParen, "')'")?;
                OptionValue::Names(names, vspan.union(&end))
            }
            Token::Word(w) if w.keyword == Keyword::ARRAY && w.quote_style.is_none() => {
                self.i += 1;
                self.expect(&Token::LBracket, "'['")?;
                let mut names = vec![self.string()?.0];
                while self.token(&Token::Comma) {
                    names.push(self.string()?.0);
                }
                let end = self.expect(&Token::RBracket, "']'")?;
                OptionValue::Names(names, vspan.union(&end))
            }
            Token::Word(w) => {
                self.i += 1;
                OptionValue::Word(w.value.to_lowercase(), vspan)
            }
            other => {
                return Err(syntax(
                    format!("expected a value for {name}, found {other}"),
                    vspan,
                ));
            }
        };
        Ok(CopyOption { name, span, value })
    }

    /// PostgreSQL's pre-9.0 tail: `CSV HEADER DELIMITER [AS] ',' NULL [AS] ''
    /// QUOTE [AS] '"' ESCAPE [AS] '"' FORCE NOT NULL a, b`.
    fn legacy_options(&mut self, options: &mut Vec<CopyOption>) -> BindResult<()> {
        loop {
            let (t, span) = self.peek();
            let Token::Word(w) = t else { return Ok(()) };
            if w.quote_style.is_some() {
                return Ok(());
            }
            let keyword = w.keyword;
            let flag = |name: &str, value| CopyOption {
                name: name.into(),
                span,
                value,
            };
            match keyword {
                Keyword::CSV => {
                    self.i += 1;
                    options.push(flag("format", OptionValue::Word("csv".into(), span)));
                }
                Keyword::HEADER => {
                    self.i += 1;
                    options.push(flag("header", OptionValue::Flag));
                }
                Keyword::DELIMITER | Keyword::NULL | Keyword::QUOTE | Keyword::ESCAPE => {
                    self.i += 1;
                    self.keyword(Keyword::AS);
                    let (s, sp) = self.string()?;
                    let name = match keyword {
                        Keyword::DELIMITER => "delimiter",
                        Keyword::NULL => "null",
                        Keyword::QUOTE => "quote",
                        _ => "escape",
                    };
                    options.push(flag(name, OptionValue::Text(s, sp)));
                }
                Keyword::FORCE => {
                    self.i += 1;
                    if !(self.keyword(Keyword::NOT) && self.keyword(Keyword::NULL)) {
                        let (found, at) = self.peek();
                        return Err(syntax(
                            format!("expected FORCE NOT NULL, found {found}"),
                            at,
                        ));
                    }
                    let mut names = vec![normalize(&self.ident()?)];
                    while self.token(&Token::Comma) {
                        names.push(normalize(&self.ident()?));
                    }
                    options.push(flag("force_not_null", OptionValue::Names(names, span)));
                }
                _ => return Ok(()),
            }
        }
    }
}

/// A bound `COPY t [(cols)] TO 'file.parquet' | 'file.arrow'`.
#[derive(Debug)]
pub(crate) struct CopyTo {
    /// `SELECT cols FROM schema.table`, quoted.
    pub(crate) query: String,
    pub(crate) path: String,
}

impl CopyStatement {
    /// Whether this is `COPY ... TO`.
    pub(crate) fn is_to(&self) -> bool {
        self.to
    }
}

/// Binds `COPY ... TO`: Parquet or Arrow IPC by the file's extension (or
/// FORMAT); no other option applies.
pub(crate) fn bind_copy_to(catalog: &dyn CatalogView, stmt: &CopyStatement) -> BindResult<CopyTo> {
    let table = resolve_table(catalog, &stmt.table)?;
    let def = table.def();
    let idents: Vec<&Ident> = stmt.columns.iter().collect();
    let targets = super::statement::column_indexes(def, &idents)?;
    let (path, pspan) = stmt.sources[0].clone();
    for opt in &stmt.options {
        let ok = opt.name == "format"
            && matches!(
                word_or_text(opt)?.to_lowercase().as_str(),
                "parquet" | "arrow"
            );
        if !ok {
            return Err(not_supported(
                &format!("COPY TO with option {}", opt.name.to_uppercase()),
                opt.span,
            )
            .hint("COPY TO writes Parquet (.parquet) or Arrow IPC (.arrow) files"));
        }
    }
    if crate::load::ColumnarFormat::of(std::path::Path::new(&path)).is_none() {
        return Err(not_supported("COPY TO this file type", pspan)
            .hint("COPY TO writes Parquet (.parquet) or Arrow IPC (.arrow) files"));
    }
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let cols: Vec<String> = targets
        .iter()
        .map(|&t| quote(&def.columns[t].name))
        .collect();
    Ok(CopyTo {
        query: format!(
            "SELECT {} FROM {}.{}",
            cols.join(", "),
            quote(&def.schema),
            quote(&def.name)
        ),
        path,
    })
}

/// Binds a parsed COPY against the catalog.
pub(crate) fn bind_copy(catalog: &dyn CatalogView, stmt: &CopyStatement) -> BindResult<CopyFrom> {
    let table = resolve_table(catalog, &stmt.table)?;
    let def = table.def();
    let idents: Vec<&Ident> = stmt.columns.iter().collect();
    let targets = super::statement::column_indexes(def, &idents)?;
    let names: Vec<String> = targets
        .iter()
        .map(|&t| def.columns[t].name.clone())
        .collect();
    let (options, format) = csv_options(stmt, &names)?;
    Ok(CopyFrom {
        table: table.clone(),
        targets,
        paths: stmt.sources.iter().map(|(p, _)| p.clone()).collect(),
        options,
        format,
    })
}

/// The CSV options of a COPY; `names` are the columns the file feeds.
fn csv_options(stmt: &CopyStatement, names: &[String]) -> BindResult<(CsvOptions, CopyFormat)> {
    let mut options = CsvOptions::new().header(false);
    let mut format: Option<String> = None;
    let mut seen: Vec<&str> = Vec::new();
    for opt in &stmt.options {
        if seen.contains(&opt.name.as_str()) {
            return Err(
                SqlError::new(state::SYNTAX_ERROR, "conflicting or redundant options")
                    .at(opt.span)
                    .hint(format!(
                        "{} is given more than once",
                        opt.name.to_uppercase()
                    )),
            );
        }
        seen.push(&opt.name);
        let vspan = opt.value.span(opt.span);
        options = match opt.name.as_str() {
            "format" => {
                format = Some(word_or_text(opt)?.to_lowercase());
                options
            }
            "header" => options.header(boolean(opt)?),
            "delimiter" => options.delimiter(one_byte(opt, "delimiter")?),
            "quote" => options.quote(one_byte(opt, "quote")?),
            "escape" => options.escape(one_byte(opt, "escape")?),
            "null" => options.null_string(text(opt)?),
            "force_not_null" => options.force_not_null(column_names(opt, names)?),
            "force_null" => options.force_null(column_names(opt, names)?),
            "sanitize" => options.sanitize(boolean(opt)?),
            "encoding" => {
                let e = word_or_text(opt)?.to_lowercase();
                match e.as_str() {
                    "utf-8" | "utf8" => options,
                    "utf-16" | "utf-16-le" | "utf-16-be" => {
                        return Err(not_supported(&format!("ENCODING '{e}'"), vspan));
                    }
                    _ => {
                        return Err(invalid(format!("invalid encoding '{e}'"), vspan)
                            .hint("supported encodings: utf-8, utf-16, utf-16-le, utf-16-be"));
                    }
                }
            }
            "on_cast_failure" => match word_or_text(opt)?.to_lowercase().as_str() {
                "error" => options,
                "set_null" => return Err(not_supported("ON_CAST_FAILURE 'set_null'", vspan)),
                other => {
                    return Err(invalid(format!("invalid ON_CAST_FAILURE '{other}'"), vspan)
                        .hint("use 'error' or 'set_null'"));
                }
            },
            "compression" => match word_or_text(opt)?.to_lowercase().as_str() {
                "none" | "auto" => options,
                "gzip" => return Err(not_supported("COMPRESSION 'gzip'", vspan)),
                other => {
                    return Err(invalid(format!("invalid COMPRESSION '{other}'"), vspan)
                        .hint("use 'auto', 'none' or 'gzip'"));
                }
            },
            other => {
                return Err(invalid(
                    format!(
                        "the parameter '{other}' does not apply for the COPY and is thus invalid"
                    ),
                    opt.span,
                ));
            }
        };
    }
    let format =
        match format {
            Some(f) => f,
            // Without FORMAT, the file name decides (as Hyper's COPY TO does).
            None if stmt.sources.iter().all(|(p, _)| {
                let p = p.to_lowercase();
                [".csv", ".csv.gz", ".csv.zst"]
                    .iter()
                    .any(|e| p.ends_with(e))
            }) =>
            {
                "csv".into()
            }
            None if stmt.sources.iter().all(|(p, _)| {
                crate::load::ColumnarFormat::of(std::path::Path::new(p)).is_some()
            }) =>
            {
                "parquet".into()
            }
            None => {
                return Err(not_supported("COPY FROM in text format", stmt.span)
                    .hint("add WITH (FORMAT csv)"));
            }
        };
    match format.as_str() {
        "csv" => Ok((options, CopyFormat::Csv)),
        "parquet" | "arrow" if stmt.options.len() == 1 || stmt.options.is_empty() => {
            Ok((options, CopyFormat::Columnar))
        }
        "parquet" | "arrow" => Err(not_supported(
            "CSV options for a Parquet or Arrow file",
            stmt.span,
        )),
        "text" => Err(not_supported(
            &format!("COPY FROM in {format} format"),
            stmt.span,
        )),
        other => Err(invalid(
            format!("COPY format \"{other}\" not recognized"),
            stmt.span,
        )),
    }
}

fn text(opt: &CopyOption) -> BindResult<String> {
    match &opt.value {
        OptionValue::Text(s, _) => Ok(s.clone()),
        v => Err(invalid(
            format!("{} requires a string literal", opt.name.to_uppercase()),
            v.span(opt.span),
        )),
    }
}

fn word_or_text(opt: &CopyOption) -> BindResult<String> {
    match &opt.value {
        OptionValue::Text(s, _) | OptionValue::Word(s, _) => Ok(s.clone()),
        v => Err(invalid(
            format!("{} requires a value", opt.name.to_uppercase()),
            v.span(opt.span),
        )),
    }
}

fn boolean(opt: &CopyOption) -> BindResult<bool> {
    let v = match &opt.value {
        OptionValue::Flag => return Ok(true),
        OptionValue::Text(s, _) | OptionValue::Word(s, _) => s.to_lowercase(),
        OptionValue::Names(..) => String::new(),
    };
    match v.as_str() {
        "true" | "on" | "1" | "yes" | "t" => Ok(true),
        "false" | "off" | "0" | "no" | "f" => Ok(false),
        _ => Err(invalid(
            format!("{} requires a Boolean value", opt.name.to_uppercase()),
            opt.value.span(opt.span),
        )),
    }
}

fn one_byte(opt: &CopyOption, what: &str) -> BindResult<u8> {
    let s = text(opt)?;
    match s.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(invalid(
            format!("{what} must be a single one-byte character"),
            opt.value.span(opt.span),
        )),
    }
}

fn column_names(opt: &CopyOption, names: &[String]) -> BindResult<Vec<String>> {
    let OptionValue::Names(list, span) = &opt.value else {
        let single = text(opt)?;
        return column_names(
            &CopyOption {
                name: opt.name.clone(),
                span: opt.span,
                value: OptionValue::Names(vec![single], opt.value.span(opt.span)),
            },
            names,
        );
    };
    if list.len() == 1 && list[0] == "*" {
        return Ok(names.to_vec());
    }
    for n in list {
        if !names.contains(n) {
            return Err(invalid(
                format!(
                    "{} column \"{n}\" not referenced by COPY",
                    opt.name.to_uppercase()
                ),
                *span,
            ));
        }
    }
    Ok(list.clone())
}
