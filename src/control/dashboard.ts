// The dashboard: a login form (the admin token, kept in an HttpOnly cookie) and a small front end
// in dashboard/ — plain HTML, CSS and JavaScript with no build step and no third-party scripts —
// that reads the admin API's JSON and draws its own SVG charts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sameSecret } from './admin-http.js';

const ROOT = fileURLToPath(new URL('../../dashboard/', import.meta.url));
const FILES: Record<string, string> = {
  '/dashboard': 'index.html',
  '/dashboard/app.js': 'app.js',
  '/dashboard/style.css': 'style.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer the sign-in form's POST carries `Origin: null`, which the guard refuses.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

function loginPage(error?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>blotcdn — sign in</title>
<link rel="stylesheet" href="/dashboard/style.css"></head><body class="login">
<form method="post" action="/login"><h1>blotcdn</h1>
<label>Admin token <input name="token" type="password" autocomplete="current-password" autofocus required></label>
${error ? `<p class="error">${error}</p>` : ''}<button type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req as AsyncIterable<Buffer>) {
    body += chunk.toString('utf8');
    if (body.length > 8192) break;
  }
  return new URLSearchParams(body);
}

export async function serveDashboard(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  auth: { authorized: boolean; token?: string; cookie: string },
): Promise<void> {
  if (url.pathname === '/') {
    res.writeHead(302, { location: '/dashboard' });
    return void res.end();
  }
  if (req.method === 'POST' && url.pathname === '/login') {
    const token = (await readForm(req)).get('token') ?? '';
    if (auth.token && sameSecret(token, auth.token)) {
      res.writeHead(303, {
        location: '/dashboard',
        'set-cookie': `${auth.cookie}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return void res.end();
    }
    res.writeHead(401, { 'content-type': TYPES.html, ...SECURITY_HEADERS });
    return void res.end(loginPage('That token is not right.'));
  }
  // The stylesheet is needed by the login page too; it reveals nothing.
  const file = FILES[url.pathname];
  if (file === undefined) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return void res.end('not found\n');
  }
  if (!auth.authorized && file !== 'style.css') {
    res.writeHead(401, { 'content-type': TYPES.html, ...SECURITY_HEADERS });
    return void res.end(loginPage());
  }
  const body = await readFile(ROOT + file);
  res.writeHead(200, { 'content-type': TYPES[file.split('.').pop()!]!, 'content-length': body.length, ...SECURITY_HEADERS });
  res.end(body);
}
