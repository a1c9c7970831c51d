//! `runner skills list|prune`: the Skills API's view of the workspace (docs/api.md §14.2),
//! this runner's skill cache (docs/output.md §5.4), and the `job.json` `skills[]` of
//! output trees (docs/output.md §2.11). Every call goes through the same retries and
//! rate-limit gates as a run. Prune deletes only skill versions the skill cache says this
//! runner uploaded (for this API base URL and key) that no given tree references, and a
//! skill only when every version the API still lists for it is one of those.

use std::collections::{BTreeMap, BTreeSet};

use camino::Utf8PathBuf;
use futures_util::StreamExt;
use serde::Serialize;

use crate::api::ApiClient;
use crate::api::retry::{GaveUp, retry};
use crate::api::skills::{SkillInfo, SkillVersion};
use crate::config::{SkillsAction, SkillsConfig};
use crate::error::{Error, Exit};
use crate::output::references::skill_references;
use crate::store::StateDir;
use crate::store::skill_cache::{CachedSkill, SkillCache};
use crate::ui::{self, Display};
use crate::units;

/// Deletions in flight at once.
const DELETES_IN_FLIGHT: usize = 4;

pub(super) async fn skills(config: SkillsConfig, display: &Display) -> Result<Exit, Error> {
    let state = StateDir::open(&config.state_dir)?;
    let key = config.api.key.clone().ok_or(Error::NoApiKey)?;
    let cache = SkillCache::for_api(&state, &config.api.base_url, key.fingerprint());
    match &config.action {
        SkillsAction::List { out, json } => {
            let client = config.api.connect(config.pacing())?;
            let refs = references(out)?;
            let workspace = all_skills(&config, &client).await?;
            let cached = cache.entries();
            let listed = listing(workspace, &cached, &refs);
            let missing = missing_skills(&listed, &cached);
            if missing > 0 && !display.quiet {
                ui::note(&format!(
                    "{} of the skill cache no longer in the workspace (deleted elsewhere); \
                     `runner skills prune` forgets the versions no job uses",
                    units::count(missing, "skill")
                ));
            }
            let text = if *json {
                serde_json::to_string_pretty(&listed).map_err(Error::Json)? + "\n"
            } else {
                listed.iter().map(|s| render(s, !out.is_empty())).collect()
            };
            ui::stdout(&text);
            Ok(Exit::Success)
        }
        SkillsAction::Prune { out, dry_run } => {
            // A run writing to a tree may use a skill version its job.json does not name
            // yet: no pruning beside it (and no run starts while the deletions go on).
            let _locks = if *dry_run {
                Vec::new()
            } else {
                super::files::lock_trees(out)?
            };
            let refs = references(out)?;
            let groups = doomed(&cache.entries(), &refs);
            ui::stdout(
                &groups
                    .iter()
                    .map(|g| render_doomed(g, *dry_run))
                    .collect::<String>(),
            );
            let versions: usize = groups.iter().map(|g| g.versions.len()).sum();
            if *dry_run {
                if !display.quiet {
                    ui::note(&format!(
                        "dry run: {} to delete, nothing deleted",
                        units::count(versions, "skill version")
                    ));
                }
                return Ok(Exit::Success);
            }
            let client = config.api.connect(config.pacing())?;
            prune(&config, &client, &cache, &groups, display).await
        }
    }
}

/// Every `"{skill_id}/{version}"` the output trees' job.json files reference, with the
/// job folders using it.
fn references(out: &[Utf8PathBuf]) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let mut refs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for tree in out {
        let found = skill_references(tree).map_err(|source| Error::ReadRecord {
            path: tree.clone(),
            source,
        })?;
        for (key, users) in found {
            let all = refs.entry(key).or_default();
            all.extend(users);
            all.sort();
            all.dedup();
        }
    }
    Ok(refs)
}

/// Every page of `GET /v1/skills` (every source), each page with its own retries.
async fn all_skills(config: &SkillsConfig, client: &ApiClient) -> Result<Vec<SkillInfo>, Error> {
    let mut skills = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let got = retry(&config.policy, |attempt| {
            client
                .skills_at(&config.api_version, attempt)
                .skills_page(None, page.as_deref())
        })
        .await
        .map_err(|e| Error::Skills(Box::new(e)))?;
        skills.extend(got.data);
        match got.next_page {
            // A cursor that does not move would loop forever.
            Some(next) if !next.is_empty() && page.as_deref() != Some(next.as_str()) => {
                page = Some(next);
            }
            _ => break,
        }
    }
    Ok(skills)
}

