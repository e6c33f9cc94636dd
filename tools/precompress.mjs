// Compresses the site bundle once, at build time, at the highest levels (brotli 11, gzip 9):
// each file in the folder gets a `.br` and a `.gz` beside it, which the server sends to
// browsers that accept them. Compressing on the fly has to be quick, so it cannot be this
// small (the main wasm: about 480 KB as brotli 11, 660 KB as gzip 9).
//
//   node tools/precompress.mjs target/site/pkg
//
// Node's own zlib: nothing to install.
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node tools/precompress.mjs DIR");
  process.exit(2);
}

const compressible = /\.(wasm|js|css|json)$/;
let before = 0;
let after = 0;
for (const name of readdirSync(dir)) {
  const path = join(dir, name);
  if (!compressible.test(name) || !statSync(path).isFile()) continue;
  const data = readFileSync(path);
  const br = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  writeFileSync(`${path}.br`, br);
  writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
  // The server only trusts a compressed copy at least as new as its file. Times are set in
  // whole milliseconds here while the file's has nanoseconds: a copy stamped with the
  // file's own time, truncated, would be older than it, and never sent: the copies get the
  // next whole millisecond instead.
  const { atime, mtimeMs } = statSync(path);
  const stamp = new Date(Math.floor(mtimeMs) + 1);
  utimesSync(`${path}.br`, atime, stamp);
  utimesSync(`${path}.gz`, atime, stamp);
  before += data.length;
  after += br.length;
}
console.log(`precompressed ${dir}: ${before} bytes, ${after} as brotli`);
