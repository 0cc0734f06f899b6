// sharp's best case for the benchmark: one decode (shrink-on-load), the 2048 from it, and the 400
// made from the 2048 just encoded. Usage: node sharp-bench.mjs IN_DIR OUT_DIR THREADS
import sharp from "sharp";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";

const [dir, out, threadsArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 1);
// Parallel across files, like the others; one libvips thread per image.
sharp.concurrency(1);
sharp.cache(false);
const files = (await readdir(dir)).filter((f) => f.endsWith(".jpg")).sort();
await mkdir(out, { recursive: true });

let next = 0;
async function worker() {
  while (next < files.length) {
    const name = files[next++];
    const fit = (edge) => ({ width: edge, height: edge, fit: "inside", withoutEnlargement: true });
    const large = await sharp(path.join(dir, name)).rotate().resize(fit(2048)).jpeg({ quality: 85 }).toBuffer();
    const small = await sharp(large).resize(fit(400)).jpeg({ quality: 85 }).toBuffer();
    const stem = name.replace(/\.jpg$/, "");
    await writeFile(path.join(out, `${stem}-2048.jpg`), large);
    await writeFile(path.join(out, `${stem}-400.jpg`), small);
  }
}
const started = performance.now();
await Promise.all(Array.from({ length: threads }, worker));
const seconds = (performance.now() - started) / 1000;
console.log(`images_per_s=${(files.length / seconds).toFixed(2)}`);
