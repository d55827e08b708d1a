//! Every WGSL file under shaders/ parses and validates with naga, with no GPU: each
//! file as part of the kernel modules that include it.

use std::collections::BTreeSet;
use std::path::Path;

fn validate(name: &str, source: &str) {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: {e:?}"));
}

#[test]
fn every_kernel_validates_and_every_shader_file_is_used() {
    let kernels = rulelab::kernels();
    let mut used = BTreeSet::new();
    for k in &kernels {
        validate(k.name, &k.source());
        for s in k.sources {
            used.insert(s.to_string());
        }
    }
    let mut files = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "wgsl") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 10, "found only {} shader files", files.len());
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            used.contains(&text),
            "{} is part of no kernel: register it in rulelab::kernels()",
            f.display()
        );
    }
}
