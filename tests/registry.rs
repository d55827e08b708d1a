//! The registries are complete: every family has kernels and cases, every optimiser
//! member and every landscape rule and kind is checked and has its kernels, and every
//! kind's name round-trips. (A variant missing from a dispatch does not compile: the
//! matches over kinds have no catch-all arm.)

use rulelab::landscape::{LandscapeKind, RuleKind};
use rulelab::optim::Member;
use rulelab::registry;

#[test]
fn every_family_has_kernels_cases_and_a_unique_name() {
    let families = registry::families();
    let mut names = registry::names();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), families.len());
    for f in &families {
        assert!(!(f.kernels)().is_empty(), "{} has no kernel", f.name);
        assert!(!(f.cases)().is_empty(), "{} has no check case", f.name);
        for c in (f.cases)() {
            assert_eq!(
                c.family, f.name,
                "case {} is filed under another family",
                c.name
            );
        }
    }
}

fn case_names(family: &str) -> Vec<String> {
    registry::families()
        .into_iter()
        .filter(|f| f.name == family)
        .flat_map(|f| (f.cases)())
        .map(|c| c.name)
        .collect()
}

#[test]
fn every_member_is_checked_benched_and_a_landscape_rule() {
    let optim = case_names("optim");
    let landscape = case_names("landscape");
    let kernels: Vec<String> = registry::kernels().into_iter().map(|k| k.name).collect();
    for &m in Member::ALL {
        assert!(
            optim.iter().any(|c| c == m.name()),
            "no optim case for {}",
            m.name()
        );
        let k = rulelab::optim::gpu::update_kernel_for(m);
        assert!(kernels.contains(&k.name), "{} is not registered", k.name);
        assert!(
            RuleKind::all().contains(&RuleKind::Member(m)),
            "{} is not a landscape rule",
            m.name()
        );
    }
    for r in RuleKind::all() {
        assert_eq!(RuleKind::from_name(r.name()), Some(r));
        assert!(
            landscape.contains(&format!("{} rule", r.name())),
            "no landscape case for rule {}",
            r.name()
        );
        for &l in LandscapeKind::ALL {
            let k = rulelab::landscape::gpu::kernel(l, r);
            assert!(kernels.contains(&k.name), "{} is not registered", k.name);
        }
    }
    assert_eq!(RuleKind::from_name("gd"), Some(RuleKind::GD));
}

#[test]
fn every_landscape_is_checked() {
    let loss = case_names("loss");
    for &l in LandscapeKind::ALL {
        assert_eq!(LandscapeKind::from_name(l.name()), Some(l));
        assert!(
            loss.contains(&format!("{} loss_grad", l.name())),
            "no loss/gradient case for {}",
            l.name()
        );
    }
}

/// The guide's table of what each rule reads (docs/sweeps.md) is the code's: every
/// rule, each with exactly the numbers it reads.
#[test]
fn the_guide_s_rule_table_matches_the_rules() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/sweeps.md")).unwrap();
    let start = readme
        .find("| rule | reads |")
        .expect("docs/sweeps.md has the rule table");
    let table: Vec<(String, Vec<String>)> = readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let mut reads: Vec<String> =
                cells[1].split(',').map(|s| s.trim().to_string()).collect();
            reads.sort();
            (cells[0].to_string(), reads)
        })
        .collect();
    let rules = RuleKind::all();
    assert_eq!(table.len(), rules.len(), "one row per rule");
    for r in rules {
        let row = table
            .iter()
            .find(|(name, _)| name == r.name())
            .unwrap_or_else(|| panic!("docs/sweeps.md's rule table lacks {}", r.name()));
        let mut reads: Vec<String> = r
            .reads()
            .iter()
            .map(|(h, _)| h.name().to_string())
            .collect();
        reads.sort();
        assert_eq!(row.1, reads, "{}", r.name());
    }
    // And the member table names every member.
    for &m in Member::ALL {
        assert!(
            readme.contains(&format!("\n| {} |", m.name())),
            "{} is not in docs/sweeps.md",
            m.name()
        );
    }
}

/// The README's recipe for a family is how the tree is: each entry is a folder with its
/// check cases (or, for the counter RNG, one file), every folder with check cases and
/// every folder of shaders is an entry, and a family with a `study.rs` registers its
/// study (and only those do).
#[test]
fn the_family_recipe_matches_the_tree() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let names = registry::names();
    let dirs = |under: &str| -> Vec<String> {
        std::fs::read_dir(root.join(under))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .collect()
    };
    for f in registry::families() {
        let folder = root.join("src").join(f.name);
        assert!(
            folder.join("cases.rs").exists() || root.join(format!("src/{}.rs", f.name)).exists(),
            "{}: no src/{}/cases.rs",
            f.name,
            f.name
        );
        assert_eq!(
            folder.join("study.rs").exists(),
            f.study.is_some(),
            "{}: a study.rs goes with a registered study",
            f.name
        );
    }
    let with_cases: Vec<String> = dirs("src")
        .into_iter()
        .filter(|d| root.join("src").join(d).join("cases.rs").exists())
        .collect();
    assert!(with_cases.len() >= 5);
    for d in with_cases {
        assert!(
            names.contains(&d.as_str()),
            "src/{d}/ has cases but no registry entry"
        );
    }
    for d in dirs("shaders") {
        assert!(
            d == "common" || names.contains(&d.as_str()),
            "shaders/{d}/ belongs to no registry entry"
        );
    }
}

/// Every family command is reachable and well formed: one or two words, a group the
/// command line knows, a name no other command or study has, arguments with distinct
/// names and help, and a `commands.rs` in the family's folder exactly when it has some.
#[test]
fn every_family_command_is_well_formed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = ["devices", "check", "merge", "help"];
    let mut seen: Vec<String> = registry::families()
        .iter()
        .filter_map(|f| f.study.map(|s| s.command.to_string()))
        .collect();
    let mut count = 0;
    for f in registry::families() {
        let commands = (f.commands)();
        assert_eq!(
            root.join("src").join(f.name).join("commands.rs").exists(),
            !commands.is_empty(),
            "{}: a commands.rs goes with registered commands",
            f.name
        );
        for c in commands {
            count += 1;
            let spelled = c.path.join(" ");
            assert!(matches!(c.path.len(), 1 | 2), "{spelled}");
            assert!(
                !own.contains(&c.path[0]),
                "{spelled} shadows the command line's own"
            );
            if c.path.len() == 2 {
                assert!(
                    registry::GROUPS.iter().any(|(g, _)| *g == c.path[0]),
                    "{spelled}: registry::GROUPS has no {:?}",
                    c.path[0]
                );
            }
            assert!(!seen.contains(&spelled), "{spelled} is registered twice");
            seen.push(spelled.clone());
            assert!(
                c.about.lines().next().is_some_and(|l| l.len() > 10),
                "{spelled}"
            );
            let args = (c.args)();
            let mut names: Vec<&str> = args.iter().map(|a| a.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), args.len(), "{spelled}: an argument twice");
            for a in &args {
                assert!(a.help.len() > 3, "{spelled} --{}: no help", a.name);
                assert!(
                    !a.name.contains('_') && a.name != "device",
                    "{spelled} --{}",
                    a.name
                );
            }
            assert!(registry::command(c.path).is_ok());
        }
    }
    assert!(count >= 8, "found {count} commands");
}
