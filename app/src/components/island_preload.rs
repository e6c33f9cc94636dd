//! Preloading a page's island. The island loader asks for an island's chunks only once the
//! main wasm file runs; named in the page's head, they download beside the main file.

#[cfg(feature = "ssr")]
use std::{collections::HashMap, sync::Arc};

use leptos::prelude::*;

/// The bundle files each lazy island loads, by island (`catalog`, `live_request`, ...), as
/// `cargo leptos build --split` lists them in `__wasm_split_manifest.json`. Empty for a
/// bundle built without `--split`.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IslandFiles {
    wasm: Arc<HashMap<String, Vec<String>>>,
    /// The script every island's chunks are loaded through.
    loader_script: Option<String>,
}

#[cfg(feature = "ssr")]
impl IslandFiles {
    /// From the manifest's text (loader name → chunk names) and the names of the files in
    /// the bundle's folder.
    pub fn from_manifest(manifest: &str, bundle: &[String]) -> Result<Self, serde_json::Error> {
        let loaders: HashMap<String, Vec<String>> = serde_json::from_str(manifest)?;
        let wasm = loaders
            .into_iter()
            .map(|(loader, chunks)| {
                // `live_request_loader_16035688628243954447`: the island, then a hash.
                let island = loader
                    .rsplit_once("_loader_")
                    .map_or(loader.as_str(), |(island, _)| island)
                    .to_owned();
                (island, chunks.iter().map(|c| format!("{c}.wasm")).collect())
            })
            .collect();
        let loader_script = bundle
            .iter()
            .find(|name| name.starts_with("__wasm_split.") && name.ends_with(".js"))
            .cloned();
        Ok(Self {
            wasm: Arc::new(wasm),
            loader_script,
        })
    }

    /// The loader script and the wasm files `island` loads; nothing for an unknown island.
    pub fn of(&self, island: &str) -> (Option<&str>, &[String]) {
        match self.wasm.get(island) {
            Some(files) => (self.loader_script.as_deref(), files),
            None => (None, &[]),
        }
    }
}

/// Names `island`'s files in the page's head for the browser to fetch now (the page that
/// shows the island renders this, outside any suspense: the head is sent first).
#[component]
pub fn PreloadIsland(island: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        use leptos_meta::Link;
        let files = use_context::<crate::api::PortalContext>()
            .map(|context| context.island_files)
            .unwrap_or_default();
        let (script, wasm) = files.of(island);
        let script = script.map(|name| format!("/pkg/{name}"));
        let wasm: Vec<String> = wasm.iter().map(|name| format!("/pkg/{name}")).collect();
        view! {
            {script.map(|href| view! { <Link rel="modulepreload" href /> })}
            // `fetch` in CORS mode, as the loader asks for them: only then is it one download.
            // Low priority: the stylesheet and the page come first (first paint).
            {wasm.into_iter().map(|href| view! {
                <Link rel="preload" href as_="fetch" crossorigin="anonymous" fetchpriority="low" />
            }).collect_view()}
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = island;
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn each_island_gets_its_chunks_and_the_loader_script() {
        let manifest = r#"{
            "catalog_loader_9576170921799123340": ["chunk_7", "split_catalog_loader_9576170921799123340"],
            "live_request_loader_16035688628243954447": ["chunk_7", "chunk_30"]
        }"#;
        let bundle = ["stargate.wasm", "__wasm_split.____.js", "chunk_7.wasm"].map(String::from);
        let files = IslandFiles::from_manifest(manifest, &bundle).expect("a manifest");
        assert_eq!(
            files.of("catalog"),
            (
                Some("__wasm_split.____.js"),
                &[
                    "chunk_7.wasm".to_owned(),
                    "split_catalog_loader_9576170921799123340.wasm".to_owned()
                ][..]
            )
        );
        assert_eq!(
            files.of("live_request").1,
            ["chunk_7.wasm", "chunk_30.wasm"]
        );
        assert_eq!(files.of("tokens"), (None, &[][..]), "not in the manifest");
        assert!(IslandFiles::from_manifest("not json", &bundle).is_err());
    }
}
