//! Publish modes, chunked uploads with restarts, jobs and update actions.

use std::time::Duration;

use hyperctl_publish::emulator::{self, Emulator, Fault};
use hyperctl_publish::{
    ApiVersion, Client, Condition, Constant, Error, Progress, PublishMode, PublishOptions,
    TableRef, UpdateAction, UpdateRequest, publish,
};

use crate::{Capture, config, file, lines, progress_log};

fn signed_in(server: &Emulator, capture: &Capture) -> Client {
    let mut client = Client::new(config(server, capture).build().unwrap()).unwrap();
    client.sign_in().unwrap();
    client
}

fn stored(server: &Emulator, name: &str) -> emulator::StoredDatasource {
    server
        .datasources()
        .into_iter()
        .find(|d| d.name == name)
        .unwrap()
}

#[test]
fn create_new_overwrite_and_append() {
    let server = Emulator::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut client = signed_in(&server, &Capture::default());
    let first = file(dir.path(), "sales.hyper", 4096);
    let options = PublishOptions::new(emulator::DEFAULT_PROJECT_ID);

    // CreateNew with a new name: 201 and the data source.
    let outcome = client
        .publish_datasource(&first, &options, &mut |_| {})
        .unwrap();
    let ds = outcome.datasource.unwrap();
    assert_eq!(ds.name, "sales");
    assert_eq!(ds.project_id.as_deref(), Some(emulator::DEFAULT_PROJECT_ID));
    assert!(!outcome.chunked && outcome.job.is_none());
    assert_eq!(
        stored(&server, "sales").content,
        std::fs::read(&first).unwrap()
    );

    // CreateNew again: the name clash is 403 403007, not 409.
    let err = client
        .publish_datasource(&first, &options, &mut |_| {})
        .unwrap_err();
    assert_eq!(
        (err.http_status(), err.tableau_code()),
        (Some(403), Some("403007"))
    );
    assert!(
        err.to_string()
            .contains("The datasource 'sales' already exists"),
        "{err}"
    );
    assert!(err.to_string().contains("Overwrite"), "{err}");

    // Overwrite replaces.
    let second = file(dir.path(), "other.hyper", 100);
    let overwrite = options.clone().name("sales").mode(PublishMode::Overwrite);
    client
        .publish_datasource(&second, &overwrite, &mut |_| {})
        .unwrap();
    let replaced = stored(&server, "sales");
    assert_eq!((replaced.content.len(), replaced.publishes), (100, 2));

    // Append adds rows (here: bytes).
    let append = options
        .clone()
        .name("sales")
        .mode(PublishMode::Append)
        .as_job(false);
    client
        .publish_datasource(&first, &append, &mut |_| {})
        .unwrap();
    assert_eq!(stored(&server, "sales").content.len(), 100 + 4096);

    // Append to a missing data source fails as not found.
    let missing = options.clone().name("nope").mode(PublishMode::Append);
    assert_eq!(
        client
            .publish_datasource(&first, &missing, &mut |_| {})
            .unwrap_err()
            .http_status(),
        Some(404)
    );

    let s = "/api/3.10/sites/6b7179ba-b82b-4f0f-91ed-812074ac5da6";
    assert_eq!(
        lines(&server)[2..],
        [
            format!("POST {s}/datasources?datasourceType=hyper 201"),
            format!("POST {s}/datasources?datasourceType=hyper 403"),
            format!("POST {s}/datasources?datasourceType=hyper&overwrite=true 201"),
            format!("POST {s}/datasources?datasourceType=hyper&append=true 201"),
            format!("POST {s}/datasources?datasourceType=hyper&append=true 404"),
        ]
    );
    client.sign_out().unwrap();
    assert!(server.violations().is_empty(), "{:?}", server.violations());
}

