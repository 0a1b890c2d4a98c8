//! `hyperctl publish FILE --server URL --site SITE --project PATH`: publish an
//! extract (`.hyper`, `.tds`, `.tdsx`, `.tde`, or a `.hxe` converted to `.hyper`
//! through the bridge) to Tableau Server or Tableau Cloud, with a progress bar,
//! `--dry-run`, and a manifest mode (`--manifest publish.toml --parallel N`:
//! many extracts, worker threads with a session each, one summary table).
//!
//! Invariant: credentials come from the environment or a config profile
//! (`config.rs`), never from argv, and nothing printed holds a secret or token.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hyperctl_publish::{
    CHUNK_SIZE_DEFAULT_BYTES, Client, Credentials, HyperdProcess, MIB, Progress, PublishConfig,
    PublishMode, PublishOptions, SINGLE_REQUEST_MAX_BYTES,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Deserialize;

use crate::config::{self, Profile};
use crate::hyper_files;

/// `--mode`: what to do when a data source of that name exists in the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mode {
    /// Fail (Tableau error 403007) if the name exists.
    #[default]
    CreateNew,
    /// Replace it (or create it).
    Overwrite,
    /// Add the extract's rows to it (it must exist with the same columns).
    Append,
}

impl Mode {
    fn publish_mode(self) -> PublishMode {
        match self {
            Mode::CreateNew => PublishMode::CreateNew,
            Mode::Overwrite => PublishMode::Overwrite,
            Mode::Append => PublishMode::Append,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Mode::CreateNew => "create-new",
            Mode::Overwrite => "overwrite",
            Mode::Append => "append",
        }
    }
}

/// The flags of `hyperctl publish`.
#[derive(Debug)]
pub(crate) struct Args {
    pub(crate) file: Option<PathBuf>,
    pub(crate) manifest: Option<PathBuf>,
    pub(crate) parallel: Option<usize>,
    pub(crate) server: Option<String>,
    pub(crate) site: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) mode: Option<Mode>,
    pub(crate) tables: Vec<String>,
    pub(crate) as_job: bool,
    pub(crate) dry_run: bool,
    pub(crate) chunk_size_mb: Option<u64>,
    pub(crate) profile: Option<String>,
    pub(crate) verbose: bool,
}

/// Where and as whom: the settings shared by every extract of a run.
pub(crate) struct Target {
    server: String,
    site: String,
    credentials: Credentials,
    credentials_from: String,
    chunk_size_bytes: u64,
    verbose: bool,
}

impl Target {
    /// Flags first, then the profile; credentials from the environment.
    fn resolve(
        server: Option<&str>,
        site: Option<&str>,
        profile: Option<&Profile>,
        chunk_size_mb: Option<u64>,
        verbose: bool,
    ) -> Result<Target> {
        let server = server
            .map(str::to_owned)
            .or_else(|| profile.and_then(|p| p.server.clone()))
            .context("no server: give --server URL (or a --profile with server)")?;
        let site = site
            .map(str::to_owned)
            .or_else(|| profile.and_then(|p| p.site.clone()))
            .context(
                "no site: give --site SITE (the site's content URL; \"\" for Tableau Server's default site), or a --profile with site",
            )?;
        let (credentials, credentials_from) = config::credentials(profile)?;
        let chunk_size_bytes = match chunk_size_mb {
            Some(mb) if mb == 0 || mb.saturating_mul(MIB) > SINGLE_REQUEST_MAX_BYTES => {
                bail!(
                    "--chunk-size-mb {mb}: chunks must be 1 to {} MiB",
                    SINGLE_REQUEST_MAX_BYTES / MIB
                )
            }
            Some(mb) => mb * MIB,
            None => CHUNK_SIZE_DEFAULT_BYTES,
        };
        Ok(Target {
            server,
            site,
            credentials,
            credentials_from,
            chunk_size_bytes,
            verbose,
        })
    }

