//! Acceptance 4: no log line, error, Debug output or rendered request log holds
//! the PAT secret or an auth token. The test runs successes and failures with
//! recognisable secrets and scans everything it can capture. On a leak it names
//! the place, never the text.

use std::path::Path;

use hyperctl_publish::emulator::{self, Emulator, Fault, FaultReply};
use hyperctl_publish::{
    ApiVersion, Client, Credentials, PublishMode, PublishOptions, UpdateRequest, publish,
};

use crate::{Capture, config_with, file, progress_log};

const SECRET: &str = "PATSECRET-7f3a9c1e";
const TOKEN: &str = "AUTHTOKEN-0b1d2e4f";

fn chain(error: &dyn std::error::Error) -> Vec<String> {
    let mut out = vec![error.to_string(), format!("{error:?}")];
    let mut source = error.source();
    while let Some(e) = source {
        out.push(e.to_string());
        out.push(format!("{e:?}"));
        source = e.source();
    }
    out
}

#[test]
fn secrets_never_leak() {
    let server = Emulator::builder()
        .pat("ci", SECRET)
        .token(TOKEN)
        .rest_api_version(ApiVersion::new(3, 13))
        .job_finish_code(1)
        .start()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let capture = Capture::default();
    let credentials = Credentials::personal_access_token("ci", SECRET);
    let builder = || {
        config_with(&server, &capture, credentials.clone())
            .chunk_threshold_bytes(100)
            .chunk_size_bytes(40)
    };
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut keep = |place: &str, text: String| texts.push((place.to_owned(), text));

    let config = builder().build().unwrap();
    keep("config debug", format!("{config:?}"));
    let mut client = Client::new(config.clone()).unwrap();
    let session = client.sign_in().unwrap().clone();
    keep("session debug", format!("{session:?}"));
    keep("client debug", format!("{client:?}"));
    let (events, mut progress) = progress_log();
    let path = file(dir.path(), "SampleDS.hyper", 150);

    // Failures of many kinds, with the session's token live.
    let mut errors = Vec::new();
    errors.push(
        client
            .publish_datasource(
                &path,
                &PublishOptions::new(emulator::DEFAULT_PROJECT_ID),
                &mut progress,
            )
            .unwrap_err(),
    ); // 403007 / job failure
    server.expire_tokens();
    server.inject(
        Fault::status("GET", "/projects", 429)
            .retry_after(1)
            .times(10),
    );
    errors.push(client.find_project("Tableau").unwrap_err());
    server.inject(Fault::status("PUT", "/fileUploads/", 500).times(10));
    let overwrite = PublishOptions::new(emulator::DEFAULT_PROJECT_ID).mode(PublishMode::Overwrite);
    errors.push(
        client
            .publish_datasource(&path, &overwrite, &mut progress)
            .unwrap_err(),
    );
    errors.push(
        client
            .publish_datasource(&path, &overwrite.clone().as_job(true), &mut progress)
            .unwrap_err(),
    );
    errors.push(client.find_project("Tableau/Nope").unwrap_err());
    server.inject(Fault::new("GET", "/projects", FaultReply::HtmlOk));
    errors.push(client.find_project("Tableau").unwrap_err());
    server.inject(Fault::new("GET", "/projects", FaultReply::GarbageXml));
    errors.push(client.find_project("Tableau").unwrap_err());
    let update = UpdateRequest::new(Vec::new()).request_id("r");
    errors.push(
        client
            .update_data("missing", &update, &mut progress)
            .unwrap_err(),
    );
    keep("client debug, signed in again", format!("{client:?}"));
    client.sign_out().unwrap();

    // Bad credentials, and the whole workflow with a failing job.
    let wrong = Credentials::personal_access_token("ci", "WRONG-SECRET-5a5a");
    let bad = config_with(&server, &capture, wrong).build().unwrap();
    errors.push(Client::new(bad).unwrap().sign_in().unwrap_err());
    errors.push(publish(&config, &path, &mut progress).unwrap_err());
    errors.push(publish(&config, Path::new("nope.hyper"), &mut progress).unwrap_err());

    for (i, e) in errors.iter().enumerate() {
        for (j, text) in chain(e).into_iter().enumerate() {
            keep(&format!("error {i} chain {j}"), text);
        }
    }
    for (i, line) in capture.logs().into_iter().enumerate() {
        keep(&format!("log line {i}"), line);
    }
    for (i, request) in server.requests().iter().enumerate() {
        keep(&format!("request {i} render"), request.render());
        keep(&format!("request {i} debug"), format!("{request:?}"));
    }
    keep("progress", format!("{:?}", events.lock().unwrap()));

    assert!(texts.len() > 100, "the scan saw only {} texts", texts.len());
    assert!(server.requests().len() > 30);
    for (place, text) in &texts {
        for secret in [SECRET, TOKEN, "WRONG-SECRET-5a5a"] {
            assert!(!text.contains(secret), "a secret leaked into {place}");
        }
    }
    // The secrets did go over the wire: the scan looked at the right things.
    let raw: Vec<u8> = server
        .requests()
        .iter()
        .flat_map(|r| r.body.clone())
        .collect();
    assert!(String::from_utf8_lossy(&raw).contains(SECRET));
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.header("x-tableau-auth") == Some(TOKEN))
    );
    assert!(texts.iter().any(|(_, t)| t.contains("x-tableau-auth: ***")));
}
