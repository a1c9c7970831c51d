//! Test support shared by the unit tests of several modules (compiled only for tests).

pub(crate) mod json;
