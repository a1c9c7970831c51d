use super::*;

fn file(path: &str, blake3: &str, content: Option<&str>) -> LineOutput {
    LineOutput {
        path: path.into(),
        size: 1,
        blake3: blake3.into(),
        content_blake3: content.map(Into::into),
    }
}

fn job(id: &str, status: JobStatus, report: &str) -> JobView {
    JobView {
        id: id.into(),
        status,
        duration_secs: Some(10.0),
        cost_usd: Some(0.01),
        outputs: vec![file("files/plot.png", "b1", Some("c1"))],
        metrics: BTreeMap::new(),
        alerts: Vec::new(),
        report: Report::Kept(report.into()),
    }
}

fn run(id: &str, jobs: Vec<JobView>) -> RunView {
    RunView {
        run_id: id.into(),
        started_at: "2026-11-30T02:00:00Z".parse().unwrap(),
        jobs,
    }
}

const REPORT: &str =
    "# m/a\n**Ran:** 2026-11-30T02:00:00Z · took 1.0s · cost $0.01\n## Turn 1\nHello.\n";

#[test]
fn a_re_download_of_the_same_plot_and_a_new_ran_line_are_no_change() {
    let a = run("A", vec![job("m/a", JobStatus::Succeeded, REPORT)]);
    let mut b_job = job(
        "m/a",
        JobStatus::Succeeded,
        &REPORT.replace("took 1.0s", "took 2.0s"),
    );
    b_job.outputs = vec![file("files/plot.png", "b2", Some("c1"))];
    b_job.duration_secs = Some(12.5);
    let d = compare(&a, &run("B", vec![b_job]));
    assert!(!d.changed, "{d:#?}");
    assert_eq!(d.counts.unchanged, 1);
    let j = &d.jobs[0];
    assert_eq!(j.report.changed, Some(false));
    assert_eq!(j.duration_secs.map(|d| d.delta), Some(2.5));
}

#[test]
fn files_metrics_status_and_report_text_changes_are_reported() {
    let mut a_job = job("m/a", JobStatus::Succeeded, REPORT);
    a_job.outputs.push(file("files/old.csv", "x", None));
    a_job.metrics = BTreeMap::from([("rows".into(), 100.0), ("gone".into(), 1.0)]);
    let mut b_job = job(
        "m/a",
        JobStatus::Failed,
        &REPORT.replace("Hello.", "Goodbye."),
    );
    b_job.outputs = vec![
        file("files/plot.png", "b2", Some("c2")),
        file("files/new.csv", "y", None),
    ];
    b_job.metrics = BTreeMap::from([("rows".into(), 120.0)]);
    let d = compare(&run("A", vec![a_job]), &run("B", vec![b_job]));
    assert!(d.changed);
    let j = &d.jobs[0];
    assert_eq!(j.change, Change::Changed);
    assert_eq!(
        j.files,
        FileChanges {
            added: vec!["files/new.csv".into()],
            removed: vec!["files/old.csv".into()],
            changed: vec!["files/plot.png".into()],
        }
    );
    let rows = j.metrics.iter().find(|m| m.name == "rows").unwrap();
    assert_eq!((rows.delta, rows.percent), (Some(20.0), Some(20.0)));
    let gone = j.metrics.iter().find(|m| m.name == "gone").unwrap();
    assert_eq!((gone.to, gone.delta), (None, None));
    let diff = j.report.diff.as_deref().unwrap();
    assert!(diff.contains("-Hello.\n+Goodbye.\n"), "{diff}");
    assert!(
        diff.starts_with("--- A/report.md\n+++ B/report.md\n"),
        "{diff}"
    );
    assert!(!diff.contains("**Ran:**"), "{diff}");
    let text = render_text(&d);
    assert!(
        text.contains("m/a: changed\n  status: succeeded → failed\n"),
        "{text}"
    );
    assert!(text.contains("  file changed: files/plot.png\n"), "{text}");
    assert!(
        text.contains("  metric rows: 100 → 120 (+20, +20.0%)\n"),
        "{text}"
    );
    assert!(text.contains("    -Hello.\n    +Goodbye.\n"), "{text}");
}

#[test]
fn added_removed_fresh_and_reports_not_kept() {
    let mut kept_elsewhere = job("m/fresh", JobStatus::Fresh, REPORT);
    kept_elsewhere.report = Report::NotKept;
    let a = run(
        "A",
        vec![
            job("m/fresh", JobStatus::Succeeded, REPORT),
            job("m/old", JobStatus::Succeeded, REPORT),
        ],
    );
    let b = run(
        "B",
        vec![kept_elsewhere, job("m/new", JobStatus::Succeeded, REPORT)],
    );
    let d = compare(&a, &b);
    let change = |id: &str| d.jobs.iter().find(|j| j.id == id).unwrap().change;
    assert_eq!(change("m/fresh"), Change::Unchanged, "succeeded then fresh");
    assert_eq!(change("m/old"), Change::Removed);
    assert_eq!(change("m/new"), Change::Added);
    let fresh = d.jobs.iter().find(|j| j.id == "m/fresh").unwrap();
    assert_eq!(fresh.report.changed, None);
    assert_eq!(fresh.report.not_kept, ["B"]);
    let text = render_text(&d);
    assert!(
        text.ends_with("\n0 jobs changed, 1 added, 1 removed; 1 job unchanged\n"),
        "{text}"
    );
    assert!(
        text.contains("m/new: added\n  status: — → succeeded\n"),
        "{text}"
    );
}

#[test]
fn the_run_records_changed_is_this_file_comparison() {
    let a = [
        file("files/a.csv", "1", None),
        file("files/b.png", "2", Some("c")),
    ];
    let b = [
        file("files/b.png", "3", Some("c")),
        file("files/a.csv", "1", None),
    ];
    assert!(compare_files(&a, &b).is_empty());
    // A record from before content hashes compares an image by its bytes.
    assert_eq!(
        compare_files(&[file("files/b.png", "2", None)], &b[..1]).changed,
        ["files/b.png"]
    );
}
