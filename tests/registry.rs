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
    let landscape = case_names("landscape");
    for &l in LandscapeKind::ALL {
        assert_eq!(LandscapeKind::from_name(l.name()), Some(l));
        assert!(
            landscape.contains(&format!("{} loss_grad", l.name())),
            "no loss/gradient case for {}",
            l.name()
        );
    }
}
