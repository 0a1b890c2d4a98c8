//! Secrets and credentials.
//!
//! Invariant: a secret's text leaves this module only through [`Secret::expose`],
//! which the client calls exactly where the value goes on the wire. `Debug` and
//! `Display` print `***`, so a secret never reaches a log line, an error or a panic.

use std::fmt;

/// A secret string (PAT secret, password, JWT, auth token).
///
/// `Debug` and `Display` print `***`; read the value with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text. Only put it on the wire; never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// How to sign in (spec §3). Build it from values the caller read from the
/// environment, a file or stdin, never from command-line arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// A personal access token (REST API 3.6+).
    PersonalAccessToken {
        /// The token's name (not secret).
        name: String,
        /// The token's secret.
        secret: Secret,
    },
    /// A user name and password (not with MFA on Tableau Cloud).
    Password {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// A connected-app JWT (REST API 3.17+).
    ConnectedAppJwt {
        /// The signed token.
        jwt: Secret,
    },
}

impl Credentials {
    /// A personal access token, e.g. from `TABLEAU_PAT_NAME` and `TABLEAU_PAT_SECRET`.
    pub fn personal_access_token(name: impl Into<String>, secret: impl Into<Secret>) -> Self {
        Self::PersonalAccessToken {
            name: name.into(),
            secret: secret.into(),
        }
    }

    /// A user name and password.
    pub fn password(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Password {
            username: username.into(),
            password: password.into(),
        }
    }

    /// A connected-app JWT.
    pub fn connected_app_jwt(jwt: impl Into<Secret>) -> Self {
        Self::ConnectedAppJwt { jwt: jwt.into() }
    }

    /// A short name of the kind for messages: "personal access token", ...
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::PersonalAccessToken { .. } => "personal access token",
            Self::Password { .. } => "username/password",
            Self::ConnectedAppJwt { .. } => "connected-app JWT",
        }
    }

    /// The lowest REST API version that accepts this kind of sign-in.
    pub(crate) fn min_version(&self) -> crate::ApiVersion {
        match self {
            Self::PersonalAccessToken { .. } => crate::ApiVersion::new(3, 6),
            Self::Password { .. } => crate::ApiVersion::new(2, 0),
            Self::ConnectedAppJwt { .. } => crate::ApiVersion::new(3, 17),
        }
    }

    /// The secret values, for redaction of text that may echo them.
    pub(crate) fn secrets(&self) -> Vec<&Secret> {
        match self {
            Self::PersonalAccessToken { secret, .. } => vec![secret],
            Self::Password { password, .. } => vec![password],
            Self::ConnectedAppJwt { jwt } => vec![jwt],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        let c = Credentials::personal_access_token("ci", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.secrets()[0].expose(), "hunter2");
    }
}
