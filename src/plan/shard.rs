//! `--shard K/N`: which jobs one of N machines runs. A job's shard is a stable hash of its
//! id (`<manifest-stem>/<job-name>`), never its position, so adding or removing a job never
//! moves the others, and the N shards together hold every job exactly once.

use std::collections::BTreeSet;

use super::Plan;

/// Shard `index + 1` of `count` (stored 0-based, shown 1-based as `K/N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shard {
    index: u64,
    count: u64,
}

impl Shard {
    /// Shard `k` (1-based) of `n`; `None` unless 1 ≤ k ≤ n.
    pub(crate) fn new(k: u64, n: u64) -> Option<Shard> {
        (1..=n).contains(&k).then(|| Shard {
            index: k - 1,
            count: n,
        })
    }

    /// Parses `K/N`, e.g. `2/3`.
    pub(crate) fn parse(text: &str) -> Option<Shard> {
        let (k, n) = text.trim().split_once('/')?;
        Shard::new(k.trim().parse().ok()?, n.trim().parse().ok()?)
    }

    /// K, 1-based.
    pub(crate) fn k(self) -> u64 {
        self.index + 1
    }

    pub(crate) fn n(self) -> u64 {
        self.count
    }

    /// Whether the job with this id belongs to this shard: the first 8 bytes of the id's
    /// BLAKE3 hash, as a little-endian u64, modulo N.
    pub(crate) fn holds(self, job_id: &str) -> bool {
        shard_of(job_id, self.count) == self.index
    }

    /// The plan with only this shard's jobs and the uploads they attach.
    pub(crate) fn restrict(self, mut plan: Plan) -> Plan {
        plan.jobs.retain(|j| self.holds(&j.id));
        plan.empty.retain(|e| self.holds(&e.dir()));
        let kept: BTreeSet<String> = plan.jobs.iter().map(|j| j.id.clone()).collect();
        for upload in &mut plan.uploads {
            upload.jobs.retain(|id| kept.contains(id));
        }
        plan.uploads.retain(|u| !u.jobs.is_empty());
        plan
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k(), self.n())
    }
}

/// The 0-based shard of a job id among `count`.
fn shard_of(job_id: &str, count: u64) -> u64 {
    let hash = blake3::hash(job_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first) % count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n_and_rejects_the_rest() {
        assert_eq!(Shard::parse("2/3").map(|s| (s.k(), s.n())), Some((2, 3)));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "-1/3", ""] {
            assert_eq!(Shard::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_job_is_in_exactly_one_shard() {
        let ids: Vec<String> = (0..200).map(|i| format!("m/job-{i}")).collect();
        let shards: Vec<Shard> = (1..=3).filter_map(|k| Shard::new(k, 3)).collect();
        for id in &ids {
            assert_eq!(shards.iter().filter(|s| s.holds(id)).count(), 1, "{id}");
        }
        // The hash spreads: no shard is empty among 200 ids.
        for s in &shards {
            assert!(ids.iter().any(|id| s.holds(id)), "shard {s} is empty");
        }
    }
}
