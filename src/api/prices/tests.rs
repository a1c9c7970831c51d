use jiff::civil::date;

use super::*;

fn table() -> PriceTable {
    PriceTable::builtin()
}

#[test]
fn the_built_in_table_parses_and_prices_every_current_model_today() {
    let today = date(2026, 12, 7);
    for id in [
        "claude-opus-5-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-sonnet-5",
        "claude-opus-5",
        "claude-fable-5-2",
        "claude-mythos-5-2",
        "claude-fable-5-1",
        "claude-sonnet-4-6",
        "claude-opus-4-8",
        "claude-opus-4-6",
        "claude-opus-4-5",
        "claude-haiku-4-5",
        "claude-haiku-4-5-20251001",
    ] {
        assert!(table().for_model(id, today).is_some(), "{id} has no price");
    }
    for retired in [
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-5",
        "claude-opus-4-1",
    ] {
        assert_eq!(table().for_model(retired, today), None, "{retired}");
    }
}

#[test]
fn a_request_is_priced_by_the_row_of_its_day() {
    let sonnet = table()
        .for_model("claude-sonnet-5-5", date(2026, 12, 7))
        .unwrap();
    assert_eq!(sonnet.on(date(2026, 10, 6)).rates.cache_read, 0.20);
    assert_eq!(sonnet.on(date(2026, 10, 7)).rates.cache_read, 0.10);
    assert_eq!(sonnet.on(date(2027, 3, 1)).rates.cache_read, 0.10);
    // Opus 4.5 is priced until its retirement, not after.
    let opus = "claude-opus-4-5-20251101";
    assert!(table().for_model(opus, date(2027, 1, 21)).is_some());
    assert_eq!(table().for_model(opus, date(2027, 1, 22)), None);
    // Before its launch the model had no price.
    assert_eq!(
        table().for_model("claude-haiku-5-5", date(2026, 10, 6)),
        None
    );
}

#[test]
fn haiku_5_5_has_a_whole_request_tier_and_every_row_its_own_cache_read() {
    let haiku = table()
        .for_model("claude-haiku-5-5", date(2026, 12, 7))
        .unwrap();
    let row = haiku.on(date(2026, 12, 7));
    let tier = row.tier.unwrap();
    assert_eq!(tier.prompt_gt, 100_000);
    assert_eq!(tier.rates.input, 0.50);
    assert_eq!(tier.rates.output, 2.50);
    assert_eq!(row.rates.cache_read, 0.01);
    let opus = table()
        .for_model("claude-opus-5-5", date(2026, 12, 7))
        .unwrap();
    assert_eq!(opus.on(date(2026, 12, 7)).rates.cache_read, 0.20);
    assert_eq!(opus.on(date(2026, 12, 7)).us_geo_factor, Some(1.1));
}

#[test]
fn a_user_file_adds_models_and_wins_over_the_built_in_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = camino::Utf8PathBuf::from_path_buf(dir.path().join("p.toml")).unwrap();
    fs_err::write(
        &path,
        "[[price]]\nmodel = \"claude-opus-6\"\ninput = 6\noutput = 30\nsource = \"launch post\"\n\n\
         [[price]]\nmodel = \"claude-sonnet-5-5\"\neffective_from = 2026-12-01\ninput = 1.5\n\
         output = 7.5\ncache_read = 0.075\n",
    )
    .unwrap();
    let t = PriceTable::with_file(&path).unwrap();
    let day = date(2026, 12, 7);
    let opus6 = t.for_model("claude-opus-6", day).unwrap();
    let row = opus6.on(day);
    assert_eq!(row.rates.cache_write_5m, 7.5, "derived: 1.25 x input");
    assert!(
        (row.rates.cache_read - 0.6).abs() < 1e-12,
        "derived: 0.1 x input"
    );
    assert_eq!(row.batch_factor, 0.5);
    assert_eq!(row.source, "launch post");
    let sonnet = t.for_model("claude-sonnet-5-5", day).unwrap();
    assert_eq!(sonnet.on(day).rates.input, 1.5, "the user's row wins");
    assert_eq!(
        sonnet.on(date(2026, 11, 1)).rates.input,
        2.0,
        "before it, the built-in"
    );
}

#[test]
fn a_broken_user_file_says_which_row_and_why() {
    for (text, expect) in [
        ("[[price]]\nmodel = \"m\"\ninput = 1\n", "output"),
        (
            "[[price]]\nmodel = \"m\"\ninput = -1\noutput = 1\n",
            "`input` -1 is not a price",
        ),
        (
            "[[price]]\nmodel = \"m\"\ninput = 1\noutput = 1\ntier_prompt_gt = 5\n",
            "tier",
        ),
        (
            "[[price]]\nmodel = \"m\"\ninput = 1\noutput = 1\nimput = 2\n",
            "imput",
        ),
        (
            "[[price]]\nmodel = \"m\"\ninput = 1\noutput = 1\neffective_from = 2026-12-01\neffective_to = 2026-11-01\n",
            "not before",
        ),
        ("schema = \"anthropic-prices/9\"\n", "schema"),
        ("currency = \"EUR\"\n", "USD"),
    ] {
        let err = file::parse(text, "p.toml").unwrap_err().to_string();
        assert!(err.contains(expect), "{text:?}: {err}");
        assert!(err.starts_with("p.toml"), "{err}");
    }
}

#[test]
fn the_published_table_can_be_used_as_a_price_file_as_it_is() {
    // The reference table has `[[retired]]`, `[container_time]` and `[fast_mode]` tables
    // besides its rows, and a `confidence` per row.
    let text = format!(
        "{}\n[[retired]]\nmodels = [\"x\"]\nnote = \"n\"\n\n[container_time]\nusd_per_container_hour = 0.05\n\n[fast_mode]\nsupported = []\n",
        include_str!("builtin.toml")
    );
    let parsed = file::parse(&text, "t").unwrap();
    assert_eq!(parsed.rows.len(), BUILTIN.rows.len());
}

#[test]
fn retired_models_are_known_with_their_replacement() {
    let t = table();
    let sonnet = t.retired("claude-sonnet-4-5-20250929").unwrap();
    assert_eq!(sonnet.retired_on, Some(date(2026, 11, 30)));
    assert_eq!(sonnet.replacement.as_deref(), Some("claude-sonnet-5-5"));
    assert!(
        t.retired("claude-opus-4-1-20250805").is_some(),
        "a `*` pattern"
    );
    assert!(t.retired("claude-sonnet-5-5").is_none());
}
