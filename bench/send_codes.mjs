// Login benchmark helper: asks for a login code for each of N numbers
// (64 at a time), waits until the file: SMS transport has written them all,
// and writes "mobile code" pairs for login.lua.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const [url, n, smsFile, out] = [process.argv[2], Number(process.argv[3]), process.argv[4], process.argv[5]];
const mobiles = Array.from({ length: n }, (_, i) => `9${String(i).padStart(9, '0')}`);
let next = 0;
async function worker() {
  while (next < mobiles.length) {
    const m = mobiles[next++];
    const r = await fetch(`${url}/api/v1/otp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mobile: m, purpose: 'login' }) });
    if (r.status !== 202) throw new Error(`otp for ${m}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer().catch(() => {});
  }
}
await Promise.all(Array.from({ length: 64 }, worker));
const codes = new Map();
for (let i = 0; i < 600 && codes.size < n; i++) {
  if (existsSync(smsFile)) {
    const lines = readFileSync(smsFile, 'utf8').split('\n');
    lines.pop(); // after the last newline: empty, or a line still being written
    for (const line of lines) {
      if (!line) continue;
      const m = JSON.parse(line);
      codes.set(m.to, m.text.match(/\b(\d{6})\b/)[1]);
    }
  }
  if (codes.size < n) await new Promise((r) => setTimeout(r, 100));
}
if (codes.size < n) throw new Error(`only ${codes.size} of ${n} codes delivered`);
writeFileSync(out, mobiles.map((m) => `${m} ${codes.get(m)}`).join('\n') + '\n');
