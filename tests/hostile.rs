//! A hostile newcomer's afternoon, as tests: every directory a command writes is a run
//! (locked, manifested, never another's), sizes are bounded before anything is
//! allocated, metrics are what they are named, knobs without an effect are refused, and
//! errors name the culprit. Each case ends refused in one line with the way out, or
//! byte-identical to an undisturbed run. All on the CPU device, at small sizes.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulelab-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rulelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(args)
        .env("RULELAB_DEVICE", "cpu")
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Succeeds, or fails the test with its stderr.
fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", err(&o));
    o
}

/// Refused: exit 2, one line, naming `key` and saying `what`.
fn refused(o: &Output, key: &str, what: &str) {
    let e = err(o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.starts_with("rulelab: invalid"), "{e}");
    assert!(
        e.contains(key) && e.contains(what),
        "wanted {key:?} and {what:?}: {e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "{e}");
}

/// Every file of a directory with its bytes (the lock's text aside).
fn snapshot(d: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != ".rulelab.lock")
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// A small simulated data set.
fn sim(d: &Path, name: &str, animals: &str, seed: &str) -> PathBuf {
    let f = d.join(name);
    ok(rulelab(&[
        "infer",
        "simulate",
        "--rule",
        "reinforce",
        "--animals",
        animals,
        "--trials",
        "200",
        "--seed",
        seed,
        "--out",
        s(&f),
    ]));
    f
}

const SMALL_FIT: &[&str] = &[
    "--hidden", "8", "--layers", "1", "--batch", "2", "--trunc", "50",
];

fn fit(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut a = vec!["infer", "fit", s(data), "--out", s(out), "--epochs", "2"];
    a.extend_from_slice(SMALL_FIT);
    a.extend_from_slice(extra);
    rulelab(&a)
}

#[test]
fn a_fit_never_writes_over_another_run_and_says_done_once() {
    let d = dir("fit-dirs");
    let data = sim(&d, "train.csv", "6", "1");
    // A finished hippocampus run's directory stays as it was.
    let hippo = d.join("hippo");
    let cfg = d.join("latents.toml");
    std::fs::write(
        &cfg,
        rulelab::registry::study("hippo")
            .map(|e| (e.sample)(&d).unwrap())
            .unwrap(),
    )
    .unwrap();
    ok(rulelab(&["hippo", "run", s(&cfg), "--out", s(&hippo)]));
    let before = snapshot(&hippo);
    refused(&fit(&data, &hippo, &[]), "--out", "holds a hippo study run");
    let cv = rulelab(&["infer", "cv", s(&data), "--folds", "2", "--out", s(&hippo)]);
    refused(&cv, "--out", "holds a hippo study run");
    assert_eq!(snapshot(&hippo), before);
    // A directory with someone's file in it.
    let theirs = d.join("theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "mine").unwrap();
    refused(
        &fit(&data, &theirs, &[]),
        "--out",
        "did not write (notes.txt)",
    );
    // Twice into one directory: the second is refused and the first's files stay.
    let out = d.join("fit");
    ok(fit(&data, &out, &[]));
    let first = snapshot(&out);
    assert!(first.iter().any(|(n, _)| n == "manifest.json"));
    assert!(!first
        .iter()
        .any(|(n, _)| n.starts_with(".rulelab.unfinished")));
    refused(&fit(&data, &out, &[]), "--out", "holds a finished fit");
    // A sweep into it names what is there (after the line that says what it runs).
    let cfg = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sweeps/quickstart.toml"
    );
    let o = rulelab(&["sweep", cfg, "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o)
            .trim()
            .ends_with("holds a finished fit; choose an empty or new directory"),
        "{}",
        err(&o)
    );
    assert_eq!(snapshot(&out), first);
    // A data file inside the directory is its input, not a stranger.
    let inside = d.join("inside");
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::copy(&data, inside.join("train.csv")).unwrap();
    ok(fit(&inside.join("train.csv"), &inside, &[]));
    // The held-out file may not be the training file (nor a copy of it).
    std::fs::copy(&data, d.join("copy.csv")).unwrap();
    for test in [&data, &d.join("copy.csv")] {
        refused(
            &fit(&data, &d.join("heldout"), &["--test", s(test)]),
            "--test",
            "holds the training animals",
        );
    }
    assert!(!d.join("heldout").exists());
    std::fs::remove_dir_all(&d).ok();
}

/// A second writer is refused while the first runs; the first, stopped, leaves a
/// directory that is not taken for finished, and the same command then starts over.
#[test]
fn a_second_writer_is_refused_and_a_stopped_fit_starts_over() {
    let d = dir("fit-writers");
    let data = sim(&d, "train.csv", "6", "2");
    let out = d.join("fit");
    let mut args = vec![
        "infer",
        "fit",
        s(&data),
        "--out",
        s(&out),
        "--epochs",
        "100000",
    ];
    args.extend_from_slice(SMALL_FIT);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(&args)
        .env("RULELAB_DEVICE", "cpu")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let started = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("epoch 1/"));
    assert!(started.is_some(), "the fit printed no epoch");
    refused(
        &fit(&data, &out, &[]),
        "--out",
        "being written by another rulelab",
    );
    // SAFETY: a signal to our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest:?}");
    assert!(!out.join("manifest.json").exists());
    let o = ok(fit(&data, &out, &[]));
    assert!(err(&o).contains("unfinished fit"), "{}", err(&o));
    assert!(out.join("manifest.json").exists());
    std::fs::remove_dir_all(&d).ok();
}

fn cv(data: &Path, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rulelab"));
    c.args([
        "infer",
        "cv",
        s(data),
        "--out",
        s(out),
        "--models",
        "dnn,reinforce_base",
    ])
    .args(["--folds", "3", "--epochs", "40"])
    .args(SMALL_FIT)
    .env("RULELAB_DEVICE", "cpu");
    c
}

/// A cross-validation stopped between its units continues where it stopped, and its
/// tables are byte for byte those of an undisturbed run.
#[test]
fn a_stopped_cross_validation_continues_to_the_same_bytes() {
    let d = dir("cv");
    // 7 animals in 3 folds: training sets of 4, 5 and 5 animals, two groups of fits,
    // each long enough (2,000 trials an animal) for the signal to land inside one.
    let data = d.join("data.csv");
    ok(rulelab(&[
        "infer",
        "simulate",
        "--rule",
        "reinforce",
        "--animals",
        "7",
        "--seed",
        "3",
        "--out",
        s(&data),
    ]));
    let whole = d.join("whole");
    ok(cv(&data, &whole).output().unwrap());
    let stopped = d.join("stopped");
    let mut child = cv(&data, &stopped)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    // The second group's start: the first group's units are in the checkpoint.
    let second = lines
        .by_ref()
        .map(|l| l.unwrap())
        .filter(|l| l.starts_with("dnn: fold"))
        .nth(1);
    assert!(second.is_some(), "no second group of folds");
    // SAFETY: a signal to our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest:?}");
    let last = rest.last().cloned().unwrap_or_default();
    assert!(
        last.contains("run the same command again to continue"),
        "{last}"
    );
    assert!(!stopped.join("manifest.json").exists() && !stopped.join("cv.csv").exists());
    let o = ok(cv(&data, &stopped).output().unwrap());
    assert!(err(&o).contains("continued it"), "{}", err(&o));
    for f in ["cv.csv", "comparison.csv"] {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(stopped.join(f)).unwrap(),
            "{f}"
        );
    }
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stopped.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["kind"], "cross-validation");
    assert!(m["units_continued"].as_u64().unwrap() >= 1, "{m}");
    // Run again: finished, refused; and one animal is not a cross-validation.
    refused(
        &cv(&data, &stopped).output().unwrap(),
        "--out",
        "holds a finished cross-validation",
    );
    let one = sim(&d, "one.csv", "1", "4");
    refused(
        &cv(&one, &d.join("one")).output().unwrap(),
        "DATA",
        "needs at least 2",
    );
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn merge_simulate_and_sizes_are_guarded() {
    let d = dir("guards");
    // merge writes only into an empty or new directory.
    let cfg = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sweeps/quickstart.toml"
    );
    let (a, b) = (d.join("a"), d.join("b"));
    ok(rulelab(&["sweep", cfg, "--out", s(&a), "--shard", "0/2"]));
    ok(rulelab(&["sweep", cfg, "--out", s(&b), "--shard", "1/2"]));
    let into = d.join("into");
    std::fs::create_dir_all(&into).unwrap();
    std::fs::write(into.join("results.csv"), "mine\n").unwrap();
    refused(
        &rulelab(&["merge", s(&a), s(&b), "--out", s(&into)]),
        "--out",
        "did not write",
    );
    assert_eq!(
        std::fs::read_to_string(into.join("results.csv")).unwrap(),
        "mine\n"
    );
    ok(rulelab(&[
        "merge",
        s(&a),
        s(&b),
        "--out",
        s(&d.join("merged")),
    ]));
    // simulate does not replace a file unless told.
    let data = sim(&d, "sim.csv", "3", "5");
    let before = std::fs::read(&data).unwrap();
    let again = [
        "infer",
        "simulate",
        "--rule",
        "reinforce",
        "--animals",
        "4",
        "--out",
        s(&data),
    ];
    refused(&rulelab(&again), "--out", "--force");
    assert_eq!(std::fs::read(&data).unwrap(), before);
    let mut forced = again.to_vec();
    forced.push("--force");
    ok(rulelab(&forced));
    assert_ne!(std::fs::read(&data).unwrap(), before);
    // Sizes: a huge window is the whole session (nothing more allocated); a huge
    // bootstrap, a huge simulation are refused before any work.
    let quick = |out: &Path, extra: &[&str]| {
        let mut a = vec!["infer", "fit", s(&data), "--out", s(out), "--epochs", "1"];
        a.extend_from_slice(&["--hidden", "4", "--layers", "1"]);
        a.extend_from_slice(extra);
        rulelab(&a)
    };
    ok(quick(&d.join("trunc"), &["--trunc", "1000000000"]));
    refused(
        &quick(&d.join("boot"), &["--bootstrap", "100000000"]),
        "--bootstrap",
        "at most",
    );
    refused(
        &rulelab(&[
            "infer",
            "simulate",
            "--rule",
            "reinforce",
            "--animals",
            "1000000",
            "--trials",
            "10000000",
            "--out",
            s(&d.join("big.csv")),
        ]),
        "--trials",
        "past the limit",
    );
    assert!(!d.join("boot").join("manifest.json").exists());
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn knobs_without_effect_and_metrics_without_meaning_are_refused() {
    let d = dir("knobs");
    let out = d.join("x.csv");
    refused(
        &rulelab(&[
            "infer",
            "simulate",
            "--rule",
            "reinforce",
            "--animals",
            "2",
            "--beta",
            "0.5",
            "--out",
            s(&out),
        ]),
        "--beta",
        "no effect",
    );
    let hippo = |name: &str, text: &str| {
        let f = d.join(format!("{name}.toml"));
        std::fs::write(&f, text).unwrap();
        rulelab(&["hippo", "run", s(&f), "--out", s(&d.join(name))])
    };
    let a = "[experiment]\nkind = \"latents\"\n[model]\nminutes = 0.25\n";
    refused(
        &hippo("a_width", &format!("{a}place_width = 0.3\n")),
        "model.place_width",
        "no effect",
    );
    refused(
        &hippo("a_runs", &format!("{a}test_runs = 3\n")),
        "model.test_runs",
        "no effect",
    );
    refused(
        &hippo(
            "b_lesion",
            "[experiment]\nkind = \"pathint\"\nlesion = 0.5\n",
        ),
        "experiment.lesion",
        "pi_error_1s_cm",
    );
    refused(
        &hippo(
            "a_long",
            "[experiment]\nkind = \"latents\"\n[model]\nminutes = 1e12\n",
        ),
        "minutes",
        "at most",
    );
    let path = d.join("path.toml");
    std::fs::write(
        &path,
        "[landscape]\nkind = \"double_well\"\ndim = 2\n[path]\nn = 16\nt_end = 1.0\n\
         start = [-1.0, 0.0]\nend = [1.0, 0.0]\ndrift = \"decay\"\n",
    )
    .unwrap();
    refused(
        &rulelab(&["control", "path", s(&path), "--out", s(&d.join("p"))]),
        "path.drift",
        "no drift",
    );
    let sweep = d.join("sweep.toml");
    std::fs::write(
        &sweep,
        "[landscape]\nkind = \"quadratic\"\ndim = 2\ndrift = \"decay\"\n[rule]\nkind = \"gd\"\n\
         [run]\nsteps = 10\n",
    )
    .unwrap();
    refused(
        &rulelab(&["sweep", s(&sweep), "--out", s(&d.join("s"))]),
        "landscape.drift",
        "no drift",
    );
    for (name, _) in snapshot(&d) {
        assert!(name.ends_with(".toml"), "{name} was written");
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn errors_name_the_culprit() {
    let d = dir("culprits");
    // A stimulus no f32 model can carry: the file, line and column.
    let data = sim(&d, "sim.csv", "2", "6");
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header.iter().position(|h| *h == "stimulus").unwrap();
    let mut cells: Vec<String> = lines[3].split(',').map(String::from).collect();
    cells[col] = "1.5e200".into();
    lines[3] = cells.join(",");
    let bad = d.join("bad.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let o = fit(&bad, &d.join("f"), &[]);
    refused(&o, "bad.csv:4, column stimulus", "1.5e200 is outside");
    assert!(err(&o).contains("stimulus"), "{}", err(&o));
    // Negative numbers in list options are numbers, not flags.
    refused(
        &rulelab(&["control", "rates", "--gamma", "1", "--h", "-4,1"]),
        "invalid --h",
        "",
    );
    ok(rulelab(&[
        "infer",
        "simulate",
        "--rule",
        "reinforce",
        "--animals",
        "2",
        "--alpha",
        "-0.01,0",
        "--out",
        s(&d.join("neg.csv")),
    ]));
    // A model that diverges is named by its settings, with the way out.
    let div = d.join("div.toml");
    std::fs::write(
        &div,
        "[experiment]\nkind = \"pathint\"\nspin_up = 1.0\nlesion = 1.0\n[model]\n\
         minutes = 0.2\nn_hpc = 10\nn_mec = 10\ntest_runs = 1\n[grid]\neta = [0.01, 100.0]\n",
    )
    .unwrap();
    let o = rulelab(&["hippo", "run", s(&div), "--out", s(&d.join("div"))]);
    let last = err(&o).trim().lines().last().unwrap_or("").to_string();
    assert_eq!(o.status.code(), Some(2), "{last}");
    assert!(
        last.contains("eta = 100,") && last.contains("drop that setting"),
        "{last}"
    );
    // A resume after a changed key names the key.
    let cfg = d.join("q.toml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sweeps/quickstart.toml"
    ))
    .unwrap();
    std::fs::write(&cfg, &text).unwrap();
    let out = d.join("q");
    ok(rulelab(&[
        "sweep",
        s(&cfg),
        "--out",
        s(&out),
        "--shard",
        "0/2",
    ]));
    std::fs::write(&cfg, text.replacen("steps = ", "steps = 1", 1)).unwrap();
    let o = rulelab(&[
        "sweep",
        s(&cfg),
        "--out",
        s(&out),
        "--shard",
        "0/2",
        "--resume",
    ]);
    // (After the line that says what the config describes.)
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let last = err(&o).trim().lines().last().unwrap_or("").to_string();
    assert!(
        last.contains("--resume") && last.contains("run.steps: 500 → 1500"),
        "{last}"
    );
    std::fs::remove_dir_all(&d).ok();
}

/// An option whose effect needs a setting of its own, checked by another test.
const ELSEWHERE: &str = "(checked elsewhere)";

/// Runs `rulelab <command> ARGS --out OUT` and returns what it wrote (the files
/// named, read; "" the output itself), or None when refused.
fn knob_run(command: &[&str], args: &[String], out: &Path, files: &[&str]) -> Option<Vec<Vec<u8>>> {
    let o = Command::new(env!("CARGO_BIN_EXE_rulelab"))
        .args(command)
        .args(args)
        .args(["--out", s(out)])
        .env("RULELAB_DEVICE", "cpu")
        .output()
        .unwrap();
    if o.status.code() == Some(2) && err(&o).starts_with("rulelab: invalid") {
        return None;
    }
    assert!(o.status.success(), "{args:?}: {}", err(&o));
    let read = |f: &str| {
        std::fs::read(if f.is_empty() {
            out.to_path_buf()
        } else {
            out.join(f)
        })
    };
    Some(files.iter().map(|f| read(f).unwrap_or_default()).collect())
}

/// Every option of a command, set alone to its value in `alts` (in place of its value
/// in `base`, a list of options and values), changes what the command writes or is
/// refused; an option `alts` does not name fails the test (a new option needs its
/// check).
fn every_option_has_an_effect(
    command: &[&str],
    inputs: &[&str],
    base: &[(&str, &str)],
    alts: &[(&str, &str)],
    files: &[&str],
    out_is_file: bool,
) {
    let d = dir(&format!("knobs-{}", command.join("-")));
    let place = |name: &str| {
        if out_is_file {
            d.join(format!("{name}.csv"))
        } else {
            d.join(name)
        }
    };
    let args = |set: Option<(&str, &str, bool)>| -> Vec<String> {
        let mut v: Vec<String> = inputs.iter().map(|x| x.to_string()).collect();
        for (n, x) in base {
            if set.is_none_or(|(m, _, _)| m != *n) {
                v.extend([format!("--{n}"), x.to_string()]);
            }
        }
        if let Some((n, x, flag)) = set {
            v.push(format!("--{n}"));
            if !flag {
                v.push(x.to_string());
            }
        }
        v
    };
    let want = knob_run(command, &args(None), &place("base"), files).expect("the base runs");
    let declared = rulelab::registry::command(command).unwrap();
    let mut silent = vec![];
    for a in (declared.args)() {
        if a.name == "out" || a.kind == rulelab::command::Kind::Input {
            continue;
        }
        let Some((_, value)) = alts.iter().find(|(n, _)| *n == a.name) else {
            silent.push(format!(
                "--{}: no value to try (add one to the table)",
                a.name
            ));
            continue;
        };
        if *value == ELSEWHERE {
            continue;
        }
        let flag = a.kind == rulelab::command::Kind::Flag;
        let got = knob_run(
            command,
            &args(Some((a.name, value, flag))),
            &place(a.name),
            files,
        );
        if got.as_ref() == Some(&want) {
            silent.push(format!("--{} {value} changed nothing", a.name));
        }
    }
    assert!(
        silent.is_empty(),
        "{}:\n{}",
        command.join(" "),
        silent.join("\n")
    );
    std::fs::remove_dir_all(&d).ok();
}

/// The picture options of `infer fit` and `infer cv`: their effect is on the pictures,
/// checked by picture_options_change_the_pictures.
const PICTURES: &[(&str, &str)] = &[
    ("format", ELSEWHERE),
    ("width", ELSEWHERE),
    ("dpi", ELSEWHERE),
];

/// A picture option changes the files drawn: the formats written, the PNG's pixels.
#[test]
fn picture_options_change_the_pictures() {
    let d = dir("fit-pictures");
    let data = sim(&d, "train.csv", "4", "9");
    let png_width = |p: &Path| {
        let b = std::fs::read(p).unwrap();
        u32::from_be_bytes([b[16], b[17], b[18], b[19]])
    };
    ok(fit(&data, &d.join("a"), &[]));
    assert!(d.join("a/fit.svg").exists() && !d.join("a/fit.pdf").exists());
    ok(fit(
        &data,
        &d.join("b"),
        &["--format", "pdf,png", "--width", "4", "--dpi", "100"],
    ));
    assert!(!d.join("b/fit.svg").exists());
    let pdf = std::fs::read(d.join("b/fit.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(png_width(&d.join("b/fit.png")), 400);
    assert!(png_width(&d.join("a/fit.png")) > 1000);
    ok(fit(&data, &d.join("c"), &["--width", "4"]));
    assert_eq!(png_width(&d.join("c/fit.png")), 1200);
    std::fs::remove_dir_all(&d).ok();
}

/// Other values of the network fits' options (`infer fit` and `infer cv`).
const NETWORK: &[(&str, &str)] = &[
    ("hidden", "7"),
    ("layers", "2"),
    ("gru", "8"),
    ("skip", ""),
    ("epochs", "3"),
    ("batch", "3"),
    ("trunc", "20"),
    ("lr", "0.01"),
    ("decay", "0.3"),
    ("init", "zeros"),
    ("seed", "1"),
    ("restarts", "2"),
];

/// A fit prints a summary and where it wrote; `--json`, metrics.json itself.
#[test]
fn a_fit_says_what_it_wrote() {
    let d = dir("fit-says");
    let data = sim(&d, "train.csv", "4", "9");
    let o = ok(fit(&data, &d.join("a"), &[]));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.starts_with("training LL ") && text.contains("(the truth's "),
        "{text}"
    );
    assert!(
        text.contains("wrote ") && text.contains("fit.png, metrics.json"),
        "{text}"
    );
    let o = ok(fit(&data, &d.join("b"), &["--json"]));
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("b/metrics.json")).unwrap()).unwrap();
    assert_eq!(printed["train_ll"], written["train_ll"]);
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn every_option_of_fit_and_simulate_has_an_effect_or_is_refused() {
    let d = dir("knob-data");
    let train = sim(&d, "train.csv", "6", "7");
    let test = sim(&d, "test.csv", "3", "8");
    every_option_has_an_effect(
        &["infer", "fit"],
        &[s(&train)],
        &[
            ("epochs", "2"),
            ("hidden", "6"),
            ("layers", "1"),
            ("batch", "2"),
            ("trunc", "50"),
        ],
        &[
            ("test", s(&test)),
            ("ibl", ""),
            ("model", "rnn"),
            ("bootstrap", "2"),
            ("json", ELSEWHERE), // what it prints: a_fit_says_what_it_wrote
        ]
        .iter()
        .chain(NETWORK)
        .chain(PICTURES)
        .copied()
        .collect::<Vec<_>>(),
        &["rule_grid.csv", "restarts.csv", "weights.csv"],
        false,
    );
    every_option_has_an_effect(
        &["infer", "simulate"],
        &[],
        &[("rule", "reinforce"), ("animals", "3"), ("trials", "100")],
        &[
            ("rule", "reward_max"),
            ("animals", "4"),
            ("trials", "101"),
            ("seed", "1"),
            ("alpha", "0.1,0"),
            ("beta", "0.2"),
            ("weight-noise", "0.1"),
            ("kappa", "2"),
            // Its effect needs a file to replace: merge_simulate_and_sizes_are_guarded.
            ("force", ELSEWHERE),
        ],
        &[""],
        true,
    );
    let mut cv_alts: Vec<(&str, &str)> =
        vec![("models", "dnn,psytrack"), ("folds", "2"), ("ibl", "")];
    cv_alts.extend(NETWORK);
    cv_alts.extend(PICTURES);
    every_option_has_an_effect(
        &["infer", "cv"],
        &[s(&train)],
        &[
            ("models", "dnn,reinforce_base"),
            ("folds", "3"),
            ("epochs", "2"),
            ("hidden", "6"),
        ]
        .iter()
        .chain(&[("layers", "1"), ("batch", "2"), ("trunc", "50")])
        .copied()
        .collect::<Vec<_>>(),
        &cv_alts,
        &["cv.csv"],
        false,
    );
    // With no network among the models, only --seed (which deals the folds) counts.
    let o = rulelab(&[
        "infer",
        "cv",
        s(&train),
        "--models",
        "reinforce_base",
        "--folds",
        "2",
        "--hidden",
        "8",
        "--out",
        s(&d.join("cv-base")),
    ]);
    refused(&o, "--hidden", "names no network");
    std::fs::remove_dir_all(&d).ok();
}
