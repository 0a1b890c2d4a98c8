//! Acceptance 2: the requests hyperctl sends match the requests of the real
//! client observed in spec §13 (TSC 0.42): method, path, query parameters,
//! headers (minus secrets) and multipart part headers.
//!
//! Deliberate differences, each from the spec:
//! - serverInfo is asked before sign-in (as TSC HEAD does), so sign-in already
//!   uses the negotiated version, not 2.4 (§2);
//! - CreateNew sends neither flag; TSC's `createnew=true` is undocumented (§7);
//! - a 429 is retried (TSC raised at once, §11);
//! - User-Agent names hyperctl; Accept-Encoding is `gzip` (TSC: `gzip, deflate`).
//!
//! Paths are compared with the version as `{v}`, the site as `S`, upload
//! sessions as `U` and job ids as `J`.

use hyperctl_publish::emulator::{self, Emulator, Fault, RecordedRequest};
use hyperctl_publish::{
    ApiVersion, Client, Condition, Constant, PublishMode, PublishOptions, TableRef, UpdateAction,
    UpdateRequest,
};

use crate::{Capture, config, file};

fn normalise(r: &RecordedRequest, jobs: &[String]) -> String {
    let mut path = r
        .path
        .replace(&format!("/sites/{}", emulator::SITE_ID), "/sites/S");
    path = path.replacen("/api/3.13/", "/api/{v}/", 1);
    let mut query: Vec<String> = r.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for q in &mut query {
        if q.starts_with("uploadSessionId=") {
            *q = "uploadSessionId=U".to_owned();
        }
    }
    if let Some(at) = path.find("/fileUploads/") {
        path.replace_range(at + "/fileUploads/".len().., "U");
    }
    for job in jobs {
        path = path.replace(job, "J");
    }
    path = path.replace(emulator::SAMPLE_DATASOURCE_ID, "e76a");
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    format!("{} {path}{query}", r.method)
}

