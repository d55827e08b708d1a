//! The host layer: buffers, errors, split dispatch, timing, and the RNG on the adapter.

mod common;

use rulelab::check::{self, compare, Tolerance};
use rulelab::gpu::Kernel;
use rulelab::rng;
use rulelab::Error;

#[test]
fn buffers_round_trip_and_fill() {
    let Some(gpu) = common::gpu() else { return };
    let seed = common::seed("round_trip");
    let mut r = check::rng(seed);
    for &n in &[1usize, 3, 1000, 1 << 20] {
        let data = check::uniform(&mut r, n, -5.0, 5.0);
        let buf = gpu.upload("data", &data).unwrap();
        assert_eq!(gpu.download(&buf).unwrap(), data);
        gpu.fill(&buf, f32::NAN).unwrap();
        assert!(gpu.download(&buf).unwrap().iter().all(|x| x.is_nan()));
    }
}

#[test]
fn invalid_shader_is_a_typed_error() {
    let Some(gpu) = common::gpu() else { return };
    let bad = Kernel::from_pieces(
        "test_bad_shader",
        "main",
        vec![rulelab::gpu::Piece::inline(
            "tests/bad.wgsl",
            "@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }",
        )],
    );
    assert!(
        matches!(gpu.pipeline(&bad), Err(Error::Shader { ref at, .. }) if at == "tests/bad.wgsl:1:54")
    );
    // The device stays usable after the error.
    let b = gpu.upload("after", &[1.0f32, 2.0]).unwrap();
    assert_eq!(gpu.download(&b).unwrap(), vec![1.0, 2.0]);
}

#[test]
fn oversized_buffer_is_a_typed_error() {
    let Some(gpu) = common::gpu() else { return };
    let too_many = (gpu.limits().max_buffer_size / 4 + 1) as usize;
    assert!(matches!(
        gpu.zeros::<f32>("huge", too_many),
        Err(Error::TooLarge { .. })
    ));
}

/// The copy shader through every split path (several binding windows, 2-D grids) writes
/// every element: the output is poisoned with NaN first.
#[test]
fn copy_shader_splits_and_covers_everything() {
    let Some(gpu) = common::tiny_limits_gpu() else {
        return;
    };
    let seed = common::seed("copy_split");
    let mut r = check::rng(seed);
    let n = 70_001;
    let data = check::uniform(&mut r, n, -1.0, 1.0);
    let src = gpu.upload("src", &data).unwrap();
    let dst = gpu.zeros::<f32>("dst", n).unwrap();
    gpu.fill(&dst, f32::NAN).unwrap();
    let windows = gpu.windows(n as u64, 4);
    assert!(windows.len() > 1);
    let pipeline = gpu.pipeline(&rulelab::optim::gpu::copy_kernel()).unwrap();
    let mut grids = Vec::new();
    let t = gpu
        .time_pass(|pass| {
            pass.set_pipeline(&pipeline);
            for w in &windows {
                let bind = gpu
                    .bind_group(
                        &pipeline,
                        &[(0, w.bind(&src.buffer, 4)), (1, w.bind(&dst.buffer, 4))],
                    )
                    .unwrap();
                let (x, y) = gpu
                    .grid((w.elems.end - w.elems.start).div_ceil(1024) as u32)
                    .unwrap();
                grids.push((x, y));
                pass.set_bind_group(0, &bind, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        })
        .unwrap();
    assert!(
        grids.iter().any(|&(_, y)| y > 1),
        "lowered limits must force a 2-D grid: {grids:?}"
    );
    assert!(t.seconds > 0.0 && t.seconds.is_finite());
    assert_eq!(gpu.download(&dst).unwrap(), data);
}

#[test]
fn windows_tile_the_range_at_aligned_offsets() {
    let Some(gpu) = common::tiny_limits_gpu() else {
        return;
    };
    let align = gpu.limits().min_storage_buffer_offset_alignment as u64;
    for n in [1u64, 16_384, 16_385, 100_003] {
        let w = gpu.windows(n, 4);
        assert_eq!(w[0].elems.start, 0);
        assert_eq!(w.last().unwrap().elems.end, n);
        for pair in w.windows(2) {
            assert_eq!(pair[0].elems.end, pair[1].elems.start);
        }
        for x in &w {
            assert_eq!(x.byte_offset(4) % align, 0);
            assert!(x.byte_len(4) <= gpu.max_binding_bytes());
        }
    }
}

/// The WGSL Philox produces the Rust words bit for bit, including on a 2-D grid, and
/// its normal samples agree to the platform's transcendental accuracy.
#[test]
fn rng_bits_agree_on_the_adapter() {
    // 9,001 counters on the adapter's limits; 2,001 (32 workgroups on a 7 x 5 grid)
    // under the lowered ones.
    for (gpu, n) in [(common::gpu(), 9_001), (common::tiny_limits_gpu(), 2_001)] {
        let Some(gpu) = gpu else { continue };
        let seed = common::seed("rng_bits");
        let key = rng::key_from_seed(seed);
        let c = [seed as u32, (seed >> 32) as u32, 0xABCD];
        let (words, normals) = rng::gpu_draw(&gpu, key, c, n).unwrap();
        let mut want_z = Vec::new();
        let mut got_z = Vec::new();
        for i in 0..n {
            let w = rng::philox4x32_10([i, c[0], c[1], c[2]], key);
            assert_eq!(
                words[i as usize], w,
                "words differ at counter {i} (seed {seed})"
            );
            want_z.extend(rng::normals4::<f64>(w));
            got_z.extend(normals[i as usize]);
        }
        let r = compare(&got_z, &want_z, rulelab::check::NORMAL_TOLERANCE);
        assert!(r.pass, "seed {seed}: {r}");
    }
}

/// The tolerance type itself: honest comparisons fail when they should.
#[test]
fn comparison_rejects_unwritten_and_wrong_values() {
    let want = vec![1.0f64, -2.0, 3.0];
    assert!(!compare(&[1.0f32, f32::NAN, 3.0], &want, Tolerance::new(1.0, 1.0)).pass);
    assert!(!compare(&[1.0f32, -2.0, 3.1], &want, Tolerance::ELEMENTWISE).pass);
    assert!(compare(&[1.0f32, -2.0, 3.0], &want, Tolerance::ELEMENTWISE).pass);
}