    /// The client configuration (project, name and mode travel per publish).
    fn config(&self) -> Result<PublishConfig> {
        let mut builder =
            PublishConfig::builder(&self.server, &self.site, self.credentials.clone())
                .chunk_size_bytes(self.chunk_size_bytes);
        if self.verbose {
            builder = builder.log(std::sync::Arc::new(|line: &str| {
                eprintln!("tableau: {line}")
            }));
        }
        builder
            .build()
            .map_err(|e| publish_error(e, "invalid settings"))
    }
}

/// One extract to publish.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The file as given.
    file: PathBuf,
    project: Option<String>,
    name: Option<String>,
    mode: Mode,
    as_job: Option<bool>,
    tables: Vec<String>,
}

/// What the file is: sent as it is, or converted first.
fn kind(file: &Path) -> Result<&'static str> {
    let ext = file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "hxe" => Ok("hxe"),
        "hyper" => Ok("hyper"),
        "tds" => Ok("tds"),
        "tdsx" => Ok("tdsx"),
        "tde" => Ok("tde"),
        _ => bail!(
            "cannot publish {}: give a .hxe (converted to .hyper first), .hyper, .tds, .tdsx or .tde file",
            file.display()
        ),
    }
}

impl Item {
    /// The data source name: `--name`, else the file's stem.
    fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }

    /// The file to send: the file itself, or a `.hxe` written to `dir/<stem>.hyper`.
    fn prepare(&self, hyperd: Option<&HyperdProcess>, dir: &Path) -> Result<PathBuf> {
        if !self.file.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} does not exist or is not a file", self.file.display()),
            )
            .into());
        }
        if kind(&self.file)? != "hxe" {
            return Ok(self.file.clone());
        }
        let hyperd = hyperd.context("internal: hyperd was not started for a .hxe file")?;
        let stem = self.file.file_stem().unwrap_or_default();
        let out = dir.join(stem).with_extension("hyper");
        let started = Instant::now();
        let outcome = hyper_files::export(hyperd, &self.file, &self.tables, &out)
            .with_context(|| format!("converting {} to .hyper", self.file.display()))?;
        hyper_files::report_written(&outcome, started);
        if outcome.rows.len() > 1 {
            eprintln!(
                "warning: {} tables in one .hyper file; Tableau has refused multi-table extracts (400011): choose one with --table",
                outcome.rows.len()
            );
        }
        Ok(out)
    }
}

/// `hyperctl publish`.
pub(crate) fn run(args: &Args) -> Result<()> {
    if let Some(manifest) = &args.manifest {
        return run_manifest(args, manifest);
    }
    let Some(file) = &args.file else {
        bail!("give the file to publish, or --manifest FILE");
    };
    kind(file)?;
    let profile = args
        .profile
        .as_deref()
        .map(config::load_profile)
        .transpose()?;
    let target = Target::resolve(
        args.server.as_deref(),
        args.site.as_deref(),
        profile.as_ref(),
        args.chunk_size_mb,
        args.verbose,
    )?;
    let item = Item {
        file: file.clone(),
        project: args
            .project
            .clone()
            .or_else(|| profile.as_ref().and_then(|p| p.project.clone())),
        name: args.name.clone(),
        mode: args.mode.unwrap_or_default(),
        as_job: args.as_job.then_some(true),
        tables: args.tables.clone(),
    };
    let config = target.config()?;
    let hyperd = start_hyperd_for(std::slice::from_ref(&item))?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let path = item.prepare(hyperd.as_ref(), dir.path())?;
    drop(hyperd);
    if args.dry_run {
        print!("{}", dry_run_plan(&target, &config, &item, &path)?);
        return Ok(());
    }
    let mut client = Client::new(config).map_err(|e| publish_error(e, "starting"))?;
    let bar = progress_bar(&item.name());
    let mut on_progress = |p: &Progress| show_progress(&bar, p);
    let result = publish_item(&mut client, &item, &path, &mut on_progress);
    bar.finish_and_clear();
    if let Err(e) = client.sign_out() {
        eprintln!("warning: sign-out failed: {}", one_line(&e));
    }
    let published =
        result.map_err(|e| publish_error(*e, &format!("publishing {}", item.file.display())))?;
    println!("{}", published.summary());
    Ok(())
}

