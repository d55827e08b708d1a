//! The layout contract between Rust and WGSL: every struct that crosses a binding is
//! declared on the Rust side with [`gpu_struct!`](crate::gpu_struct) (or described with
//! [`gpu_layout!`](crate::gpu_layout)), which records its size and each field's offset.
//! A test reads the same structs out of every kernel with naga and compares them field
//! by field (name, offset and type), so a field swapped, added, dropped or retyped on
//! one side fails a test instead of a result.
//!
//! Names starting with `_` are padding: only the total size counts for them (WGSL
//! cannot hold `[u32; 3]` in a uniform, so pads are spelled differently on each side).

/// A struct's size and named fields with their byte offsets and WGSL types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The struct's name in WGSL.
    pub name: String,
    pub size: usize,
    pub fields: Vec<Field>,
}

/// One field: its name, byte offset and type as WGSL spells it (`f32`, `u32`,
/// `array<u32, 2>`, a struct's name; an atomic is its scalar and a vector an array of
/// its scalars, as Rust holds them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub offset: usize,
    pub ty: String,
}

/// A Rust type that crosses a binding, by its WGSL spelling.
pub trait WgslType {
    fn wgsl() -> String;
}

impl WgslType for f32 {
    fn wgsl() -> String {
        "f32".into()
    }
}

impl WgslType for u32 {
    fn wgsl() -> String {
        "u32".into()
    }
}

impl WgslType for i32 {
    fn wgsl() -> String {
        "i32".into()
    }
}

impl<T: WgslType, const N: usize> WgslType for [T; N] {
    fn wgsl() -> String {
        format!("array<{}, {N}>", T::wgsl())
    }
}

impl<T: GpuStruct> WgslType for T {
    fn wgsl() -> String {
        T::layout().name
    }
}

/// The WGSL type of a struct's field, named by an accessor (`|s: &S| &s.field`): how
/// the layout macros learn a field's type without being told it.
pub fn field_type<S, T: WgslType>(_field: fn(&S) -> &T) -> String {
    T::wgsl()
}

impl Layout {
    /// Where this (Rust) layout and a WGSL one disagree, in words; None if they agree.
    /// Fields are compared by name, offset and type in order, padding by the total size.
    pub fn mismatch(&self, wgsl: &Layout) -> Option<String> {
        let named = |l: &Layout| -> Vec<Field> {
            l.fields
                .iter()
                .filter(|f| !f.name.starts_with('_'))
                .cloned()
                .collect()
        };
        let (r, w) = (named(self), named(wgsl));
        for i in 0..r.len().max(w.len()) {
            match (r.get(i), w.get(i)) {
                (Some(a), Some(b)) if a == b => {}
                (a, b) => {
                    let show = |f: Option<&Field>| {
                        f.map_or("nothing".to_string(), |f| {
                            format!("{}: {} at byte {}", f.name, f.ty, f.offset)
                        })
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
                        .map(|m| Field {
                            name: m.name.clone().unwrap_or_default(),
                            offset: m.offset as usize,
                            ty: wgsl_type(module, m.ty),
                        })
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

/// Every struct `module` binds, checked against its Rust twin among `registered`: their
/// names, or what is wrong (a struct with no twin, or one laid out otherwise).
pub fn check_twins(module: &naga::Module, registered: &[Layout]) -> Result<Vec<String>, String> {
    binding_structs(module)
        .into_iter()
        .map(|wgsl| {
            let rust = registered
                .iter()
                .find(|l| l.name == wgsl.name)
                .ok_or_else(|| {
                    format!(
                        "struct {} crosses a binding but has no Rust twin in \
                         rulelab::layouts() (declare it with gpu_struct!)",
                        wgsl.name
                    )
                })?;
            match rust.mismatch(&wgsl) {
                Some(m) => Err(m),
                None => Ok(wgsl.name),
            }
        })
        .collect()
}

/// A naga type as WGSL spells it (atomics as their scalar, the way Rust holds them).
fn wgsl_type(module: &naga::Module, ty: naga::Handle<naga::Type>) -> String {
    let scalar = |s: naga::Scalar| match (s.kind, s.width) {
        (naga::ScalarKind::Float, 4) => "f32".to_string(),
        (naga::ScalarKind::Uint, 4) => "u32".to_string(),
        (naga::ScalarKind::Sint, 4) => "i32".to_string(),
        (kind, width) => format!("{kind:?}{}", 8 * width),
    };
    let t = &module.types[ty];
    match &t.inner {
        naga::TypeInner::Scalar(s) | naga::TypeInner::Atomic(s) => scalar(*s),
        // A vector holds the bytes of an array of its scalars (its alignment shows in the
        // offsets, which are compared too): Rust's [u32; 2] is WGSL's vec2<u32>.
        naga::TypeInner::Vector { size, scalar: s } => {
            format!("array<{}, {}>", scalar(*s), *size as u8)
        }
        naga::TypeInner::Array { base, size, .. } => match size {
            naga::ArraySize::Constant(n) => format!("array<{}, {n}>", wgsl_type(module, *base)),
            _ => format!("array<{}>", wgsl_type(module, *base)),
        },
        naga::TypeInner::Struct { .. } => t.name.clone().unwrap_or_default(),
        other => format!("{other:?}"),
    }
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
                    fields: vec![$($crate::gpu::layout::Field {
                        name: stringify!($field).to_string(),
                        offset: ::std::mem::offset_of!($ty, $field),
                        ty: $crate::gpu::layout::field_type(|s: &$ty| &s.$field),
                    }),*],
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
