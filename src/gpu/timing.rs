//! Timing GPU work: timestamp queries where the device has them, otherwise the host
//! clock around a submission with a full queue wait. Every result says which.

use super::Gpu;
use crate::error::Result;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// GPU timestamp queries around the work: kernel time alone.
    GpuTimestamps,
    /// Host clock from submission to completion: includes submission overhead.
    HostClock,
}

#[derive(Clone, Copy, Debug)]
pub struct Timed {
    pub seconds: f64,
    pub clock: Clock,
}

impl Gpu {
    fn timestamp_pair(&self) -> (wgpu::QuerySet, wgpu::Buffer) {
        let set = self.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("rulelab timing"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("rulelab timing resolve"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        (set, resolve)
    }

    fn read_ticks(
        &self,
        mut enc: wgpu::CommandEncoder,
        set: &wgpu::QuerySet,
        resolve: &wgpu::Buffer,
    ) -> Result<f64> {
        enc.resolve_query_set(set, 0..2, resolve, 0);
        self.submit_and_wait(enc)?;
        let ticks: Vec<u64> = self.download_raw(resolve, 2)?;
        let ns =
            ticks[1].saturating_sub(ticks[0]) as f64 * self.queue.get_timestamp_period() as f64;
        Ok(ns * 1e-9)
    }

    fn time_host(&self, enc: wgpu::CommandEncoder) -> Result<Timed> {
        self.wait_idle()?;
        let start = Instant::now();
        self.submit_and_wait(enc)?;
        Ok(Timed {
            seconds: start.elapsed().as_secs_f64(),
            clock: Clock::HostClock,
        })
    }

    /// Times the dispatches that `record` puts into one compute pass.
    pub fn time_pass(&self, record: impl FnOnce(&mut wgpu::ComputePass<'_>)) -> Result<Timed> {
        let mut enc = self.encoder("rulelab timed pass");
        if self.timestamps.0 {
            let (set, resolve) = self.timestamp_pair();
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("timed"),
                    timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                        query_set: &set,
                        beginning_of_pass_write_index: Some(0),
                        end_of_pass_write_index: Some(1),
                    }),
                });
                record(&mut pass);
            }
            let seconds = self.read_ticks(enc, &set, &resolve)?;
            return Ok(Timed {
                seconds,
                clock: Clock::GpuTimestamps,
            });
        }
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            record(&mut pass);
        }
        self.time_host(enc)
    }

    /// Times commands outside a pass (buffer copies, for instance).
    pub fn time_commands(&self, record: impl FnOnce(&mut wgpu::CommandEncoder)) -> Result<Timed> {
        let mut enc = self.encoder("rulelab timed commands");
        if self.timestamps.1 {
            let (set, resolve) = self.timestamp_pair();
            enc.write_timestamp(&set, 0);
            record(&mut enc);
            enc.write_timestamp(&set, 1);
            let seconds = self.read_ticks(enc, &set, &resolve)?;
            return Ok(Timed {
                seconds,
                clock: Clock::GpuTimestamps,
            });
        }
        record(&mut enc);
        self.time_host(enc)
    }

    /// Which clock [`Gpu::time_pass`] uses on this device.
    pub fn pass_clock(&self) -> Clock {
        if self.timestamps.0 {
            Clock::GpuTimestamps
        } else {
            Clock::HostClock
        }
    }
}
