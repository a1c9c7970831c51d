//! Random JSON for property tests of everything that reads what a server sent: values
//! built from the API's own words (block types, keys, stop reasons) so that they reach
//! deep into the readers, mixed with wrong types, odd text and arbitrary nesting.

use serde_json::{Map, Value, json};

/// xorshift64: deterministic, no dependency, plenty random for building inputs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "type",
    "content",
    "id",
    "tool_use_id",
    "file_id",
    "stdout",
    "stderr",
    "return_code",
    "name",
    "input",
    "text",
    "code",
    "command",
    "path",
    "file_text",
    "old_str",
    "new_str",
    "file_type",
    "start_line",
    "num_lines",
    "total_lines",
    "lines",
    "is_file_update",
    "error_code",
    "encrypted_stdout",
    "stop_reason",
    "container",
    "usage",
    "input_tokens",
    "output_tokens",
    "server_tool_use",
    "code_execution_requests",
    "thinking",
    "signature",
];

const WORDS: &[&str] = &[
    "message",
    "text",
    "thinking",
    "redacted_thinking",
    "server_tool_use",
    "tool_use",
    "container_upload",
    "bash_code_execution",
    "text_editor_code_execution",
    "code_execution",
    "bash_code_execution_tool_result",
    "bash_code_execution_result",
    "bash_code_execution_output",
    "bash_code_execution_tool_result_error",
    "code_execution_tool_result",
    "code_execution_result",
    "code_execution_output",
    "encrypted_code_execution_result",
    "code_execution_tool_result_error",
    "text_editor_code_execution_tool_result",
    "text_editor_code_execution_result",
    "text_editor_code_execution_view_result",
    "text_editor_code_execution_create_result",
    "text_editor_code_execution_str_replace_result",
    "text_editor_code_execution_tool_result_error",
    "web_search_tool_result",
    "mystery_block",
    "view",
    "create",
    "str_replace",
    "end_turn",
    "pause_turn",
    "max_tokens",
    "tool_use",
    "refusal",
    "stop_sequence",
    "file_1",
    "file_2",
    "srvtoolu_1",
    "srvtoolu_2",
    "unavailable",
    "output_file_too_large",
    "../../etc/passwd",
    "plot.png",
    "",
];

const ODD_TEXT: &[&str] = &[
    "`",
    "```",
    "~~~",
    "\n",
    "\r\n",
    "\t",
    "\0",
    "\u{1b}[2J",
    "\u{202E}",
    "é",
    "e\u{301}",
    "😀",
    "<script>",
    "](x)",
    "# ",
    "|",
    "*",
    "_",
    "\\",
    " ",
    "a",
    "0",
];

fn text(rng: &mut Rng) -> String {
    if rng.chance(3) {
        return (*rng.pick(WORDS)).to_owned();
    }
    let len = if rng.chance(20) {
        200 + rng.below(2000)
    } else {
        rng.below(8)
    };
    (0..len).map(|_| *rng.pick(ODD_TEXT)).collect()
}

fn number(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => json!(0),
        1 => json!(rng.below(5)),
        2 => json!(-1),
        3 => json!(u64::MAX),
        4 => json!(1.5e300),
        _ => json!(i64::MIN),
    }
}

/// Any JSON value, `depth` levels deep at most.
pub fn value(rng: &mut Rng, depth: u32) -> Value {
    let leaf = depth == 0 || rng.chance(3);
    match rng.below(if leaf { 4 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(2)),
        2 => number(rng),
        3 => Value::String(text(rng)),
        4 | 5 => object(rng, depth - 1),
        _ => Value::Array((0..rng.below(5)).map(|_| value(rng, depth - 1)).collect()),
    }
}

fn object(rng: &mut Rng, depth: u32) -> Value {
    let mut map = Map::new();
    if rng.chance(2) {
        map.insert("type".into(), Value::String((*rng.pick(WORDS)).to_owned()));
    }
    for _ in 0..rng.below(6) {
        map.insert((*rng.pick(KEYS)).to_owned(), value(rng, depth));
    }
    Value::Object(map)
}

/// A content block: mostly API-shaped (a call, a result with files, text), with any field
/// possibly missing or of the wrong type.
pub fn block(rng: &mut Rng, depth: u32) -> Value {
    let id = json!(*rng.pick(&["srvtoolu_1", "srvtoolu_2", "srvtoolu_3"]));
    let mut b = match rng.below(5) {
        0 => json!({"type": "text", "text": text(rng)}),
        1 => json!({"type": "server_tool_use", "id": id,
                    "name": *rng.pick(WORDS), "input": value(rng, depth)}),
        2 => json!({"type": *rng.pick(WORDS), "tool_use_id": id, "content": {
                    "type": *rng.pick(WORDS), "stdout": value(rng, 1), "stderr": value(rng, 1),
                    "return_code": number(rng),
                    "content": [{"type": "bash_code_execution_output", "file_id": *rng.pick(WORDS)}]}}),
        3 => object(rng, depth),
        _ => value(rng, depth),
    };
    // Knock out or replace a field now and then.
    if let Some(map) = b.as_object_mut()
        && rng.chance(4)
    {
        let key = *rng.pick(KEYS);
        if rng.chance(2) {
            map.remove(key);
        } else {
            map.insert(key.to_owned(), value(rng, 1));
        }
    }
    b
}

/// A Messages response: usually message-shaped, sometimes anything at all.
pub fn response(rng: &mut Rng) -> Value {
    if rng.chance(6) {
        return value(rng, 4);
    }
    let content = if rng.chance(8) {
        value(rng, 2)
    } else {
        Value::Array((0..rng.below(6)).map(|_| block(rng, 3)).collect())
    };
    let mut r = json!({
        "type": if rng.chance(10) { value(rng, 1) } else { json!("message") },
        "content": content,
        "stop_reason": if rng.chance(3) { value(rng, 1) } else { json!(*rng.pick(WORDS)) },
        "container": if rng.chance(2) { json!({"id": text(rng)}) } else { value(rng, 1) },
        "usage": if rng.chance(2) { json!({"input_tokens": number(rng), "server_tool_use": value(rng, 1)}) } else { value(rng, 1) },
    });
    if let Some(map) = r.as_object_mut()
        && rng.chance(3)
    {
        map.remove(*rng.pick(&["type", "content", "stop_reason", "container", "usage"]));
    }
    r
}