/// Every page of `GET /v1/skills/{id}/versions`, each page with its own retries.
async fn all_versions(
    config: &SkillsConfig,
    client: &ApiClient,
    skill_id: &str,
) -> Result<Vec<SkillVersion>, GaveUp> {
    let mut versions = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let got = retry(&config.policy, |attempt| {
            client
                .skills_at(&config.api_version, attempt)
                .skill_versions_page(skill_id, page.as_deref())
        })
        .await?;
        versions.extend(got.data);
        match got.next_page {
            Some(next) if !next.is_empty() && page.as_deref() != Some(next.as_str()) => {
                page = Some(next);
            }
            _ => break,
        }
    }
    Ok(versions)
}

/// One skill of `runner skills list` (`--json` prints these; docs/exit-codes.md §2.7).
#[derive(Debug, PartialEq, Serialize)]
struct Listed {
    id: String,
    display_name: Option<String>,
    /// `custom`, `anthropic`, … as the API says.
    source: String,
    latest_version_id: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    /// The skill cache (this base URL and key) recorded a version of this skill.
    uploaded_by_runner: bool,
    /// The versions this runner uploaded, oldest first.
    versions: Vec<ListedVersion>,
    /// Job folders of the given output trees whose job.json names any version of it.
    used_by: Vec<String>,
}

#[derive(Debug, PartialEq, Serialize)]
struct ListedVersion {
    id: String,
    name: String,
    blake3: String,
    size: u64,
    uploaded_at: jiff::Timestamp,
    /// Job folders whose job.json names this version (requested or resolved).
    used_by: Vec<String>,
}

/// The workspace's skills in the API's order, each with what the cache and the trees say.
fn listing(
    workspace: Vec<SkillInfo>,
    cached: &[CachedSkill],
    refs: &BTreeMap<String, Vec<String>>,
) -> Vec<Listed> {
    workspace
        .into_iter()
        .map(|s| {
            let prefix = format!("{}/", s.id);
            let mut used_by: Vec<String> = refs
                .iter()
                .filter(|(key, _)| key.starts_with(&prefix))
                .flat_map(|(_, users)| users.iter().cloned())
                .collect();
            used_by.sort();
            used_by.dedup();
            let versions: Vec<ListedVersion> = cached
                .iter()
                .filter(|c| c.skill_id == s.id)
                .map(|c| ListedVersion {
                    id: c.version_id.clone(),
                    name: c.name.clone(),
                    blake3: c.blake3.clone(),
                    size: c.size,
                    uploaded_at: c.uploaded_at,
                    used_by: refs
                        .get(&format!("{}/{}", s.id, c.version_id))
                        .cloned()
                        .unwrap_or_default(),
                })
                .collect();
            Listed {
                uploaded_by_runner: !versions.is_empty(),
                versions,
                used_by,
                id: s.id,
                display_name: s.display_name,
                source: s.source,
                latest_version_id: s.latest_version_id,
                created_at: s.created_at,
                updated_at: s.updated_at,
            }
        })
        .collect()
}

/// How many skills the cache has versions of that the listing does not have.
fn missing_skills(listed: &[Listed], cached: &[CachedSkill]) -> usize {
    let listed: BTreeSet<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    let cached: BTreeSet<&str> = cached.iter().map(|c| c.skill_id.as_str()).collect();
    cached.difference(&listed).count()
}

/// An API timestamp as `YYYY-MM-DD HH:MM`, or as it came when it does not parse.
fn when(t: Option<&str>) -> String {
    match t {
        None => "-".to_owned(),
        Some(t) => t.parse::<jiff::Timestamp>().map_or_else(
            |_| t.to_owned(),
            |t| t.strftime("%Y-%m-%d %H:%M").to_string(),
        ),
    }
}

/// One skill's line, then one indented line per version this runner uploaded. With
/// `jobs` (some `-o` was given), the jobs using each.
fn render(s: &Listed, jobs: bool) -> String {
    let mut text = format!(
        "{}  {}  {}  latest {}  created {}",
        s.id,
        s.display_name.as_deref().unwrap_or("-"),
        s.source,
        s.latest_version_id.as_deref().unwrap_or("-"),
        when(s.created_at.as_deref()),
    );
    if s.uploaded_by_runner {
        text.push_str("  [runner upload]");
    }
    let used = |users: &[String]| {
        if jobs && !users.is_empty() {
            format!("  used by {}", users.join(", "))
        } else if jobs {
            "  unused".to_owned()
        } else {
            String::new()
        }
    };
    text.push_str(&used(&s.used_by));
    text.push('\n');
    for v in &s.versions {
        text.push_str(&format!(
            "  {}  {}  {}  uploaded {}{}\n",
            v.id,
            v.name,
            units::bytes(v.size),
            v.uploaded_at.strftime("%Y-%m-%d %H:%M"),
            used(&v.used_by)
        ));
    }
    text
}

