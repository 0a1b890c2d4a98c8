//! The emulator's Tableau behaviour: routes, state, spec checks and faults.
//!
//! Responses are the recorded files of `shared/testdata/tableau-rest/` with the
//! recorded ids, names and sizes replaced by the emulated ones; list pages are
//! rendered in the recorded layout. Codes the recordings lack (401002, "upload
//! session not found", "append to a missing data source") are synthesized, as
//! the fixtures' README says.

use super::server::{self, HttpRequest, HttpResponse, Part};
use super::{
    DEFAULT_PROJECT_ID, Fault, FaultReply, RECORDED_TOKEN, RecordedPart, RecordedRequest,
    SAMPLE_DATASOURCE_ID,
};
use crate::response::ApiVersion;
use crate::xml::{self, escape};

macro_rules! recorded {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/testdata/tableau-rest/",
            $name
        ))
    };
}

const ENVELOPE_START: &str = "<?xml version='1.0' encoding='UTF-8'?>\n<tsResponse xmlns=\"http://tableau.com/api\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://tableau.com/api http://tableau.com/api/ts-api-2.3.xsd\">\n";
const FIRST_UPLOAD_ID: &str = "7720:170fe6b1c1c7422dadff20f944d58a52-1:0";
const SINGLE_REQUEST_MAX_BYTES: usize = 64 * 1024 * 1024;

/// A project on the emulated site.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredProject {
    /// LUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Parent LUID.
    pub parent_id: Option<String>,
}

/// A data source on the emulated site.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredDatasource {
    /// LUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Project LUID.
    pub project_id: String,
    /// The bytes of the last publish, with appended extracts concatenated.
    pub content: Vec<u8>,
    /// Publishes (create or overwrite) of this name.
    pub publishes: u32,
    /// Appends.
    pub appends: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) pat: Option<(String, String)>,
    pub(crate) password: Option<(String, String)>,
    pub(crate) jwt: Option<String>,
    pub(crate) site: String,
    pub(crate) token: String,
    pub(crate) rest_api_version: ApiVersion,
    pub(crate) server_info: bool,
    pub(crate) job_polls_before_done: u32,
    pub(crate) job_finish_code: i32,
    pub(crate) extra_projects: Vec<StoredProject>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            pat: Some(("hyperctl-test".into(), "emulator-pat-secret".into())),
            password: None,
            jwt: None,
            site: "Samples".into(),
            token: RECORDED_TOKEN.into(),
            rest_api_version: ApiVersion::new(3, 10),
            server_info: true,
            job_polls_before_done: 1,
            job_finish_code: 0,
            extra_projects: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Upload {
    id: String,
    bytes: Vec<u8>,
}

#[derive(Debug)]
struct JobState {
    id: String,
    job_type: &'static str,
    polls: u32,
}

#[derive(Debug)]
pub(crate) struct State {
    settings: Settings,
    pub(crate) log: Vec<RecordedRequest>,
    pub(crate) violations: Vec<String>,
    pub(crate) faults: Vec<Fault>,
    pub(crate) tokens: Vec<String>,
    pub(crate) datasources: Vec<StoredDatasource>,
    pub(crate) updates_applied: u32,
    projects: Vec<StoredProject>,
    sign_ins: u32,
    uploads: Vec<Upload>,
    uploads_started: u32,
    jobs: Vec<JobState>,
    request_ids: Vec<(String, String, String)>,
    ids_made: u32,
}

type Reply = Result<HttpResponse, HttpResponse>;

impl State {
    pub(crate) fn new(settings: Settings) -> Self {
        let recorded = crate::response::parse_response(recorded!("project_get.xml").as_bytes())
            .unwrap_or_default();
        let mut projects: Vec<StoredProject> = recorded
            .projects
            .into_iter()
            .map(|p| StoredProject {
                id: p.id,
                name: p.name,
                parent_id: p.parent_id,
            })
            .collect();
        projects.extend(settings.extra_projects.iter().cloned());
        let sample = StoredDatasource {
            id: SAMPLE_DATASOURCE_ID.into(),
            name: "SampleDS".into(),
            project_id: DEFAULT_PROJECT_ID.into(),
            content: Vec::new(),
            publishes: 1,
            appends: 0,
        };
        Self {
            settings,
            log: Vec::new(),
            violations: Vec::new(),
            faults: Vec::new(),
            tokens: Vec::new(),
            datasources: vec![sample],
            updates_applied: 0,
            projects,
            sign_ins: 0,
            uploads: Vec::new(),
            uploads_started: 0,
            jobs: Vec::new(),
            request_ids: Vec::new(),
            ids_made: 0,
        }
    }

