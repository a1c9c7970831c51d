//! Parameter matrices (docs/manifest.md "Matrices"): which jobs a matrix with `include`
//! and `exclude` runs, with which inputs and prompts; its params in job.json, the plan,
//! explain, JUnit and the page; fingerprints per cell; and its errors, with `--keep-going`
//! failing one cell.

use fake_anthropic::FakeServer;
use serde_json::Value;

use crate::harness::{CommandExt, Sandbox, assert_exit, error_lines, summary_job};

/// The issue's example: 3 × 2 cells, less one, plus one added by `include`.
const SALES: &str = r#"  - name: "sales-{{ matrix.region }}-{{ matrix.month }}"
    matrix:
      region: [emea, amer, apac]
      month: ["2026-10", "2026-11"]
      exclude: [{ region: apac, month: "2026-10" }]
      include:
        - { region: emea, month: "2026-09", note: restated }
        - { region: amer, tier: 1 }
    inputs: ["data/sales-{{ matrix.region }}.csv"]
    prompt: "Sales of {{ matrix.region }} in {{ matrix.month }}."
"#;

fn sales() -> Sandbox {
    let sb = Sandbox::with_manifest(SALES);
    for r in ["emea", "amer", "apac"] {
        sb.file(&format!("data/sales-{r}.csv"), format!("region\n{r}\n"));
    }
    sb
}

fn names(summary: &Value) -> Vec<String> {
    let mut v: Vec<String> = summary["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_matrix_with_include_and_exclude_runs_each_cell_with_its_inputs_and_prompt() {
    let fake = FakeServer::start();
    let sb = sales();
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(
        names(&summary),
        [
            "sales-amer-2026-10",
            "sales-amer-2026-11",
            "sales-apac-2026-11",
            "sales-emea-2026-09",
            "sales-emea-2026-10",
            "sales-emea-2026-11",
        ]
    );
    let job = sb.read_json("out/m/sales-amer-2026-11/job.json");
    assert_eq!(job["turns"][0], "Sales of amer in 2026-11.");
    assert_eq!(job["inputs"][0]["name"], "sales-amer.csv");
    assert_eq!(
        job["params"],
        serde_json::json!({ "month": "2026-11", "region": "amer", "tier": "1" }),
        "include extends both amer cells; numbers as strings"
    );
    let added = sb.read_json("out/m/sales-emea-2026-09/job.json");
    assert_eq!(added["params"]["note"], "restated");
    assert_eq!(
        summary_job(&summary, "job", "sales-emea-2026-09")["params"]["note"],
        "restated"
    );
}

#[test]
fn plan_lists_each_cells_params_and_counts_the_cells_of_the_entry() {
    let sb = sales();
    let plan: Value = sb.cmd(["plan", "m.yaml", "--json"]).success_json();
    let jobs = plan["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 6);
    assert_eq!(jobs[0]["params"]["region"], "emea");
    assert_eq!(plan["matrices"][0]["cells"], 6);
    assert_eq!(plan["matrices"][0]["jobs"], 6);
    assert_eq!(plan["matrices"][0]["to_run"], 6);
    let out = sb.cmd(["plan", "m.yaml"]).output().unwrap();
    assert_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("    params month=2026-10, region=emea\n"),
        "{text}"
    );
    assert!(
        text.contains("matrix m.yaml `sales-{{ matrix.region }}-{{ matrix.month }}`: 6 cells, 6 jobs (6 to run)"),
        "{text}"
    );
}

#[test]
fn a_changed_axis_value_reruns_only_its_cell_and_explain_names_the_param() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: \"r-{{ matrix.i }}\"\n    matrix:\n      region: [emea, amer]\n      i: [\"1\"]\n      include: [{ region: amer, note: a }]\n    prompt: go\n",
    );
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().code(2);
    // Both cells are named r-1: the error names both.
    let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
    assert_exit(&out, 2);
    let lines = error_lines(&out.stderr);
    assert!(
        lines.iter().any(|l| l.contains(
            "m.yaml:5:11: cells {i: 1, region: emea} and {i: 1, note: a, region: amer} both give the name `r-1`"
        )),
        "{lines:?}"
    );

    sb.file(
        "m.yaml",
        crate::harness::manifest(
            "  - name: \"r-{{ matrix.region }}\"\n    matrix:\n      region: [emea, amer]\n    prompt: go\n",
        ),
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    let emea = sb.read_json("out/m/r-emea/job.json")["fingerprint"].clone();
    // The prompt does not use the parameter: only params tell the cells apart.
    assert_ne!(emea, sb.read_json("out/m/r-amer/job.json")["fingerprint"]);

    sb.file(
        "m.yaml",
        crate::harness::manifest(
            "  - name: \"r-{{ matrix.region }}\"\n    matrix:\n      region: [emea, apac]\n    prompt: go\n",
        ),
    );
    let explained: Vec<Value> = sb.cmd(["explain", "--json", "m.yaml"]).success_json();
    assert_eq!(explained[0]["status"], "fresh", "{explained:?}");
    assert_eq!(explained[1]["reason"], "never-ran");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary_job(&summary, "job", "r-emea")["status"], "fresh");
    assert_eq!(
        summary_job(&summary, "job", "r-apac")["status"],
        "succeeded"
    );
    assert_eq!(sb.read_json("out/m/r-emea/job.json")["fingerprint"], emea);
}

