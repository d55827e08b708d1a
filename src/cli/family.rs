//! A family's command (a [`rulelab::command::Command`]) on the command line: its
//! arguments as clap flags, its progress as a bar, its reply on stdout.

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches};
use rulelab::command::{text_of, Args, Command, Context, Kind};
use rulelab::gpu::DeviceChoice;
use rulelab::Result;
use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// The clap form of a family's command.
pub fn clap_command(c: &Command) -> clap::Command {
    let (summary, details) = c.about.split_once("\n\n").unwrap_or((c.about, ""));
    let mut cmd =
        clap::Command::new(*c.path.last().expect("named")).about(summary.trim_end_matches('.'));
    if !details.is_empty() {
        cmd = cmd.long_about(format!("{summary}\n\n{details}"));
    }
    for a in (c.args)() {
        let mut arg = clap::Arg::new(a.name)
            .help(a.help)
            .required(a.required)
            .value_name(a.name.to_uppercase());
        arg = match a.kind {
            Kind::Flag => arg.long(a.name).action(ArgAction::SetTrue),
            Kind::Value => arg.long(a.name).num_args(1).allow_hyphen_values(true),
            Kind::List => arg
                .long(a.name)
                .num_args(1)
                .value_delimiter(',')
                .action(ArgAction::Append)
                .allow_hyphen_values(true),
            Kind::Input => arg.num_args(1),
            Kind::Inputs => arg.num_args(1..),
        };
        if a.kind != Kind::Flag {
            let shown = match &a.default {
                serde_json::Value::Array(items) => {
                    let items: Vec<String> = items.iter().filter_map(text_of).collect();
                    Some(items.join(","))
                }
                v => text_of(v),
            };
            if let Some(d) = shown {
                // Shown in help only: the library fills in its own defaults.
                arg = arg.default_value(d);
            }
        }
        if let Some(h) = a.heading {
            arg = arg.help_heading(h);
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

/// The arguments a person typed (defaults are the library's to fill).
fn given(c: &Command, m: &ArgMatches) -> Args {
    let mut args = Args::new();
    for a in (c.args)() {
        if a.kind == Kind::Flag {
            if m.get_flag(a.name) {
                args.set_flag(a.name, true);
            }
        } else if m.value_source(a.name) == Some(ValueSource::CommandLine) {
            let values = m
                .get_many::<String>(a.name)
                .map(|v| v.cloned().collect())
                .unwrap_or_default();
            args.set_all(a.name, values);
        }
    }
    args
}

/// Runs a family's command: progress as a bar on a terminal (a line per step
/// elsewhere), remarks on stderr, the result on stdout.
pub fn run(c: &Command, m: &ArgMatches, device: DeviceChoice) -> Result<ExitCode> {
    let terminal = std::io::stderr().is_terminal();
    let bar: RefCell<Option<indicatif::ProgressBar>> = RefCell::new(None);
    let progress = |done: u64, total: u64, note: &str| {
        if !terminal {
            if !note.is_empty() {
                eprintln!("{note}");
            }
            return;
        }
        let mut bar = bar.borrow_mut();
        let b = bar.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {msg}  eta {eta}")
                    .expect("template")
                    .progress_chars("=> "),
            );
            b
        });
        b.set_length(total);
        b.set_position(done);
        b.set_message(note.to_string());
    };
    let outside_the_bar = |line: &str, to_stdout: bool| {
        let print = || {
            if to_stdout {
                println!("{line}");
                let _ = std::io::stdout().flush();
            } else {
                eprintln!("{line}");
            }
        };
        match bar.borrow().as_ref() {
            Some(b) => b.suspend(print),
            None => print(),
        }
    };
    let ctx = Context {
        device,
        progress: &progress,
        say: &|line| outside_the_bar(line, false),
        show: &|line| outside_the_bar(line, true),
    };
    // From here Ctrl-C asks the work to stop at its next safe point (a second one kills).
    rulelab::interrupt::install();
    let reply = c.call(given(c, m), &ctx);
    if let Some(b) = bar.borrow_mut().take() {
        b.finish_and_clear();
    }
    let reply = reply?;
    for n in &reply.notes {
        eprintln!("note: {n}");
    }
    let text = reply.text.trim_end();
    if !text.is_empty() {
        println!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}