/// hyperd, started when some item is a `.hxe` file.
fn start_hyperd_for(items: &[Item]) -> Result<Option<HyperdProcess>> {
    let needs = items
        .iter()
        .any(|i| kind(&i.file).is_ok_and(|k| k == "hxe"));
    needs.then(hyper_files::start_hyperd).transpose()
}

/// A published data source.
#[derive(Debug)]
struct Published {
    name: String,
    project: String,
    id: Option<String>,
    job: Option<String>,
    url: Option<String>,
}

impl Published {
    fn summary(&self) -> String {
        let id = self.id.as_deref().unwrap_or("(not reported)");
        let mut line = format!(
            "published {:?} to project {:?}: datasource id {id}",
            self.name, self.project
        );
        if let Some(job) = &self.job {
            line.push_str(&format!(", job {job}"));
        }
        if let Some(url) = &self.url {
            line.push_str(&format!(", {url}"));
        }
        line
    }
}

/// Signs in if needed, resolves the project and publishes `path` as `item` says.
/// (The error is boxed: `hyperctl_publish::Error` is large.)
fn publish_item(
    client: &mut Client,
    item: &Item,
    path: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Published, Box<hyperctl_publish::Error>> {
    if client.session().is_none() {
        client.sign_in()?;
    }
    let project = match &item.project {
        Some(p) => client.find_project(p)?,
        None => client.default_project()?,
    };
    let mut options = PublishOptions::new(project.id.clone()).mode(item.mode.publish_mode());
    options.name = Some(item.name());
    options.as_job = item.as_job;
    let outcome = client.publish_datasource(path, &options, progress)?;
    let id = outcome
        .datasource
        .as_ref()
        .map(|d| d.id.clone())
        .or_else(|| outcome.job.as_ref().and_then(|j| j.datasource_id.clone()));
    let url = match (&id, client.api_version(), client.session()) {
        (Some(id), Some(v), Some(session)) => Some(format!(
            "{}/api/{v}/sites/{}/datasources/{id}",
            client.config().server_url(),
            session.site_id
        )),
        _ => None,
    };
    Ok(Published {
        name: outcome.name,
        project: item.project.clone().unwrap_or_else(|| project.name.clone()),
        id,
        job: outcome.job.map(|j| j.id),
        url,
    })
}

/// What a publish would send, without sending it (no secrets).
fn dry_run_plan(
    target: &Target,
    config: &PublishConfig,
    item: &Item,
    path: &Path,
) -> Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let ext = kind(path)?;
    let server = config.server_url();
    let base = format!("{server}/api/{{version}}/sites/{{site-id}}");
    let chunked = size >= SINGLE_REQUEST_MAX_BYTES;
    let as_job = item.as_job.unwrap_or(chunked);
    let mut query = format!("datasourceType={ext}");
    match item.mode {
        Mode::CreateNew => {}
        Mode::Overwrite => query.push_str("&overwrite=true"),
        Mode::Append => query.push_str("&append=true"),
    }
    if as_job {
        query.push_str("&asJob=true");
    }
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut out = String::from("dry run: nothing was sent\n");
    out.push_str(&format!(
        "  sign in:  POST {server}/api/{{version}}/auth/signin, site {:?}, {}\n",
        target.site, target.credentials_from
    ));
    out.push_str(&format!(
        "  project:  {} (looked up with GET {base}/projects)\n",
        item.project
            .as_deref()
            .unwrap_or("the top-level project \"default\"")
    ));
    if chunked {
        let chunks = size.div_ceil(target.chunk_size_bytes);
        out.push_str(&format!(
            "  upload:   POST {base}/fileUploads, then {chunks} x PUT {base}/fileUploads/{{upload-session-id}} ({} MiB chunks)\n",
            target.chunk_size_bytes / MIB
        ));
        out.push_str(&format!(
            "  publish:  POST {base}/datasources?uploadSessionId={{upload-session-id}}&{query}\n"
        ));
    } else {
        out.push_str(&format!("  publish:  POST {base}/datasources?{query}\n"));
    }
    out.push_str(&format!(
        "  file:     {file_name} ({size} bytes{}{})\n",
        if chunked {
            ", chunked"
        } else {
            ", one request"
        },
        if path == item.file {
            String::new()
        } else {
            format!(", converted from {}", item.file.display())
        }
    ));
    out.push_str(&format!("  name:     {}\n", item.name()));
    out.push_str(&format!("  mode:     {}\n", item.mode.word()));
    Ok(out)
}

