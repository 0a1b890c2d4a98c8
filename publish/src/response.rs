//! Typed views of Tableau's response documents, and [`parse_response`], the
//! entry point for fuzzing.
//!
//! Invariant: every function here takes untrusted bytes and returns `Err` on
//! anything it does not understand; none panics.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::xml::{self, Element};

/// A REST API version such as `3.10` (which is newer than `3.9`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    /// Major part.
    pub major: u16,
    /// Minor part.
    pub minor: u16,
}

impl ApiVersion {
    /// Builds `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for ApiVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (major, minor) = s
            .split_once('.')
            .ok_or_else(|| format!("version {s:?} has no '.'"))?;
        let parse = |p: &str| p.parse::<u16>().map_err(|e| format!("version {s:?}: {e}"));
        Ok(Self::new(parse(major)?, parse(minor)?))
    }
}

/// `serverInfo`: product and REST API version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// e.g. `10.1.0` or `2024.2.0`.
    pub product_version: String,
    /// The build attribute, if sent.
    pub build: Option<String>,
    /// The highest REST API version the server speaks.
    pub rest_api_version: ApiVersion,
}

/// The result of a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Session {
    /// The auth token for `X-Tableau-Auth`.
    pub token: Secret,
    /// The site's LUID, used in every site-scoped path.
    pub site_id: String,
    /// The site's content URL (`""` is the default site).
    pub site_content_url: String,
    /// The signed-in user's LUID.
    pub user_id: Option<String>,
}

/// `<pagination pageNumber pageSize totalAvailable/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pagination {
    /// 1-based page number.
    pub page_number: u64,
    /// Page size.
    pub page_size: u64,
    /// Items in all pages.
    pub total_available: u64,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Project {
    /// LUID.
    pub id: String,
    /// Name (may contain `/` and `>`).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The parent's LUID; `None` for a top-level project.
    pub parent_id: Option<String>,
}

/// A published data source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Datasource {
    /// LUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Content URL.
    pub content_url: Option<String>,
    /// `dataengine` for extracts.
    pub datasource_type: Option<String>,
    /// The project's LUID.
    pub project_id: Option<String>,
    /// The project's name.
    pub project_name: Option<String>,
    /// ISO 8601 creation time.
    pub created_at: Option<String>,
    /// ISO 8601 update time.
    pub updated_at: Option<String>,
}

/// An asynchronous job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Job {
    /// LUID.
    pub id: String,
    /// e.g. `PublishDatasource`, `UpdateUploadedFile`.
    pub job_type: Option<String>,
    /// 0-100.
    pub progress: Option<u32>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Completion time; until it is set the job is running.
    pub completed_at: Option<String>,
    /// 0 success, 1 failed, 2 cancelled, 3 completed. Meaningful only once
    /// `completed_at` is set (spec §8).
    pub finish_code: Option<i32>,
    /// Notes (failure text) and status notes.
    pub notes: Vec<String>,
    /// The data source the job works on, if named.
    pub datasource_id: Option<String>,
}

impl Job {
    /// Completed, with finishCode 0 (Success) or 3 (Completed).
    pub fn succeeded(&self) -> bool {
        self.completed_at.is_some() && matches!(self.finish_code, Some(0 | 3))
    }

    /// `completedAt` is set.
    pub fn is_complete(&self) -> bool {
        self.completed_at.is_some()
    }
}

/// `<fileUpload uploadSessionId fileSize/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileUpload {
    /// The session id (contains `:`).
    pub upload_session_id: String,
    /// Uploaded so far, in MB as the server counts.
    pub file_size_mb: u64,
}

/// Tableau's `<error code><summary/><detail/></error>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableauError {
    /// e.g. `403007`.
    pub code: String,
    /// e.g. `Forbidden`.
    pub summary: String,
    /// The explanation.
    pub detail: String,
}

/// Everything [`parse_response`] recognises in a `tsResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TsResponse {
    /// `<error>`.
    pub error: Option<TableauError>,
    /// `<credentials>` of a sign-in.
    pub session: Option<Session>,
    /// `<serverInfo>`.
    pub server_info: Option<ServerInfo>,
    /// `<pagination>`.
    pub pagination: Option<Pagination>,
    /// `<projects><project/>…` or a single `<project>`.
    pub projects: Vec<Project>,
    /// `<datasources><datasource/>…` or a single `<datasource>`.
    pub datasources: Vec<Datasource>,
    /// `<job>`.
    pub job: Option<Job>,
    /// `<fileUpload>`.
    pub file_upload: Option<FileUpload>,
}

