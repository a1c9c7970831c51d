use super::*;
use crate::status::JobStatus;

fn line(dir: &str, status: JobStatus, cost: f64) -> JobLine {
    let (stem, job) = dir.split_once('/').unwrap();
    JobLine {
        manifest: format!("{stem}.yaml"),
        job: job.to_owned(),
        status,
        dir: dir.to_owned(),
        fingerprint: String::new(),
        error: None,
        reason: None,
        history: crate::output::outcome::LineHistory {
            cost_usd: Some(cost),
            ..Default::default()
        },
        params: Default::default(),
    }
}

fn record(k: u64, n: u64, night: &str, start: &str, exit: u8, jobs: Vec<JobLine>) -> ShardRecord {
    let started_at: jiff::Timestamp = start.parse().unwrap();
    let mut summary = RunSummary::setup_failed(
        format!("run-{k}"),
        started_at,
        RunCost {
            usd: jobs.iter().filter_map(|l| l.history.cost_usd).sum(),
            budget_usd: None,
        },
        exit,
        String::new(),
    );
    summary.error = None;
    summary.finished_at = started_at + jiff::SignedDuration::from_mins(5);
    summary.counts = Counts::of(&jobs);
    summary.jobs = jobs;
    summary.night.night = Some(night.to_owned());
    ShardRecord { k, n, summary }
}

#[test]
fn record_names_are_parsed_and_the_rest_ignored() {
    assert_eq!(parse_record_name("run-shard-2-of-3.json"), Some((2, 3)));
    for other in [
        "run.json",
        "run-shard-4-of-3.json",
        "run-shard-0-of-3.json",
        "run-shard-a-of-3.json",
    ] {
        assert_eq!(parse_record_name(other), None, "{other}");
    }
}

#[test]
fn a_night_is_its_shards_records_and_a_missing_shard_is_named() {
    let t = "2026-12-08T02:00:00Z";
    let records = vec![
        record(
            1,
            3,
            "n1",
            t,
            0,
            vec![line("m/a", JobStatus::Succeeded, 0.5)],
        ),
        record(3, 3, "n1", t, 1, vec![line("m/c", JobStatus::Failed, 0.25)]),
        // The night before: not tonight's shard 2.
        record(
            2,
            3,
            "n0",
            "2026-12-07T02:00:00Z",
            0,
            vec![line("m/b", JobStatus::Succeeded, 1.0)],
        ),
    ];
    let night = pick(records.clone(), Some("n1")).unwrap();
    assert_eq!((night.n, night.missing.clone()), (3, vec![2]));
    let merged = merge(&night, "r".to_owned());
    assert_eq!(merged.exit_code, 1);
    assert_eq!(merged.night.missing_shards, ["2/3"]);
    let error = merged.error.unwrap().message;
    assert!(
        error.starts_with("night `n1`: shard 2/3 is missing (no run-shard-2-of-3.json"),
        "{error}"
    );
    // By default, the newest record's night.
    assert_eq!(pick(records.clone(), None).unwrap().id, "n1");
    assert_eq!(
        pick(records, Some("n9")).unwrap_err(),
        PickError::NoSuchNight("n9".to_owned())
    );
    assert_eq!(pick(Vec::new(), None).unwrap_err(), PickError::NoRecords);
}

#[test]
fn the_merged_night_sums_its_shards_and_takes_the_worst_exit_code() {
    let t = "2026-12-08T02:00:00Z";
    // A line every shard writes (a `for_each` that matched nothing) is one job.
    let shared = || line("m/empty", JobStatus::Failed, 0.0);
    let night = pick(
        vec![
            record(
                1,
                2,
                "n",
                t,
                130,
                vec![line("m/a", JobStatus::Interrupted, 0.5), shared()],
            ),
            record(
                2,
                2,
                "n",
                "2026-12-08T02:01:00Z",
                1,
                vec![line("m/b", JobStatus::Succeeded, 0.25), shared()],
            ),
        ],
        None,
    )
    .unwrap();
    assert!(night.missing.is_empty());
    let merged = merge(&night, "r".to_owned());
    assert_eq!(merged.exit_code, 130, "interrupted is worse than failed");
    assert_eq!(merged.counts.total, 3);
    assert_eq!((merged.counts.failed, merged.counts.interrupted), (1, 1));
    assert!((merged.cost.usd - 0.75).abs() < 1e-12);
    assert_eq!(merged.started_at, t.parse::<jiff::Timestamp>().unwrap());
    assert_eq!(merged.night.shards.len(), 2);
    assert!(merged.error.is_none());
    assert!(
        severity(2) > severity(130) && severity(130) > severity(1) && severity(1) > severity(0)
    );
}

#[test]
fn a_derived_night_is_bounded_in_time() {
    let id = derived_night([("m/a", "f1")].into_iter(), &[], 2);
    assert!(id.starts_with(DERIVED_PREFIX), "{id}");
    assert_ne!(
        id,
        derived_night([("m/a", "f2")].into_iter(), &[], 2),
        "the fingerprint"
    );
    assert_ne!(id, derived_night([("m/a", "f1")].into_iter(), &[], 3), "N");
    let records = vec![
        record(1, 2, &id, "2026-12-07T02:00:00Z", 0, Vec::new()),
        record(2, 2, &id, "2026-12-08T02:00:00Z", 0, Vec::new()),
    ];
    let night = pick(records, None).unwrap();
    assert_eq!(night.missing, [1], "yesterday's shard 1 is not tonight's");
}
