"""The house colours, in the order charts use them (see SKILL.md)."""

PALETTE = ["#1f3b73", "#2a9d8f", "#e9c46a", "#e76f51", "#6c757d"]