/// A skill's cached versions that no tree references.
#[derive(Debug, PartialEq)]
struct Doomed {
    skill_id: String,
    versions: Vec<CachedSkill>,
    /// Every version the cache knows of this skill is doomed: the skill itself goes too,
    /// if the API lists no other version of it.
    whole: bool,
}

/// The cached versions no reference keeps, by skill. A version is kept when a tree names
/// it (requested or resolved), and the newest cached version of a skill is kept when a
/// tree asks for that skill's `latest`.
fn doomed(cached: &[CachedSkill], refs: &BTreeMap<String, Vec<String>>) -> Vec<Doomed> {
    let mut by_skill: BTreeMap<&str, Vec<&CachedSkill>> = BTreeMap::new();
    for c in cached {
        by_skill.entry(c.skill_id.as_str()).or_default().push(c);
    }
    by_skill
        .into_iter()
        .filter_map(|(skill_id, versions)| {
            let newest = versions.iter().map(|v| v.uploaded_at).max();
            let latest_used = refs.contains_key(&format!("{skill_id}/latest"));
            let kept = |v: &CachedSkill| {
                refs.contains_key(&format!("{skill_id}/{}", v.version_id))
                    || (latest_used && Some(v.uploaded_at) == newest)
            };
            let gone: Vec<CachedSkill> = versions
                .iter()
                .filter(|v| !kept(v))
                .map(|v| (*v).clone())
                .collect();
            (!gone.is_empty()).then(|| Doomed {
                whole: gone.len() == versions.len(),
                skill_id: skill_id.to_owned(),
                versions: gone,
            })
        })
        .collect()
}

fn render_doomed(g: &Doomed, dry_run: bool) -> String {
    let would = if dry_run { "would delete " } else { "" };
    let mut text = String::new();
    for v in &g.versions {
        text.push_str(&format!(
            "{would}{}/{}  {}  {}  uploaded {}\n",
            g.skill_id,
            v.version_id,
            v.name,
            units::bytes(v.size),
            v.uploaded_at.strftime("%Y-%m-%d %H:%M")
        ));
    }
    if g.whole {
        text.push_str(&format!(
            "{would}skill {} (when the API lists no other version of it)\n",
            g.skill_id
        ));
    }
    text
}

/// What pruning one skill did.
#[derive(Default)]
struct Pruned {
    skill_id: String,
    /// `(skill_id, version_id)` of each version deleted (or found gone).
    deleted: Vec<(String, String)>,
    skill_deleted: bool,
    /// `(what, message)` of each deletion that failed.
    failed: Vec<(String, String)>,
    /// Said on stderr: why a skill was kept.
    note: Option<String>,
}

/// Deletes each group's versions (a few skills at a time), reports each deletion and
/// failure on its own line, and forgets what is gone from the skill cache.
async fn prune(
    config: &SkillsConfig,
    client: &ApiClient,
    cache: &SkillCache,
    groups: &[Doomed],
    display: &Display,
) -> Result<Exit, Error> {
    let results: Vec<Pruned> = futures_util::stream::iter(groups)
        .map(|g| prune_skill(config, client, g))
        .buffered(DELETES_IN_FLIGHT)
        .collect()
        .await;
    let mut gone: BTreeSet<(String, String)> = BTreeSet::new();
    let (mut skills, mut failed) = (0, 0);
    for r in &results {
        for (skill, version) in &r.deleted {
            if !display.quiet {
                ui::note(&format!("deleted {skill}/{version}"));
            }
            gone.insert((skill.clone(), version.clone()));
        }
        if r.skill_deleted {
            skills += 1;
            if !display.quiet {
                ui::note(&format!("deleted skill {}", r.skill_id));
            }
        }
        for (what, message) in &r.failed {
            failed += 1;
            ui::note(&format!("error: {what}: {message}"));
        }
        if let Some(note) = r.note.as_deref().filter(|_| !display.quiet) {
            ui::note(note);
        }
    }
    if !display.quiet {
        ui::note(&format!(
            "{} deleted, {} deleted, {failed} failed",
            units::count(gone.len(), "skill version"),
            units::count(skills, "skill"),
        ));
    }
    // After the report: the deletions happened whether or not the cache can be saved.
    if !gone.is_empty() {
        cache.forget(&gone)?;
    }
    Ok(if failed > 0 {
        Exit::JobsFailed
    } else {
        Exit::Success
    })
}

