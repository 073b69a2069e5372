// A real SMTP sink on loopback (npm smtp-server): every message received is
// kept with its envelope and its decoded text.
import { SMTPServer } from 'smtp-server';

function decodeBody(raw) {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  let body = rest.join('\n\n');
  if (/content-transfer-encoding:\s*base64/i.test(head)) body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  const subj = (head.match(/^Subject: (.*(?:\r?\n[ \t].*)*)/mi) || [])[1] || '';
  const subject = subj.replace(/\r?\n[ \t]/g, '').replace(/=\?UTF-8\?B\?([^?]+)\?=/gi, (_, b) => Buffer.from(b, 'base64').toString('utf8')).replace(/\s+(?==\?)/g, '');
  return { head, body, subject };
}

export async function startSmtpSink() {
  const mails = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false,
    onData(stream, session, cb) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({ from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), raw, ...decodeBody(raw) });
        cb();
      });
    },
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  const port = server.server.address().port;
  return {
    url: `smtp://127.0.0.1:${port}`, mails,
    async waitFor(to, pred = () => true, timeoutMs = 15000) {
      const t0 = Date.now();
      for (;;) {
        const m = mails.filter((x) => x.to.includes(to) && pred(x));
        if (m.length) return m[m.length - 1];
        if (Date.now() - t0 > timeoutMs) throw new Error(`no mail to ${to}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise((res) => server.close(res)),
  };
}
