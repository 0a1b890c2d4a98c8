//! Sign-in, version negotiation, sign-out, expired tokens, project lookup.

use hyperctl_publish::emulator::{self, Emulator};
use hyperctl_publish::{ApiVersion, Client, Credentials, Error, ProjectPath};

use crate::{Capture, config, config_with, lines};

#[test]
fn pat_sign_in_negotiates_and_signs_out() {
    let server = Emulator::start().unwrap();
    let mut client = Client::new(config(&server, &Capture::default()).build().unwrap()).unwrap();
    let session = client.sign_in().unwrap();
    assert_eq!(session.site_id, emulator::SITE_ID);
    assert_eq!(session.site_content_url, "Samples");
    assert_eq!(client.api_version(), Some(ApiVersion::new(3, 10)));
    assert_eq!(server.valid_tokens(), [emulator::RECORDED_TOKEN]);
    client.sign_out().unwrap();
    assert!(client.session().is_none());
    assert!(server.valid_tokens().is_empty());
    client.sign_out().unwrap(); // a second sign-out does nothing
    assert_eq!(
        lines(&server),
        [
            "GET /api/2.4/serverInfo 200",
            "POST /api/3.10/auth/signin 200",
            "POST /api/3.10/auth/signout 204",
        ]
    );
    let signin = &server.requests()[1];
    assert!(
        String::from_utf8_lossy(&signin.body).contains("personalAccessTokenName=\"hyperctl-test\"")
    );
    assert!(server.violations().is_empty(), "{:?}", server.violations());
}

