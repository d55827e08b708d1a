//! Embeds every WGSL file under shaders/ in the crate, keyed by its path, so kernels
//! are composed by file name (`// needs:` lines and `Kernel::new`) and a new file needs
//! no table entry.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "wgsl") {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let shaders = root.join("shaders");
    println!("cargo:rerun-if-changed=shaders");
    let mut found = Vec::new();
    files(&shaders, &mut found);
    let mut table =
        String::from("/// Every file under shaders/: (path relative to shaders/, text).\n");
    table.push_str("pub static FILES: &[(&str, &str)] = &[\n");
    for p in &found {
        let rel = p.strip_prefix(&shaders).expect("under shaders/");
        let rel = rel.to_str().expect("UTF-8 path").replace('\\', "/");
        table.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            p.display().to_string()
        ));
    }
    table.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("shader_files.rs");
    std::fs::write(out, table).expect("writing the shader table");
}