#[test]
fn explain_names_a_changed_param() {
    let fake = FakeServer::start();
    let body = |extra: &str| {
        crate::harness::manifest(&format!(
            "  - name: \"r-{{{{ matrix.region }}}}\"\n    matrix:\n      region: [emea]\n      include: [{{ region: emea, note: {extra} }}]\n    prompt: go\n"
        ))
    };
    let sb = Sandbox::new();
    sb.file("m.yaml", body("a"));
    sb.cmd_against(&fake, ["run", "m.yaml"]).assert().success();
    sb.file("m.yaml", body("b"));
    let explained: Vec<Value> = sb.cmd(["explain", "--json", "m.yaml"]).success_json();
    assert_eq!(explained[0]["reason"], "changed", "{explained:?}");
    assert_eq!(
        explained[0]["changes"][0],
        serde_json::json!({ "part": "param", "name": "note", "was": "a", "now": "b" })
    );
    let out = sb.cmd(["explain", "m.yaml"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("param note: a → b"), "{text}");
}

#[test]
fn an_unknown_key_an_empty_axis_and_a_bad_entry_are_errors_at_their_place() {
    let sb = Sandbox::with_manifest(
        "  - name: \"s-{{ matrix.regoin }}\"\n    matrix:\n      region: [emea]\n    prompt: go\n  - name: e\n    matrix:\n      region: []\n      size: [[1, 2]]\n      exclude: [emea, { regio: emea }]\n    prompt: go\n",
    );
    let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
    assert_exit(&out, 2);
    let lines = error_lines(&out.stderr);
    let want = [
        "m.yaml:5:11: unknown placeholder `{{ matrix.regoin }}`: the matrix has no key `regoin`; did you mean `{{ matrix.region }}`?",
        "m.yaml:11:15: matrix axis `region` is empty, expected at least one value",
        "m.yaml:12:14: matrix axis `size`: expected a single value (a string, number or true/false), not a list, mapping or null",
        "m.yaml:13:17: matrix `exclude` entry: expected a mapping of key: value",
        "m.yaml:13:25: matrix `exclude` key `regio` is no axis of the matrix",
    ];
    for w in want {
        assert!(lines.iter().any(|l| l == w), "{w}\n{lines:#?}");
    }
}

#[test]
fn template_true_fills_a_prompt_files_placeholders_and_without_it_the_file_is_sent_as_written() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: \"t-{{ matrix.region }}\"\n    matrix: { region: [emea] }\n    prompt_file: \"prompts/{{ matrix.region }}.md\"\n    template: true\n  - name: \"raw-{{ matrix.region }}\"\n    matrix: { region: [emea] }\n    prompt_file: prompts/emea.md\n",
    );
    sb.file(
        "prompts/emea.md",
        "Region {{ matrix.region }}, literal {{ \"{{\" }} x }}.\n",
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(
        sb.read_json("out/m/t-emea/job.json")["turns"][0],
        "Region emea, literal {{ x }}.\n"
    );
    assert_eq!(
        sb.read_json("out/m/raw-emea/job.json")["turns"][0],
        "Region {{ matrix.region }}, literal {{ \"{{\" }} x }}.\n"
    );

    sb.file("prompts/emea.md", "Region {{ matrix.nope }}\n");
    let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
    assert_exit(&out, 2);
    let lines = error_lines(&out.stderr);
    assert!(
        lines.iter().any(|l| l.starts_with(
            "m.yaml:7:18: prompt_file `prompts/emea.md`: unknown placeholder `{{ matrix.nope }}`"
        )),
        "{lines:#?}"
    );
}