/// One skill: when every version the API lists is doomed, the skill is deleted (and with
/// it its versions); if the API refuses that while versions remain, the versions go
/// first and the skill after. Otherwise only the doomed versions are deleted. A skill the
/// API no longer knows counts as deleted.
async fn prune_skill(config: &SkillsConfig, client: &ApiClient, g: &Doomed) -> Pruned {
    let all_ids = || {
        g.versions
            .iter()
            .map(|v| (g.skill_id.clone(), v.version_id.clone()))
            .collect::<Vec<_>>()
    };
    let mut pruned = Pruned {
        skill_id: g.skill_id.clone(),
        ..Pruned::default()
    };
    let whole = if g.whole {
        match all_versions(config, client, &g.skill_id).await {
            Err(e) if e.error.status() == Some(404) => {
                pruned.deleted = all_ids();
                pruned.skill_deleted = true;
                return pruned;
            }
            // Its own versions still go; the skill stays, and the failure is reported.
            Err(e) => {
                let what = format!("skill {}", g.skill_id);
                pruned.failed.push((
                    what,
                    format!("its versions cannot be listed, so it is kept: {e}"),
                ));
                false
            }
            Ok(listed) => whole_skill(g, &listed, &mut pruned),
        }
    } else {
        false
    };
    if whole {
        match delete_skill(config, client, &g.skill_id).await {
            Ok(()) => {
                pruned.deleted = all_ids();
                pruned.skill_deleted = true;
                return pruned;
            }
            // Refused while it has versions: delete them, then try again.
            Err(e) if matches!(e.error.status(), Some(400 | 409)) => {}
            Err(e) => {
                pruned
                    .failed
                    .push((format!("skill {}", g.skill_id), e.to_string()));
                return pruned;
            }
        }
    }
    delete_versions(config, client, g, &mut pruned).await;
    if whole && pruned.failed.is_empty() {
        match delete_skill(config, client, &g.skill_id).await {
            Ok(()) => pruned.skill_deleted = true,
            Err(e) => pruned
                .failed
                .push((format!("skill {}", g.skill_id), e.to_string())),
        }
    }
    pruned
}

/// Whether every version the API lists for the skill is one of the doomed ones; if not,
/// a note says why the skill is kept.
fn whole_skill(g: &Doomed, listed: &[SkillVersion], pruned: &mut Pruned) -> bool {
    let doomed: BTreeSet<&str> = g.versions.iter().map(|v| v.version_id.as_str()).collect();
    let others = listed
        .iter()
        .filter(|v| !doomed.contains(v.id.as_str()))
        .count();
    if others > 0 {
        pruned.note = Some(format!(
            "kept skill {}: {} this runner did not upload",
            g.skill_id,
            units::count(others, "version")
        ));
    }
    others == 0
}

async fn delete_versions(
    config: &SkillsConfig,
    client: &ApiClient,
    g: &Doomed,
    pruned: &mut Pruned,
) {
    for v in &g.versions {
        let deleted = retry(&config.policy, |attempt| {
            client
                .skills_at(&config.api_version, attempt)
                .delete_skill_version(&g.skill_id, &v.version_id)
        })
        .await;
        match deleted {
            Ok(()) => pruned
                .deleted
                .push((g.skill_id.clone(), v.version_id.clone())),
            Err(e) => pruned
                .failed
                .push((format!("{}/{}", g.skill_id, v.version_id), e.to_string())),
        }
    }
}