    pub(crate) fn handle(&mut self, request: HttpRequest) -> HttpResponse {
        let parts = request
            .header("content-type")
            .and_then(server::boundary)
            .and_then(|b| server::parse_multipart(&request.body, b).ok())
            .unwrap_or_default();
        let response = match self.fault(&request) {
            Some(FaultReply::Truncated) => {
                let mut response = self.route(&request, &parts).unwrap_or_else(|e| e);
                response.body.truncate(response.body.len() / 2);
                response.truncate = true;
                response
            }
            Some(reply) => fault_response(&reply),
            None => self.route(&request, &parts).unwrap_or_else(|e| e),
        };
        self.log.push(RecordedRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            parts: parts
                .iter()
                .map(|p| RecordedPart {
                    headers: p.headers.clone(),
                    len: p.body.len(),
                    body: p.body.clone(),
                })
                .collect(),
            status: response.status,
        });
        response
    }

    fn fault(&mut self, request: &HttpRequest) -> Option<FaultReply> {
        for fault in &mut self.faults {
            let method_ok = fault.method.as_deref().is_none_or(|m| m == request.method);
            if !method_ok || fault.times == 0 || !request.path.contains(&fault.path_contains) {
                continue;
            }
            if fault.skip > 0 {
                fault.skip -= 1;
                continue;
            }
            fault.times -= 1;
            return Some(fault.reply.clone());
        }
        None
    }

    fn violation(&mut self, detail: impl Into<String>) -> HttpResponse {
        let detail = format!("emulator: {}", detail.into());
        self.violations.push(detail.clone());
        tableau_error(400, "400000", "Bad Request", &detail)
    }

    fn route(&mut self, request: &HttpRequest, parts: &[Part]) -> Reply {
        let segments: Vec<&str> = request.path.split('/').collect();
        let (version, rest) = match segments.as_slice() {
            ["", "api", v, rest @ ..] => (
                v.parse::<ApiVersion>()
                    .map_err(|_| unknown(&request.path))?,
                rest,
            ),
            _ => return Err(unknown(&request.path)),
        };
        if version > self.settings.rest_api_version {
            return Err(self.violation(format!(
                "REST API {version} is above the server's {}",
                self.settings.rest_api_version
            )));
        }
        match (request.method.as_str(), rest) {
            ("GET", ["serverInfo" | "serverinfo"]) => self.server_info(version),
            ("POST", ["auth", "signin"]) => self.sign_in(request, version),
            ("POST", ["auth", "signout"]) => {
                let token = self.authenticate(request)?;
                self.tokens.retain(|t| *t != token);
                Ok(HttpResponse::xml(204, ""))
            }
            (_, ["sites", site, rest @ ..]) => {
                self.authenticate(request)?;
                if *site != super::SITE_ID {
                    return Err(not_found(&format!("site '{site}'")));
                }
                self.site_route(request, parts, version, rest)
            }
            _ => Err(unknown(&request.path)),
        }
    }

    fn site_route(
        &mut self,
        request: &HttpRequest,
        parts: &[Part],
        version: ApiVersion,
        rest: &[&str],
    ) -> Reply {
        match (request.method.as_str(), rest) {
            ("GET", ["projects"]) => self.projects(request),
            ("POST", ["datasources"]) => self.publish(request, parts, version),
            ("POST", ["fileUploads"]) => self.initiate_upload(request),
            ("PUT", ["fileUploads", id]) => self.append_upload(request, parts, id),
            (
                "PATCH",
                ["datasources", id, "data"] | ["datasources", id, "connections", _, "data"],
            ) => self.update_data(request, version, id),
            ("GET", ["jobs", id]) => self.job(id),
            _ => Err(unknown(&request.path)),
        }
    }

    fn authenticate(&mut self, request: &HttpRequest) -> Result<String, HttpResponse> {
        match request.header("x-tableau-auth") {
            None => Err(HttpResponse::xml(
                401,
                recorded!("transcribed/error_401000_no_credentials.xml"),
            )),
            Some(token) if self.tokens.iter().any(|t| t == token) => Ok(token.to_owned()),
            Some(_) => Err(tableau_error(
                401,
                "401002",
                "Unauthorized Access",
                "Invalid authentication credentials were provided.",
            )),
        }
    }

    fn server_info(&mut self, version: ApiVersion) -> Reply {
        if version < ApiVersion::new(2, 4) || !self.settings.server_info {
            return Err(HttpResponse::xml(404, recorded!("server_info_404.xml")));
        }
        let v = self.settings.rest_api_version.to_string();
        Ok(HttpResponse::xml(
            200,
            recorded!("server_info_get.xml")
                .replace("<restApiVersion>3.10<", &format!("<restApiVersion>{v}<")),
        ))
    }

    fn sign_in(&mut self, request: &HttpRequest, version: ApiVersion) -> Reply {
        if !request
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/xml") || c.starts_with("application/xml"))
        {
            return Err(self.violation("sign-in needs Content-Type text/xml"));
        }
        let root =
            xml::parse(&request.body).map_err(|e| self.violation(format!("sign-in body: {e}")))?;
        let credentials = root
            .child("credentials")
            .ok_or_else(|| self.violation("sign-in without <credentials>"))?;
        let site = credentials.child("site").and_then(|s| s.attr("contentUrl"));
        let Some(site) = site.map(str::to_owned) else {
            return Err(self.violation("sign-in without <site contentUrl>"));
        };
        let s = &self.settings;
        let accepted = if let Some(name) = credentials.attr("personalAccessTokenName") {
            if version < ApiVersion::new(3, 6) {
                return Err(self.violation("PAT sign-in needs REST API 3.6"));
            }
            let secret = credentials.attr("personalAccessTokenSecret").unwrap_or("");
            s.pat
                .as_ref()
                .is_some_and(|(n, sec)| n == name && sec == secret)
        } else if let Some(jwt) = credentials.attr("jwt") {
            if version < ApiVersion::new(3, 17) {
                return Err(self.violation("JWT sign-in needs REST API 3.17"));
            }
            s.jwt.as_deref() == Some(jwt)
        } else {
            let (name, password) = (credentials.attr("name"), credentials.attr("password"));
            s.password
                .as_ref()
                .is_some_and(|(n, p)| Some(n.as_str()) == name && Some(p.as_str()) == password)
        };
        if !accepted || site != s.site {
            return Err(HttpResponse::xml(401, recorded!("auth_sign_in_error.xml")));
        }
        self.sign_ins += 1;
        let token = if self.sign_ins == 1 {
            s.token.clone()
        } else {
            format!("{}-{}", s.token, self.sign_ins)
        };
        self.tokens.push(token.clone());
        let body = recorded!("auth_sign_in.xml")
            .replace(RECORDED_TOKEN, &token)
            .replace(
                "contentUrl=\"Samples\"",
                &format!("contentUrl=\"{}\"", escape(&site)),
            );
        Ok(HttpResponse::xml(200, body))
    }

    fn projects(&mut self, request: &HttpRequest) -> Reply {
        let number =
            |s: &mut Self, name: &str, default: u64, max: u64| -> Result<u64, HttpResponse> {
                match request.query_value(name).map(str::parse::<u64>) {
                    None => Ok(default),
                    Some(Ok(n)) if (1..=max).contains(&n) => Ok(n),
                    Some(_) => Err(s.violation(format!("{name} must be 1 to {max}"))),
                }
            };
        let page_size = number(self, "pageSize", 100, 1000)?;
        let page_number = number(self, "pageNumber", 1, u64::MAX)?;
        let mut matching: Vec<&StoredProject> = self.projects.iter().collect();
        if let Some(filter) = request.query_value("filter") {
            let filter = percent_decode_plus(filter);
            for term in filter.split(',') {
                let mut fields = term.splitn(3, ':');
                let (field, op, value) =
                    (fields.next(), fields.next(), fields.next().unwrap_or(""));
                matching.retain(|p| match (field, op) {
                    (Some("name"), Some("eq")) => p.name == value,
                    (Some("parentProjectId"), Some("eq")) => p.parent_id.as_deref() == Some(value),
                    (Some("topLevelProject"), Some("eq")) => {
                        p.parent_id.is_none() == (value == "true")
                    }
                    _ => true,
                });
                if !matches!(
                    (field, op),
                    (
                        Some("name" | "parentProjectId" | "topLevelProject"),
                        Some("eq")
                    )
                ) {
                    return Err(self.violation(format!("unsupported project filter {term:?}")));
                }
            }
        }
        let total = matching.len() as u64;
        let start = (page_number - 1).saturating_mul(page_size);
        let page = matching
            .iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(page_size as usize);
        let mut body = format!(
            "{ENVELOPE_START}    <pagination pageNumber=\"{page_number}\" pageSize=\"{page_size}\" totalAvailable=\"{total}\" />\n    <projects>\n"
        );
        for p in page {
            let parent = p
                .parent_id
                .as_deref()
                .map(|id| format!(" parentProjectId=\"{}\"", escape(id)))
                .unwrap_or_default();
            body.push_str(&format!(
                "        <project id=\"{}\" name=\"{}\" description=\"\" contentPermissions=\"ManagedByOwner\"{parent}><owner id=\"dd2239f6-ddf1-4107-981a-4cf94e415794\" /></project>\n",
                escape(&p.id),
                escape(&p.name)
            ));
        }
        body.push_str("    </projects>\n</tsResponse>\n");
        Ok(HttpResponse::xml(200, body))
    }

    fn flag(&mut self, request: &HttpRequest, name: &str) -> Result<bool, HttpResponse> {
        match request.query_value(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => {
                Err(self.violation(format!("{name}={other}: booleans are 'true' or 'false'")))
            }
        }
    }

    fn check_part(
        &mut self,
        part: Option<&Part>,
        name: &str,
        content_type: &str,
        filename: Option<&str>,
    ) -> Result<(), HttpResponse> {
        let Some(part) = part else {
            return Err(self.violation(format!("missing multipart part {name}")));
        };
        let disposition = part.header("content-disposition").unwrap_or("");
        let ok_name = part.disposition("name").as_deref() == Some(name);
        let ok_form = disposition.starts_with("form-data;") || disposition.starts_with("name=");
        let ok_type = part
            .header("content-type")
            .is_some_and(|c| c.starts_with(content_type));
        let ok_file = filename.is_none_or(|f| part.disposition("filename").as_deref() == Some(f));
        if ok_name && ok_form && ok_type && ok_file {
            Ok(())
        } else {
            Err(self.violation(format!(
                "part {name}: expected Content-Disposition form-data; name=\"{name}\"{} and Content-Type {content_type}, got {:?}",
                filename.map(|f| format!("; filename=\"{f}\"")).unwrap_or_default(),
                part.headers
            )))
        }
    }

    fn multipart<'p>(
        &mut self,
        request: &HttpRequest,
        parts: &'p [Part],
    ) -> Result<&'p [Part], HttpResponse> {
        let boundary = request.header("content-type").and_then(server::boundary);
        let Some(boundary) = boundary else {
            return Err(self.violation("the body must be multipart/mixed with a boundary"));
        };
        if let Err(e) = server::parse_multipart(&request.body, boundary) {
            return Err(self.violation(format!("malformed multipart body: {e}")));
        }
        Ok(parts)
    }

    fn publish(&mut self, request: &HttpRequest, parts: &[Part], version: ApiVersion) -> Reply {
        let parts = self.multipart(request, parts)?;
        let (overwrite, append, as_job) = (
            self.flag(request, "overwrite")?,
            self.flag(request, "append")?,
            self.flag(request, "asJob")?,
        );
        if overwrite && append {
            return Err(self.violation("overwrite and append are both true"));
        }
        if as_job && version < ApiVersion::new(3, 0) {
            return Err(self.violation("asJob needs REST API 3.0"));
        }
        self.check_part(parts.first(), "request_payload", "text/xml", None)?;
        let content = match request.query_value("uploadSessionId") {
            Some(session) => {
                if parts.len() != 1 {
                    return Err(self.violation("a commit carries only the request_payload part"));
                }
                if request.query_value("datasourceType").is_none() {
                    return Err(self.violation("a commit needs datasourceType"));
                }
                let at = self.uploads.iter().position(|u| u.id == session);
                let at = at.ok_or_else(|| not_found(&format!("upload session '{session}'")))?;
                self.uploads.remove(at).bytes
            }
            None => {
                if parts.len() != 2 {
                    return Err(
                        self.violation(format!("a publish has 2 parts, not {}", parts.len()))
                    );
                }
                self.check_part(
                    parts.get(1),
                    "tableau_datasource",
                    "application/octet-stream",
                    None,
                )?;
                let filename = parts[1].disposition("filename").unwrap_or_default();
                let ext = filename
                    .rsplit_once('.')
                    .map(|(_, e)| e.to_ascii_lowercase())
                    .unwrap_or_default();
                if !["hyper", "tds", "tdsx", "tde", "parquet"].contains(&ext.as_str()) {
                    return Err(self.violation(format!(
                        "file name {filename:?} has no data source extension"
                    )));
                }
                if parts[1].body.len() >= SINGLE_REQUEST_MAX_BYTES {
                    return Err(self.violation(
                        "a single request holds less than 64 MiB: use a chunked upload",
                    ));
                }
                parts[1].body.clone()
            }
        };
        let payload = xml::parse(&parts[0].body)
            .map_err(|e| self.violation(format!("request_payload: {e}")))?;
        let datasource = payload
            .child("datasource")
            .ok_or_else(|| self.violation("request_payload has no <datasource>"))?;
        let name = datasource
            .attr("name")
            .ok_or_else(|| self.violation("<datasource> has no name"))?
            .to_owned();
        let project_id = datasource
            .child("project")
            .and_then(|p| p.attr("id"))
            .unwrap_or(DEFAULT_PROJECT_ID)
            .to_owned();
        let project = self.projects.iter().find(|p| p.id == project_id).cloned();
        let project = project.ok_or_else(|| not_found(&format!("project '{project_id}'")))?;
        let existing = self
            .datasources
            .iter()
            .position(|d| d.project_id == project_id && d.name == name);
        let id = match (existing, overwrite, append) {
            (Some(at), _, true) => {
                let ds = &mut self.datasources[at];
                ds.content.extend_from_slice(&content);
                ds.appends += 1;
                ds.id.clone()
            }
            (None, _, true) => return Err(not_found(&format!("datasource '{name}' to append to"))),
            (Some(at), true, false) => {
                let ds = &mut self.datasources[at];
                ds.content = content;
                ds.publishes += 1;
                ds.id.clone()
            }
            (Some(_), false, false) => {
                let body = recorded!("transcribed/error_403007_datasource_exists.xml")
                    .replace("'SampleDS'", &format!("'{}'", escape(&name)));
                return Err(HttpResponse::xml(403, body));
            }
            (None, _, false) => {
                let id = self.make_id();
                self.datasources.push(StoredDatasource {
                    id: id.clone(),
                    name: name.clone(),
                    project_id: project_id.clone(),
                    content,
                    publishes: 1,
                    appends: 0,
                });
                id
            }
        };
        if as_job {
            let job = self.make_job("PublishDatasource");
            let body = recorded!("datasource_publish_async.xml")
                .replace("9a373058-af5f-4f83-8662-98b3e0228a73", &job);
            return Ok(HttpResponse::xml(202, body));
        }
        let body = recorded!("datasource_publish.xml")
            .replace(SAMPLE_DATASOURCE_ID, &id)
            .replace("name=\"SampleDS\"", &format!("name=\"{}\"", escape(&name)))
            .replace(
                "contentUrl=\"SampleDS\"",
                &format!("contentUrl=\"{}\"", escape(&name.replace(' ', ""))),
            )
            .replace(
                &format!("<project id=\"{DEFAULT_PROJECT_ID}\" name=\"default\" />"),
                &format!(
                    "<project id=\"{}\" name=\"{}\" />",
                    escape(&project.id),
                    escape(&project.name)
                ),
            );
        Ok(HttpResponse::xml(201, body))
    }

    fn initiate_upload(&mut self, request: &HttpRequest) -> Reply {
        if !request.body.is_empty() {
            return Err(self.violation("initiating an upload session takes an empty body"));
        }
        self.uploads_started += 1;
        let id = FIRST_UPLOAD_ID.replace("-1:0", &format!("-{}:0", self.uploads_started));
        self.uploads.push(Upload {
            id: id.clone(),
            bytes: Vec::new(),
        });
        Ok(HttpResponse::xml(
            201,
            recorded!("fileupload_initialize.xml").replace(FIRST_UPLOAD_ID, &id),
        ))
    }

    fn append_upload(&mut self, request: &HttpRequest, parts: &[Part], id: &str) -> Reply {
        let parts = self.multipart(request, parts)?;
        if parts.len() != 2 {
            return Err(self.violation(format!("an append has 2 parts, not {}", parts.len())));
        }
        self.check_part(parts.first(), "request_payload", "text/xml", None)?;
        if !parts[0].body.is_empty() {
            return Err(self.violation("the request_payload of an append is empty"));
        }
        self.check_part(
            parts.get(1),
            "tableau_file",
            "application/octet-stream",
            Some("file"),
        )?;
        if parts[1].body.len() > SINGLE_REQUEST_MAX_BYTES {
            return Err(self.violation("a chunk holds at most 64 MiB"));
        }
        let upload = self.uploads.iter_mut().find(|u| u.id == id);
        let upload = upload.ok_or_else(|| not_found(&format!("upload session '{id}'")))?;
        upload.bytes.extend_from_slice(&parts[1].body);
        let size_mb = upload.bytes.len() / (1024 * 1024);
        let body = recorded!("fileupload_append.xml")
            .replace("3877:63f8579222de403ea574673e22dafdca-1:0", id)
            .replace("fileSize=\"5\"", &format!("fileSize=\"{size_mb}\""));
        Ok(HttpResponse::xml(200, body))
    }

    fn update_data(
        &mut self,
        request: &HttpRequest,
        version: ApiVersion,
        datasource_id: &str,
    ) -> Reply {
        if version < ApiVersion::new(3, 13) {
            return Err(self.violation("updating data needs REST API 3.13"));
        }
        let Some(request_id) = request.header("requestid").map(str::to_owned) else {
            return Err(self.violation("an update needs a RequestID header"));
        };
        if !request
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
        {
            return Err(self.violation("an update needs Content-Type application/json"));
        }
        let json: serde_json::Value = serde_json::from_slice(&request.body)
            .map_err(|e| self.violation(format!("update body: {e}")))?;
        let actions = json
            .get("actions")
            .and_then(|a| a.as_array())
            .cloned()
            .unwrap_or_default();
        if actions.is_empty() {
            return Err(self.violation("an update needs a non-empty \"actions\" array"));
        }
        let session = request.query_value("uploadSessionId");
        for action in &actions {
            let kind = action.get("action").and_then(|a| a.as_str()).unwrap_or("");
            let has = |k: &str| action.get(k).is_some();
            let ok = match kind {
                "insert" | "replace" => has("source-table") && has("target-table"),
                "update" | "upsert" => {
                    has("source-table") && has("target-table") && has("condition")
                }
                "delete" => has("target-table") && has("condition"),
                _ => false,
            };
            if !ok {
                return Err(self.violation(format!("malformed update action {action}")));
            }
            if has("source-table") && session.is_none() {
                return Err(self
                    .violation("an action reads a source table but no uploadSessionId was given"));
            }
        }
        if !self.datasources.iter().any(|d| d.id == datasource_id) {
            return Err(not_found(&format!("datasource '{datasource_id}'")));
        }
        let reply = |job: &str, ds: &str| {
            let body = recorded!("datasource_data_update.xml")
                .replace("5c0ba560-c959-424e-b08a-f32ef0bfb737", job)
                .replace("9dbd2263-16b5-46e1-9c43-a76bb8ab65fb", ds);
            HttpResponse::xml(202, body)
        };
        if let Some((_, ds, job)) = self.request_ids.iter().find(|(r, _, _)| *r == request_id) {
            // A duplicate RequestID within 24 h is ignored (spec §9).
            return Ok(reply(job, ds));
        }
        if let Some(session) = session {
            let at = self.uploads.iter().position(|u| u.id == session);
            let at = at.ok_or_else(|| not_found(&format!("upload session '{session}'")))?;
            self.uploads.remove(at);
        }
        self.updates_applied += 1;
        let job = self.make_job("UpdateUploadedFile");
        self.request_ids
            .push((request_id, datasource_id.to_owned(), job.clone()));
        Ok(reply(&job, datasource_id))
    }

    fn job(&mut self, id: &str) -> Reply {
        let (polls_needed, finish) = (
            self.settings.job_polls_before_done,
            self.settings.job_finish_code,
        );
        let job = self
            .jobs
            .iter_mut()
            .find(|j| j.id == id)
            .ok_or_else(|| not_found(&format!("job '{id}'")))?;
        job.polls += 1;
        if job.polls <= polls_needed {
            let body = recorded!("job_get_by_id_inprogress.xml")
                .replace("777bf7c4-421d-4b2c-a518-11b90187c545", id)
                .replace(
                    "type=\"UpdateUploadedFile\"",
                    &format!("type=\"{}\"", job.job_type),
                );
            return Ok(HttpResponse::xml(200, body));
        }
        let body = if finish == 1 || finish == 2 {
            recorded!("job_get_by_id_failed_workbook.xml")
                .replace("bb1aab79-db54-4e96-9dd3-461d8f081d08", id)
                .replace("finishCode=\"1\"", &format!("finishCode=\"{finish}\""))
        } else {
            recorded!("job_get_by_id.xml")
                .replace("2eef4225-aa0c-41c4-8662-a76d89ed7336", id)
                .replace("finishCode=\"0\"", &format!("finishCode=\"{finish}\""))
        };
        Ok(HttpResponse::xml(200, body))
    }

    fn make_id(&mut self) -> String {
        self.ids_made += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.ids_made)
    }

    fn make_job(&mut self, job_type: &'static str) -> String {
        let id = self.make_id();
        self.jobs.push(JobState {
            id: id.clone(),
            job_type,
            polls: 0,
        });
        id
    }
}