/// Parses a Tableau response body: a `tsResponse` XML document in any of the
/// namespaces Tableau used, or the JSON error form `{"error":{…}}`.
///
/// This is the fuzz entry point: any bytes give `Ok` or `Err`, never a panic.
///
/// # Errors
/// [`Error::NonXml`] for HTML and other bodies that are neither XML nor JSON,
/// [`Error::Xml`] for malformed documents or elements missing required attributes.
pub fn parse_response(body: &[u8]) -> Result<TsResponse> {
    parse_response_for(body, "response body", None)
}

pub(crate) fn parse_response_for(
    body: &[u8],
    what: &str,
    content_type: Option<&str>,
) -> Result<TsResponse> {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let trimmed = &body[start..];
    let xml_err = |reason: String| Error::Xml {
        what: what.to_owned(),
        reason,
    };
    if trimmed.first() == Some(&b'{') {
        return parse_json(trimmed).map_err(xml_err);
    }
    if !looks_like_xml(trimmed) {
        return Err(Error::NonXml {
            what: what.to_owned(),
            content_type: content_type.map(str::to_owned),
            excerpt: excerpt(body),
        });
    }
    let root = xml::parse(trimmed).map_err(xml_err)?;
    if root.name != "tsResponse" {
        return Err(xml_err(format!(
            "root element is <{}>, expected <tsResponse>",
            root.name
        )));
    }
    from_root(&root).map_err(xml_err)
}

/// An XML document starts with `<?xml` or a `<tsResponse`-like element; HTML
/// pages start with `<!DOCTYPE html` or `<html`.
fn looks_like_xml(body: &[u8]) -> bool {
    let head: Vec<u8> = body.iter().take(64).map(u8::to_ascii_lowercase).collect();
    body.first() == Some(&b'<')
        && !head.starts_with(b"<!doctype html")
        && !head.starts_with(b"<html")
}

/// The first 200 characters of a body, for messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

fn from_root(root: &Element) -> Result<TsResponse, String> {
    let mut out = TsResponse::default();
    for child in &root.children {
        match child.name.as_str() {
            "error" => out.error = Some(tableau_error(child)),
            "credentials" => out.session = Some(session(child)?),
            "serverInfo" => out.server_info = Some(server_info(child)?),
            "pagination" => out.pagination = Some(pagination(child)?),
            "projects" => {
                for p in child.children_named("project") {
                    out.projects.push(project(p)?);
                }
            }
            "project" => out.projects.push(project(child)?),
            "datasources" => {
                for d in child.children_named("datasource") {
                    out.datasources.push(datasource(d)?);
                }
            }
            "datasource" => out.datasources.push(datasource(child)?),
            "job" => out.job = Some(job(child)?),
            "fileUpload" => out.file_upload = Some(file_upload(child)?),
            _ => {}
        }
    }
    Ok(out)
}

fn required<'a>(e: &'a Element, attr: &str) -> Result<&'a str, String> {
    e.attr(attr)
        .ok_or_else(|| format!("<{}> has no {attr} attribute", e.name))
}

fn optional(e: &Element, attr: &str) -> Option<String> {
    e.attr(attr).map(str::to_owned)
}

fn number<T: FromStr>(e: &Element, attr: &str) -> Result<Option<T>, String>
where
    T::Err: fmt::Display,
{
    e.attr(attr)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|err| format!("<{}> {attr}={v:?}: {err}", e.name))
        })
        .transpose()
}

fn tableau_error(e: &Element) -> TableauError {
    let text = |name: &str| {
        e.child(name)
            .map(|c| c.text.trim().to_owned())
            .unwrap_or_default()
    };
    TableauError {
        code: e.attr("code").unwrap_or("").to_owned(),
        summary: text("summary"),
        detail: text("detail"),
    }
}

fn session(e: &Element) -> Result<Session, String> {
    let site = e.child("site").ok_or("<credentials> has no <site>")?;
    Ok(Session {
        token: Secret::new(required(e, "token")?),
        site_id: required(site, "id")?.to_owned(),
        site_content_url: site.attr("contentUrl").unwrap_or("").to_owned(),
        user_id: e.child("user").and_then(|u| optional(u, "id")),
    })
}

