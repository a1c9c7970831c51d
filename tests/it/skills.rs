//! Agent Skills end to end against the fake (docs/manifest.md "Skills", docs/api.md §14):
//! Anthropic skills and a custom skill folder loaded into the container, the folder
//! uploaded once per content, the same skills list on every request of a job, office files
//! coming back, validation, refusals, batch mode and `runner skills`.

use fake_anthropic::{Config, FakeServer};
use serde_json::{Value, json};

use crate::harness::{CommandExt, Sandbox, manifest, summary_job};

const SKILL_MD: &str =
    "---\nname: house-style\ndescription: Our chart colours and fonts.\n---\nUse navy.\n";

/// Two jobs with skills (one with continuations and a follow-up), one without.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x,y\n1,2\n")
        .file("skills/house-style/SKILL.md", SKILL_MD)
        .file("skills/house-style/colours.py", "NAVY = '#001f3f'\n")
        .file(
            "m.yaml",
            manifest(concat!(
                "  - name: deck\n    inputs: [data/a.csv]\n",
                "    skills: [pptx, { anthropic: xlsx, version: \"20251013\" }, skills/house-style]\n",
                "    prompt: \"Build the deck.\\n@fake pause 1\"\n",
                "    follow_up: [\"Now the workbook.\"]\n",
                "    expect: [deck.pptx, \"*.xlsx\"]\n",
                "  - name: styled\n    inputs: [data/a.csv]\n    skills: [skills/house-style]\n",
                "    prompt: Plot it.\n",
                "  - name: plain\n    inputs: [data/a.csv]\n    prompt: Describe it.\n",
            )),
        );
    sb
}

/// The `container` of every Messages request the fake received for a job's first turn text.
fn containers_of(fake: &FakeServer, first_turn: &str) -> Vec<Value> {
    fake.messages_requests()
        .into_iter()
        .filter(|b| {
            // The prompt follows the job's own note (docs/api.md §3.11).
            b["messages"][0]["content"][1]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with(first_turn))
        })
        .map(|b| b["container"].clone())
        .collect()
}

#[test]
fn skills_load_on_every_request_and_a_folder_is_uploaded_once() {
    let fake = FakeServer::start();
    let sb = sandbox();
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    let stats = fake.stats();
    assert_eq!(stats.skills_created, 1, "one folder, two jobs: one upload");
    assert_eq!(stats.skill_versions_created, 0);

    // The first request, its continuation and the follow-up: the same list, and the later
    // ones name the container.
    let deck = containers_of(&fake, "Build the deck.");
    assert_eq!(deck.len(), 3, "{deck:?}");
    let skills = &deck[0]["skills"];
    assert_eq!(skills.as_array().map(Vec::len), Some(3), "{skills}");
    assert_eq!(
        skills[0],
        json!({"type": "anthropic", "skill_id": "pptx", "version": "latest"})
    );
    assert_eq!(
        skills[1],
        json!({"type": "anthropic", "skill_id": "xlsx", "version": "20251013"})
    );
    assert_eq!(skills[2]["type"], "custom");
    assert!(
        skills[2]["version"].as_str().unwrap().starts_with("skver_"),
        "{skills}"
    );
    assert!(deck[0].get("id").is_none(), "{deck:?}");
    for later in &deck[1..] {
        assert_eq!(&later["skills"], skills);
        assert!(
            later["id"].as_str().unwrap().starts_with("container_"),
            "{later}"
        );
    }
    // A job without skills sends the container as before.
    for c in containers_of(&fake, "Plot it.") {
        assert!(
            c.is_null() || c.is_string() || c.get("skills").is_some(),
            "{c}"
        );
    }

    // job.json names each skill, with what the API resolved; the office files came back.
    let job = sb.read_json("out/m/deck/job.json");
    let recorded = job["skills"].as_array().unwrap();
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    assert_eq!(recorded[0]["source"], "anthropic");
    assert_eq!(recorded[0]["skill_id"], "pptx");
    assert_eq!(recorded[0]["version"], "latest");
    assert!(recorded[0]["resolved_version"].is_string(), "{recorded:?}");
    assert_eq!(recorded[2]["source"], "folder");
    assert_eq!(recorded[2]["name"], "house-style");
    assert_eq!(recorded[2]["folder"], "skills/house-style");
    assert_eq!(recorded[2]["skill_id"], skills[2]["skill_id"]);
    assert_eq!(recorded[2]["resolved_version"], skills[2]["version"]);
    assert!(sb.root.join("out/m/deck/files/deck.pptx").is_file());
    assert!(sb.root.join("out/m/deck/files/workbook.xlsx").is_file());
    let plain = sb.read_json("out/m/plain/job.json");
    assert!(plain.get("skills").is_none(), "{plain}");
    // The pages preview them: the workbook's sheet on the morning page, the deck's slide
    // titles on the job's report.
    let index = sb.read("out/index.html");
    assert!(
        index.contains(r#"class="preview workbook""#) && index.contains(">Summary<"),
        "{index}"
    );
    let md = sb.read("out/m/deck/report.md");
    let provenance = format!(
        "**Skills:** pptx (`{}`), xlsx (`{}`), house-style (folder skills/house-style: `{}` `{}`)\n",
        recorded[0]["resolved_version"].as_str().unwrap(),
        recorded[1]["resolved_version"].as_str().unwrap(),
        skills[2]["skill_id"].as_str().unwrap(),
        skills[2]["version"].as_str().unwrap(),
    );
    assert!(md.contains(&provenance), "{md}");
    let report = sb.read("out/m/deck/report.html");
    assert!(
        report.contains(r#"<div class="summary" id="skills">skills:"#),
        "{report}"
    );
    assert!(
        report.contains(r#"class="preview deck""#) && report.contains("<li>Findings</li>"),
        "{report}"
    );

    // Nothing changed: fresh, and the cached skill is not uploaded again.
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["counts"]["fresh"], 3, "{summary}");
    assert_eq!(fake.stats().skills_created, 1);
}

#[test]
fn one_changed_byte_of_a_skill_reruns_its_jobs_with_one_new_version() {
    let fake = FakeServer::start();
    let sb = sandbox();
    let (code, _) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0));
    let plan = sb.cmd_against(&fake, ["plan", "m.yaml"]).output().unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.contains("    skill pptx\n"), "{text}");
    assert!(text.contains("    skill xlsx@20251013\n"), "{text}");
    assert!(
        text.contains("    skill house-style  folder skills/house-style  "),
        "{text}"
    );

    sb.file("skills/house-style/colours.py", "NAVY = '#001f3e'\n");
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(
        summary["counts"]["fresh"], 1,
        "only `plain` stays fresh: {summary}"
    );
    assert_eq!(summary["counts"]["succeeded"], 2, "{summary}");
    let stats = fake.stats();
    assert_eq!((stats.skills_created, stats.skill_versions_created), (1, 1));
    let explain = sb
        .cmd_against(&fake, ["explain", "m.yaml"])
        .output()
        .unwrap();
    let _ = explain; // explain of fresh jobs: nothing to say
}

