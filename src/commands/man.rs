//! `runner man`: the man page (roff), generated from the clap types.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Exit};
use crate::ui;

pub(super) fn man() -> Result<Exit, Error> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|source| Error::Render {
            what: "man page",
            source,
        })?;
    ui::stdout(&String::from_utf8_lossy(&page));
    Ok(Exit::Success)
}
