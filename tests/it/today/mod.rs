//! The API of December 2026 on the runner's side: the request settings of today's models,
//! dated prices a user can extend, and the new error codes (docs/api.md §4.5, §11, §13).

mod errors;
mod ledger;
mod prices;
mod settings;
