// Cuts a tall screenshot into viewport-high pieces (for reading phone
// screenshots at full size): node tests/browser/lib/crop.mjs IN.png OUTDIR [height]
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [input, outDir, h = '900'] = process.argv.slice(2);
const png = readFileSync(input);
const w = png.readUInt32BE(16);
const hh = png.readUInt32BE(20);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: w, height: Number(h) } });
await page.setContent(`<body style="margin:0"><img src="data:image/png;base64,${png.toString('base64')}"></body>`);
for (let y = 0, i = 0; y < hh; y += Number(h), i++) {
  await page.screenshot({ path: path.join(outDir, `${path.basename(input, '.png')}-${i}.png`), clip: { x: 0, y, width: w, height: Math.min(Number(h), hh - y) }, fullPage: true });
}
await browser.close();