#[test]
fn requests_match_the_observed_real_client() {
    // 3.13 so that the update actions (observed at a forced 3.13) run too.
    let server = Emulator::builder()
        .rest_api_version(ApiVersion::new(3, 13))
        .start()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let capture = Capture::default();
    let base = || {
        config(&server, &capture)
            .chunk_threshold_bytes(1024 * 1024)
            .chunk_size_bytes(1024 * 1024)
    };
    let mut client = Client::new(base().page_size(2).build().unwrap()).unwrap();
    client.sign_in().unwrap(); // 1-2
    client.list_projects(None, 10).unwrap(); // 3-4
    // TSC's later calls use page size 100: a second client (which negotiates and
    // signs in again, 5-6 below).
    let mut client2 = Client::new(base().build().unwrap()).unwrap();
    client2.sign_in().unwrap();
    let child = client2.find_project("Tableau/Tableau > Child 1").unwrap(); // 5-6
    assert_eq!(child.id, emulator::CHILD_PROJECT_ID);
    let default = emulator::DEFAULT_PROJECT_ID;
    let small = file(dir.path(), "small.hyper", 4096);
    let overwrite = PublishOptions::new(default)
        .name("SampleDS")
        .mode(PublishMode::Overwrite)
        .as_job(false);
    client2
        .publish_datasource(&small, &overwrite, &mut |_| {})
        .unwrap(); // 7
    let big = file(dir.path(), "big.hyper", 5 * 512 * 1024);
    client2
        .publish_datasource(&big, &overwrite, &mut |_| {})
        .unwrap(); // 8-12
    let create = PublishOptions::new(default).name("SampleDS");
    client2
        .publish_datasource(&small, &create, &mut |_| {})
        .unwrap_err(); // 13
    client2
        .publish_datasource(&small, &create.clone().name("NewDS"), &mut |_| {})
        .unwrap(); // 14
    let append = PublishOptions::new(default)
        .name("SampleDS")
        .mode(PublishMode::Append)
        .as_job(true);
    client2
        .publish_datasource(&small, &append, &mut |_| {})
        .unwrap(); // 15-17
    let actions = vec![
        UpdateAction::Insert {
            source: TableRef::new("Extract", "Extract"),
            target: TableRef::new("Extract", "Extract"),
        },
        UpdateAction::Delete {
            source: Some(TableRef::new("Extract", "Extract")),
            target: TableRef::new("Extract", "Extract"),
            condition: Condition::Compare {
                op: "eq".into(),
                target_col: "id".into(),
                value: Constant::Integer(3),
            },
        },
    ];
    let update = UpdateRequest::new(actions).payload(&small);
    client2
        .update_data(emulator::SAMPLE_DATASOURCE_ID, &update, &mut |_| {})
        .unwrap(); // 18-22
    server.inject(Fault::status("GET", "/projects", 429));
    client2.list_projects(None, 1).unwrap(); // 23 (+ our retry)
    client2.sign_out().unwrap(); // 24
    client.sign_out().unwrap();

    let requests = server.requests();
    let jobs: Vec<String> = requests
        .iter()
        .filter_map(|r| r.path.split("/jobs/").nth(1).map(str::to_owned))
        .collect();
    let actual: Vec<String> = requests.iter().map(|r| normalise(r, &jobs)).collect();
    let expected = [
        "GET /api/2.4/serverInfo",
        "POST /api/{v}/auth/signin",
        "GET /api/{v}/sites/S/projects?pageNumber=1&pageSize=2",
        "GET /api/{v}/sites/S/projects?pageNumber=2&pageSize=2",
        "GET /api/2.4/serverInfo",
        "POST /api/{v}/auth/signin",
        "GET /api/{v}/sites/S/projects?filter=name%3Aeq%3ATableau&pageNumber=1&pageSize=100",
        "GET /api/{v}/sites/S/projects?filter=name%3Aeq%3ATableau+%3E+Child+1&pageNumber=1&pageSize=100",
        "POST /api/{v}/sites/S/datasources?datasourceType=hyper&overwrite=true",
        "POST /api/{v}/sites/S/fileUploads",
        "PUT /api/{v}/sites/S/fileUploads/U",
        "PUT /api/{v}/sites/S/fileUploads/U",
        "PUT /api/{v}/sites/S/fileUploads/U",
        "POST /api/{v}/sites/S/datasources?datasourceType=hyper&overwrite=true&uploadSessionId=U",
        "POST /api/{v}/sites/S/datasources?datasourceType=hyper",
        "POST /api/{v}/sites/S/datasources?datasourceType=hyper",
        "POST /api/{v}/sites/S/datasources?datasourceType=hyper&append=true&asJob=true",
        "GET /api/{v}/sites/S/jobs/J",
        "GET /api/{v}/sites/S/jobs/J",
        "POST /api/{v}/sites/S/fileUploads",
        "PUT /api/{v}/sites/S/fileUploads/U",
        "PATCH /api/{v}/sites/S/datasources/e76a/data?uploadSessionId=U",
        "GET /api/{v}/sites/S/jobs/J",
        "GET /api/{v}/sites/S/jobs/J",
        "GET /api/{v}/sites/S/projects?pageNumber=1&pageSize=100",
        "GET /api/{v}/sites/S/projects?pageNumber=1&pageSize=100",
        "POST /api/{v}/auth/signout",
        "POST /api/{v}/auth/signout",
    ];
    assert_eq!(actual, expected);
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            200, 200, 200, 200, 200, 200, 200, 200, 201, 201, 200, 200, 200, 201, 403, 201, 202,
            200, 200, 201, 200, 202, 200, 200, 429, 200, 204, 204
        ]
    );
    assert!(server.violations().is_empty(), "{:?}", server.violations());

    for (i, r) in requests.iter().enumerate() {
        check_headers(i, r);
    }
    // Chunk sizes as observed: 1 MiB, 1 MiB, 0.5 MiB.
    let chunks: Vec<usize> = requests[10..13].iter().map(|r| r.parts[1].len).collect();
    assert_eq!(chunks, [1048576, 1048576, 524288]);
    // The publish payload is byte for byte TSC's (117 B).
    assert_eq!(
        requests[8].parts[0].body,
        b"<tsRequest><datasource name=\"SampleDS\"><project id=\"ee8c6e70-43b6-11e6-af4f-f7b0d8e20760\" /></datasource></tsRequest>"
    );
    // The sign-in body has TSC's shape (165 B with its secret of 19 characters).
    let signin = String::from_utf8(requests[1].body.clone()).unwrap();
    assert!(signin.starts_with("<tsRequest><credentials personalAccessTokenName=\"hyperctl-test\" personalAccessTokenSecret=\""));
    assert!(signin.ends_with("\"><site contentUrl=\"Samples\" /></credentials></tsRequest>"));
}

