//! Per-model facts that `GET /v1/models` does not expose (docs/api.md §8.10): whether a
//! model thinks when the request says nothing, its default `display`, whether the
//! narration between tool calls comes back as thinking, whether its thinking blocks are
//! bound to the conversation prefix ("preserved thinking"), and which request settings
//! it refuses. What the catalogue does expose (thinking types, effort levels, max_tokens)
//! is read from the entry's `capabilities`, so a test that edits an entry changes the
//! rules with it.

/// The facts of one model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Thinks (adaptively) when the request has no `thinking`.
    pub thinks_by_default: bool,
    /// `display` when the request gives none: `true` = "summarized", `false` = "omitted".
    pub summarized_by_default: bool,
    /// Text written between tool calls arrives as `thinking` blocks.
    pub narration_as_thinking: bool,
    /// Thinking blocks sent back are checked against the prefix they were made in.
    pub preserved_thinking: bool,
    /// `tool_choice` `any` / `tool` → 400.
    pub no_forced_tools: bool,
    /// Messages ending with an assistant turn → 400, except a `pause_turn` continuation.
    pub no_prefill: bool,
    /// Non-default `temperature` / `top_p`, or any `top_k`, → 400 under either version.
    pub no_sampling: bool,
    /// Effort `xhigh` / `max` with thinking off → 400.
    pub effort_needs_thinking: bool,
    /// `temperature` and `top_p` together → 400.
    pub one_sampling_knob: bool,
    /// `usage` carries `output_tokens_details` and `speed`; output is accounted per model
    /// call (server-tool loops may exceed `max_tokens`).
    pub new_usage: bool,
}

const fn rules(bits: [bool; 10]) -> Rules {
    Rules {
        thinks_by_default: bits[0],
        summarized_by_default: bits[1],
        narration_as_thinking: bits[2],
        preserved_thinking: bits[3],
        no_forced_tools: bits[4],
        no_prefill: bits[5],
        no_sampling: bits[6],
        effort_needs_thinking: bits[7],
        one_sampling_knob: bits[8],
        new_usage: bits[9],
    }
}

const T: bool = true;
const F: bool = false;

/// Models not in the table (e.g. invented by a test without `like`): a plain model that
/// thinks only when asked, as the 4.x models did.
pub(crate) const DEFAULT: Rules = rules([F, T, F, F, F, F, F, F, F, F]);

/// docs/api.md §8.10. Columns: thinks by default, summarized by default, narration as
/// thinking, preserved thinking, no forced tools, no prefill, no sampling, effort needs
/// thinking, one sampling knob, new usage.
#[rustfmt::skip]
const TABLE: &[(&str, Rules)] = &[
    ("claude-fable-5-2",          rules([T, F, F, T, T, T, T, F, F, T])),
    ("claude-mythos-5-2",         rules([T, F, F, T, T, T, T, F, F, T])),
    ("claude-fable-5-1",          rules([T, F, F, T, T, T, T, F, F, T])),
    ("claude-mythos-5-1",         rules([T, F, F, T, T, T, T, F, F, T])),
    ("claude-fable-5",            rules([T, F, F, F, F, T, T, F, F, T])),
    ("claude-mythos-5",           rules([T, F, F, F, F, T, T, F, F, T])),
    ("claude-opus-5-5",           rules([T, F, T, T, T, T, T, F, F, T])),
    ("claude-sonnet-5-5",         rules([T, F, T, T, T, T, T, F, F, T])),
    ("claude-haiku-5-5",          rules([T, F, F, T, F, T, T, T, F, T])),
    ("claude-opus-5",             rules([T, F, F, F, F, T, T, T, F, T])),
    ("claude-sonnet-5",           rules([T, F, F, F, F, T, T, F, F, T])),
    ("claude-opus-4-8",           rules([F, F, F, F, F, T, T, T, F, T])),
    ("claude-opus-4-7",           rules([F, F, F, F, F, T, T, T, F, T])),
    ("claude-opus-4-6",           rules([F, T, F, F, F, T, F, F, F, T])),
    ("claude-sonnet-4-6",         rules([F, T, F, F, F, T, F, F, F, T])),
    ("claude-opus-4-5-20251101",  rules([F, T, F, F, F, F, F, F, F, F])),
    ("claude-haiku-4-5-20251001", rules([F, T, F, F, F, F, F, F, T, F])),
];

/// The rules of a catalogue id (an entry's `like`, or its own id).
pub(crate) fn of(id: &str) -> Rules {
    TABLE
        .iter()
        .find(|(m, _)| *m == id)
        .map_or(DEFAULT, |(_, r)| *r)
}
