// A proxy in front of s3rver that checks AWS Signature Version 4 with the
// independent aws4 package: s3rver checks the access key id but not v4
// signatures. Usage: node s3verify.js LISTEN-PORT S3RVER-PORT KEY-ID SECRET
'use strict';
const http = require('http');
const aws4 = require('aws4');
const [listenPort, upstreamPort, keyId, secret] = process.argv.slice(2);
const re = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

function deny(res, code, msg) {
  res.writeHead(403, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${msg}</Message></Error>`);
}

http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const m = re.exec(req.headers['authorization'] || '');
    if (!m) return deny(res, 'AccessDenied', 'a signed request is required');
    const [, id, , region, service, signed, sig] = m;
    const headers = {};
    for (const h of signed.split(';')) headers[h] = req.headers[h];
    const opts = { host: req.headers.host, method: req.method, path: req.url, service, region, headers, doNotModifyHeaders: true };
    const signer = new aws4.RequestSigner(opts, { accessKeyId: keyId, secretAccessKey: secret });
    // The request's own time: with doNotModifyHeaders aws4 would sign
    // with the clock's, and refuse a request that crossed a second on
    // its way here.
    if (headers['x-amz-date']) signer.datetime = headers['x-amz-date'];
    const want = /Signature=([0-9a-f]{64})/.exec(signer.sign().headers.Authorization)[1];
    if (id !== keyId || want !== sig) return deny(res, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided');
    const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    up.end(body);
  });
}).listen(Number(listenPort), '127.0.0.1');