fn tableau_error(status: u16, code: &str, summary: &str, detail: &str) -> HttpResponse {
    HttpResponse::xml(
        status,
        format!(
            "{ENVELOPE_START}    <error code=\"{code}\">\n        <summary>{}</summary>\n        <detail>{}</detail>\n    </error>\n</tsResponse>\n",
            escape(summary),
            escape(detail)
        ),
    )
}

fn unknown(path: &str) -> HttpResponse {
    let resource = path.strip_prefix("/api").unwrap_or(path);
    tableau_error(
        404,
        "404003",
        "Resource Not Found",
        &format!("Unknown resource '{resource}' specified in URI."),
    )
}

fn not_found(what: &str) -> HttpResponse {
    tableau_error(
        404,
        "404000",
        "Resource Not Found",
        &format!("The {what} could not be found."),
    )
}

fn fault_response(reply: &FaultReply) -> HttpResponse {
    let mut response = HttpResponse::xml(200, "");
    match reply {
        FaultReply::Html {
            status,
            retry_after,
        } => {
            response.status = *status;
            response.content_type = "text/html";
            response.body = format!("<html><head><title>{status}</title></head><body><h1>Error {status}</h1></body></html>").into_bytes();
            if let Some(seconds) = retry_after {
                response.headers.push(("Retry-After", seconds.to_string()));
            }
        }
        FaultReply::HtmlOk => {
            response.content_type = "text/html";
            response.body = recorded!("server_info_wrong_site.html").as_bytes().to_vec();
        }
        FaultReply::GarbageXml => {
            response.body = b"<tsResponse><credentials token=\"x\"><site id=".to_vec();
        }
        FaultReply::Truncated => {}
    }
    response
}

/// Decodes `quote_plus` text: `+` is a space, `%XX` a byte.
fn percent_decode_plus(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_quote_plus() {
        assert_eq!(
            percent_decode_plus("name%3Aeq%3ATableau+%3E+Child+1"),
            "name:eq:Tableau > Child 1"
        );
        assert_eq!(percent_decode_plus("%"), "%");
        assert_eq!(percent_decode_plus("a%2"), "a%2");
        assert_eq!(percent_decode_plus("%41"), "A");
    }
}