fn check_headers(i: usize, r: &RecordedRequest) {
    let at = format!("request {i} ({} {})", r.method, r.path);
    assert_eq!(r.header("accept"), Some("*/*"), "{at}");
    assert!(
        r.header("accept-encoding")
            .is_some_and(|e| e.contains("gzip")),
        "{at}"
    );
    assert!(
        r.header("user-agent")
            .is_some_and(|u| u.starts_with("hyperctl/")),
        "{at}"
    );
    let signs_in = r.path.ends_with("/auth/signin") || r.path.ends_with("/serverInfo");
    // x-tableau-auth after sign-in only (its value is a secret: length only;
    // the recorded token has 32 characters, later ones a suffix).
    assert_eq!(r.header("x-tableau-auth").is_some(), !signs_in, "{at}");
    if !signs_in {
        assert!(
            r.header("x-tableau-auth").is_some_and(|t| t.len() >= 32),
            "{at}"
        );
    }
    let content_type = r.header("content-type");
    let length = r.header("content-length");
    match (r.method.as_str(), r.path.rsplit('/').next().unwrap_or("")) {
        ("GET", _) => assert_eq!((content_type, r.body.len()), (None, 0), "{at}"),
        ("POST", "signin") => assert_eq!(content_type, Some("text/xml"), "{at}"),
        ("POST", "signout" | "fileUploads") => assert_eq!(
            (content_type, length),
            (Some("text/xml"), Some("0")),
            "{at}"
        ),
        ("POST" | "PUT", _) => {
            let boundary = content_type
                .and_then(|c| c.strip_prefix("multipart/mixed; boundary="))
                .unwrap_or("");
            assert!(
                boundary.len() == 32 && boundary.chars().all(|c| c.is_ascii_hexdigit()),
                "{at}"
            );
            check_parts(&at, r);
        }
        ("PATCH", _) => {
            assert_eq!(content_type, Some("application/json"), "{at}");
            assert_eq!(r.header("requestid").map(str::len), Some(36), "{at}");
        }
        other => panic!("unexpected {other:?} at {at}"),
    }
}

fn check_parts(at: &str, r: &RecordedRequest) {
    let heads: Vec<Vec<(String, String)>> = r.parts.iter().map(|p| p.headers.clone()).collect();
    let part = |name: &str, filename: &str, content_type: &str| {
        vec![
            (
                "Content-Disposition".to_owned(),
                format!("form-data; name=\"{name}\"; filename=\"{filename}\""),
            ),
            ("Content-Type".to_owned(), content_type.to_owned()),
        ]
    };
    let payload = part("request_payload", "", "text/xml");
    let expected = if r.method == "PUT" {
        assert_eq!(r.parts[0].len, 0, "{at}");
        vec![
            payload,
            part("tableau_file", "file", "application/octet-stream"),
        ]
    } else if r.query_value("uploadSessionId").is_some() {
        vec![payload]
    } else {
        vec![
            payload,
            part(
                "tableau_datasource",
                "small.hyper",
                "application/octet-stream",
            ),
        ]
    };
    assert_eq!(heads, expected, "{at}");
}
