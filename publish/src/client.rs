//! The blocking Tableau REST client: version negotiation, sign-in and sign-out,
//! the request loop with retries and re-sign-in, and project lookup.
//!
//! Invariant: a request goes out only through [`Client::execute`], which logs it
//! redacted, retries it per the [`RetryPolicy`](crate::RetryPolicy) and signs in
//! again at most once per request on `401002`.

use std::fmt;

use crate::config::PublishConfig;
use crate::error::{Error, Result};
use crate::http::{self, Method, Request, Response};
use crate::project::ProjectPath;
use crate::response::{self, ApiVersion, Project, ServerInfo, Session, TsResponse};
use crate::secret::Credentials;
use crate::xml::escape;

/// The lowest REST API version hyperctl works with (PAT sign-in, spec §2).
pub const API_VERSION_MIN: ApiVersion = ApiVersion::new(3, 6);

/// The highest REST API version hyperctl uses; newer servers are spoken to at
/// this version (spec §2: `min(server, highest version we tested)`).
pub const API_VERSION_MAX: ApiVersion = ApiVersion::new(3, 25);

/// The version at which `serverInfo` is asked (it exists since 2.4).
const SERVER_INFO_VERSION: ApiVersion = ApiVersion::new(2, 4);

/// Pages read before a list call is considered endless.
const PAGES_MAX: u64 = 10_000;

/// Redirects of a sign-in that are followed.
const REDIRECTS_MAX: usize = 5;

/// A blocking Tableau REST client. One client holds at most one session.
///
/// Call [`Client::sign_out`] when done (the [`publish`](crate::publish) workflow
/// does it on every path); dropping a client does not sign out.
pub struct Client {
    pub(crate) config: PublishConfig,
    agent: ureq::Agent,
    base_url: String,
    version: Option<ApiVersion>,
    server_info: Option<ServerInfo>,
    pub(crate) session: Option<Session>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("api_version", &self.version)
            .field("server_info", &self.server_info)
            .field("session", &self.session)
            .field("config", &self.config)
            .finish()
    }
}

