//! `@fake …` lines in the last user turn steer the scripted model. Unknown or
//! malformed directives are a 400, so typos in tests fail loudly.

use std::time::Duration;

/// Largest `@fake output` size; keeps a typo from eating the machine's memory.
const MAX_OUTPUT_BYTES: u64 = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubTool {
    Bash,
    TextEditor,
    CodeExecution,
}

impl SubTool {
    /// The error codes the SDK's enums allow for this sub-tool (docs/api.md §3.4).
    pub(crate) fn codes(self) -> &'static [&'static str] {
        const BASE: [&str; 4] = [
            "invalid_tool_input",
            "unavailable",
            "too_many_requests",
            "execution_time_exceeded",
        ];
        match self {
            SubTool::CodeExecution => &BASE,
            SubTool::Bash => &[BASE[0], BASE[1], BASE[2], BASE[3], "output_file_too_large"],
            SubTool::TextEditor => &[BASE[0], BASE[1], BASE[2], BASE[3], "file_not_found"],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    EndTurn,
    MaxTokens,
    Refusal,
    ToolUse,
    Sequence,
    ContextWindowExceeded,
}

#[derive(Debug, Default)]
pub(crate) struct Directives {
    pub pause: Option<u32>,
    pub stop: Option<Stop>,
    pub fail: Option<(u16, String, Option<String>)>,
    /// `@fake fail … retry-after=SECS`: the error's `retry-after` (and `retry-after-ms`).
    pub fail_retry_after: Option<f64>,
    /// `@fake usage …`: usage numbers to report instead of the computed ones.
    pub usage: Option<UsageOverride>,
    pub tool_errors: Vec<(SubTool, String)>,
    pub outputs: Vec<(String, u64)>,
    /// `@fake image NAME`: a real PNG (a bar chart) under NAME.
    pub images: Vec<String>,
    pub no_output: bool,
    pub sleep: Option<Duration>,
    pub encrypted: bool,
    /// `@fake batch …`: how this request fares as a Message Batch item (ignored online).
    pub batch: Option<BatchFault>,
}

/// `@fake usage input=N output=N thinking=N cache_read=N cache_write=N`: any subset.
/// Input keys replace the whole input split (missing ones are 0); `output` replaces the
/// total of the model calls, so it may exceed `max_tokens`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct UsageOverride {
    pub input: Option<u64>,
    pub cache_write: Option<u64>,
    pub cache_read: Option<u64>,
    pub output: Option<u64>,
    pub thinking: Option<u64>,
}

impl UsageOverride {
    pub(crate) fn forces_input(&self) -> bool {
        self.input.is_some() || self.cache_write.is_some() || self.cache_read.is_some()
    }
}

/// A scripted Message Batch item result, for the first `times` submissions of
/// the same params (all of them when `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BatchFault {
    /// `Some(error type)` for `errored`, `None` for `expired` (or `missing`).
    pub errored: Option<String>,
    /// `missing`: the item gets no results line at all (a server fault the runner must
    /// not hang on).
    pub missing: bool,
    pub times: Option<u32>,
}

/// The directives for user turn `current` (1-based) of a conversation whose user turns
/// have these texts: the plain `@fake` lines of that turn, plus every `@fake turn N …`
/// line of any turn with N = `current`. So a prompt can script what a later turn, which
/// the client writes (e.g. a runner's repair turn), will do.
pub(crate) fn for_turn(texts: &[String], current: usize) -> Result<Directives, String> {
    let mut lines: Vec<String> = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        for line in text.lines() {
            match scoped(line)? {
                Some((n, rest)) => {
                    // Checked on every turn, so a typo fails the first request.
                    parse(&rest)?;
                    if n == current {
                        lines.push(rest);
                    }
                }
                None if i + 1 == current => lines.push(line.to_owned()),
                None => {}
            }
        }
    }
    parse(&lines.join("\n"))
}

/// `@fake turn N DIRECTIVE…` → (N, `@fake DIRECTIVE…`).
fn scoped(line: &str) -> Result<Option<(usize, String)>, String> {
    let line = line.trim();
    let Some(rest) = line.strip_prefix("@fake turn") else {
        return Ok(None);
    };
    if !rest.starts_with(char::is_whitespace) {
        return Ok(None);
    }
    let bad =
        || format!("@fake turn: expected `@fake turn N DIRECTIVE…` with N ≥ 1 (line: {line:?})");
    let (n, directive) = rest
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(bad)?;
    let n: usize = n.parse().ok().filter(|n| *n >= 1).ok_or_else(bad)?;
    Ok(Some((n, format!("@fake {}", directive.trim()))))
}

