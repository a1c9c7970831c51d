//! The commands: each knows the order of its stages and nothing else. `validate`: manifest.
//! `plan`: manifest → hashes → plan. `run`: manifest → plan → engine (upload → converse →
//! download → write) → run record → pages. `explain`: manifest → plan → compared with each job's
//! last `job.json`. `files`: the Files API and the upload cache; `skills`: the Skills API
//! and the skill cache. `diff`: two runs of the history compared. `merge`: the shards' records of one night
//! made its one record.
//! `batches`: the batch records
//! of an output tree, with their live state from the API. `models`: the Models API's
//! catalogue (and `model_check.rs`, the check of a run's models). `init`, `schema`,
//! `completions`, `man`: files and text for editors and shells. `report`:
//! the HTML pages again, from disk. Fatal errors come back as [`Error`]; failed jobs are
//! values in the run's record.

mod batches;
mod completions;
mod diff;
mod explain;
mod files;
mod history;
mod init;
mod man;
mod merge;
mod model_check;
mod models;
mod notify;
mod output_lock;
mod pages;
mod plan;
mod plan_shards;
mod report;
mod run;
mod schema;
mod setup_failure;
mod signals;
mod skills;
mod validate;

use crate::config::{CommandConfig, Config};
use crate::error::{Error, Exit};
use crate::ui;

/// Runs the configured command on a fresh runtime and returns the exit code.
pub(crate) fn execute(config: Config) -> Exit {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report(&Error::Runtime(e));
            return Exit::Setup;
        }
    };
    let display = config.display;
    let result = runtime.block_on(async {
        match config.command {
            CommandConfig::Validate(validate) => validate::validate(&validate, &display),
            CommandConfig::Plan(plan) => match plan.shards {
                Some(n) => plan_shards::shards(&plan, n).await,
                None => plan::plan(&plan, &display).await,
            },
            CommandConfig::Run(run) => run::run(*run, &display).await,
            CommandConfig::History(args) => history::history(&args),
            CommandConfig::Diff(config) => diff::diff(&config),
            CommandConfig::Merge(config) => merge::merge(&config, &display),
            CommandConfig::Batches(config) => batches::batches(config, &display).await,
            CommandConfig::Explain(explain) => explain::explain(&explain).await,
            CommandConfig::Init { dir } => init::init(&dir),
            CommandConfig::Files(files) => files::files(files, &display).await,
            CommandConfig::Skills(skills) => skills::skills(skills, &display).await,
            CommandConfig::Models(models) => models::models(&models, &display).await,
            CommandConfig::Schema => schema::schema(),
            CommandConfig::Completions(shell) => completions::completions(shell),
            CommandConfig::Man(all) => man::man(all.as_deref()),
            CommandConfig::Report { out } => report::report(&out),
            CommandConfig::Notify(settings) => notify::test(&settings).await,
        }
    });
    // Do not wait for abandoned requests or blocking reads after a second Ctrl-C.
    runtime.shutdown_background();
    match result {
        Ok(exit) => exit,
        Err(e) => {
            report(&e);
            e.exit()
        }
    }
}

/// Prints a fatal error: every diagnostic with its source line, then the error and each
/// of its causes.
pub(crate) fn report(e: &Error) {
    if let Error::Invalid(invalid) = e {
        for d in &invalid.diagnostics {
            let source = invalid.sources.get(&d.file).map(String::as_str);
            ui::note(d.render(source).trim_end());
        }
    }
    ui::note(&format!("error: {e}"));
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        ui::note(&format!("  caused by: {cause}"));
        source = cause.source();
    }
}