fn progress_bar(name: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("uploading {name}"));
    bar
}

fn show_progress(bar: &ProgressBar, progress: &Progress) {
    match progress {
        Progress::Upload {
            sent_bytes,
            total_bytes,
        } => {
            bar.set_length(*total_bytes);
            bar.set_position(*sent_bytes);
        }
        Progress::UploadRestarted { session, .. } => {
            bar.set_position(0);
            bar.set_message(format!("upload session {session}"));
        }
        Progress::Committing => bar.set_message("committing"),
        Progress::Job { id, progress } => bar.set_message(match progress {
            Some(p) => format!("job {id}: {p}%"),
            None => format!("job {id}"),
        }),
        _ => {}
    }
}

/// The error and its causes on one line.
fn one_line(e: &hyperctl_publish::Error) -> String {
    let mut line = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line
}

/// A publish error as one line, keeping the error itself for the exit code.
fn publish_error(e: hyperctl_publish::Error, what: &str) -> anyhow::Error {
    let line = one_line(&e);
    anyhow::Error::new(e).context(format!("{what}: {line}"))
}

/// The manifest of `--manifest`: shared settings and many extracts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    server: Option<String>,
    site: Option<String>,
    profile: Option<String>,
    project: Option<String>,
    parallel: Option<usize>,
    chunk_size_mb: Option<u64>,
    #[serde(rename = "extract", default)]
    extracts: Vec<ManifestExtract>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestExtract {
    file: PathBuf,
    project: Option<String>,
    name: Option<String>,
    mode: Option<Mode>,
    as_job: Option<bool>,
    #[serde(default)]
    tables: Vec<String>,
}

/// `hyperctl publish --manifest FILE [--parallel N]`.
fn run_manifest(args: &Args, path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading manifest {}", path.display()))?;
    let manifest: Manifest = config::parse_toml(&text, path)?;
    if manifest.extracts.is_empty() {
        bail!(
            "{} lists no extracts: add [[extract]] tables with file = \"...\"",
            path.display()
        );
    }
    let profile_name = args.profile.clone().or(manifest.profile.clone());
    let profile = profile_name
        .as_deref()
        .map(config::load_profile)
        .transpose()?;
    let target = Target::resolve(
        args.server.as_deref().or(manifest.server.as_deref()),
        args.site.as_deref().or(manifest.site.as_deref()),
        profile.as_ref(),
        args.chunk_size_mb.or(manifest.chunk_size_mb),
        args.verbose,
    )?;
    let base = path.parent().unwrap_or(Path::new("."));
    let default_project = manifest
        .project
        .clone()
        .or_else(|| profile.as_ref().and_then(|p| p.project.clone()));
    let items: Vec<Item> = manifest
        .extracts
        .iter()
        .map(|e| Item {
            file: base.join(&e.file),
            project: e.project.clone().or_else(|| default_project.clone()),
            name: e.name.clone(),
            mode: e.mode.unwrap_or_default(),
            as_job: e.as_job.or(args.as_job.then_some(true)),
            tables: e.tables.clone(),
        })
        .collect();
    for item in &items {
        kind(&item.file)?;
    }
    let parallel = args
        .parallel
        .or(manifest.parallel)
        .unwrap_or(1)
        .clamp(1, items.len());
    let config = target.config()?;
    let hyperd = start_hyperd_for(&items)?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    if args.dry_run {
        for (i, item) in items.iter().enumerate() {
            let sub = dir.path().join(i.to_string());
            std::fs::create_dir_all(&sub)?;
            let file = item.prepare(hyperd.as_ref(), &sub)?;
            print!("{}", dry_run_plan(&target, &config, item, &file)?);
        }
        return Ok(());
    }
    if parallel > 1 {
        eprintln!(
            "note: {parallel} parallel sessions share one personal access token; Tableau may end a \
             PAT's earlier session when it signs in again (use --parallel 1 if publishes fail with 401002)"
        );
    }
    let results = publish_all(&config, &items, parallel, hyperd.as_ref(), dir.path());
    print!("{}", summary_table(&items, &results));
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        bail!("{failed} of {} extracts failed to publish", items.len());
    }
    Ok(())
}

