//! Typed storage buffers: create, upload, fill, download.

use super::Gpu;
use crate::error::{Error, Result};
use bytemuck::Pod;
use std::marker::PhantomData;
use wgpu::util::DeviceExt;

/// A storage buffer of `len` values of `T`. `buffer` is public so that callers can bind
/// it in their own pipelines.
pub struct GpuBuffer<T: Pod> {
    pub buffer: wgpu::Buffer,
    len: usize,
    _t: PhantomData<T>,
}

const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Uploads and fills go in pieces of this size so no staging allocation gets huge.
const PIECE_BYTES: usize = 16 << 20;

impl<T: Pod> GpuBuffer<T> {
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn bytes(&self) -> u64 {
        (self.len * std::mem::size_of::<T>()) as u64
    }
    /// Wraps a buffer the caller made; it must hold at least `len` values.
    pub fn wrap(buffer: wgpu::Buffer, len: usize) -> Result<Self> {
        let need = (len * std::mem::size_of::<T>()) as u64;
        if buffer.size() < need {
            return Err(Error::invalid(
                "buffer",
                format!(
                    "holds {} bytes, {need} needed for {len} values",
                    buffer.size()
                ),
            ));
        }
        Ok(GpuBuffer {
            buffer,
            len,
            _t: PhantomData,
        })
    }
}

impl Gpu {
    fn check_size(&self, what: &str, bytes: u64) -> Result<()> {
        let limit = self.limits().max_buffer_size;
        if bytes > limit {
            return Err(Error::TooLarge {
                what: what.into(),
                bytes,
                limit,
            });
        }
        Ok(())
    }