pub(crate) fn parse(text: &str) -> Result<Directives, String> {
    let mut d = Directives::default();
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("@fake") else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            continue; // e.g. "@fakename" is prose, not a directive
        }
        let rest = rest.trim();
        let (word, args) = rest
            .split_once(char::is_whitespace)
            .map_or((rest, ""), |(w, a)| (w, a.trim()));
        let argv: Vec<&str> = args.split_whitespace().collect();
        let bad = |why: &str| format!("@fake {word}: {why} (line: {line:?})");
        match (word, argv.as_slice()) {
            ("pause", [n]) => d.pause = Some(n.parse().map_err(|_| bad("N must be a count"))?),
            ("stop", [reason]) => {
                d.stop = Some(match *reason {
                    "end_turn" => Stop::EndTurn,
                    "max_tokens" => Stop::MaxTokens,
                    "refusal" => Stop::Refusal,
                    "tool_use" => Stop::ToolUse,
                    "stop_sequence" => Stop::Sequence,
                    "model_context_window_exceeded" => Stop::ContextWindowExceeded,
                    _ => return Err(bad("unknown stop reason")),
                });
            }
            ("fail", [status, error_type, rest @ ..]) if rest.len() <= 2 => {
                let status: u16 = status
                    .parse()
                    .ok()
                    .filter(|s| (400..=599).contains(s))
                    .ok_or_else(|| bad("STATUS must be 400..599"))?;
                let mut code = None;
                for arg in rest {
                    if let Some(secs) = arg.strip_prefix("retry-after=") {
                        let secs: f64 = secs
                            .parse()
                            .ok()
                            .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                            .ok_or_else(|| bad("retry-after=SECS must be seconds"))?;
                        d.fail_retry_after = Some(secs);
                    } else if code.is_none() {
                        code = Some((*arg).to_owned());
                    } else {
                        return Err(bad("expected `fail STATUS TYPE [CODE] [retry-after=SECS]`"));
                    }
                }
                d.fail = Some((status, (*error_type).to_owned(), code));
            }
            ("usage", [_, ..]) => {
                let mut u = UsageOverride::default();
                for arg in &argv {
                    let (key, n) = arg
                        .split_once('=')
                        .ok_or_else(|| bad("expected KEY=N pairs"))?;
                    let n: u64 = n.parse().map_err(|_| bad("N must be a token count"))?;
                    let slot = match key {
                        "input" => &mut u.input,
                        "output" => &mut u.output,
                        "thinking" => &mut u.thinking,
                        "cache_read" => &mut u.cache_read,
                        "cache_write" => &mut u.cache_write,
                        _ => {
                            return Err(bad(
                                "KEY must be input, output, thinking, cache_read or cache_write",
                            ));
                        }
                    };
                    *slot = Some(n);
                }
                d.usage = Some(u);
            }
            ("tool-error", [sub, code]) => {
                let sub = match *sub {
                    "bash" => SubTool::Bash,
                    "text_editor" => SubTool::TextEditor,
                    "code_execution" => SubTool::CodeExecution,
                    _ => return Err(bad("SUBTOOL must be bash, text_editor or code_execution")),
                };
                if !sub.codes().contains(code) {
                    return Err(bad(&format!("CODE must be one of {:?}", sub.codes())));
                }
                d.tool_errors.push((sub, (*code).to_owned()));
            }
            ("output", _) => d.outputs.push(parse_output(args).map_err(|e| bad(&e))?),
            ("image", _) => d.images.push(parse_name(args).map_err(|e| bad(&e))?),
            ("no-output", []) => d.no_output = true,
            ("sleep", [ms]) => {
                let ms: u64 = ms.parse().map_err(|_| bad("MS must be milliseconds"))?;
                d.sleep = Some(Duration::from_millis(ms));
            }
            ("encrypted", []) => d.encrypted = true,
            ("batch", [kind, rest @ ..]) => {
                let (errored, times) = match (*kind, rest) {
                    ("expired" | "missing", []) => (None, None),
                    ("expired" | "missing", [n]) => (None, Some(*n)),
                    ("errored", [t]) => (Some((*t).to_owned()), None),
                    ("errored", [t, n]) => (Some((*t).to_owned()), Some(*n)),
                    _ => {
                        return Err(bad(
                            "expected `errored TYPE [N]`, `expired [N]` or `missing [N]`",
                        ));
                    }
                };
                let missing = *kind == "missing";
                let times = times
                    .map(|n| n.parse::<u32>().map_err(|_| bad("N must be a count")))
                    .transpose()?;
                d.batch = Some(BatchFault {
                    errored,
                    missing,
                    times,
                });
            }
            (
                "pause" | "stop" | "fail" | "tool-error" | "no-output" | "sleep" | "encrypted"
                | "batch" | "usage",
                _,
            ) => {
                return Err(bad("wrong arguments"));
            }
            _ => return Err(format!("unknown directive `@fake {word}` (line: {line:?})")),
        }
    }
    Ok(d)
}

