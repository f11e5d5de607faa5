// A recording relay in front of the SMTP receiver of ../spa_account_linking/receivers.mjs.
// That receiver hands out codes only; a magic link is not a code. gatehouse is pointed at
// this relay, which passes every byte on to the receiver (so it still speaks SMTP and still
// serves `code()`) and keeps what the client sent, to read links from.
import { connect, createServer } from 'node:net';

export async function tapSmtp(receiverPort) {
  const transcripts = [];
  const server = createServer((client) => {
    const entry = { text: '' };
    transcripts.push(entry);
    const upstream = connect(receiverPort, '127.0.0.1');
    client.on('data', (d) => (entry.text += d.toString('utf8')));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));

  // The mails sent so far: {to, data} with quoted-printable undone.
  const mails = () =>
    transcripts.flatMap(({ text }) =>
      text
        .split(/^MAIL FROM:/im)
        .slice(1)
        .map((part) => {
          const to = [...part.matchAll(/^RCPT TO:\s*<([^>]*)>/gim)].map((m) => m[1].toLowerCase());
          const data = /^DATA\r\n([\s\S]*?)\r\n\.\r\n/m.exec(part)?.[1];
          const decoded = data
            ?.replace(/=\r?\n/g, '')
            .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
          return { to, data: decoded };
        })
        .filter((m) => m.data !== undefined),
    );

  return {
    port: server.address().port,
    // The first magic link (gatehouse's /passwordless/verify_redirect) mailed to `to`.
    async link(to, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const mail of mails()) {
          if (!mail.to.includes(to.toLowerCase())) continue;
          const link = /https?:\/\/\S+\/passwordless\/verify_redirect\?\S+/.exec(mail.data)?.[0];
          if (link) return link;
        }
        if (Date.now() > deadline) throw new Error(`no link mailed to ${to}; mails: ${JSON.stringify(mails())}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => server.close(),
  };
}