    /// A buffer of `len` zeroed values.
    pub fn zeros<T: Pod>(&self, label: &str, len: usize) -> Result<GpuBuffer<T>> {
        let bytes = (len.max(1) * std::mem::size_of::<T>()) as u64;
        self.check_size(label, bytes)?;
        let buffer = self.scoped(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT),
                usage: USAGE,
                mapped_at_creation: false,
            })
        })?;
        GpuBuffer::wrap(buffer, len)
    }

    /// A buffer holding a copy of `data`.
    pub fn upload<T: Pod>(&self, label: &str, data: &[T]) -> Result<GpuBuffer<T>> {
        if std::mem::size_of_val(data) > PIECE_BYTES {
            let buf = self.zeros(label, data.len())?;
            self.write(&buf, data)?;
            return Ok(buf);
        }
        let bytes: &[u8] = bytemuck::cast_slice(data);
        self.check_size(label, bytes.len() as u64)?;
        let mut padded = bytes.to_vec();
        padded.resize(bytes.len().max(4).next_multiple_of(4), 0);
        let buffer = self.scoped(|| {
            self.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: &padded,
                    usage: USAGE,
                })
        })?;
        GpuBuffer::wrap(buffer, data.len())
    }

    /// A uniform buffer holding `value`, which the queue may overwrite between
    /// submissions (a driver's per-dispatch shape).
    pub fn uniform<T: Pod>(&self, label: &str, value: &T) -> Result<wgpu::Buffer> {
        self.scoped(|| {
            self.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: bytemuck::bytes_of(value),
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                })
        })
    }

    /// Overwrites the buffer's start with `data`.
    pub fn write<T: Pod>(&self, buf: &GpuBuffer<T>, data: &[T]) -> Result<()> {
        if data.len() > buf.len() {
            return Err(Error::invalid(
                "data",
                format!("{} values do not fit a buffer of {}", data.len(), buf.len()),
            ));
        }
        let bytes: &[u8] = bytemuck::cast_slice(data);
        self.scoped(|| {
            for (k, piece) in bytes.chunks(PIECE_BYTES).enumerate() {
                self.queue
                    .write_buffer(&buf.buffer, (k * PIECE_BYTES) as u64, piece);
            }
        })?;
        Ok(())
    }

    /// A buffer of `len` copies of `value`: outputs are poisoned (NaN, an impossible
    /// flag) before a kernel runs, so an element it never writes cannot pass for one
    /// it did.
    pub fn poisoned<T: Pod>(&self, label: &str, len: usize, value: T) -> Result<GpuBuffer<T>> {
        let buf = self.zeros(label, len)?;
        self.fill(&buf, value)?;
        Ok(buf)
    }

    /// Sets every value to `value` (NaN poisoning before a kernel runs, for instance).
    pub fn fill<T: Pod>(&self, buf: &GpuBuffer<T>, value: T) -> Result<()> {
        let per_piece = (PIECE_BYTES / std::mem::size_of::<T>()).max(1);
        let piece = vec![value; per_piece.min(buf.len())];
        let bytes: &[u8] = bytemuck::cast_slice(&piece);
        self.scoped(|| {
            let mut done = 0usize;
            while done < buf.len() {
                let n = per_piece.min(buf.len() - done);
                let offset = (done * std::mem::size_of::<T>()) as u64;
                self.queue.write_buffer(
                    &buf.buffer,
                    offset,
                    &bytes[..n * std::mem::size_of::<T>()],
                );
                done += n;
            }
        })?;
        self.queue.submit([]);
        Ok(())
    }

    /// Copies the buffer back to the host, waiting at most [`Gpu::timeout`].
    pub fn download<T: Pod>(&self, buf: &GpuBuffer<T>) -> Result<Vec<T>> {
        self.download_raw(&buf.buffer, buf.len())
    }

    /// Reads the first `len` values of any buffer with COPY_SRC usage.
    pub fn download_raw<T: Pod>(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<T>> {
        let bytes = (len * std::mem::size_of::<T>()) as u64;
        let mut out: Vec<T> = Vec::with_capacity(len);
        // Staging buffers are bounded so very large downloads do not need one huge
        // mapping; each piece is a multiple of 4 bytes as copies require.
        let unit = std::mem::size_of::<T>() as u64 * 256;
        let piece = ((256u64 << 20).min(self.limits().max_buffer_size) / unit).max(1) * unit;
        let mut offset = 0u64;
        while offset < bytes {
            let size = piece.min(bytes - offset);
            let padded = size.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
            let staging = self.scoped(|| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("rulelab readback"),
                    size: padded,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })?;
            let mut enc = self.encoder("readback");
            enc.copy_buffer_to_buffer(buffer, offset, &staging, 0, padded);
            self.submit_and_wait(enc)?;
            let (tx, rx) = std::sync::mpsc::channel();
            staging.map_async(wgpu::MapMode::Read, .., move |r| {
                let _ = tx.send(r);
            });
            self.wait_idle()?;
            rx.recv_timeout(self.timeout)
                .map_err(|_| Error::Timeout(self.timeout))?
                .map_err(|e| Error::Map(e.to_string()))?;
            {
                let view = staging
                    .get_mapped_range(..)
                    .map_err(|e| Error::Map(e.to_string()))?;
                out.extend_from_slice(&bytemuck::pod_collect_to_vec::<u8, T>(
                    &view[..size as usize],
                ));
            }
            staging.unmap();
            offset += size;
        }
        Ok(out)
    }

    /// Waits until the queue is empty.
    pub fn wait_idle(&self) -> Result<()> {
        match self.device.poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(self.timeout),
        }) {
            Ok(_) => Ok(()),
            Err(wgpu::PollError::Timeout) => Err(Error::Timeout(self.timeout)),
            Err(e) => Err(Error::Poll(e.to_string())),
        }
    }
}

/// Several tables of f32 words in one storage buffer (a kernel has few bindings): each
/// table is pushed once and the kernel is told its offset.
#[derive(Clone, Debug, Default)]
pub struct DataArena {
    words: Vec<f32>,
}

impl DataArena {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a table; returns its offset in words.
    pub fn push(&mut self, values: impl IntoIterator<Item = f32>) -> u32 {
        let at = self.words.len();
        self.words.extend(values);
        at as u32
    }

    /// Words so far.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub fn words(&self) -> &[f32] {
        &self.words
    }

    /// The arena on the device, refused when it does not fit one binding or its
    /// offsets would not fit a u32.
    pub fn upload(&self, gpu: &Gpu, label: &str) -> Result<GpuBuffer<f32>> {
        let bytes = 4 * self.words.len() as u64;
        let limit = gpu.max_binding_bytes().min(4 * u32::MAX as u64);
        if bytes > limit {
            return Err(Error::TooLarge {
                what: label.to_string(),
                bytes,
                limit,
            });
        }
        if self.words.is_empty() {
            return gpu.zeros(label, 1);
        }
        gpu.upload(label, &self.words)
    }
}
