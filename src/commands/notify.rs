//! `runner notify --test`: a sample message to every `notify` target of runner.toml, and
//! each one's result (docs/unattended.md "Notifications"). Exit 0 when every target took
//! it, 1 when one did not, 2 when there is no target.

use crate::error::{Error, Exit};
use crate::notify::{self, Settings};
use crate::ui;

pub(super) async fn test(settings: &Settings) -> Result<Exit, Error> {
    if settings.targets.is_empty() {
        ui::note(
            "error: no notify targets: add `[[notify]]` tables to runner.toml (or the file \
             --config names)",
        );
        return Ok(Exit::Setup);
    }
    let outcomes = notify::test_all(settings).await;
    let mut failed = 0;
    for o in &outcomes {
        match &o.error {
            None => ui::note(&format!("ok: {}", o.target)),
            Some(e) => {
                failed += 1;
                ui::note(&format!("failed: {}: {e}", o.target));
            }
        }
    }
    Ok(if failed == 0 {
        Exit::Success
    } else {
        Exit::JobsFailed
    })
}
