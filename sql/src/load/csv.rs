//! The CSV record parser: an RFC 4180 state machine over a byte slice, with
//! PostgreSQL's (and Hyper's) reading of the corner cases.
//!
//! - A field that starts with the quote byte is quoted; inside it, delimiters,
//!   line breaks and (bare) carriage returns are data. With `escape == quote`
//!   a doubled quote is one quote; with another escape byte, the escape takes
//!   the next byte literally when that byte is the quote or the escape, and is
//!   kept as data before any other byte (PostgreSQL's CSV rule).
//! - As in PostgreSQL, a quote byte anywhere in a field opens a quoted section
//!   and the field is a run of unquoted and quoted parts: `ab"c,d"e` is
//!   `abc,de`, and text after a closing quote is kept (Hyper accepts it).
//!   Python's `csv` module and rust-csv read a quote inside an unquoted field
//!   as data instead.
//! - Records end at LF or CR LF. A CR outside quotes that is not followed by LF
//!   is an error, as in Hyper ("unexpected carriage return character without
//!   line feed"). A final record needs no line break. An empty line is a record
//!   of one unquoted empty field.
//! - For every field the parser records whether it had a quoted part, so that
//!   the caller can tell `""` (empty string) from an empty unquoted field (NULL).
//!
//! Line numbers are physical lines (LF count), 1-based; a record reports the
//! line it starts on.
//!
//! Invariant: [`Dialect::parse_record`] is a pure function of the dialect, the
//! bytes from a record start and `eof`; it never panics and always consumes
//! at least one byte when it returns a record, so loops over it terminate.
//!
//! Chunked parallel loading (`chunks`) cuts the file only at record ends
//! found by a quote-aware scan, so each chunk parses as whole records from a
//! record start with `eof = true`; line numbers become absolute through the
//! chunk's first line.

/// The bytes that structure a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dialect {
    pub(crate) delimiter: u8,
    pub(crate) quote: u8,
    pub(crate) escape: u8,
}

/// One parsed record: unescaped field bytes, back to back, and per field its
/// end in `data` and whether it was quoted.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    pub(crate) data: Vec<u8>,
    pub(crate) ends: Vec<usize>,
    pub(crate) quoted: Vec<bool>,
    /// Physical line the record starts on.
    pub(crate) line: u64,
    /// Line breaks consumed (inside quotes and the terminator).
    pub(crate) line_breaks: u64,
}

impl Record {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `i`'s bytes.
    pub(crate) fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    fn clear(&mut self, line: u64) {
        self.data.clear();
        self.ends.clear();
        self.quoted.clear();
        self.line = line;
        self.line_breaks = 0;
    }

    fn end_field(&mut self, quoted: bool) {
        self.ends.push(self.data.len());
        self.quoted.push(quoted);
    }
}

/// What [`Dialect::parse_record`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A record, `len` bytes long (terminator included).
    Record { len: usize },
    /// The input ends inside a record and more may follow: call again with
    /// more bytes from the same start.
    Incomplete,
    /// The input is empty and `eof` was given.
    End,
}

/// What is wrong with the bytes of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseErrorKind {
    UnterminatedQuote,
    BareCarriageReturn,
}

impl ParseErrorKind {
    pub(crate) fn message(self) -> &'static str {
        match self {
            ParseErrorKind::UnterminatedQuote => {
                "unterminated CSV quoted field: the file ends inside a quoted field; \
                 check for a missing closing quote or set QUOTE/ESCAPE"
            }
            ParseErrorKind::BareCarriageReturn => {
                "unexpected carriage return character without line feed: \
                 lines must end with LF or CR LF"
            }
        }
    }
}

/// A parse error: its kind, the line and the field (1-based) where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) kind: ParseErrorKind,
    pub(crate) line: u64,
    pub(crate) field: u64,
}

