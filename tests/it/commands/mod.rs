//! The commands beside `run` end to end (issue 15): the schema for editors, shell
//! completions, the man page, `init`, `explain`, `files`, `skills`, `--shard` and the Files API
//! version.

mod explain;
mod files;
mod merge;
mod schema;
mod shard;
mod shell;
mod skills;