#[test]
fn a_matrix_with_for_each_gives_one_job_per_file_per_cell() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: \"{{ stem }}-{{ matrix.lens }}\"\n    for_each: \"data/*.csv\"\n    matrix: { lens: [cost, churn] }\n    inputs: [\"{{ path }}\"]\n    prompt: \"{{ matrix.lens }} of {{ name }}\"\n",
    );
    sb.file("data/a.csv", "x\n1\n").file("data/b.csv", "y\n2\n");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(names(&summary), ["a-churn", "a-cost", "b-churn", "b-cost"]);
    let job = sb.read_json("out/m/b-churn/job.json");
    assert_eq!(job["turns"][0], "churn of b.csv");
    assert_eq!(job["inputs"][0]["name"], "b.csv");
    assert_eq!(job["params"], serde_json::json!({ "lens": "churn" }));
}

#[test]
fn keep_going_fails_only_the_cell_whose_input_is_missing_and_junit_and_the_page_show_params() {
    let fake = FakeServer::start();
    let sb = sales();
    std::fs::remove_file(sb.root.join("data/sales-apac.csv")).unwrap();
    let out = sb.cmd(["validate", "m.yaml"]).output().unwrap();
    assert_exit(&out, 2);
    let lines = error_lines(&out.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("m.yaml:13:14: input `data/sales-apac.csv` no such file")),
        "{lines:#?}"
    );

    let (code, summary) = sb.run_json(
        &fake,
        &["run", "m.yaml", "--keep-going", "--junit", "junit.xml"],
    );
    assert_eq!(code, Some(1), "{summary}");
    let apac = summary_job(&summary, "job", "sales-apac-2026-11");
    assert_eq!(apac["status"], "failed");
    assert_eq!(apac["error"]["kind"], "invalid");
    assert_eq!(summary["counts"]["failed"], 1);
    assert_eq!(summary["counts"]["succeeded"], 5);
    let xml = sb.read("junit.xml");
    assert!(
        xml.contains(
            "<testcase name=\"sales-emea-2026-09 [month=2026-09, note=restated, region=emea]\""
        ),
        "{xml}"
    );
    let page = sb.read("out/index.html");
    assert!(page.contains("<select id=\"filter-param\">"), "{page}");
    assert!(page.contains("<option value=\"note=restated\">"), "{page}");
    assert!(
        page.contains("<span class=\"param\">region=amer</span>"),
        "{page}"
    );
}

#[test]
fn keep_going_reports_a_placeholder_wrong_in_every_cell_once() {
    let fake = FakeServer::start();
    let sb = Sandbox::with_manifest(
        "  - name: \"x-{{ matrix.nope }}\"\n    matrix: { region: [emea, amer] }\n    prompt: go\n  - name: ok\n    prompt: go\n",
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--keep-going"]);
    assert_eq!(code, Some(1), "{summary}");
    assert_eq!(summary["counts"]["failed"], 1, "{summary}");
    assert_eq!(summary["counts"]["succeeded"], 1, "{summary}");
    let failed = summary_job(&summary, "job", "x-{{ matrix.nope }}");
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("m.yaml:5:11: unknown placeholder `{{ matrix.nope }}`"),
        "{message}"
    );
}
