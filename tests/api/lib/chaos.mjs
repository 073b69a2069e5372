// A TCP proxy on loopback that plays a failing peer in front of a real one
// (an SMTP sink, an SMS gateway, an OpenID provider). Each connection takes
// the mode of the moment it is accepted:
//   ok       piped to the target
//   down     reset at once (the peer is down)
//   slow     accepted, read, never answered (the peer hangs)
//   garbage  a few bytes of no protocol at all, then closed
// `failNext(n, mode)` gives the next n connections `mode`, then the current
// mode again. counts[mode] tells how many connections each mode took. The
// target port may be set later (`chaos.target = port`): a provider must
// know the proxy's URL before it starts.
import net from 'node:net';

export async function startChaos(targetPort) {
  const st = { mode: 'ok', next: [], target: targetPort, counts: { ok: 0, down: 0, slow: 0, garbage: 0 } };
  const open = new Set(); // every socket, both ends: close() ends them all
  const track = (s) => { open.add(s); s.on('close', () => open.delete(s)); };
  const server = net.createServer((sock) => {
    const mode = st.next.length ? st.next.shift() : st.mode;
    st.counts[mode]++;
    track(sock);
    sock.on('error', () => {});
    if (mode === 'down') {
      sock.resetAndDestroy();
      return;
    }
    if (mode === 'slow') {
      sock.resume();
      return;
    }
    if (mode === 'garbage') {
      sock.end('\x16\x03\x00 this is no protocol at all \xff\xfe\r\n');
      return;
    }
    const up = net.connect(st.target, '127.0.0.1');
    track(up);
    up.on('error', () => sock.destroy());
    sock.pipe(up).pipe(sock);
    sock.on('close', () => up.destroy());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    counts: st.counts,
    set mode(m) { st.mode = m; },
    set target(p) { st.target = p; },
    get mode() { return st.mode; },
    failNext(n, mode = 'down') { for (let i = 0; i < n; i++) st.next.push(mode); },
    close() {
      for (const s of open) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}
