// A local inbox for trying the sample: an SMTP server for gatehouse's email provider and an
// HTTP SMS gateway for the sms connection. Every message that arrives is printed, decoded, so
// you can read the codes and open the magic links from here. Nothing is delivered anywhere.
//
//   SMTP_PORT  (default 2525)   configure gatehouse's email provider with 127.0.0.1:SMTP_PORT
//   SMS_PORT   (default 2526)   configure the sms connection with http://127.0.0.1:SMS_PORT/send
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';

const SMTP_PORT = Number(process.env.SMTP_PORT || 2525);
const SMS_PORT = Number(process.env.SMS_PORT || 2526);

// Headers and body of a mail; the body decoded from its transfer encoding.
function readMail(raw) {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  let body = rest.join('\n\n');
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(head)?.[1]?.toLowerCase();
  if (encoding === 'base64') {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  } else if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    body = Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return { subject: /^subject:\s*(.*)$/im.exec(head)?.[1] ?? '', body: body.trim() };
}

// Just enough SMTP for one plain mail per transaction.
createServer((socket) => {
  socket.setEncoding('utf8');
  let buffer = '';
  let to = [];
  let data = null;
  const reply = (line) => socket.write(`${line}\r\n`);
  reply('220 localhost ESMTP dev-inbox');
  socket.on('data', (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (data !== null) {
        if (line === '.') {
          const { subject, body } = readMail(data.join('\r\n'));
          console.log(`\n[mail] to ${to.join(', ')}: ${subject}\n${body}\n`);
          to = [];
          data = null;
          reply('250 queued');
        } else {
          data.push(line.startsWith('.') ? line.slice(1) : line);
        }
        continue;
      }
      const verb = line.split(' ')[0].toUpperCase();
      if (verb === 'EHLO') socket.write('250-localhost\r\n250 8BITMIME\r\n');
      else if (verb === 'RCPT') to.push(/<([^>]*)>/.exec(line)?.[1] ?? '?'), reply('250 ok');
      else if (verb === 'DATA') (data = []), reply('354 go ahead');
      else if (verb === 'QUIT') reply('221 bye'), socket.end();
      else if (['HELO', 'MAIL', 'RSET', 'NOOP'].includes(verb)) reply('250 ok');
      else reply('502 not implemented');
    }
  });
  socket.on('error', () => {});
}).listen(SMTP_PORT, '127.0.0.1', () => console.log(`SMTP on 127.0.0.1:${SMTP_PORT}`));

// gatehouse's sms_gateway provider POSTs JSON {recipient, body, sender}.
createHttpServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    try {
      const sms = JSON.parse(body);
      console.log(`\n[sms] to ${sms.recipient}: ${sms.body}\n`);
    } catch {
      console.log(`\n[sms] ${req.method} ${req.url}: ${body}\n`);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
}).listen(SMS_PORT, '127.0.0.1', () => console.log(`SMS gateway on http://127.0.0.1:${SMS_PORT}/send`));