fn server_info(e: &Element) -> Result<ServerInfo, String> {
    let product = e
        .child("productVersion")
        .ok_or("<serverInfo> has no <productVersion>")?;
    let api = e
        .child("restApiVersion")
        .ok_or("<serverInfo> has no <restApiVersion>")?;
    Ok(ServerInfo {
        product_version: product.text.trim().to_owned(),
        build: optional(product, "build"),
        rest_api_version: api.text.parse()?,
    })
}

fn pagination(e: &Element) -> Result<Pagination, String> {
    let get = |a: &str| -> Result<u64, String> {
        number(e, a)?.ok_or_else(|| format!("<pagination> has no {a}"))
    };
    Ok(Pagination {
        page_number: get("pageNumber")?,
        page_size: get("pageSize")?,
        total_available: get("totalAvailable")?,
    })
}

fn project(e: &Element) -> Result<Project, String> {
    Ok(Project {
        id: required(e, "id")?.to_owned(),
        name: required(e, "name")?.to_owned(),
        description: optional(e, "description"),
        parent_id: optional(e, "parentProjectId").filter(|p| !p.is_empty()),
    })
}

fn datasource(e: &Element) -> Result<Datasource, String> {
    let project = e.child("project");
    Ok(Datasource {
        id: required(e, "id")?.to_owned(),
        name: required(e, "name")?.to_owned(),
        content_url: optional(e, "contentUrl"),
        datasource_type: optional(e, "type"),
        project_id: project.and_then(|p| optional(p, "id")),
        project_name: project.and_then(|p| optional(p, "name")),
        created_at: optional(e, "createdAt"),
        updated_at: optional(e, "updatedAt"),
    })
}

fn job(e: &Element) -> Result<Job, String> {
    let mut notes = Vec::new();
    let mut datasource_id = None;
    for child in &e.children {
        if child.name == "statusNotes" {
            for note in child.children_named("statusNote") {
                notes.extend(optional(note, "text"));
            }
            let text = child.text.trim();
            if !text.is_empty() {
                notes.push(text.to_owned());
            }
        } else {
            // The type element: <extractRefreshJob>, <updateUploadedFileJob>, ...
            for note in child.children_named("notes") {
                notes.push(note.text.trim().to_owned());
            }
            if let Some(ds) = child.child("datasource") {
                datasource_id = optional(ds, "id");
            }
        }
    }
    Ok(Job {
        id: required(e, "id")?.to_owned(),
        job_type: optional(e, "type"),
        progress: number(e, "progress")?,
        created_at: optional(e, "createdAt"),
        completed_at: optional(e, "completedAt").filter(|c| !c.is_empty()),
        finish_code: number(e, "finishCode")?,
        notes,
        datasource_id,
    })
}

fn file_upload(e: &Element) -> Result<FileUpload, String> {
    Ok(FileUpload {
        upload_session_id: required(e, "uploadSessionId")?.to_owned(),
        file_size_mb: number(e, "fileSize")?.unwrap_or(0),
    })
}

