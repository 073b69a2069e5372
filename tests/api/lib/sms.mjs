// Reads what the file: transports wrote (one JSON object a line).
import { readFileSync, existsSync } from 'node:fs';

// The whole lines of a JSON-lines file the server may still be writing:
// what follows the last newline is a line not yet complete (one write(2)
// is not seen all at once by a reader), read at the next look.
export function jsonLines(file) {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop();
  return lines.filter(Boolean).map((l) => JSON.parse(l));
}

export function messages(file, to) {
  const all = jsonLines(file);
  return to ? all.filter((m) => m.to === to) : all;
}

// Runs send() and waits for the new message to `to` that it causes (the
// outbox delivers asynchronously); returns it.
export async function nextMessage(file, to, send, timeoutMs = 15000) {
  const before = messages(file, to).length;
  const r = await send();
  const t0 = Date.now();
  for (;;) {
    const m = messages(file, to);
    if (m.length > before) return { response: r, message: m[m.length - 1] };
    if (Date.now() - t0 > timeoutMs) throw new Error(`no message to ${to} in ${file} (${JSON.stringify(r && r.body)})`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

export const codeOf = (m) => m.text.match(/\b(\d{6})\b/)[1];
