//! The output tree's lock and the name of its run record, which every command writing into
//! an output tree uses. With `--shard` each shard holds its own lock and writes its own run
//! record, so the N shards of one run can share an output tree (their job folders never
//! collide: every job is in exactly one shard; docs/output.md §1 and §6.5).

use camino::Utf8Path;

use crate::error::Error;
use crate::plan::shard::Shard;
use crate::store::{self, StoreError};

/// `run.json`, or `run-shard-K-of-N.json` for a shard (docs/output.md §1).
pub(super) fn run_record_name(shard: Option<Shard>) -> String {
    match shard {
        None => "run.json".to_owned(),
        Some(s) => format!("run-shard-{}-of-{}.json", s.k(), s.n()),
    }
}

/// One runner per output folder, or per shard of it: a second one would race on the same
/// job folders (and tidy away the first one's staging folders). An unsharded run locks
/// `.runner.lock` exclusively; a shard locks it shared (shards may run side by side, an
/// unsharded run may not run beside them) and its own `.runner-shard-K-of-N.lock`
/// exclusively. Held until the run ends.
pub(super) fn lock(out: &Utf8Path, shard: Option<Shard>) -> Result<Vec<fs_err::File>, Error> {
    let main = open(out, ".runner.lock")?;
    let Some(shard) = shard else {
        try_lock(&main, out, |f| f.try_lock())?;
        return Ok(vec![main]);
    };
    try_lock(&main, out, |f| f.try_lock_shared())?;
    let own = open(
        out,
        &format!(".runner-shard-{}-of-{}.lock", shard.k(), shard.n()),
    )?;
    try_lock(&own, out, |f| f.try_lock())?;
    Ok(vec![main, own])
}

/// The lock a merge of the shards' records into the night's takes (docs/output.md §6.5):
/// `.runner-merge.lock`, exclusively, waiting for another merge to finish. Two shards that
/// finish at once merge one after the other, and the second reads the first's record too,
/// so whichever reads last sees every shard. With `beside_runs` (`runner merge`) it also
/// takes `.runner.lock` shared, refusing to merge beside an unsharded run; a shard already
/// holds that.
pub(super) fn merge_lock(out: &Utf8Path, beside_runs: bool) -> Result<Vec<fs_err::File>, Error> {
    let mut held = Vec::new();
    if beside_runs {
        let main = open(out, ".runner.lock")?;
        try_lock(&main, out, |f| f.try_lock_shared())?;
        held.push(main);
    }
    let merge = open(out, ".runner-merge.lock")?;
    merge.file().lock().map_err(|source| Error::LockOut {
        path: out.join(".runner-merge.lock"),
        source,
    })?;
    held.push(merge);
    Ok(held)
}

fn open(out: &Utf8Path, name: &str) -> Result<fs_err::File, Error> {
    let path = out.join(name);
    store::open_lock_file(&path).map_err(|e| match e {
        StoreError::Open { source, .. } => Error::LockOut { path, source },
        other => Error::Store(other),
    })
}

fn try_lock(
    file: &fs_err::File,
    out: &Utf8Path,
    take: impl Fn(&std::fs::File) -> Result<(), std::fs::TryLockError>,
) -> Result<(), Error> {
    match take(file.file()) {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::OutLocked(out.to_owned())),
        Err(std::fs::TryLockError::Error(source)) => Err(Error::LockOut {
            path: file
                .path()
                .to_owned()
                .try_into()
                .unwrap_or_else(|_| out.join(".runner.lock")),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_lock_side_by_side_but_not_beside_an_unsharded_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = Utf8Path::from_path(dir.path()).unwrap();
        let (one, two) = (Shard::new(1, 2), Shard::new(2, 2));
        let first = lock(out, one).unwrap();
        let second = lock(out, two).unwrap();
        assert!(
            matches!(lock(out, one), Err(Error::OutLocked(_))),
            "same shard"
        );
        assert!(
            matches!(lock(out, None), Err(Error::OutLocked(_))),
            "unsharded"
        );
        drop((first, second));
        let whole = lock(out, None).unwrap();
        assert!(
            matches!(lock(out, two), Err(Error::OutLocked(_))),
            "a shard"
        );
        drop(whole);
        assert_eq!(run_record_name(one), "run-shard-1-of-2.json");
        assert_eq!(run_record_name(None), "run.json");
    }
}