/// Publishes every item with `parallel` workers, each with its own session.
fn publish_all(
    config: &PublishConfig,
    items: &[Item],
    parallel: usize,
    hyperd: Option<&HyperdProcess>,
    dir: &Path,
) -> Vec<Result<Published, String>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Published, String>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..parallel {
            scope.spawn(|| {
                let mut client: Option<Client> = None;
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let result =
                        publish_one(config, &mut client, item, hyperd, &dir.join(i.to_string()));
                    match &result {
                        Ok(p) => eprintln!("{}: {}", item.file.display(), p.summary()),
                        Err(e) => eprintln!("{}: error: {e}", item.file.display()),
                    }
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(result);
                    }
                }
                if let Some(mut c) = client
                    && let Err(e) = c.sign_out()
                {
                    eprintln!("warning: sign-out failed: {}", one_line(&e));
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not published (internal error: no result)".to_owned())))
        .collect()
}

fn publish_one(
    config: &PublishConfig,
    client: &mut Option<Client>,
    item: &Item,
    hyperd: Option<&HyperdProcess>,
    dir: &Path,
) -> Result<Published, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let path = item.prepare(hyperd, dir).map_err(|e| format!("{e:#}"))?;
    let client = match client {
        Some(c) => c,
        None => client.insert(Client::new(config.clone()).map_err(|e| one_line(&e))?),
    };
    publish_item(client, item, &path, &mut |_| {}).map_err(|e| match &*e {
        hyperctl_publish::Error::Tableau {
            code,
            summary,
            detail,
            ..
        } => {
            format!("{code} {summary}: {detail}")
        }
        _ => match e.tableau_code() {
            Some(code) => format!("{code}: {}", one_line(&e)),
            None => one_line(&e),
        },
    })
}

/// The per-extract results, aligned (stdout).
fn summary_table(items: &[Item], results: &[Result<Published, String>]) -> String {
    let mut rows = vec![[
        "file".to_owned(),
        "project".to_owned(),
        "name".to_owned(),
        "mode".to_owned(),
        "result".to_owned(),
    ]];
    for (item, result) in items.iter().zip(results) {
        rows.push([
            item.file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            item.project.clone().unwrap_or_else(|| "default".to_owned()),
            item.name(),
            item.mode.word().to_owned(),
            match result {
                Ok(p) => format!("ok {}", p.id.as_deref().unwrap_or(""))
                    .trim_end()
                    .to_owned(),
                Err(e) => format!("error {e}"),
            },
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| {
                if c == 4 {
                    cell.clone()
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        out.push_str(cells.join(" | ").trim_end());
        out.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("-+-"));
            out.push('\n');
        }
    }
    let ok = results.iter().filter(|r| r.is_ok()).count();
    out.push_str(&format!("{ok} of {} published\n", results.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_with_modes() {
        let text = r#"
server = "https://t.example.com"
site = "m"
parallel = 2

[[extract]]
file = "a.hyper"
mode = "overwrite"

[[extract]]
file = "b.hxe"
project = "Finance/Reports"
name = "B"
mode = "create-new"
tables = ["orders"]
"#;
        let m: Manifest = config::parse_toml(text, Path::new("p.toml")).unwrap();
        assert_eq!(m.extracts.len(), 2);
        assert_eq!(m.extracts[0].mode, Some(Mode::Overwrite));
        assert_eq!(m.extracts[1].mode, Some(Mode::CreateNew));
        assert_eq!(m.extracts[1].tables, ["orders"]);
        let bad = config::parse_toml::<Manifest>(
            "[[extract]]\nfile = \"a\"\nmode = \"replace\"\n",
            Path::new("p.toml"),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn file_kinds() {
        assert_eq!(kind(Path::new("a.HXE")).unwrap(), "hxe");
        assert_eq!(kind(Path::new("a.tdsx")).unwrap(), "tdsx");
        assert!(kind(Path::new("a.csv")).is_err());
    }
}
