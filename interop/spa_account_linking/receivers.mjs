// Real receivers on loopback for what gatehouse sends: an SMTP server (the tenant's email
// provider) and an HTTP SMS gateway. Both keep what arrives and hand it to whoever waits.
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';

// Keeps messages; `next(match)` resolves with the first unclaimed message `match` accepts.
class Inbox {
  constructor(name) {
    this.name = name;
    this.messages = [];
    this.waiters = [];
  }

  push(message) {
    const waiter = this.waiters.find((w) => w.match(message));
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      clearTimeout(waiter.timer);
      waiter.resolve(message);
    } else {
      this.messages.push(message);
    }
  }

  next(match = () => true, timeoutMs = 15_000) {
    const i = this.messages.findIndex(match);
    if (i >= 0) return Promise.resolve(this.messages.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve };
      waiter.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.name}: nothing matching within ${timeoutMs} ms; unclaimed: ${JSON.stringify(this.messages)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

// A mail body with quoted-printable undone (soft line breaks, `=XX` escapes).
const decoded = (data) =>
  data.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));

// SMTP (RFC 5321) as far as a client that sends one plain mail needs: EHLO/HELO, MAIL, RCPT,
// DATA, RSET, NOOP, QUIT. Each mail is {from, to: [...], data} with dot-stuffing undone.
export async function startSmtp() {
  const inbox = new Inbox('smtp');
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    let mail = { from: '', to: [] };
    let data = null;
    const reply = (line) => socket.write(`${line}\r\n`);
    reply('220 localhost ESMTP interop');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data !== null) {
          if (line === '.') {
            inbox.push({ ...mail, data: data.join('\n') });
            mail = { from: '', to: [] };
            data = null;
            reply('250 queued');
          } else {
            data.push(line.startsWith('.') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'EHLO') {
          socket.write('250-localhost\r\n250 8BITMIME\r\n');
        } else if (verb === 'MAIL') {
          mail.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          reply('250 ok');
        } else if (verb === 'RCPT') {
          mail.to.push((/<([^>]*)>/.exec(line)?.[1] ?? '').toLowerCase());
          reply('250 ok');
        } else if (verb === 'DATA') {
          data = [];
          reply('354 go ahead');
        } else if (verb === 'RSET') {
          mail = { from: '', to: [] };
          reply('250 ok');
        } else if (verb === 'HELO' || verb === 'NOOP') {
          reply('250 ok');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else {
          reply('502 not implemented');
        }
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    // The code in the next mail to `to` (quoted-printable soft breaks undone).
    async code(to) {
      const mail = await inbox.next((m) => m.to.includes(to.toLowerCase()) && /Code:/.test(m.data));
      return /Code:\s*(\d+)/.exec(decoded(mail.data))[1];
    },
    // The magic link (gatehouse's /passwordless/verify_redirect) in the next mail to `to`.
    async link(to) {
      const linkIn = (m) => /https?:\/\/\S+\/passwordless\/verify_redirect\?\S+/.exec(decoded(m.data))?.[0];
      const mail = await inbox.next((m) => m.to.includes(to.toLowerCase()) && linkIn(m) !== undefined);
      return linkIn(mail);
    },
    close: () => server.close(),
  };
}

// An SMS gateway: gatehouse POSTs JSON {recipient, body, sender} to /send.
export async function startSmsGateway() {
  const inbox = new Inbox('sms gateway');
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      let json = null;
      try {
        json = JSON.parse(body);
      } catch {}
      inbox.push({ method: req.method, path: req.url, json, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/send`,
    async code(phone) {
      const sms = await inbox.next((m) => m.json?.recipient === phone);
      if (sms.method !== 'POST' || sms.path !== '/send') throw new Error(`unexpected gateway request ${JSON.stringify(sms)}`);
      return /Code (\d+)/.exec(sms.json.body)[1];
    },
    close: () => server.close(),
  };
}
