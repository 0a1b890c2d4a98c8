//! Bad server responses are errors, never panics.

use hyperctl_publish::emulator::{Emulator, Fault, FaultReply};
use hyperctl_publish::{Client, Error};

use crate::{Capture, config};

fn client(server: &Emulator) -> Client {
    Client::new(config(server, &Capture::default()).build().unwrap()).unwrap()
}

#[test]
fn html_where_xml_was_expected() {
    let server = Emulator::start().unwrap();
    server.inject(Fault::new("GET", "/serverInfo", FaultReply::HtmlOk));
    let err = client(&server).sign_in().unwrap_err();
    assert!(matches!(err, Error::NonXml { .. }), "{err:?}");
    assert!(err.to_string().contains("non-XML response"), "{err}");
    assert!(err.to_string().contains("text/html"), "{err}");
}

#[test]
fn garbage_and_truncated_bodies() {
    let server = Emulator::start().unwrap();
    server.inject(Fault::new("POST", "/auth/signin", FaultReply::GarbageXml));
    let err = client(&server).sign_in().unwrap_err();
    assert!(matches!(err, Error::Xml { .. }), "{err:?}");

    let server = Emulator::start().unwrap();
    // A body cut short once: sign-in is idempotent, so it is simply retried.
    server.inject(Fault::new("POST", "/auth/signin", FaultReply::Truncated));
    client(&server).sign_in().unwrap();
    // Cut short every time: retried, then reported with the transport failure.
    server.inject(Fault::new("POST", "/auth/signin", FaultReply::Truncated).times(5));
    let err = client(&server).sign_in().unwrap_err();
    match &err {
        Error::RetriesExhausted {
            attempts: 5,
            source,
            ..
        } => {
            assert!(matches!(**source, Error::Transport { .. }), "{source:?}");
        }
        other => panic!("{other:?}"),
    }
    // A publish (not idempotent) is not retried.
    let mut c = client(&server);
    c.sign_in().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = crate::file(dir.path(), "t.hyper", 10);
    server.inject(Fault::new("POST", "/datasources", FaultReply::Truncated));
    let options =
        hyperctl_publish::PublishOptions::new(hyperctl_publish::emulator::DEFAULT_PROJECT_ID);
    let err = c
        .publish_datasource(&path, &options, &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

#[test]
fn html_error_pages_keep_the_status() {
    let server = Emulator::start().unwrap();
    let mut client = client(&server);
    client.sign_in().unwrap();
    server.inject(Fault::status("GET", "/projects", 404));
    let err = client.find_project("Tableau").unwrap_err();
    match &err {
        Error::Http {
            status: 404,
            content_type,
            excerpt,
            ..
        } => {
            assert_eq!(content_type.as_deref(), Some("text/html"));
            assert!(excerpt.contains("Error 404"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unreachable_server_is_a_transport_error() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = hyperctl_publish::PublishConfig::builder(
        format!("http://127.0.0.1:{port}"),
        "",
        hyperctl_publish::Credentials::personal_access_token("n", "s"),
    )
    .retry(hyperctl_publish::RetryPolicy::none())
    .build()
    .unwrap();
    let err = Client::new(config).unwrap().sign_in().unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}
