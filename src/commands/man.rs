//! `runner man`: the man pages (roff), generated from the clap types. On stdout, one page
//! with every subcommand and its options; with `--all DIR`, `runner.1` and one page per
//! subcommand (`runner-run.1`, `runner-files-prune.1`, …), the pages `runner.1` names.

use camino::Utf8Path;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Exit};
use crate::ui;

pub(super) fn man(all: Option<&Utf8Path>) -> Result<Exit, Error> {
    let render_error = |source| Error::Render {
        what: "man page",
        source,
    };
    match all {
        None => {
            let page = one_page(&command()).map_err(render_error)?;
            ui::stdout(&page);
        }
        Some(dir) => {
            for (name, page) in pages(&command()).map_err(render_error)? {
                let path = dir.join(&name);
                crate::atomic::write(&path, page.as_bytes())
                    .map_err(|source| Error::WriteRecord { path, source })?;
            }
        }
    }
    Ok(Exit::Success)
}

/// The command tree, built (so each subcommand knows its `runner-sub` page name and the
/// global options), without clap's `help` subcommands: `--help` is an option of each.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The subcommands a page lists, depth first: `files`, then `files list`, ….
fn subcommands(cmd: &clap::Command) -> Vec<&clap::Command> {
    let mut all = Vec::new();
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        all.push(sub);
        all.extend(subcommands(sub));
    }
    all
}

/// Each page `--all` writes: `runner.1`, then one per subcommand, as (file name, roff).
fn pages(cmd: &clap::Command) -> std::io::Result<Vec<(String, String)>> {
    std::iter::once(cmd)
        .chain(subcommands(cmd))
        .map(|c| {
            let man = clap_mangen::Man::new(c.clone());
            Ok((man.get_filename(), render(|w| man.render(w))?))
        })
        .collect()
}

/// The top page, with each subcommand as a section of its own (its synopsis, description
/// and options) in place of the list of `runner-sub(1)` pages a single page cannot give.
/// The global options are described once, in the top page's OPTIONS.
fn one_page(cmd: &clap::Command) -> std::io::Result<String> {
    let top = clap_mangen::Man::new(cmd.clone());
    let mut page = render(|w| {
        top.render_title(w)?;
        top.render_name_section(w)?;
        top.render_synopsis_section(w)?;
        top.render_description_section(w)?;
        top.render_options_section(w)
    })?;
    for sub in subcommands(cmd) {
        let man = clap_mangen::Man::new(without_globals(sub));
        let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name());
        page.push_str(&format!(".SH \"{}\"\n", name.to_uppercase()));
        // Its sections become subsections of the command's section.
        let body = render(|w| {
            man.render_synopsis_section(w)?;
            man.render_description_section(w)?;
            if sub
                .get_arguments()
                .any(|a| !a.is_global_set() && !a.is_hide_set())
            {
                man.render_options_section(w)?;
            }
            Ok(())
        })?;
        for line in body.lines() {
            match line.strip_prefix(".SH ") {
                Some(heading) => page.push_str(&format!(".SS {heading}\n")),
                None => page.push_str(&format!("{line}\n")),
            }
        }
    }
    page.push_str(&render(|w| {
        top.render_extra_section(w)?;
        top.render_version_section(w)
    })?);
    Ok(preamble_once(&page))
}

/// Each rendered section starts with roff's apostrophe preamble (two `.ds Aq` lines); a
/// page made of many needs it once, at the top.
fn preamble_once(page: &str) -> String {
    let is_preamble = |l: &str| l.starts_with(".ie \\n(.g .ds Aq") || l.starts_with(".el .ds Aq");
    let preamble = page.lines().take_while(|l| is_preamble(l));
    let rest = page.lines().filter(|l| !is_preamble(l));
    preamble.chain(rest).map(|l| format!("{l}\n")).collect()
}

/// `sub` with the global options hidden: the one page lists them once, at the top.
fn without_globals(sub: &clap::Command) -> clap::Command {
    let globals: Vec<clap::Id> = sub
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.get_id().clone())
        .collect();
    globals
        .into_iter()
        .fold(sub.clone(), |c, id| c.mut_arg(id, |a| a.hide(true)))
}

fn render(
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    write(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// These options as a page names them (roff escapes each `-`).
    fn options<'c>(args: impl Iterator<Item = &'c clap::Arg>) -> Vec<String> {
        args.filter(|a| !a.is_hide_set() && !a.is_positional())
            .map(|a| match a.get_long() {
                Some(long) => format!("\\-\\-{}", long.replace('-', "\\-")),
                None => format!("\\-{}", a.get_short().unwrap_or_default()),
            })
            .collect()
    }

    #[test]
    fn the_one_page_has_every_subcommand_with_every_option() {
        let cmd = command();
        let page = one_page(&cmd).unwrap();
        assert!(page.contains("\n.TH runner 1"), "{page}");
        assert_eq!(page.matches(".ds Aq").count(), 2, "one preamble: {page}");
        assert!(!page.contains("runner-run(1)"), "no page it does not give");
        let subs = subcommands(&cmd);
        assert!(subs.iter().any(|s| s.get_name() == "prune"), "nested too");
        for sub in subs {
            let name = sub.get_bin_name().unwrap().to_uppercase();
            let heading = format!(".SH \"{name}\"\n");
            let at = page
                .find(&heading)
                .unwrap_or_else(|| panic!("no section for {name}"))
                + heading.len();
            let section = &page[at..page[at..].find(".SH ").map_or(page.len(), |end| at + end)];
            let own = sub.get_arguments().filter(|a| !a.is_global_set());
            for option in options(own) {
                assert!(section.contains(&option), "{name} lacks {option}");
            }
        }
        for option in options(cmd.get_arguments()) {
            assert!(page.contains(&option), "the global {option}");
        }
    }

    #[test]
    fn all_writes_one_page_per_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        man(Some(dir)).unwrap();
        let cmd = command();
        let mut want: Vec<String> = std::iter::once("runner.1".to_owned())
            .chain(
                subcommands(&cmd)
                    .iter()
                    .map(|s| format!("{}.1", s.get_display_name().unwrap())),
            )
            .collect();
        want.sort();
        let mut written: Vec<String> = fs_err::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        written.sort();
        assert_eq!(written, want);
        assert!(want.contains(&"runner-files-prune.1".to_owned()));
        let run = fs_err::read_to_string(dir.join("runner-run.1")).unwrap();
        for option in options(cmd.find_subcommand("run").unwrap().get_arguments()) {
            assert!(run.contains(&option), "runner-run.1 lacks {option}");
        }
        let top = fs_err::read_to_string(dir.join("runner.1")).unwrap();
        assert!(top.contains("runner\\-run(1)"), "{top}");
    }
}
