// What each island costs a first visit: the main wasm file plus the chunks its loader
// fetches (`__wasm_split_manifest.json`, written by `cargo leptos build --split`), each
// gzip -9 and brotli 11 as the server sends them. A page without islands fetches the main
// file only.
//
//   node bench/bundle_size.mjs [target/site/pkg]
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dir = process.argv[2] ?? "target/site/pkg";
const manifest = JSON.parse(readFileSync(join(dir, "__wasm_split_manifest.json"), "utf8"));
const sizes = new Map();
const size = (file) => {
  if (!sizes.has(file)) {
    const bytes = readFileSync(join(dir, file));
    sizes.set(file, {
      gzip: gzipSync(bytes, { level: 9 }).length,
      brotli: brotliCompressSync(bytes, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
      }).length,
    });
  }
  return sizes.get(file);
};
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;
const sum = (files) =>
  files.map(size).reduce((a, s) => ({ gzip: a.gzip + s.gzip, brotli: a.brotli + s.brotli }), {
    gzip: 0,
    brotli: 0,
  });

const main = readdirSync(dir).filter((f) => f.endsWith(".wasm") && !f.startsWith("chunk_") &&
  !f.startsWith("split_"));
const base = sum(main);
console.log(`main (${main.join(", ")}): gzip ${kb(base.gzip)}, brotli ${kb(base.brotli)}`);
for (const [loader, chunks] of Object.entries(manifest).sort()) {
  const island = loader.replace(/_loader_\d+$/, "");
  const total = sum([...main, ...chunks.map((c) => `${c}.wasm`)]);
  console.log(`${island.padEnd(16)} gzip ${kb(total.gzip).padStart(7)}, brotli ${kb(total.brotli).padStart(7)}` +
    ` (${chunks.length} files beside the main one)`);
}