/// `DELETE /v1/skills/{id}` with retries; gone already counts as done. A 409 is not
/// retried unless the server asks (`x-should-retry`): here it means the skill still holds
/// versions, which waiting does not change (docs/api.md §14.2).
async fn delete_skill(
    config: &SkillsConfig,
    client: &ApiClient,
    skill_id: &str,
) -> Result<(), GaveUp> {
    let deleted = retry(&config.policy, |attempt| async move {
        let result = client
            .skills_at(&config.api_version, attempt)
            .delete_skill(skill_id)
            .await;
        result.map_err(|mut e| {
            if e.status() == Some(409) && e.should_retry.is_none() {
                e.should_retry = Some(false);
            }
            e
        })
    })
    .await;
    match deleted {
        Err(e) if e.error.status() == Some(404) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(skill_id: &str, version_id: &str, at: i64) -> CachedSkill {
        CachedSkill {
            name: "house-style".into(),
            blake3: format!("hash-{version_id}"),
            skill_id: skill_id.into(),
            version_id: version_id.into(),
            size: 2048,
            uploaded_at: jiff::Timestamp::from_second(at).unwrap(),
        }
    }

    fn refs(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, job)| ((*k).to_owned(), vec![(*job).to_owned()]))
            .collect()
    }

    #[test]
    fn prune_keeps_referenced_versions_and_the_newest_of_a_latest() {
        let cache = [
            cached("skill_a", "skver_1", 100),
            cached("skill_a", "skver_2", 200),
            cached("skill_b", "skver_3", 100),
            cached("skill_b", "skver_4", 200),
            cached("skill_c", "skver_5", 100),
        ];
        let used = refs(&[
            ("skill_a/skver_1", "out/m/a"),
            ("skill_b/latest", "out/m/b"),
            ("xlsx/latest", "out/m/b"),
        ]);
        let groups = doomed(&cache, &used);
        let summary: Vec<(&str, Vec<&str>, bool)> = groups
            .iter()
            .map(|g| {
                let ids = g.versions.iter().map(|v| v.version_id.as_str()).collect();
                (g.skill_id.as_str(), ids, g.whole)
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("skill_a", vec!["skver_2"], false),
                ("skill_b", vec!["skver_3"], false),
                ("skill_c", vec!["skver_5"], true),
            ]
        );
        assert_eq!(
            render_doomed(&groups[2], true),
            "would delete skill_c/skver_5  house-style  2.0 KiB  uploaded 1970-01-01 00:01\n\
             would delete skill skill_c (when the API lists no other version of it)\n"
        );
        assert!(doomed(&cache[..1], &refs(&[("skill_a/skver_1", "j")])).is_empty());
    }

    #[test]
    fn a_skill_with_versions_of_others_is_kept() {
        let g = Doomed {
            skill_id: "skill_c".into(),
            versions: vec![cached("skill_c", "skver_5", 100)],
            whole: true,
        };
        let version = |id: &str| SkillVersion {
            id: id.into(),
            skill_id: "skill_c".into(),
            name: "house-style".into(),
            description: None,
            created_at: None,
        };
        let mut pruned = Pruned::default();
        assert!(whole_skill(&g, &[version("skver_5")], &mut pruned));
        assert!(pruned.note.is_none());
        assert!(!whole_skill(
            &g,
            &[version("skver_5"), version("skver_9")],
            &mut pruned
        ));
        assert_eq!(
            pruned.note.as_deref(),
            Some("kept skill skill_c: 1 version this runner did not upload")
        );
    }

    #[test]
    fn the_listing_marks_runner_uploads_and_their_jobs() {
        let workspace = vec![
            SkillInfo {
                id: "skill_a".into(),
                display_name: Some("House style".into()),
                latest_version_id: Some("skver_2".into()),
                source: "custom".into(),
                created_at: Some("2026-12-01T10:00:00Z".into()),
                updated_at: None,
            },
            SkillInfo {
                id: "xlsx".into(),
                display_name: None,
                latest_version_id: Some("20251013".into()),
                source: "anthropic".into(),
                created_at: Some("not a time".into()),
                updated_at: None,
            },
        ];
        let cache = [
            cached("skill_a", "skver_2", 100),
            cached("skill_z", "skver_9", 1),
        ];
        let used = refs(&[("skill_a/skver_2", "out/m/a"), ("xlsx/latest", "out/m/b")]);
        let listed = listing(workspace, &cache, &used);
        assert!(listed[0].uploaded_by_runner && !listed[1].uploaded_by_runner);
        assert_eq!(listed[1].used_by, ["out/m/b"]);
        assert_eq!(
            render(&listed[0], true),
            "skill_a  House style  custom  latest skver_2  created 2026-12-01 10:00  \
             [runner upload]  used by out/m/a\n  \
             skver_2  house-style  2.0 KiB  uploaded 1970-01-01 00:01  used by out/m/a\n"
        );
        assert_eq!(
            render(&listed[1], false),
            "xlsx  -  anthropic  latest 20251013  created not a time\n"
        );
        assert_eq!(missing_skills(&listed, &cache), 1, "skill_z is gone");
        let json = serde_json::to_value(&listed[1]).unwrap();
        assert_eq!(json["used_by"], serde_json::json!(["out/m/b"]));
        assert_eq!(json["versions"], serde_json::json!([]));
    }
}