#[test]
fn workflow_signs_out_after_a_name_clash() {
    let server = Emulator::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "SampleDS.hyper", 10);
    let config = config(&server, &Capture::default()).build().unwrap();
    let err = publish(&config, &path, &mut |_| {}).unwrap_err();
    assert_eq!(err.tableau_code(), Some("403007"));
    let l = lines(&server);
    assert_eq!(l.last().unwrap(), "POST /api/3.10/auth/signout 204");
    assert!(server.valid_tokens().is_empty());

    // And after success, into a nested project.
    let config = crate::config(&server, &Capture::default())
        .project("Tableau/Tableau > Child 1")
        .name("Sales & Co")
        .mode(PublishMode::Overwrite)
        .build()
        .unwrap();
    let outcome = publish(&config, &path, &mut |_| {}).unwrap();
    assert_eq!(outcome.project_id, emulator::CHILD_PROJECT_ID);
    assert_eq!(outcome.datasource.unwrap().name, "Sales & Co");
    assert!(server.valid_tokens().is_empty());
    let publish_request = server
        .requests()
        .into_iter()
        .find(|r| r.status == 201)
        .unwrap();
    let payload = String::from_utf8(publish_request.parts[0].body.clone()).unwrap();
    assert!(payload.contains("name=\"Sales &amp; Co\""), "{payload}");
    assert!(server.violations().is_empty(), "{:?}", server.violations());
}

#[test]
fn chunked_upload_at_the_threshold() {
    let server = Emulator::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let capture = Capture::default();
    let config = config(&server, &capture)
        .chunk_threshold_bytes(1000)
        .chunk_size_bytes(400)
        .build()
        .unwrap();
    let mut client = Client::new(config).unwrap();
    client.sign_in().unwrap();
    let path = file(dir.path(), "big.hyper", 1000);
    let (events, mut progress) = progress_log();
    let options = PublishOptions::new(emulator::DEFAULT_PROJECT_ID).mode(PublishMode::Overwrite);
    let outcome = client
        .publish_datasource(&path, &options, &mut progress)
        .unwrap();
    assert!(outcome.chunked);
    assert_eq!(outcome.upload_sessions, 1);
    // Chunked uploads default to asJob, and the job was polled to completion.
    assert!(outcome.job.unwrap().succeeded());
    assert_eq!(
        stored(&server, "big").content,
        std::fs::read(&path).unwrap()
    );
    let puts: Vec<usize> = server
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.parts[1].len)
        .collect();
    assert_eq!(puts, [400, 400, 200]);
    let commit = server
        .requests()
        .into_iter()
        .find(|r| r.query_value("uploadSessionId").is_some())
        .unwrap();
    assert_eq!(
        commit.query_value("uploadSessionId"),
        Some("7720:170fe6b1c1c7422dadff20f944d58a52-1:0")
    );
    assert_eq!(commit.parts.len(), 1);
    let uploads: Vec<(u64, u64)> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Progress::Upload {
                sent_bytes,
                total_bytes,
            } => Some((*sent_bytes, *total_bytes)),
            _ => None,
        })
        .collect();
    assert_eq!(uploads, [(0, 1000), (400, 1000), (800, 1000), (1000, 1000)]);
    assert!(events.lock().unwrap().contains(&Progress::Committing));

    // One byte less goes in one request.
    let small = file(dir.path(), "small.hyper", 999);
    assert!(
        !client
            .publish_datasource(&small, &options, &mut |_| {})
            .unwrap()
            .chunked
    );
    assert!(server.violations().is_empty(), "{:?}", server.violations());
}