impl Dialect {
    /// Parses the record at the start of `input` into `record`; `line` is the
    /// physical line `input` starts on; `eof` says no bytes follow `input`.
    pub(crate) fn parse_record(
        &self,
        input: &[u8],
        eof: bool,
        line: u64,
        record: &mut Record,
    ) -> Result<Parsed, ParseError> {
        record.clear(line);
        if input.is_empty() {
            return Ok(if eof { Parsed::End } else { Parsed::Incomplete });
        }
        let mut i = 0;
        loop {
            // One field: unquoted runs and quoted sections, up to a delimiter,
            // a line break or the end of the input.
            let mut quoted = false;
            let b = loop {
                let run = find4(input, i, [self.delimiter, self.quote, b'\n', b'\r']);
                record.data.extend_from_slice(&input[i..run]);
                i = run;
                match input.get(i) {
                    None if !eof => return Ok(Parsed::Incomplete),
                    None => {
                        record.end_field(quoted);
                        return Ok(Parsed::Record { len: i });
                    }
                    Some(&b) if b == self.quote => {
                        quoted = true;
                        match self.quoted_part(input, i + 1, eof, record)? {
                            Some(next) => i = next,
                            None => return Ok(Parsed::Incomplete),
                        }
                    }
                    Some(&b) => break b,
                }
            };
            record.end_field(quoted);
            if b == self.delimiter {
                i += 1;
                if i == input.len() {
                    if !eof {
                        return Ok(Parsed::Incomplete);
                    }
                    // A delimiter at the very end: one more, empty field.
                    record.end_field(false);
                    return Ok(Parsed::Record { len: i });
                }
                continue;
            }
            if b == b'\n' {
                record.line_breaks += 1;
                return Ok(Parsed::Record { len: i + 1 });
            }
            // b == b'\r'
            match input.get(i + 1) {
                Some(b'\n') => {
                    record.line_breaks += 1;
                    return Ok(Parsed::Record { len: i + 2 });
                }
                None if !eof => return Ok(Parsed::Incomplete),
                _ => {
                    return Err(ParseError {
                        kind: ParseErrorKind::BareCarriageReturn,
                        line: line + record.line_breaks,
                        field: record.len() as u64,
                    });
                }
            }
        }
    }

    /// Reads a quoted section from `i` (just past the opening quote) to just
    /// past its closing quote. `None`: more input is needed.
    fn quoted_part(
        &self,
        input: &[u8],
        mut i: usize,
        eof: bool,
        record: &mut Record,
    ) -> Result<Option<usize>, ParseError> {
        let (quote, escape) = (self.quote, self.escape);
        loop {
            let run = find4(input, i, [quote, escape, b'\n', b'\n']);
            record.data.extend_from_slice(&input[i..run]);
            i = run;
            let Some(&b) = input.get(i) else {
                if !eof {
                    return Ok(None);
                }
                return Err(ParseError {
                    kind: ParseErrorKind::UnterminatedQuote,
                    line: record.line,
                    field: record.len() as u64 + 1,
                });
            };
            if b == b'\n' {
                record.line_breaks += 1;
                record.data.push(b);
                i += 1;
                continue;
            }
            // The byte after the quote or escape decides; at the end of the
            // input it is unknown until more arrives (or eof says none will).
            let next = input.get(i + 1).copied();
            if next.is_none() && !eof {
                return Ok(None);
            }
            if b == escape && escape != quote {
                match next {
                    Some(n) if n == quote || n == escape => {
                        record.data.push(n);
                        i += 2;
                    }
                    _ => {
                        record.data.push(b);
                        i += 1;
                    }
                }
                continue;
            }
            // b == quote
            if escape == quote && next == Some(quote) {
                record.data.push(quote);
                i += 2;
                continue;
            }
            return Ok(Some(i + 1));
        }
    }
}