#[test]
fn a_bad_skill_folder_or_too_many_skills_is_a_validation_error_before_any_request() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x\n1\n")
        .file("skills/bad/SKILL.md", "---\nname: Claude-Style\ndescription: x\n---\n")
        .file(
            "m.yaml",
            manifest(concat!(
                "  - name: a\n    prompt: p\n    skills: [skills/bad]\n",
                "  - name: b\n    prompt: p\n    skills: [xlsx, pptx, docx, pdf, skill_1, skill_2, skill_3, skill_4, skill_5]\n",
                "  - name: c\n    prompt: p\n    skills: [xslx]\n",
                "  - name: d\n    prompt: p\n    skills: [xlsx, xlsx]\n",
            )),
        );
    let stderr = sb.cmd_against(&fake, ["run", "m.yaml"]).exit_stderr(2);
    assert!(
        stderr.contains("m.yaml:7:14: skills/bad/SKILL.md: frontmatter `name`"),
        "{stderr}"
    );
    assert!(stderr.contains("only lowercase letters"), "{stderr}");
    assert!(stderr.contains("more than 8 skills"), "{stderr}");
    assert!(
        stderr.contains("did you mean Anthropic's `xlsx` skill?"),
        "{stderr}"
    );
    assert!(stderr.contains("skill `xlsx` is listed twice"), "{stderr}");
    assert_eq!(fake.stats().requests_total, 0, "nothing was sent");
}

#[test]
fn a_skill_the_api_refuses_fails_only_its_job_with_kind_skill() {
    let fake = FakeServer::start();
    let sb = Sandbox::new();
    sb.file("data/a.csv", "x\n1\n").file(
        "m.yaml",
        manifest(concat!(
            "  - name: gone\n    prompt: p\n    skills: [skill_01NoSuchSkill]\n",
            "  - name: fine\n    prompt: p\n    skills: [xlsx]\n",
        )),
    );
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(code, Some(1), "{summary}");
    let gone = sb.read_json("out/m/gone/job.json");
    assert_eq!(gone["error"]["kind"], "skill", "{gone}");
    assert!(
        gone["error"]["message"]
            .as_str()
            .unwrap()
            .contains("skill_01NoSuchSkill"),
        "{gone}"
    );
    assert_eq!(sb.read_json("out/m/fine/job.json")["status"], "succeeded");
}

