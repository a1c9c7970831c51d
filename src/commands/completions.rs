//! `runner completions SHELL`: shell completions generated from the clap types.

use clap::CommandFactory;

use crate::cli::{Cli, Shell};
use crate::error::{Error, Exit};
use crate::ui;

pub(super) fn completions(shell: Shell) -> Result<Exit, Error> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "runner", &mut script);
    ui::stdout(&String::from_utf8_lossy(&script));
    Ok(Exit::Success)
}
