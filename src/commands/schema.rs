//! `runner schema`: the manifest's JSON Schema on stdout (docs/manifest.schema.json is the
//! committed copy).

use crate::error::{Error, Exit};
use crate::manifest::json_schema;
use crate::ui;

pub(super) fn schema() -> Result<Exit, Error> {
    ui::stdout(&json_schema::manifest_schema_text());
    Ok(Exit::Success)
}