#[test]
fn a_failed_chunk_restarts_the_upload_session() {
    let server = Emulator::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The second append fails with an HTML 500; appends are not retried in place.
    server.inject(Fault::status("PUT", "/fileUploads/", 500).after(1));
    let capture = Capture::default();
    let config = config(&server, &capture)
        .chunk_threshold_bytes(10)
        .chunk_size_bytes(4)
        .as_job(false)
        .build()
        .unwrap();
    let mut client = Client::new(config).unwrap();
    client.sign_in().unwrap();
    let path = file(dir.path(), "restart.hyper", 10);
    let (events, mut progress) = progress_log();
    let outcome = client
        .publish_datasource(
            &path,
            &PublishOptions::new(emulator::DEFAULT_PROJECT_ID).as_job(false),
            &mut progress,
        )
        .unwrap();
    assert_eq!(outcome.upload_sessions, 2);
    assert_eq!(
        stored(&server, "restart").content,
        std::fs::read(&path).unwrap()
    );
    let s = "/api/3.10/sites/6b7179ba-b82b-4f0f-91ed-812074ac5da6/fileUploads";
    assert_eq!(lines(&server)[2..], [
        format!("POST {s} 201"),
        format!("PUT {s}/7720:170fe6b1c1c7422dadff20f944d58a52-1:0 200"),
        format!("PUT {s}/7720:170fe6b1c1c7422dadff20f944d58a52-1:0 500"),
        format!("POST {s} 201"),
        format!("PUT {s}/7720:170fe6b1c1c7422dadff20f944d58a52-2:0 200"),
        format!("PUT {s}/7720:170fe6b1c1c7422dadff20f944d58a52-2:0 200"),
        format!("PUT {s}/7720:170fe6b1c1c7422dadff20f944d58a52-2:0 200"),
        "POST /api/3.10/sites/6b7179ba-b82b-4f0f-91ed-812074ac5da6/datasources?datasourceType=hyper&uploadSessionId=7720:170fe6b1c1c7422dadff20f944d58a52-2:0 201".to_owned(),
    ]);
    assert!(
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, Progress::UploadRestarted { session: 2, .. }))
    );

    // When every session fails, the error says how many were tried.
    server.inject(Fault::status("PUT", "/fileUploads/", 503).times(100));
    let err = client
        .publish_datasource(
            &path,
            &PublishOptions::new(emulator::DEFAULT_PROJECT_ID).as_job(false),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::Upload { sessions: 3, .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(503));
    assert!(server.violations().is_empty(), "{:?}", server.violations());
}

#[test]
fn as_job_polls_until_completed_at() {
    // The asJob reply carries finishCode="1" without completedAt: not a failure.
    let server = Emulator::builder()
        .job_polls_before_done(2)
        .start()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let capture = Capture::default();
    let mut client = signed_in(&server, &capture);
    let path = file(dir.path(), "SampleDS.hyper", 64);
    let options = PublishOptions::new(emulator::DEFAULT_PROJECT_ID)
        .mode(PublishMode::Append)
        .as_job(true);
    let (events, mut progress) = progress_log();
    let outcome = client
        .publish_datasource(&path, &options, &mut progress)
        .unwrap();
    let job = outcome.job.unwrap();
    assert!(job.succeeded());
    assert_eq!(job.finish_code, Some(0));
    let polls: Vec<String> = lines(&server)
        .into_iter()
        .filter(|l| l.contains("/jobs/"))
        .collect();
    assert_eq!(polls.len(), 3);
    let jobs = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Progress::Job { .. }))
        .count();
    assert_eq!(jobs, 3);
    // The waits follow the poll policy (zero here), one per poll.
    assert_eq!(capture.sleeps(), [Duration::ZERO; 3]);

    // A failed job is an error with the job's notes.
    let server = Emulator::builder().job_finish_code(1).start().unwrap();
    let mut client = signed_in(&server, &Capture::default());
    let err = client
        .publish_datasource(&path, &options, &mut |_| {})
        .unwrap_err();
    match &err {
        Error::Job {
            finish_code: 1,
            notes,
            ..
        } => assert!(notes[0].contains("Login failed"), "{notes:?}"),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("failed"), "{err}");
}