fn parse_json(body: &[u8]) -> Result<TsResponse, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("bad JSON: {e}"))?;
    let error = value
        .get("error")
        .filter(|e| e.is_object())
        .ok_or("JSON body has no \"error\" object")?;
    let field = |k: &str| match error.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let error = TableauError {
        code: field("code"),
        summary: field("summary"),
        detail: field("detail"),
    };
    Ok(TsResponse {
        error: Some(error),
        ..TsResponse::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testdata/tableau-rest/"
    );

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DATA}{name}")).unwrap()
    }

    #[test]
    fn versions_order_numerically() {
        let v: ApiVersion = "3.10".parse().unwrap();
        assert!(v > ApiVersion::new(3, 9));
        assert_eq!(v.to_string(), "3.10");
        assert!("3".parse::<ApiVersion>().is_err());
        assert!("a.b".parse::<ApiVersion>().is_err());
    }

    #[test]
    fn recorded_fixtures_parse() {
        let r = parse_response(&fixture("auth_sign_in.xml")).unwrap();
        let s = r.session.unwrap();
        assert_eq!(s.site_id, "6b7179ba-b82b-4f0f-91ed-812074ac5da6");
        assert_eq!(s.site_content_url, "Samples");
        assert_eq!(format!("{s:?}").matches("***").count(), 1);

        let r = parse_response(&fixture("server_info_get.xml")).unwrap();
        assert_eq!(
            r.server_info.unwrap().rest_api_version,
            ApiVersion::new(3, 10)
        );

        let r = parse_response(&fixture("project_get.xml")).unwrap();
        assert_eq!(r.projects.len(), 3);
        assert_eq!(r.projects[2].name, "Tableau > Child 1");
        assert_eq!(
            r.projects[2].parent_id.as_deref(),
            Some("1d0304cd-3796-429f-b815-7258370b9b74")
        );
        assert_eq!(r.pagination.unwrap().total_available, 3);

        let r = parse_response(&fixture("project_get_all_fields.xml")).unwrap();
        assert_eq!(r.projects[0].name, "Samples");

        let r = parse_response(&fixture("datasource_publish_async.xml")).unwrap();
        let job = r.job.unwrap();
        assert_eq!(job.finish_code, Some(1));
        assert!(!job.is_complete() && !job.succeeded());

        let r = parse_response(&fixture("job_get_by_id.xml")).unwrap();
        let job = r.job.unwrap();
        assert!(job.succeeded());
        assert!(job.notes.contains(&"Job detail notes".to_owned()));
        assert!(job.notes.contains(&"More detail".to_owned()));
        assert!(
            parse_response(&fixture("job_get_by_id_completed.xml"))
                .unwrap()
                .job
                .unwrap()
                .succeeded()
        );

        let r = parse_response(&fixture("job_get_by_id_failed_workbook.xml")).unwrap();
        assert!(r.job.unwrap().notes[0].starts_with("java.lang.RuntimeException"));

        let r = parse_response(&fixture("fileupload_initialize.xml")).unwrap();
        assert_eq!(
            r.file_upload.unwrap().upload_session_id,
            "7720:170fe6b1c1c7422dadff20f944d58a52-1:0"
        );

        let r = parse_response(&fixture("datasource_publish.xml")).unwrap();
        assert_eq!(
            r.datasources[0].project_id.as_deref(),
            Some("ee8c6e70-43b6-11e6-af4f-f7b0d8e20760")
        );
        assert_eq!(
            parse_response(&fixture("datasource_get.xml"))
                .unwrap()
                .datasources
                .len(),
            2
        );
        assert!(
            parse_response(&fixture("datasource_get_empty.xml"))
                .unwrap()
                .datasources
                .is_empty()
        );
    }

    #[test]
    fn recorded_errors_parse() {
        for (file, code) in [
            ("auth_sign_in_error.xml", "401001"),
            ("server_info_404.xml", "404003"),
            (
                "transcribed/error_400011_publish_failed_oldns.xml",
                "400011",
            ),
            ("transcribed/error_401000_no_credentials.json", "401000"),
            ("transcribed/error_401000_no_credentials.xml", "401000"),
            ("transcribed/error_401001_signin.json", "401001"),
            ("transcribed/error_403007_datasource_exists.xml", "403007"),
            ("transcribed/error_409006_project_exists.xml", "409006"),
        ] {
            let error = parse_response(&fixture(file)).unwrap().error.unwrap();
            assert_eq!(error.code, code, "{file}");
            assert!(
                !error.summary.is_empty() && !error.detail.is_empty(),
                "{file}"
            );
        }
    }

    #[test]
    fn html_is_non_xml() {
        let err = parse_response(&fixture("server_info_wrong_site.html")).unwrap_err();
        assert!(matches!(err, Error::NonXml { .. }), "{err:?}");
        assert!(err.to_string().contains("non-XML response"));
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        let junk: &[&[u8]] = &[
            b"",
            b"   ",
            b"\x00\x01\x02",
            b"<",
            b"<tsResponse",
            b"<tsResponse><credentials token='t'></tsResponse>",
            b"<tsResponse><credentials token='t'><site/></credentials></tsResponse>",
            b"<tsResponse><serverInfo><restApiVersion>x</restApiVersion></serverInfo></tsResponse>",
            b"<tsResponse><pagination pageNumber='-1'/></tsResponse>",
            b"<tsResponse><job id='j' progress='lots'/></tsResponse>",
            b"<tsResponse><project name='no id'/></tsResponse>",
            b"<other/>",
            b"{",
            b"{\"error\": 5}",
            b"[1,2]",
            b"<!DOCTYPE html><html></html>",
            b"<tsResponse>\xff</tsResponse>",
        ];
        for body in junk {
            assert!(
                parse_response(body).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        // Every truncation of a real document is handled.
        let doc = fixture("job_get_by_id.xml");
        for end in 0..doc.len() {
            let _ = parse_response(&doc[..end]);
        }
    }
}
