//! A run's custom skill folders, each resolved to a `(skill_id, version_id)` once however
//! many jobs load it, like inputs: a cached version is verified first; a folder whose
//! content changed becomes a new version of the skill this runner made for its name; any
//! other folder a new skill (docs/api.md §14.2, docs/output.md §5.4). Anthropic and
//! workspace skills are sent as written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use crate::api::ApiClient;
use crate::api::container::WireSkill;
use crate::api::retry::{RetryPolicy, retry};
use crate::api::skills::SkillFile;
use crate::manifest::{Skill, SkillFolder};
use crate::output::outcome::JobError;
use crate::plan::PlannedJob;
use crate::status::ErrorKind;
use crate::store::skill_cache::{CachedSkill, SkillCache};

/// What resolving a folder needs of the run: the client, the `anthropic-version` of its
/// Files and Skills calls, and the retry policy.
#[derive(Clone, Copy)]
pub(crate) struct Api<'a> {
    pub client: &'a ApiClient,
    pub version: &'a str,
    pub policy: &'a RetryPolicy,
}

/// The version of a folder's skill the API holds: `(skill_id, version_id)`.
type Resolved = Result<(String, String), String>;

/// The run's skill folders, by content hash.
pub(crate) struct Skills {
    cache: SkillCache,
    folders: Mutex<HashMap<String, Arc<OnceCell<Resolved>>>>,
}

impl Skills {
    pub(crate) fn new(cache: SkillCache) -> Skills {
        Skills {
            cache,
            folders: Mutex::default(),
        }
    }

    /// The `container.skills` list of a job's requests; a folder that cannot be uploaded
    /// fails the job with kind `skill`, sending nothing.
    pub(crate) async fn wire(
        &self,
        api: Api<'_>,
        job: &PlannedJob,
    ) -> Result<Vec<WireSkill>, JobError> {
        let mut wire = Vec::with_capacity(job.skills.len());
        for skill in &job.skills {
            wire.push(match skill {
                Skill::Anthropic { skill_id, version } => WireSkill::anthropic(skill_id, version),
                Skill::Custom { skill_id, version } => WireSkill::custom(skill_id, version),
                Skill::Folder(f) => {
                    let (id, version) = self.folder(api, f).await.map_err(|why| {
                        JobError::plain(
                            ErrorKind::Skill,
                            format!("skill `{}` (folder {}): {why}", f.name, f.folder),
                        )
                    })?;
                    WireSkill::custom(&id, &version)
                }
            });
        }
        Ok(wire)
    }

    async fn folder(&self, api: Api<'_>, f: &SkillFolder) -> Resolved {
        let cell = {
            let mut folders = self.folders.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(folders.entry(f.blake3.clone()).or_default())
        };
        cell.get_or_init(|| self.resolve(api, f)).await.clone()
    }

    async fn resolve(&self, api: Api<'_>, f: &SkillFolder) -> Resolved {
        let policy = api.policy;
        let at = |attempt| api.client.skills_at(api.version, attempt);
        if let Some(cached) = self.cache.by_content(&f.blake3) {
            let (id, version) = (&cached.skill_id, &cached.version_id);
            match retry(policy, |n| at(n).skill_version(id, version)).await {
                Ok(Some(_)) => return Ok((cached.skill_id, cached.version_id)),
                Ok(None) => tracing::info!(
                    skill = f.name,
                    "cached skill version {version} is gone; uploading again"
                ),
                Err(e) => {
                    return Err(format!(
                        "cannot check the cached skill version {version}: {e}"
                    ));
                }
            }
        }
        let bytes = f.read_files()?;
        let files: Vec<SkillFile<'_>> = f
            .files
            .iter()
            .zip(&bytes)
            .map(|(rel, b)| SkillFile {
                path: format!("{}/{rel}", f.name),
                bytes: b,
            })
            .collect();
        let made = match self.cache.skill_of(&f.name) {
            Some(id) => match retry(policy, |n| at(n).create_skill_version(&id, &files)).await {
                Ok(v) => Some((v.skill_id, v.id)),
                // The skill this runner made is gone (deleted in the console): a new one.
                Err(e) if e.error.status() == Some(404) => None,
                Err(e) => return Err(format!("cannot upload a new version of skill {id}: {e}")),
            },
            None => None,
        };
        let (skill_id, version_id) = match made {
            Some(made) => made,
            None => {
                let skill = retry(policy, |n| at(n).create_skill(&f.name, &files))
                    .await
                    .map_err(|e| format!("cannot upload the skill: {e}"))?;
                let version = skill
                    .latest_version_id
                    .ok_or("the API created the skill but named no version of it")?;
                (skill.id, version)
            }
        };
        let entry = CachedSkill {
            name: f.name.clone(),
            blake3: f.blake3.clone(),
            skill_id: skill_id.clone(),
            version_id: version_id.clone(),
            size: f.size,
            uploaded_at: jiff::Timestamp::now(),
        };
        if let Err(e) = self.cache.record(&entry) {
            tracing::warn!("{}", crate::error_chain::chain(&e));
        }
        Ok((skill_id, version_id))
    }
}
