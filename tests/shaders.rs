//! The WGSL side of the crate, with no GPU: every kernel composes, parses and
//! validates with naga; every file under shaders/ belongs to a kernel; an error in a
//! piece names its own file, line and column; and every struct that crosses a binding
//! has the layout its Rust twin declares.

use rulelab::gpu::layout::Field;
use rulelab::gpu::{Kernel, Layout, Piece};
use rulelab::Error;
use std::collections::BTreeSet;

#[test]
fn every_kernel_validates_and_every_shader_file_is_used() {
    let kernels = rulelab::kernels();
    let mut used = BTreeSet::new();
    let mut names = BTreeSet::new();
    for k in &kernels {
        assert!(
            names.insert(k.name.clone()),
            "two kernels are named {}",
            k.name
        );
        if let Err(e) = k.validate() {
            panic!("{e}");
        }
        for p in k.pieces().unwrap() {
            used.insert(p.path);
        }
    }
    let files: Vec<Piece> = Piece::all().collect();
    assert!(files.len() >= 10, "found only {} shader files", files.len());
    for f in files {
        assert!(
            used.contains(f.path),
            "shaders/{} is part of no kernel: register its kernel in rulelab::kernels()",
            f.path
        );
    }
}

fn shader_error(kernel: &Kernel) -> (String, String) {
    match kernel.validate() {
        Err(Error::Shader {
            at,
            message,
            kernel,
        }) => {
            assert_eq!(kernel, "broken");
            (at, message)
        }
        Err(e) => panic!("expected a shader error, got {e}"),
        Ok(_) => panic!("the broken kernel validated"),
    }
}

/// A landscape piece with a mistake, composed into the real sweep driver: the error
/// names the piece's own line and column, not a line of the joined text.
#[test]
fn errors_name_the_file_line_and_column() {
    const BROKEN: &str = "// A landscape with a typo on line 5.
// needs: loss/point.wgsl, loss/exact_grad.wgsl
fn loss_grad(pt: Point, th: vec4<f32>, valid: vec4<bool>) -> LossGrad {
    var out = LossGrad(0.0, vec4<f32>(0.0));
    out.g = th * curvatur(pt, 0u);
    return out;
}

fn loss_offset() -> f32 {
    return 0.0;
}
";
    let kernel = |landscape: Piece| {
        Kernel::from_pieces(
            "broken",
            "main",
            vec![
                Piece::file("landscape/sweep.wgsl"),
                landscape,
                Piece::file("optim/adam.wgsl"),
            ],
        )
    };
    let (at, message) = shader_error(&kernel(Piece::inline("tests/broken.wgsl", BROKEN)));
    assert_eq!(at, "tests/broken.wgsl:5:18", "{message}");
    assert!(message.contains("curvatur"), "{message}");

    // A type error (found by validation, not parsing) is mapped the same way.
    let typed = BROKEN.replace("curvatur(pt, 0u)", "1u");
    let (at, message) = shader_error(&kernel(Piece::inline("tests/typed.wgsl", &*typed.leak())));
    assert!(at.starts_with("tests/typed.wgsl:5:"), "{at}: {message}");

    // A mistake deep in a real file of the crate points into that file.
    let real = Piece::file("loss/rosenbrock.wgsl");
    let line = real
        .text
        .lines()
        .position(|l| l.contains("let u = 1.0 - x;"))
        .unwrap()
        + 1;
    let bad = real.text.replace("let u = 1.0 - x;", "let u = 1.0 - y;");
    let (at, _) = shader_error(&kernel(Piece::inline(
        "shaders/loss/rosenbrock.wgsl (edited)",
        &*bad.leak(),
    )));
    assert!(
        at.starts_with(&format!("shaders/loss/rosenbrock.wgsl (edited):{line}:")),
        "{at}"
    );

    // A file that needs one that does not exist: the error names the needing line.
    let (at, message) = shader_error(&kernel(Piece::inline(
        "tests/needs.wgsl",
        "// needs: loss/point.wgsl\n// needs: landscape/nowhere.wgsl\n",
    )));
    assert_eq!(at, "tests/needs.wgsl:2");
    assert!(message.contains("landscape/nowhere.wgsl"), "{message}");
}

/// Every struct in a uniform or storage binding of any kernel has a Rust twin with the
/// same fields at the same offsets and the same size.
#[test]
fn every_shared_struct_has_the_layout_its_rust_twin_declares() {
    let registered = rulelab::layouts();
    let mut seen = BTreeSet::new();
    for k in rulelab::kernels() {
        let (_, module) = k.validate().unwrap();
        let bound = rulelab::gpu::layout::check_twins(&module, &registered)
            .unwrap_or_else(|m| panic!("kernel {}: {m}", k.name));
        seen.extend(bound);
    }
    for l in &registered {
        assert!(
            seen.contains(&l.name),
            "{} is registered but no kernel binds it",
            l.name
        );
    }
    let mut names: Vec<&String> = registered.iter().map(|l| &l.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(
        names.len(),
        registered.len(),
        "two Rust twins share a WGSL name"
    );
}

fn field(name: &str, offset: usize, ty: &str) -> Field {
    Field {
        name: name.into(),
        offset,
        ty: ty.into(),
    }
}

/// The comparison catches what it exists for: two fields swapped on one side, or a
/// field of another type at the same offset.
#[test]
fn a_swapped_or_retyped_field_is_a_mismatch() {
    let wgsl = Layout {
        name: "T".into(),
        size: 8,
        fields: vec![field("a", 0, "f32"), field("b", 4, "u32")],
    };
    let swapped = Layout {
        fields: vec![field("b", 0, "u32"), field("a", 4, "f32")],
        ..wgsl.clone()
    };
    assert!(swapped.mismatch(&wgsl).unwrap().contains("field 0"));
    let retyped = Layout {
        fields: vec![field("a", 0, "u32"), field("b", 4, "u32")],
        ..wgsl.clone()
    };
    let m = retyped.mismatch(&wgsl).unwrap();
    assert!(
        m.contains("a: u32 at byte 0") && m.contains("a: f32 at byte 0"),
        "{m}"
    );
    let longer = Layout {
        size: 12,
        ..wgsl.clone()
    };
    assert!(longer.mismatch(&wgsl).unwrap().contains("12 bytes"));
    let padded = Layout {
        fields: vec![
            field("a", 0, "f32"),
            field("b", 4, "u32"),
            field("_pad", 8, "u32"),
        ],
        ..wgsl.clone()
    };
    assert_eq!(padded.mismatch(&wgsl), None);
}

/// The Rust side learns each field's type from the struct itself.
#[test]
fn rust_twins_record_their_field_types() {
    rulelab::gpu_struct! {
        struct Probe {
            a: f32,
            b: u32,
            c: [u32; 2],
            d: i32,
        }
    }
    use rulelab::gpu::GpuStruct;
    let tys: Vec<String> = Probe::layout().fields.into_iter().map(|f| f.ty).collect();
    assert_eq!(tys, ["f32", "u32", "array<u32, 2>", "i32"]);
}