#[test]
fn update_actions_with_an_idempotent_request_id() {
    let server = Emulator::builder()
        .rest_api_version(ApiVersion::new(3, 13))
        .start()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut client = signed_in(&server, &Capture::default());
    let payload = file(dir.path(), "changes.hyper", 4096);
    let actions = vec![
        UpdateAction::Insert {
            source: TableRef::new("Extract", "Extract"),
            target: TableRef::new("Extract", "Extract"),
        },
        UpdateAction::Delete {
            source: None,
            target: TableRef::new("Extract", "Extract"),
            condition: Condition::Compare {
                op: "eq".into(),
                target_col: "Region".into(),
                value: Constant::String("Europe".into()),
            },
        },
    ];
    // The first PATCH meets a 502: retried (idempotent thanks to the RequestID).
    server.inject(Fault::status("PATCH", "/data", 502));
    let update = UpdateRequest::new(actions)
        .payload(&payload)
        .request_id("req-1");
    let job = client
        .update_data(emulator::SAMPLE_DATASOURCE_ID, &update, &mut |_| {})
        .unwrap();
    assert!(job.succeeded());
    let patches: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 2);
    assert!(
        patches
            .iter()
            .all(|p| p.header("requestid") == Some("req-1"))
    );
    assert_eq!(patches[1].header("content-type"), Some("application/json"));
    let body: hyperctl_publish::serde_json::Value =
        hyperctl_publish::serde_json::from_slice(&patches[1].body).unwrap();
    assert_eq!(body["actions"][0]["action"], "insert");
    assert_eq!(body["actions"][1]["condition"]["const"]["v"], "Europe");
    assert_eq!(server.updates_applied(), 1);

    // Sending the same RequestID again is answered but not applied again.
    let again = UpdateRequest::new(vec![UpdateAction::Delete {
        source: None,
        target: TableRef::table("Extract"),
        condition: Condition::Compare {
            op: "eq".into(),
            target_col: "id".into(),
            value: Constant::Integer(1),
        },
    }])
    .request_id("req-1");
    client
        .update_data(emulator::SAMPLE_DATASOURCE_ID, &again, &mut |_| {})
        .unwrap();
    assert_eq!(server.updates_applied(), 1);
    // A generated RequestID is a UUID.
    let fresh = UpdateRequest::new(again.actions.clone()).wait_for_job(false);
    client
        .update_data(emulator::SAMPLE_DATASOURCE_ID, &fresh, &mut |_| {})
        .unwrap();
    let last = server
        .requests()
        .into_iter()
        .rfind(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(last.header("requestid").unwrap().len(), 36);
    assert_eq!(server.updates_applied(), 2);
    assert!(server.violations().is_empty(), "{:?}", server.violations());

    // Below 3.13 the call is refused before anything is sent.
    let old = Emulator::start().unwrap();
    let mut client = signed_in(&old, &Capture::default());
    let err = client
        .update_data(emulator::SAMPLE_DATASOURCE_ID, &update, &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion { .. }), "{err:?}");
}

#[test]
fn rate_limits_honour_retry_after() {
    let server = Emulator::start().unwrap();
    let capture = Capture::default();
    let mut client = signed_in(&server, &capture);
    server.inject(Fault::status("GET", "/projects", 429).retry_after(7));
    server.inject(Fault::status("GET", "/projects", 503));
    client.find_project("Tableau").unwrap();
    let statuses: Vec<u16> = server.requests().iter().skip(2).map(|r| r.status).collect();
    assert_eq!(statuses, [429, 503, 200]);
    // Retry-After: 7 s; then the backoff's first step (0 here, as configured).
    assert_eq!(capture.sleeps(), [Duration::from_secs(7), Duration::ZERO]);
    assert!(
        capture
            .logs()
            .iter()
            .any(|l| l.contains("retrying GET") && l.contains("HTTP 429"))
    );

    // Retry-After is capped by the policy's longest wait.
    server.inject(Fault::status("GET", "/projects", 429).retry_after(3600));
    client.find_project("Tableau").unwrap();
    assert_eq!(capture.sleeps()[2], Duration::from_secs(60));

    // A 502 on a publish (not idempotent) is not retried.
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "x.hyper", 10);
    server.inject(Fault::status("POST", "/datasources", 502));
    let err = client
        .publish_datasource(
            &path,
            &PublishOptions::new(emulator::DEFAULT_PROJECT_ID),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::Http { status: 502, .. }), "{err:?}");

    // Retries run out after max_attempts (5), with the last failure as the source.
    server.inject(Fault::status("GET", "/projects", 429).times(5));
    let err = client.find_project("Tableau").unwrap_err();
    assert!(
        matches!(err, Error::RetriesExhausted { attempts: 5, .. }),
        "{err:?}"
    );
    assert_eq!(err.http_status(), Some(429));
}