impl Client {
    /// A client for `config`; nothing is sent yet.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for TLS settings.
    pub fn new(config: PublishConfig) -> Result<Self> {
        let agent = http::agent(config.timeout);
        let base_url = config.server_url.clone();
        Ok(Self {
            config,
            agent,
            base_url,
            version: None,
            server_info: None,
            session: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PublishConfig {
        &self.config
    }

    /// The REST API version in use, once known.
    pub fn api_version(&self) -> Option<ApiVersion> {
        self.version.or(self.config.api_version)
    }

    /// The current session, if signed in.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Asks the server for its versions (`GET /api/2.4/serverInfo`, no sign-in).
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`] when the server is older than 10.1 (it answers
    /// 404 `404003`), or any request error.
    pub fn server_info(&mut self) -> Result<ServerInfo> {
        if let Some(info) = &self.server_info {
            return Ok(info.clone());
        }
        let mut request = Request::new(
            Method::Get,
            format!("/api/{SERVER_INFO_VERSION}/serverInfo"),
        );
        request.auth = false;
        let response = match self.execute(&request) {
            Err(e) if e.http_status() == Some(404) => {
                return Err(Error::UnsupportedVersion {
                    feature: "hyperctl",
                    needed: API_VERSION_MIN.to_string(),
                    server: "below 2.4 (serverInfo is unknown: Tableau Server older than 10.1)"
                        .to_owned(),
                });
            }
            other => other?,
        };
        let parsed = self.parse(&request, &response)?;
        let info = parsed
            .server_info
            .ok_or_else(|| missing(&request, "<serverInfo>"))?;
        Ok(self.server_info.insert(info).clone())
    }

    /// The version to use: the configured one, or `min(server, API_VERSION_MAX)`.
    fn negotiate(&mut self) -> Result<ApiVersion> {
        if let Some(v) = self.api_version() {
            return Ok(v);
        }
        let server = self.server_info()?.rest_api_version;
        if server < API_VERSION_MIN {
            return Err(Error::UnsupportedVersion {
                feature: "hyperctl",
                needed: API_VERSION_MIN.to_string(),
                server: server.to_string(),
            });
        }
        let version = server.min(API_VERSION_MAX);
        self.config
            .log(&format!("server REST API {server}; using {version}"));
        self.version = Some(version);
        Ok(version)
    }

    /// Signs in with the configured credentials after negotiating the version.
    ///
    /// # Errors
    /// [`Error::Tableau`] `401001` for bad credentials or site,
    /// [`Error::UnsupportedVersion`] for a server too old for the credential kind,
    /// [`Error::Redirect`] for an HTTPS→HTTP redirect, or any request error.
    pub fn sign_in(&mut self) -> Result<&Session> {
        let version = self.negotiate()?;
        let credentials = &self.config.credentials;
        if version < credentials.min_version() {
            return Err(Error::UnsupportedVersion {
                feature: match credentials {
                    Credentials::PersonalAccessToken { .. } => "personal access token sign-in",
                    Credentials::ConnectedAppJwt { .. } => "connected-app JWT sign-in",
                    _ => "this sign-in",
                },
                needed: credentials.min_version().to_string(),
                server: version.to_string(),
            });
        }
        let body = sign_in_body(credentials, &self.config.site);
        let mut request = Request::new(Method::Post, format!("/api/{version}/auth/signin"))
            .body("text/xml", body);
        request.auth = false;
        request.idempotent = true;
        request.resign_on_expiry = false;
        request.redirectable = true;
        self.session = None;
        for _ in 0..=REDIRECTS_MAX {
            let response = self.execute(&request)?;
            if (300..400).contains(&response.status) {
                self.follow_redirect(&request, &response)?;
                continue;
            }
            let parsed = self.parse(&request, &response)?;
            let session = parsed
                .session
                .ok_or_else(|| missing(&request, "<credentials>"))?;
            self.config.log(&format!(
                "signed in to site {:?} ({}) at REST API {version}",
                session.site_content_url, session.site_id
            ));
            return Ok(self.session.insert(session));
        }
        Err(Error::Redirect {
            method: "POST",
            path: request.target(),
            location: String::new(),
            reason: "too many redirects",
        })
    }

    /// Re-bases the client on a sign-in redirect's `Location` (spec §3).
    fn follow_redirect(&mut self, request: &Request, response: &Response) -> Result<()> {
        let location = response.location.clone().unwrap_or_default();
        let refuse = |reason| Error::Redirect {
            method: "POST",
            path: request.target(),
            location: location.clone(),
            reason,
        };
        if location.is_empty() {
            return Err(refuse("the redirect has no Location header"));
        }
        if location.starts_with('/') {
            return Ok(()); // Same host: the request is simply sent again.
        }
        if self.base_url.starts_with("https://") && !location.starts_with("https://") {
            return Err(refuse("HTTPS to HTTP redirects are refused"));
        }
        let base = match location.strip_suffix(&request.target()) {
            Some(base) => base.to_owned(),
            None => origin(&location)
                .ok_or_else(|| refuse("the Location is not an absolute http(s) URL"))?,
        };
        self.config.log(&format!("sign-in redirected to {base}"));
        self.base_url = base;
        Ok(())
    }

    /// Signs out (`POST …/auth/signout`) and forgets the token. Does nothing when
    /// not signed in; an already expired session counts as signed out.
    ///
    /// # Errors
    /// Request errors other than 401.
    pub fn sign_out(&mut self) -> Result<()> {
        let (Some(_), Some(version)) = (&self.session, self.api_version()) else {
            self.session = None;
            return Ok(());
        };
        let mut request = Request::new(Method::Post, format!("/api/{version}/auth/signout"))
            .body("text/xml", Vec::new());
        request.idempotent = true;
        request.resign_on_expiry = false;
        let result = self.execute(&request);
        self.session = None;
        match result {
            Ok(_) => {
                self.config.log("signed out");
                Ok(())
            }
            Err(e) if e.http_status() == Some(401) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Finds a project by path (`Parent/Child`; see [`ProjectPath`] for escaping).
    ///
    /// # Errors
    /// [`Error::ProjectPath`], [`Error::ProjectNotFound`], [`Error::ProjectAmbiguous`],
    /// [`Error::NotSignedIn`], or any request error.
    pub fn find_project(&mut self, path: &str) -> Result<Project> {
        let path = ProjectPath::parse(path)?;
        self.find_project_path(&path)
    }

    /// Finds a project by a parsed path: per level, list projects named like the
    /// level (all pages) and keep the one whose parent is the previous level's
    /// project (spec §4).
    ///
    /// # Errors
    /// As [`Client::find_project`].
    pub fn find_project_path(&mut self, path: &ProjectPath) -> Result<Project> {
        let mut parent: Option<Project> = None;
        for (level, name) in path.names().iter().enumerate() {
            let parent_id = parent.as_ref().map(|p| p.id.clone());
            // How to escape ',' or ':' in a filter value is unknown (spec §4): list
            // without a filter then, and always compare names here too.
            let filter = (!name.contains([',', ':'])).then(|| format!("name:eq:{name}"));
            let mut matches: Vec<Project> = self
                .list_projects(filter.as_deref(), PAGES_MAX)?
                .into_iter()
                .filter(|p| &p.name == name && p.parent_id == parent_id)
                .collect();
            match matches.len() {
                1 => parent = matches.pop(),
                0 => {
                    let available = self.child_names(parent_id.as_deref());
                    return Err(Error::ProjectNotFound {
                        path: path.prefix(level + 1),
                        available,
                    });
                }
                _ => {
                    let ids = matches.into_iter().map(|p| p.id).collect();
                    return Err(Error::ProjectAmbiguous {
                        path: path.prefix(level + 1),
                        ids,
                    });
                }
            }
        }
        parent.ok_or_else(|| Error::Internal {
            what: "a project path without names".to_owned(),
        })
    }

    /// The top-level project named `default` (any case), where Tableau puts
    /// content by default (spec §4).
    ///
    /// # Errors
    /// [`Error::ProjectNotFound`] if there is none, or any request error.
    pub fn default_project(&mut self) -> Result<Project> {
        for name in ["default", "Default"] {
            let found = self
                .list_projects(Some(&format!("name:eq:{name}")), PAGES_MAX)?
                .into_iter()
                .find(|p| p.parent_id.is_none() && p.name.eq_ignore_ascii_case("default"));
            if let Some(project) = found {
                return Ok(project);
            }
        }
        Err(Error::ProjectNotFound {
            path: "default".to_owned(),
            available: self.child_names(None),
        })
    }

    /// Lists projects matching a Tableau filter expression such as `name:eq:Sales`
    /// (`None`: all), reading up to `pages_max` pages. Stops when
    /// `pageNumber × pageSize ≥ totalAvailable` or a page is empty.
    ///
    /// # Errors
    /// [`Error::NotSignedIn`], or any request error.
    pub fn list_projects(&mut self, filter: Option<&str>, pages_max: u64) -> Result<Vec<Project>> {
        let (version, site) = self.site()?;
        let mut out = Vec::new();
        for page in 1..=pages_max.max(1) {
            let mut request =
                Request::new(Method::Get, format!("/api/{version}/sites/{site}/projects"));
            if let Some(filter) = filter {
                request = request.query("filter", http::quote_plus(filter));
            }
            request = request
                .query("pageNumber", page.to_string())
                .query("pageSize", self.config.page_size.to_string());
            let response = self.execute(&request)?;
            let parsed = self.parse(&request, &response)?;
            let got = parsed.projects.len();
            out.extend(parsed.projects);
            let done = match parsed.pagination {
                Some(p) => p.page_number.saturating_mul(p.page_size) >= p.total_available,
                None => true,
            };
            if got == 0 || done {
                break;
            }
        }
        Ok(out)
    }

    /// Names of the projects under `parent` (top level for `None`), for
    /// a "not found" message (up to 10 pages); empty if the listing fails.
    fn child_names(&mut self, parent: Option<&str>) -> Vec<String> {
        let filter = parent.map(|id| format!("parentProjectId:eq:{id}"));
        let listed = self
            .list_projects(filter.as_deref(), 10)
            .unwrap_or_default();
        let mut names: Vec<String> = listed
            .into_iter()
            .filter(|p| p.parent_id.as_deref() == parent)
            .map(|p| p.name)
            .collect();
        names.sort();
        names
    }

    /// The version and site LUID of the session.
    pub(crate) fn site(&self) -> Result<(ApiVersion, String)> {
        match (&self.session, self.api_version()) {
            (Some(session), Some(version)) => Ok((version, session.site_id.clone())),
            _ => Err(Error::NotSignedIn),
        }
    }

    /// Sends a request with retries (spec §11) and one re-sign-in on `401002`.
    ///
    /// Returns 2xx responses (and 3xx ones for `redirectable` requests); other
    /// statuses become errors.
    pub(crate) fn execute(&mut self, request: &Request) -> Result<Response> {
        let retry = self.config.retry.clone();
        let mut attempt = 0u32;
        let mut signed_in_again = false;
        loop {
            attempt += 1;
            self.config.log(&request.describe());
            let token = self.session.as_ref().map(|s| s.token.clone());
            let (error, retry_after, retryable) = match http::send(
                &self.agent,
                &self.base_url,
                request,
                token.as_ref(),
            ) {
                Ok(response) => {
                    let status = response.status;
                    self.config
                        .log(&format!("<- {status} ({} bytes)", response.body.len()));
                    if (200..300).contains(&status)
                        || (request.redirectable && (300..400).contains(&status))
                    {
                        return Ok(response);
                    }
                    let error = self.error_of(request, &response);
                    let expired = status == 401 && error.tableau_code() == Some("401002");
                    if expired && request.auth && request.resign_on_expiry && !signed_in_again {
                        self.config.log("the session expired (401002): signing in again and replaying the request");
                        signed_in_again = true;
                        attempt -= 1;
                        self.sign_in()?;
                        continue;
                    }
                    let idempotent_retry = request.idempotent && matches!(status, 500 | 502 | 504);
                    (
                        error,
                        response.retry_after,
                        matches!(status, 429 | 503) || idempotent_retry,
                    )
                }
                Err(error) => (error, None, request.idempotent),
            };
            if !retryable || attempt >= retry.max_attempts {
                if attempt > 1 {
                    return Err(Error::RetriesExhausted {
                        method: request.method.as_str(),
                        path: request.target(),
                        attempts: attempt,
                        source: Box::new(error),
                    });
                }
                return Err(error);
            }
            let delay = match retry_after {
                Some(after) => after.min(retry.max_delay),
                None if retry.jitter => retry
                    .backoff(attempt)
                    .mul_f64(0.5 + (http::random_u64() % 1000) as f64 / 2000.0),
                None => retry.backoff(attempt),
            };
            self.config.log(&format!(
                "retrying {} {} in {} ms (attempt {} of {}): {error}",
                request.method.as_str(),
                request.target(),
                delay.as_millis(),
                attempt + 1,
                retry.max_attempts
            ));
            (self.config.sleeper)(delay);
        }
    }

    /// The error for a non-success response.
    fn error_of(&self, request: &Request, response: &Response) -> Error {
        let what = format!("reply to {} {}", request.method.as_str(), request.target());
        let parsed =
            response::parse_response_for(&response.body, &what, response.content_type.as_deref());
        match parsed {
            Ok(TsResponse { error: Some(e), .. }) => Error::Tableau {
                method: request.method.as_str(),
                path: request.target(),
                status: response.status,
                code: self.redact(&e.code),
                summary: self.redact(&e.summary),
                detail: self.redact(&e.detail),
            },
            _ => Error::Http {
                method: request.method.as_str(),
                path: request.target(),
                status: response.status,
                content_type: response.content_type.clone(),
                excerpt: self.redact(&response::excerpt(&response.body)),
            },
        }
    }

    /// Parses a success response; an `<error>` inside one is still an error.
    pub(crate) fn parse(&self, request: &Request, response: &Response) -> Result<TsResponse> {
        let what = format!("reply to {} {}", request.method.as_str(), request.target());
        let parsed =
            response::parse_response_for(&response.body, &what, response.content_type.as_deref())
                .map_err(|e| self.redact_error(e))?;
        if let Some(e) = &parsed.error {
            return Err(Error::Tableau {
                method: request.method.as_str(),
                path: request.target(),
                status: response.status,
                code: self.redact(&e.code),
                summary: self.redact(&e.summary),
                detail: self.redact(&e.detail),
            });
        }
        Ok(parsed)
    }

    fn redact_error(&self, error: Error) -> Error {
        match error {
            Error::Xml { what, reason } => Error::Xml {
                what,
                reason: self.redact(&reason),
            },
            Error::NonXml {
                what,
                content_type,
                excerpt,
            } => Error::NonXml {
                what,
                content_type,
                excerpt: self.redact(&excerpt),
            },
            other => other,
        }
    }

    /// Replaces every secret the client knows with `***` in server text (a server
    /// or proxy may echo a credential back).
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        let token = self.session.as_ref().map(|s| &s.token);
        for secret in self.config.credentials.secrets().into_iter().chain(token) {
            if !secret.is_empty() {
                out = out.replace(secret.expose(), "***");
            }
        }
        out
    }
}

/// `<tsRequest><credentials …><site contentUrl="…" /></credentials></tsRequest>` (spec §3).
fn sign_in_body(credentials: &Credentials, site: &str) -> Vec<u8> {
    let attrs = match credentials {
        Credentials::PersonalAccessToken { name, secret } => format!(
            "personalAccessTokenName=\"{}\" personalAccessTokenSecret=\"{}\"",
            escape(name),
            escape(secret.expose())
        ),
        Credentials::Password { username, password } => {
            format!(
                "name=\"{}\" password=\"{}\"",
                escape(username),
                escape(password.expose())
            )
        }
        Credentials::ConnectedAppJwt { jwt } => {
            format!("jwt=\"{}\" isUat=\"false\"", escape(jwt.expose()))
        }
    };
    format!(
        "<tsRequest><credentials {attrs}><site contentUrl=\"{}\" /></credentials></tsRequest>",
        escape(site)
    )
    .into_bytes()
}

/// `scheme://authority` of an absolute http(s) URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .filter(|a| !a.is_empty())?;
    Some(format!("{scheme}://{authority}"))
}

pub(crate) fn missing(request: &Request, element: &str) -> Error {
    Error::Xml {
        what: format!("reply to {} {}", request.method.as_str(), request.target()),
        reason: format!("the document has no {element}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_bodies() {
        let body = sign_in_body(
            &Credentials::personal_access_token("hyperctl-test", "s&cret"),
            "Samples",
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "<tsRequest><credentials personalAccessTokenName=\"hyperctl-test\" personalAccessTokenSecret=\"s&amp;cret\"><site contentUrl=\"Samples\" /></credentials></tsRequest>"
        );
        let body =
            String::from_utf8(sign_in_body(&Credentials::connected_app_jwt("j"), "")).unwrap();
        assert!(body.contains("jwt=\"j\" isUat=\"false\""));
        let body = String::from_utf8(sign_in_body(&Credentials::password("u", "p"), "")).unwrap();
        assert!(body.contains("name=\"u\" password=\"p\""));
    }

    #[test]
    fn server_text_is_redacted() {
        let config = PublishConfig::builder(
            "https://x",
            "",
            Credentials::personal_access_token("n", "s3cret-value"),
        )
        .build()
        .unwrap();
        let mut client = Client::new(config).unwrap();
        client.session = Some(Session {
            token: crate::Secret::new("tok-value"),
            site_id: "site".into(),
            site_content_url: String::new(),
            user_id: None,
        });
        assert_eq!(
            client.redact("bad s3cret-value and tok-value!"),
            "bad *** and ***!"
        );
        let response = Response {
            status: 401,
            content_type: Some("text/html".into()),
            retry_after: None,
            location: None,
            body: b"<html>token tok-value rejected</html>".to_vec(),
        };
        let request = Request::new(Method::Get, "/api/3.10/x".into());
        let text = format!(
            "{:?} {}",
            client.error_of(&request, &response),
            client.error_of(&request, &response)
        );
        assert!(!text.contains("tok-value"), "the token leaked");
        assert!(
            !format!("{client:?}").contains("tok-value")
                && !format!("{client:?}").contains("s3cret")
        );
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://pod.example.com/api/3.10/auth/signin").as_deref(),
            Some("https://pod.example.com")
        );
        assert_eq!(origin("ftp://x/y"), None);
        assert_eq!(origin("https:///x"), None);
    }
}