/// The one custom skill `styled` loaded, after a first run of it.
fn styled_skill(sb: &Sandbox, fake: &FakeServer) -> String {
    let (code, summary) = sb.run_json(fake, &["run", "m.yaml", "--only", "styled"]);
    assert_eq!(code, Some(0), "{summary}");
    sb.read_json("out/m/styled/job.json")["skills"][0]["skill_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_undecryptable_custom_skill_fails_with_kind_skill() {
    let fake = FakeServer::start();
    let sb = sandbox();
    let skill_id = styled_skill(&sb, &fake);
    assert!(fake.block_skill(&skill_id));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--only", "styled", "--force"]);
    assert_eq!(code, Some(1), "{summary}");
    let line = summary_job(&summary, "job", "styled");
    assert_eq!(line["error"]["kind"], "skill", "{line}");
    let message = line["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("skill_read_blocked_undecryptable") || message.contains("decrypt"),
        "{message}"
    );
    assert_eq!(
        sb.read_json("out/m/styled/job.json")["status"],
        "succeeded",
        "the last good result stays"
    );
}

#[test]
fn skills_go_in_each_batch_item_and_a_refusal_says_to_run_online() {
    let fake = FakeServer::start();
    let sb = sandbox();
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--batch", "--batch-poll", "10ms"]);
    assert_eq!(code, Some(0), "{summary}");
    let items = fake.batch_items();
    assert!(
        items
            .iter()
            .any(|i| i.params["container"]["skills"].is_array()),
        "{items:?}"
    );

    let refusing = FakeServer::start_with(Config {
        skills_in_batches_refused: true,
        ..Config::default()
    });
    let sb = sandbox();
    let (code, _) = sb.run_json(
        &refusing,
        &["run", "m.yaml", "--batch", "--batch-poll", "10ms"],
    );
    assert_eq!(code, Some(1));
    let deck = sb.read_json("out/m/deck/job.json");
    assert_eq!(deck["error"]["kind"], "skill", "{deck}");
    assert!(
        deck["error"]["message"]
            .as_str()
            .unwrap()
            .contains("without `--batch`"),
        "{deck}"
    );
    assert_eq!(sb.read_json("out/m/plain/job.json")["status"], "succeeded");
}

#[test]
fn a_skill_deleted_on_the_server_is_uploaded_again() {
    let fake = FakeServer::start();
    let sb = sandbox();
    let skill_id = styled_skill(&sb, &fake);
    assert!(fake.delete_skill(&skill_id));
    let (code, summary) = sb.run_json(&fake, &["run", "m.yaml", "--only", "styled", "--force"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(
        fake.stats().skills_created,
        2,
        "the cached version was checked, found gone, and made again"
    );
    let now = sb.read_json("out/m/styled/job.json")["skills"][0]["skill_id"].clone();
    assert_ne!(now, skill_id.as_str());
}

#[test]
fn skills_list_marks_the_runners_skills_and_prune_deletes_only_unused_versions() {
    let fake = FakeServer::start();
    let sb = sandbox();
    assert_eq!(sb.run_json(&fake, &["run", "m.yaml"]).0, Some(0));
    sb.file("skills/house-style/colours.py", "NAVY = '#001f3e'\n");
    assert_eq!(sb.run_json(&fake, &["run", "m.yaml"]).0, Some(0));

    let listed: Vec<Value> = sb
        .cmd_against(&fake, ["skills", "list", "--json", "-o", "out"])
        .success_json();
    let ours: Vec<&Value> = listed
        .iter()
        .filter(|s| s["uploaded_by_runner"] == true)
        .collect();
    assert_eq!(ours.len(), 1, "{listed:?}");
    assert_eq!(
        ours[0]["versions"].as_array().unwrap().len(),
        2,
        "{listed:?}"
    );
    assert!(
        listed
            .iter()
            .any(|s| s["id"] == "xlsx" && s["uploaded_by_runner"] == false),
        "{listed:?}"
    );
    assert_eq!(
        ours[0]["used_by"],
        json!(["out/m/deck", "out/m/styled"]),
        "{listed:?}"
    );

    let before = fake.stats();
    let dry = sb
        .cmd_against(&fake, ["skills", "prune", "-o", "out", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert_eq!(
        fake.stats().skill_versions_deleted,
        before.skill_versions_deleted
    );
    let out = sb
        .cmd_against(&fake, ["skills", "prune", "-o", "out"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = fake.stats();
    assert_eq!(
        after.skill_versions_deleted, 1,
        "the first version, which no job uses now"
    );
    assert_eq!(after.skills_deleted, 0);
    // Still fresh: what the jobs use is there.
    let (_, summary) = sb.run_json(&fake, &["run", "m.yaml"]);
    assert_eq!(summary["counts"]["fresh"], 3, "{summary}");
}
