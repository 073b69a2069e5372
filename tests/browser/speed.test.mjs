// Pages on a slow connection and without JavaScript: on Chrome's "Slow 3G"
// profile (2 s of latency per request, 400 kbit/s) the first text is
// painted within 3 s, in the chosen language, because the server sends it
// in the page itself (one round trip: styles inline, text filled in);
// every file is fetched once (versioned files are cached for good); and
// without JavaScript the page says that it needs it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, ready, quiet, startStack, noProblems } from './lib/browser.mjs';

let stack, browser;
before(async () => { stack = await startStack(); browser = await launch(); });
after(async () => { await browser?.close(); await stack?.stop(); });

// Chrome DevTools' "Slow 3G" (now "3G"): 400 ms x 5 latency, 500 kbit/s x 0.8
const SLOW_3G = { offline: false, latency: 2000, downloadThroughput: 500 * 1000 / 8 * 0.8, uploadThroughput: 500 * 1000 / 8 * 0.8 };

for (const [path, lang, h1] of [['/login', 'en', 'Log in'], ['/register', 'hi', 'पंजीकरण'], ['/request-organisation', 'en', 'Request to add organisation']]) {
  test(`Slow 3G: ${path} (${lang}) shows its text within 3 s`, async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: lang === 'hi' ? 'hi-IN' : 'en-IN' });
    if (lang === 'hi') await context.addCookies([{ name: 'pravesh_lang', value: 'hi', url: stack.url }]);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Network.emulateNetworkConditions', SLOW_3G);
    // the heading as first rendered: checked at every animation frame (each
    // frame before its paint) from before any script of the page runs, so
    // the time is when the text became visible, however the page's bytes
    // arrived (first-contentful-paint can come from the header's text,
    // before the heading's bytes are in: a flake on a loaded machine)
    await page.addInitScript(() => {
      window.__firstText = null;
      const shown = (h) => {
        const cs = getComputedStyle(h);
        const root = getComputedStyle(document.documentElement);
        return cs.visibility !== 'hidden' && cs.display !== 'none' && root.visibility !== 'hidden' &&
          Number(root.opacity) > 0 && h.textContent.trim() !== '';
      };
      const check = () => {
        const h = document.querySelector('h1');
        if (h && shown(h)) window.__firstText = { at: performance.now(), h1: h.textContent };
        else requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    });
    const [resp] = await Promise.all([page.waitForResponse((r) => r.url() === stack.url + path), page.goto(stack.url + path, { waitUntil: 'commit', timeout: 30000 })]);
    // the text is in the page as sent, in the chosen language
    assert.match(await resp.text(), new RegExp(`<h1[^>]*>${h1}</h1>`));
    await page.waitForFunction(() => window.__firstText !== null, null, { timeout: 20000 });
    const first = await page.evaluate(() => window.__firstText);
    assert.equal(first.h1.trim(), h1, 'the heading shown is the page\'s own, in its language');
    assert.ok(first.at < 3000, `first text painted after ${Math.round(first.at)} ms`);
    // and the page still works once its modules have come
    await page.waitForSelector('html.ready', { state: 'attached', timeout: 30000 });
    await context.close();
  });
}

test('each file is fetched once: modules and words are cached for good, pages revalidated', async () => {
  const page = await open(browser, { base: stack.url });
  const seen = new Map();
  page.on('request', (r) => seen.set(r.url(), (seen.get(r.url()) || 0) + 1));
  for (const p of ['/register', '/login', '/register', '/request-position', '/login']) {
    await page.goto(stack.url + p);
    await ready(page);
    await quiet(page);
  }
  const versioned = [...seen.keys()].filter((u) => /\?v=[0-9a-f]{16}$/.test(u));
  assert.ok(versioned.some((u) => u.includes('/js/i18n.js')), 'modules are versioned');
  assert.ok(versioned.some((u) => u.includes('/i18n/en.json')), 'the words are versioned');
  // no file without a version but the pages themselves (and the favicon)
  const plain = [...seen.keys()].filter((u) => !/\?v=/.test(u) && !u.includes('/api/') && !/\/(register|login|request-position|favicon\.svg)$/.test(u.replace(stack.url, '')));
  assert.deepEqual(plain, [], 'every file the pages load is versioned');
  // a versioned file is asked for once in five page loads: then it comes from the cache
  const counts = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => [e.name, e.transferSize]));
  const refetched = counts.filter(([u, size]) => /\?v=/.test(u) && size > 0);
  assert.deepEqual(refetched, [], 'the last page fetched no versioned file again');
  assert.ok(!/\/css\//.test([...seen.keys()].join(' ')), 'the stylesheet comes inside the page');
  noProblems(page);
  await page.context().close();
});

test('without JavaScript the page says it needs it, and its text is there', async () => {
  for (const [lang, needs, h1] of [['en', /needs JavaScript/, 'Register'], ['hi', /JavaScript चाहिए/, 'पंजीकरण']]) {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
    await context.addCookies([{ name: 'pravesh_lang', value: lang, url: stack.url }]);
    const page = await context.newPage();
    await page.goto(stack.url + '/register');
    assert.match(await page.locator('main .noscript').innerText(), needs);
    assert.equal(await page.locator('main .noscript').isVisible(), true);
    assert.equal((await page.textContent('h1')).trim(), h1);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    await context.close();
  }
});
