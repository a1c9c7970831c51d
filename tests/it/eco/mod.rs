//! Issue 15, "at home in the ecosystem": the schema for editors, shell completions, the
//! man page, `init`, `explain`, `files`, `--shard` and the Files API version.

mod explain;
mod files;
mod schema;
mod shard;
mod shell;
