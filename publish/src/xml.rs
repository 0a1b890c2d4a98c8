//! A small namespace-agnostic XML tree over quick-xml, and escaping.
//!
//! Tableau answers in `http://tableau.com/api`, old servers in
//! `http://tableausoftware.com/api`, and some files use an `ns0:` prefix (spec §1):
//! elements are matched by local name only.
//!
//! Invariant: parsing untrusted bytes returns an error, never panics; nesting is
//! capped at [`DEPTH_MAX`] so a hostile body cannot exhaust the stack.

use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// Deepest element nesting accepted in a response.
pub(crate) const DEPTH_MAX: usize = 64;

/// One element: local name, attributes (local names), children and direct text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
    pub(crate) text: String,
}

impl Element {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub(crate) fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Parses a whole document into its root element.
///
/// # Errors
/// A reason string when the bytes are not UTF-8, not well-formed XML, nest deeper
/// than [`DEPTH_MAX`], or hold no root element.
pub(crate) fn parse(bytes: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| format!("at byte {pos}: {e}"))?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(format!("at byte {pos}: content after the root element"));
            }
            Event::Start(start) => {
                if stack.len() >= DEPTH_MAX {
                    return Err(format!(
                        "at byte {pos}: elements nest deeper than {DEPTH_MAX}"
                    ));
                }
                stack.push(element_of(&start, pos)?);
            }
            Event::Empty(start) => {
                let element = element_of(&start, pos)?;
                close(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| format!("at byte {pos}: stray end tag"))?;
                close(&mut stack, &mut root, element);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                } else if !t.xml10_content().trim().is_empty() {
                    return Err(format!("at byte {pos}: text outside the root element"));
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = resolve_ref(&r).map_err(|e| format!("at byte {pos}: {e}"))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "truncated document: <{}> is not closed",
            stack[stack.len() - 1].name
        ));
    }
    root.ok_or_else(|| "no root element".to_owned())
}

fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn element_of(start: &quick_xml::events::BytesStart<'_>, pos: u64) -> Result<Element, String> {
    let name = start.local_name().as_ref().to_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("at byte {pos}: bad attribute: {e}"))?;
        let key: &str = attr.key.as_ref();
        // Namespace declarations are not data.
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let key = attr.key.local_name().as_ref().to_owned();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("at byte {pos}: bad value of attribute {key}: {e}"))?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attrs,
        ..Element::default()
    })
}

fn resolve_ref(r: &quick_xml::events::BytesRef<'_>) -> Result<String, String> {
    if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
        return Ok(c.to_string());
    }
    let name = r.xml10_content();
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| format!("unknown entity &{name};"))
}

/// Replaces the values of secret attributes (`personalAccessTokenSecret`,
/// `password`, `jwt`) in an XML text with `***`, for logs (spec §12).
pub(crate) fn redact_secret_attrs(text: &str) -> String {
    let mut out = text.to_owned();
    for attr in ["personalAccessTokenSecret=\"", " password=\"", " jwt=\""] {
        let mut from = 0;
        while let Some(found) = out[from..].find(attr) {
            let start = from + found + attr.len();
            let end = out[start..].find('"').map_or(out.len(), |e| start + e);
            out.replace_range(start..end, "***");
            from = start + 3;
        }
    }
    out
}

/// Escapes text for an XML attribute value or element text (spec §1).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_and_prefixes_are_ignored() {
        let doc = br#"<ns0:tsResponse xmlns:ns0="http://tableau.com/api"><ns0:project name="a &amp; b &gt; c"/></ns0:tsResponse>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "tsResponse");
        assert_eq!(
            root.child("project").unwrap().attr("name"),
            Some("a & b > c")
        );
        assert!(root.attr("ns0").is_none());
    }

    #[test]
    fn text_with_references() {
        let root = parse(b"<a><b>x &lt;&#65;&gt; y</b></a>").unwrap();
        assert_eq!(root.child("b").unwrap().text, "x <A> y");
    }

    #[test]
    fn junk_is_an_error() {
        for junk in [
            &b""[..],
            b"<a>",
            b"<a></b>",
            b"\xff\xfe<a/>",
            b"<a/><b/>",
            b"<a x='1' x='2'/>",
            b"<a>&bogus;</a>",
            b"text",
            b"<html><body><p>oops</body></html>",
        ] {
            assert!(parse(junk).is_err(), "{:?}", String::from_utf8_lossy(junk));
        }
        let deep = "<a>".repeat(DEPTH_MAX + 1);
        assert!(parse(deep.as_bytes()).unwrap_err().contains("deeper"));
    }

    #[test]
    fn secret_attributes_are_redacted() {
        let text = r#"<credentials personalAccessTokenName="n" personalAccessTokenSecret="s1"/><c name="u" password="p w"/><c jwt="j"/>"#;
        assert_eq!(
            redact_secret_attrs(text),
            r#"<credentials personalAccessTokenName="n" personalAccessTokenSecret="***"/><c name="u" password="***"/><c jwt="***"/>"#
        );
        assert_eq!(
            redact_secret_attrs(r#"<a password="unterminated"#),
            r#"<a password="***"#
        );
    }

    #[test]
    fn escape_round_trips() {
        let name = "Sales & Co <\"q\"> 'x'\n";
        let doc = format!("<a n=\"{}\"/>", escape(name));
        assert_eq!(parse(doc.as_bytes()).unwrap().attr("n"), Some(name));
        assert_eq!(escape("Sales & Co"), "Sales &amp; Co");
    }
}