/// `NAME BYTES`, where NAME may be a JSON string literal so that any
/// character (control characters, quotes, leading spaces) can be written.
fn parse_output(args: &str) -> Result<(String, u64), String> {
    let (name, bytes) = args
        .rsplit_once(char::is_whitespace)
        .ok_or("expected NAME BYTES")?;
    let bytes: u64 = bytes.parse().map_err(|_| "BYTES must be a byte count")?;
    if bytes > MAX_OUTPUT_BYTES {
        return Err(format!("BYTES must be at most {MAX_OUTPUT_BYTES}"));
    }
    Ok((parse_name(name)?, bytes))
}

/// A file name, or a JSON string literal for any character.
fn parse_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let name = if name.starts_with('"') {
        serde_json::from_str::<String>(name)
            .map_err(|e| format!("NAME is not a JSON string: {e}"))?
    } else {
        name.to_owned()
    };
    if name.is_empty() {
        return Err("NAME must not be empty".to_owned());
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_directive() {
        let d = parse(
            "Analyse this.\n@fake pause 2\n  @fake stop max_tokens\n@fake fail 529 overloaded_error\n\
             @fake tool-error bash output_file_too_large\n@fake output ../../etc/passwd 12\n\
             @fake output \"a\\u0001b.txt\" 3\n@fake no-output\n@fake sleep 5\n@fake encrypted\n@fakeish prose",
        )
        .unwrap();
        assert_eq!(d.pause, Some(2));
        assert_eq!(d.stop, Some(Stop::MaxTokens));
        assert_eq!(d.fail, Some((529, "overloaded_error".into(), None)));
        assert_eq!(
            d.tool_errors,
            vec![(SubTool::Bash, "output_file_too_large".into())]
        );
        assert_eq!(
            d.outputs,
            vec![("../../etc/passwd".into(), 12), ("a\u{1}b.txt".into(), 3)]
        );
        assert!(d.no_output && d.encrypted);
        assert_eq!(d.sleep, Some(Duration::from_millis(5)));
        let d = parse(
            "@fake usage input=120000 output=40000\n@fake fail 429 rate_limit_error ramp_limit_exceeded retry-after=7",
        )
        .unwrap();
        let u = d.usage.unwrap();
        assert_eq!(
            (u.input, u.output, u.cache_read),
            (Some(120_000), Some(40_000), None)
        );
        assert!(u.forces_input());
        assert_eq!(d.fail_retry_after, Some(7.0));
        assert_eq!(d.fail.unwrap().2.as_deref(), Some("ramp_limit_exceeded"));
        assert!(parse("@fake usage input=lots").is_err());
        assert!(parse("@fake usage speed=9").is_err());
    }

    #[test]
    fn turn_scoped_directives_apply_to_their_turn_only() {
        let texts = [
            "Go.\n@fake no-output\n@fake turn 2 output summary.md 10\n@fake turn 3 no-output"
                .to_owned(),
            "Repair, please.".to_owned(),
            "Again.".to_owned(),
        ];
        let first = for_turn(&texts[..1], 1).unwrap();
        assert!(first.no_output && first.outputs.is_empty());
        let second = for_turn(&texts[..2], 2).unwrap();
        assert!(!second.no_output);
        assert_eq!(second.outputs, vec![("summary.md".into(), 10)]);
        let third = for_turn(&texts, 3).unwrap();
        assert!(third.no_output && third.outputs.is_empty());
        assert!(for_turn(&["@fake turn 0 no-output".to_owned()], 1).is_err());
        assert!(for_turn(&["@fake turn 2 no-ouptut".to_owned()], 1).is_err());
    }

    #[test]
    fn rejects_typos_and_non_enum_codes() {
        assert!(parse("@fake pasue 1").unwrap_err().contains("pasue"));
        assert!(parse("@fake tool-error bash container_expired").is_err());
        assert!(parse("@fake tool-error text_editor output_file_too_large").is_err());
        assert!(parse("@fake stop compaction").is_err());
        assert!(parse("@fake").is_err());
    }
}