#[test]
fn bad_credentials_are_401001_with_a_hint() {
    let server = Emulator::start().unwrap();
    let credentials = Credentials::personal_access_token("hyperctl-test", "wrong");
    let mut client = Client::new(
        config_with(&server, &Capture::default(), credentials)
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = client.sign_in().unwrap_err();
    assert_eq!(err.tableau_code(), Some("401001"));
    assert!(err.to_string().contains("TABLEAU_PAT_SECRET"), "{err}");
}

#[test]
fn password_and_jwt_sign_in() {
    let server = Emulator::builder()
        .password("alice", "pw")
        .jwt("jwt-value")
        .rest_api_version(ApiVersion::new(3, 17))
        .start()
        .unwrap();
    for credentials in [
        Credentials::password("alice", "pw"),
        Credentials::connected_app_jwt("jwt-value"),
    ] {
        let mut client = Client::new(
            config_with(&server, &Capture::default(), credentials)
                .build()
                .unwrap(),
        )
        .unwrap();
        client.sign_in().unwrap();
        client.sign_out().unwrap();
    }
    assert!(server.violations().is_empty(), "{:?}", server.violations());
}

#[test]
fn old_servers_are_refused() {
    let server = Emulator::builder().without_server_info().start().unwrap();
    let mut client = Client::new(config(&server, &Capture::default()).build().unwrap()).unwrap();
    assert!(matches!(
        client.sign_in().unwrap_err(),
        Error::UnsupportedVersion { .. }
    ));

    let server = Emulator::builder()
        .rest_api_version(ApiVersion::new(3, 5))
        .start()
        .unwrap();
    let mut client = Client::new(config(&server, &Capture::default()).build().unwrap()).unwrap();
    let err = client.sign_in().unwrap_err();
    assert!(err.to_string().contains("needs REST API 3.6"), "{err}");
    // JWT needs 3.17 and is refused before anything is sent.
    let server = Emulator::start().unwrap();
    let jwt = Credentials::connected_app_jwt("j");
    let mut client = Client::new(
        config_with(&server, &Capture::default(), jwt)
            .build()
            .unwrap(),
    )
    .unwrap();
    assert!(matches!(
        client.sign_in().unwrap_err(),
        Error::UnsupportedVersion { .. }
    ));
    assert_eq!(lines(&server), ["GET /api/2.4/serverInfo 200"]);
}

#[test]
fn expired_token_signs_in_once_again_and_replays() {
    let server = Emulator::builder().token("tok").start().unwrap();
    let capture = Capture::default();
    let mut client = Client::new(config(&server, &capture).build().unwrap()).unwrap();
    client.sign_in().unwrap();
    server.expire_tokens();
    let project = client.find_project("Tableau").unwrap();
    assert_eq!(project.id, emulator::TABLEAU_PROJECT_ID);
    assert_eq!(server.valid_tokens(), ["tok-2"]);
    let l = lines(&server);
    assert_eq!(
        l[2..5],
        [
            "GET /api/3.10/sites/6b7179ba-b82b-4f0f-91ed-812074ac5da6/projects?filter=name%3Aeq%3ATableau&pageNumber=1&pageSize=100 401",
            "POST /api/3.10/auth/signin 200",
            "GET /api/3.10/sites/6b7179ba-b82b-4f0f-91ed-812074ac5da6/projects?filter=name%3Aeq%3ATableau&pageNumber=1&pageSize=100 200",
        ]
    );
    assert!(capture.logs().iter().any(|l| l.contains("401002")));
    // Only once per request: a token that expires again is an error.
    server.expire_tokens();
    server.inject(hyperctl_publish::emulator::Fault::status(
        "POST",
        "/auth/signin",
        401,
    ));
    let err = client.find_project("Tableau").unwrap_err();
    assert_eq!(err.http_status(), Some(401));
}

#[test]
fn project_lookup_reads_two_pages_and_follows_parents() {
    // Three projects named "Child": the one under "Tableau" is on page 2 of 2.
    let server = Emulator::builder()
        .project(
            "c0000000-0000-0000-0000-000000000001",
            "Child",
            Some(emulator::DEFAULT_PROJECT_ID),
        )
        .project("c0000000-0000-0000-0000-000000000002", "Child", None)
        .project(
            "c0000000-0000-0000-0000-000000000003",
            "Child",
            Some(emulator::TABLEAU_PROJECT_ID),
        )
        .project(
            "c0000000-0000-0000-0000-000000000004",
            "A/B",
            Some(emulator::TABLEAU_PROJECT_ID),
        )
        .start()
        .unwrap();
    let mut client = Client::new(
        config(&server, &Capture::default())
            .page_size(2)
            .build()
            .unwrap(),
    )
    .unwrap();
    client.sign_in().unwrap();
    let found = client.find_project("Tableau/Child").unwrap();
    assert_eq!(found.id, "c0000000-0000-0000-0000-000000000003");
    let l = lines(&server);
    let s = "/api/3.10/sites/6b7179ba-b82b-4f0f-91ed-812074ac5da6";
    assert_eq!(
        l[2..],
        [
            format!("GET {s}/projects?filter=name%3Aeq%3ATableau&pageNumber=1&pageSize=2 200"),
            format!("GET {s}/projects?filter=name%3Aeq%3AChild&pageNumber=1&pageSize=2 200"),
            format!("GET {s}/projects?filter=name%3Aeq%3AChild&pageNumber=2&pageSize=2 200"),
        ]
    );
    // '>' is an ordinary character; '/' in a name is escaped as '\/'.
    assert_eq!(
        client.find_project("Tableau/Tableau > Child 1").unwrap().id,
        emulator::CHILD_PROJECT_ID
    );
    assert_eq!(
        client.find_project(r"Tableau/A\/B").unwrap().id,
        "c0000000-0000-0000-0000-000000000004"
    );
    let path = ProjectPath::from_names(["Tableau", "A/B"]).unwrap();
    assert_eq!(path.to_string(), r"Tableau/A\/B");
    // "Child" exists at the top level and under default, but not under Child.
    let err = client.find_project("Tableau/Child/Grandchild").unwrap_err();
    match &err {
        Error::ProjectNotFound { path, available } => {
            assert_eq!(path, "Tableau/Child/Grandchild");
            assert!(available.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let err = client.find_project("Tableau/Nope").unwrap_err();
    assert!(
        err.to_string().contains("A/B, Child, Tableau > Child 1"),
        "{err}"
    );
    let default = client.default_project().unwrap();
    assert_eq!(default.id, emulator::DEFAULT_PROJECT_ID);
    client.sign_out().unwrap();
    assert!(server.violations().is_empty(), "{:?}", server.violations());
}
