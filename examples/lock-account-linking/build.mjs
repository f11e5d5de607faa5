// `npm run build`: bundles src/app.js (with Lock and its auth0-js) into dist/, beside the
// page, the styles and the logo Lock shows.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
await build({
  entryPoints: [join(here, 'src', 'app.js')],
  outfile: join(dist, 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  // Lock require()s auth0-js, whose package is "type": "module" with a UMD file as `main`:
  // esbuild must take its ES module build (`module`) for require() too, or the UMD file
  // exports nothing.
  mainFields: ['browser', 'module', 'main'],
  // Lock's React reads process.env.NODE_ENV.
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'info',
});
for (const file of ['index.html', 'style.css', 'logo.svg']) cpSync(join(here, 'src', file), join(dist, file));
