//! `/pkg`: the wasm bundle, its chunks, script and stylesheet. The release build compresses
//! them once at the highest levels (`tools/precompress.mjs`: `X.br`, `X.gz` beside `X`), a
//! fifth smaller than compressing on the fly can afford (main wasm: 475 KB, not 599). Those
//! copies are sent only when every one is at least as new as its file: a bundle rebuilt
//! without them (a plain `cargo leptos build`) must not be answered with the old bundle's
//! bytes. Otherwise, and for any file without a copy, the response is compressed on the fly.

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

use app::api::IslandFiles;
use tower::Layer;
use tower_http::{
    compression::{Compression, CompressionLayer},
    services::ServeDir,
};

/// The extensions of the precompressed copies.
const COPIES: [&str; 2] = ["br", "gz"];

/// The bundle's folder: the site root's `pkg`, as the Leptos options name it.
pub fn dir(options: &leptos::prelude::LeptosOptions) -> PathBuf {
    Path::new(&*options.site_root).join(&*options.site_pkg_dir)
}

/// The service for `/pkg`, serving `dir`.
pub fn service(dir: PathBuf) -> Compression<ServeDir> {
    let files = match copies_are_fresh(&dir) {
        Ok(true) => ServeDir::new(dir).precompressed_br().precompressed_gzip(),
        Ok(false) => ServeDir::new(dir),
        Err(stale) => {
            tracing::warn!(
                file = %stale.display(),
                "a precompressed copy in the bundle is older than its file; compressing on \
                 the fly (run `node tools/precompress.mjs` on the bundle after building it)"
            );
            ServeDir::new(dir)
        }
    };
    CompressionLayer::new().layer(files)
}

/// What each island of the bundle in `dir` loads, from the manifest a split build writes;
/// empty (no preloads) for a bundle without one or with one that cannot be read.
pub fn island_files(dir: &Path) -> IslandFiles {
    let Ok(manifest) = std::fs::read_to_string(dir.join("__wasm_split_manifest.json")) else {
        return IslandFiles::default();
    };
    let bundle: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    IslandFiles::from_manifest(&manifest, &bundle).unwrap_or_else(|error| {
        tracing::warn!(%error, "the bundle's split manifest is unreadable; islands are not preloaded");
        IslandFiles::default()
    })
}

/// `Ok(true)` when `dir` has precompressed copies and each is at least as new as its file
/// (and the file exists); `Ok(false)` when it has none; `Err(copy)` names a stale one.
fn copies_are_fresh(dir: &Path) -> Result<bool, PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(false);
    };
    let mut any = false;
    for entry in entries.flatten() {
        let copy = entry.path();
        let is_copy = copy
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COPIES.contains(&e));
        if !is_copy {
            continue;
        }
        any = true;
        let original = copy.with_extension("");
        match (modified(&original), modified(&copy)) {
            (Some(original), Some(copy)) if copy >= original => {}
            _ => return Err(copy),
        }
    }
    Ok(any)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, at: SystemTime) {
        std::fs::write(path, b"x").unwrap();
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(at)
            .unwrap();
    }

    #[test]
    fn copies_count_only_when_each_is_at_least_as_new_as_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let earlier = now - std::time::Duration::from_secs(60);
        let (wasm, br, gz) = (
            dir.path().join("stargate.wasm"),
            dir.path().join("stargate.wasm.br"),
            dir.path().join("stargate.wasm.gz"),
        );
        touch(&wasm, earlier);
        assert_eq!(copies_are_fresh(dir.path()), Ok(false), "no copies");

        touch(&br, earlier);
        touch(&gz, now);
        assert_eq!(copies_are_fresh(dir.path()), Ok(true), "as new, or newer");

        // The bundle was rebuilt after the copies were made.
        touch(&wasm, now + std::time::Duration::from_secs(1));
        assert!(copies_are_fresh(dir.path()).is_err(), "rebuilt since");

        // A copy whose file is gone is stale too.
        std::fs::remove_file(&wasm).unwrap();
        assert!(copies_are_fresh(dir.path()).is_err());
    }
}