/// The first position from `from` on of a byte of `set` in `input`, or
/// `input.len()`. Fields are short, so instead of a per-byte loop (or
/// memchr's setup) this tests 8 bytes at a time (SWAR: a byte equal to a
/// wanted one becomes zero after the XOR, and the zero-byte test flags the
/// lowest such byte exactly).
#[inline]
fn find4(input: &[u8], from: usize, set: [u8; 4]) -> usize {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let masks = set.map(|b| u64::from(b) * LOW);
    let zero = |x: u64| x.wrapping_sub(LOW) & !x & HIGH;
    let mut i = from;
    while let Some(word) = input.get(i..i + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes);
        let hit = zero(w ^ masks[0]) | zero(w ^ masks[1]) | zero(w ^ masks[2]) | zero(w ^ masks[3]);
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    input[i.min(input.len())..]
        .iter()
        .position(|b| set.contains(b))
        .map_or(input.len(), |p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find4_finds_the_first_byte_of_the_set() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let alphabet = b",\"\n\rab\x80\xff\x01\x00";
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let input: Vec<u8> = (0..len)
                .map(|k| alphabet[((seed >> (k % 50)) as usize + k * 7) % alphabet.len()])
                .collect();
            let from = if len == 0 {
                0
            } else {
                (seed >> 20) as usize % (len + 1)
            };
            for set in [*b",\"\n\r", *b"\"\"\n\n", [0, 0x80, 0xff, 1]] {
                let naive = input[from..]
                    .iter()
                    .position(|b| set.contains(b))
                    .map_or(input.len(), |p| from + p);
                assert_eq!(
                    find4(&input, from, set),
                    naive,
                    "{input:?} from {from} set {set:?}"
                );
            }
        }
    }

    const RFC: Dialect = Dialect {
        delimiter: b',',
        quote: b'"',
        escape: b'"',
    };

    /// Fields, quoted flags and first line of a record.
    type TestRecord = (Vec<String>, Vec<bool>, u64);

    /// All records of `input`, or the error.
    fn parse_all(d: Dialect, input: &[u8]) -> Result<Vec<TestRecord>, ParseError> {
        let mut out = Vec::new();
        let (mut pos, mut line) = (0, 1);
        let mut r = Record::default();
        loop {
            match d.parse_record(&input[pos..], true, line, &mut r)? {
                Parsed::End => return Ok(out),
                Parsed::Incomplete => unreachable!("eof was given"),
                Parsed::Record { len } => {
                    assert!(len > 0);
                    pos += len;
                    line += r.line_breaks;
                    let fields = (0..r.len())
                        .map(|i| String::from_utf8_lossy(r.field(i)).into_owned())
                        .collect();
                    out.push((fields, r.quoted.clone(), r.line));
                }
            }
        }
    }

    fn fields(d: Dialect, input: &str) -> Vec<Vec<String>> {
        parse_all(d, input.as_bytes())
            .unwrap()
            .into_iter()
            .map(|r| r.0)
            .collect()
    }

    #[test]
    fn rfc_4180_basics() {
        assert_eq!(fields(RFC, "a,b\r\n1,2\n"), [["a", "b"], ["1", "2"]]);
        assert_eq!(
            fields(RFC, "\"a,b\",\"x\"\"y\"\n\"multi\nline\",z"),
            [["a,b", "x\"y"], ["multi\nline", "z"]]
        );
        assert_eq!(fields(RFC, "a,\n"), [["a", ""]]);
        assert_eq!(fields(RFC, "a,"), [["a", ""]]);
        assert_eq!(fields(RFC, "\n\n"), [[""], [""]]);
        assert_eq!(fields(RFC, ""), Vec::<Vec<String>>::new());
        // Text after a closing quote is kept; a quote opens a quoted part anywhere.
        assert_eq!(
            fields(RFC, "\"ab\"cd,e\"f,g\"h, \"i\"\n"),
            [["abcd", "ef,gh", " i"]]
        );
    }

    #[test]
    fn quoted_flags_and_lines() {
        let recs = parse_all(RFC, b",\"\",x\n\"a\nb\",c\nlast").unwrap();
        assert_eq!(recs[0].1, [false, true, false]);
        assert_eq!(recs[0].2, 1);
        assert_eq!(recs[1].2, 2);
        assert_eq!(recs[2].2, 4);
    }

    #[test]
    fn backslash_escape() {
        let d = Dialect {
            escape: b'\\',
            ..RFC
        };
        assert_eq!(
            fields(d, "\"a\\\"b\",\"c\\\\d\",\"e\\,f\",g\\h\n"),
            [["a\"b", "c\\d", "e\\,f", "g\\h"]]
        );
    }

    #[test]
    fn errors() {
        let e = parse_all(RFC, b"a\n\"open\nmore").unwrap_err();
        assert_eq!(
            (e.kind, e.line, e.field),
            (ParseErrorKind::UnterminatedQuote, 2, 1)
        );
        let e = parse_all(RFC, b"a\nb,c\rd").unwrap_err();
        assert_eq!((e.kind, e.line), (ParseErrorKind::BareCarriageReturn, 2));
        let e = parse_all(RFC, b"a\r").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::BareCarriageReturn);
        // A CR inside quotes is data.
        assert_eq!(fields(RFC, "\"a\rb\"\n"), [["a\rb"]]);
    }

    #[test]
    fn incomplete_input_asks_for_more_at_every_cut() {
        let backslash = Dialect {
            escape: b'\\',
            ..RFC
        };
        for (d, input) in [
            (RFC, &b"ab,\"c\"\"d\",\"e\"\r\nx,\"y\nz\"\r\n,\n"[..]),
            (
                backslash,
                &b"ab,\"c\\\"d\",\"e\\\\\"\r\nx,\"y\nz\"\r\n,\n"[..],
            ),
        ] {
            let whole = parse_all(d, input).unwrap();
            // Feeding any prefix first must give Incomplete or the same first record.
            let mut r = Record::default();
            for cut in 0..input.len() {
                match d.parse_record(&input[..cut], false, 1, &mut r).unwrap() {
                    Parsed::Incomplete => {}
                    Parsed::Record { .. } => {
                        let got: Vec<String> = (0..r.len())
                            .map(|i| String::from_utf8_lossy(r.field(i)).into_owned())
                            .collect();
                        assert_eq!(got, whole[0].0, "cut {cut}");
                    }
                    Parsed::End => panic!("End without eof"),
                }
            }
        }
    }
}
