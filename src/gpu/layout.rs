//! The layout contract between Rust and WGSL: every struct that crosses a binding is
//! declared on the Rust side with [`gpu_struct!`](crate::gpu_struct) (or described with
//! [`gpu_layout!`](crate::gpu_layout)), which records its size and each field's offset.
//! A test reads the same structs out of every kernel with naga and compares them field
//! by field, so a field swapped, added or dropped on one side fails a test instead of a
//! result.
//!
//! Names starting with `_` are padding: only the total size counts for them (WGSL
//! cannot hold `[u32; 3]` in a uniform, so pads are spelled differently on each side).

/// A struct's size and named fields with their byte offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The struct's name in WGSL.
    pub name: String,
    pub size: usize,
    pub fields: Vec<(String, usize)>,
}

impl Layout {
    /// Where this (Rust) layout and a WGSL one disagree, in words; None if they agree.
    /// Fields are compared by name and offset in order, padding by the total size.
    pub fn mismatch(&self, wgsl: &Layout) -> Option<String> {
        let named = |l: &Layout| -> Vec<(String, usize)> {
            l.fields
                .iter()
                .filter(|(n, _)| !n.starts_with('_'))
                .cloned()
                .collect()
        };
        let (r, w) = (named(self), named(wgsl));
        for i in 0..r.len().max(w.len()) {
            match (r.get(i), w.get(i)) {
                (Some(a), Some(b)) if a == b => {}
                (a, b) => {
                    let show = |f: Option<&(String, usize)>| {
                        f.map_or("nothing".to_string(), |(n, o)| format!("{n} at byte {o}"))
                    };
                    return Some(format!(
                        "{}: field {i} is {} in Rust but {} in WGSL",
                        self.name,
                        show(a),
                        show(b)
                    ));
                }
            }
        }
        (self.size != wgsl.size).then(|| {
            format!(
                "{}: {} bytes in Rust but {} in WGSL",
                self.name, self.size, wgsl.size
            )
        })
    }
}

/// The layouts of every struct a module's uniform and storage bindings hold (nested
/// structs and array elements included), as naga lays them out.
pub fn binding_structs(module: &naga::Module) -> Vec<Layout> {
    fn visit(module: &naga::Module, ty: naga::Handle<naga::Type>, out: &mut Vec<Layout>) {
        let t = &module.types[ty];
        match &t.inner {
            naga::TypeInner::Struct { members, span } => {
                let name = t.name.clone().unwrap_or_default();
                if out.iter().any(|l| l.name == name) {
                    return;
                }
                out.push(Layout {
                    name,
                    size: *span as usize,
                    fields: members
                        .iter()
                        .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
                        .collect(),
                });
                for m in members {
                    visit(module, m.ty, out);
                }
            }
            naga::TypeInner::Array { base, .. } | naga::TypeInner::BindingArray { base, .. } => {
                visit(module, *base, out)
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (_, var) in module.global_variables.iter() {
        if matches!(
            var.space,
            naga::AddressSpace::Uniform | naga::AddressSpace::Storage { .. }
        ) {
            visit(module, var.ty, &mut out);
        }
    }
    out
}

/// A Rust struct with a WGSL twin.
pub trait GpuStruct: bytemuck::Pod {
    fn layout() -> Layout;
}

/// Implements [`GpuStruct`] for an existing `#[repr(C)]` type: its WGSL name and every
/// field, in order.
#[macro_export]
macro_rules! gpu_layout {
    ($ty:ty as $wgsl:expr => { $($field:ident),* $(,)? }) => {
        impl $crate::gpu::GpuStruct for $ty {
            fn layout() -> $crate::gpu::Layout {
                $crate::gpu::Layout {
                    name: $wgsl.to_string(),
                    size: ::std::mem::size_of::<$ty>(),
                    fields: vec![$((
                        stringify!($field).to_string(),
                        ::std::mem::offset_of!($ty, $field),
                    )),*],
                }
            }
        }
    };
}

/// Declares a `#[repr(C)]`, `Pod` struct that mirrors the WGSL struct of the same name,
/// with its layout recorded for the contract test.
#[macro_export]
macro_rules! gpu_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
        $vis struct $name {
            $($(#[$fmeta])* $fvis $field: $ty),*
        }
        $crate::gpu_layout!($name as stringify!($name) => { $($field),* });
    };
}
