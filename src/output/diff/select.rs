//! Which two runs `runner diff` compares: by default the newest two that did work (a job
//! not fresh); a run named by its id or a unique beginning of it; one named run is compared
//! with the newest.

/// Why no two runs can be compared.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PickError {
    #[error("no run `{0}` in the run history; `runner history` lists the run ids")]
    Unknown(String),
    #[error("run id `{id}` is ambiguous: {}; give more of it", .matches.join(", "))]
    Ambiguous { id: String, matches: Vec<String> },
    #[error(
        "{found}: `runner diff` needs two runs to compare (name them: `runner diff RUN_A RUN_B`)"
    )]
    TooFew { found: String },
    #[error("both sides are run {0}; name two different runs")]
    Same(String),
}

/// A run of the history as the choice sees it.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub run_id: String,
    /// At least one job of the run was not fresh.
    pub did_work: bool,
}

/// The indices (into `runs`, newest first) of the older and the newer run to compare.
pub(crate) fn pick(
    runs: &[Candidate],
    a: Option<&str>,
    b: Option<&str>,
) -> Result<(usize, usize), PickError> {
    let (from, to) = match (a, b) {
        (Some(a), Some(b)) => (find(runs, a)?, find(runs, b)?),
        (Some(a), None) => {
            if runs.is_empty() {
                return Err(PickError::Unknown(a.to_owned()));
            }
            (find(runs, a)?, 0)
        }
        _ => {
            let working: Vec<usize> = (0..runs.len()).filter(|&i| runs[i].did_work).collect();
            match working[..] {
                [to, from, ..] => (from, to),
                _ => {
                    return Err(PickError::TooFew {
                        found: found(runs.len(), working.len()),
                    });
                }
            }
        }
    };
    if from == to {
        return Err(PickError::Same(runs[from].run_id.clone()));
    }
    Ok((from, to))
}

fn found(runs: usize, working: usize) -> String {
    match (runs, working) {
        (0, _) => "no run is recorded".to_owned(),
        (1, _) => "only one run is recorded".to_owned(),
        (n, 0) => format!("none of the {n} recorded runs did work (every job fresh)"),
        (n, _) => {
            format!("only one of the {n} recorded runs did work (the others: every job fresh)")
        }
    }
}

/// The run named `id`, or the one run whose id begins with it.
fn find(runs: &[Candidate], id: &str) -> Result<usize, PickError> {
    if let Some(i) = runs.iter().position(|r| r.run_id == id) {
        return Ok(i);
    }
    let matches: Vec<usize> = (0..runs.len())
        .filter(|&i| !id.is_empty() && runs[i].run_id.starts_with(id))
        .collect();
    match matches[..] {
        [one] => Ok(one),
        [] => Err(PickError::Unknown(id.to_owned())),
        _ => Err(PickError::Ambiguous {
            id: id.to_owned(),
            matches: matches.iter().map(|&i| runs[i].run_id.clone()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(spec: &[(&str, bool)]) -> Vec<Candidate> {
        spec.iter()
            .map(|(id, did_work)| Candidate {
                run_id: (*id).into(),
                did_work: *did_work,
            })
            .collect()
    }

    #[test]
    fn by_default_the_newest_two_runs_that_did_work() {
        let r = runs(&[("c", false), ("b", true), ("a2", false), ("a1", true)]);
        assert_eq!(pick(&r, None, None), Ok((3, 1)));
        let e = pick(&r[..3], None, None).unwrap_err();
        assert!(e.to_string().contains("only one of the 3"), "{e}");
        assert!(
            pick(&[], None, None)
                .unwrap_err()
                .to_string()
                .starts_with("no run is recorded")
        );
    }

    #[test]
    fn named_runs_by_id_or_unique_prefix() {
        let r = runs(&[
            ("20261201T020000Z-0001", true),
            ("20261130T020000Z-0002", true),
            ("20261130T030000Z-0003", false),
        ]);
        assert_eq!(pick(&r, Some("20261130T02"), None), Ok((1, 0)));
        assert_eq!(
            pick(&r, Some("20261130T03"), Some("20261130T02")),
            Ok((2, 1))
        );
        assert!(matches!(
            pick(&r, Some("20261130"), None),
            Err(PickError::Ambiguous { .. })
        ));
        assert_eq!(
            pick(&r, Some("nope"), None),
            Err(PickError::Unknown("nope".into()))
        );
        assert_eq!(
            pick(&r, Some("20261201"), None),
            Err(PickError::Same("20261201T020000Z-0001".into()))
        );
    }
}
