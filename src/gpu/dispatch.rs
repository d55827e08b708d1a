//! Splitting work past device limits, invisibly to callers.
//!
//! Two limits matter for 1-D streaming kernels. A dispatch dimension holds at most
//! `max_compute_workgroups_per_dimension` workgroups (65,535 on most devices), so a long
//! job becomes a 2-D grid and kernels recover their linear workgroup index as
//! `wid.x + wid.y * num_workgroups.x`. A storage binding covers at most
//! `max_storage_buffer_binding_size` bytes, so a buffer larger than that is bound as
//! several windows, each at an offset the device allows, one dispatch per window.

use super::Gpu;
use crate::error::{Error, Result};
use std::ops::Range;

/// A 2-D grid holding `workgroups` workgroups with no dimension above `max_dim`.
/// Kernels skip the few surplus workgroups of the last row.
pub fn grid_for(workgroups: u32, max_dim: u32) -> Result<(u32, u32)> {
    if workgroups == 0 {
        return Ok((0, 0));
    }
    let x = workgroups.min(max_dim);
    let y = workgroups.div_ceil(x);
    if y > max_dim {
        return Err(Error::TooLarge {
            what: format!("a dispatch of {workgroups} workgroups"),
            bytes: workgroups as u64,
            limit: max_dim as u64 * max_dim as u64,
        });
    }
    Ok((x, y))
}

/// A range of elements bound as one storage binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Elements covered, in the whole buffer's indexing.
    pub elems: Range<u64>,
}

impl Window {
    pub fn byte_offset(&self, elem_bytes: u64) -> u64 {
        self.elems.start * elem_bytes
    }
    pub fn byte_len(&self, elem_bytes: u64) -> u64 {
        (self.elems.end - self.elems.start) * elem_bytes
    }
    /// This window of `buffer` as a binding resource.
    pub fn bind<'a>(&self, buffer: &'a wgpu::Buffer, elem_bytes: u64) -> wgpu::BindingResource<'a> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset: self.byte_offset(elem_bytes),
            size: std::num::NonZeroU64::new(self.byte_len(elem_bytes)),
        })
    }
}

impl Gpu {
    /// Splits `n` elements of `elem_bytes` each into windows that fit one binding and
    /// start at offsets the device allows.
    pub fn windows(&self, n: u64, elem_bytes: u64) -> Vec<Window> {
        let align = self.limits().min_storage_buffer_offset_alignment as u64;
        // Each window but the last spans a whole number of alignment units, so the next
        // one starts aligned. Units are lcm-free because align is a power of two and
        // elem_bytes divides it for every type rulelab binds (4-byte words).
        let unit_elems = (align / elem_bytes).max(1);
        let max_elems = (self.max_binding_bytes() / elem_bytes / unit_elems).max(1) * unit_elems;
        let mut out = Vec::new();
        let mut start = 0;
        while start < n {
            let end = (start + max_elems).min(n);
            out.push(Window { elems: start..end });
            start = end;
        }
        if out.is_empty() {
            out.push(Window { elems: 0..0 });
        }
        out
    }

    /// Runs `workgroups` workgroups of one pipeline with one bind group (a 2-D grid past
    /// the dimension limit; kernels skip the surplus) and waits for them.
    pub fn dispatch_and_wait(
        &self,
        label: &str,
        pipeline: &wgpu::ComputePipeline,
        bind: &wgpu::BindGroup,
        workgroups: u32,
    ) -> Result<()> {
        let (x, y) = self.grid(workgroups)?;
        let mut enc = self.encoder(label);
        self.scoped(|| {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind, &[]);
            pass.dispatch_workgroups(x, y, 1);
        })?;
        self.submit_and_wait(enc)
    }

    /// The 2-D grid for `workgroups` workgroups on this device.
    pub fn grid(&self, workgroups: u32) -> Result<(u32, u32)> {
        grid_for(workgroups, self.max_workgroups_per_dimension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_and_respects_limit() {
        for &(n, m) in &[
            (1u32, 65535u32),
            (65535, 65535),
            (65536, 65535),
            (48, 7),
            (8, 7),
            (49, 7),
        ] {
            let (x, y) = grid_for(n, m).unwrap();
            assert!(x <= m && y <= m);
            assert!(x as u64 * y as u64 >= n as u64);
            // No whole surplus row: the grid is as small as it can be for this x.
            assert!((x as u64) * (y as u64 - 1) < n as u64);
        }
        assert!(grid_for(50, 7).is_err());
    }
}
