// The console page in a real browser, as a new admin would use it.
//
// Run by scripts/test-browser.sh, which starts nginx and passes, in the
// environment: PALETTE_ADMIN_URL (the API at a prefix location, behind
// auth_basic: the default certificate there, the list of named ones at
// PALETTE_ADMIN_URL/, each at PALETTE_ADMIN_URL/ID), PALETTE_EXACT_URL
// (the same zone's API at an exact location, likewise behind auth_basic),
// PALETTE_ADMIN_USER and PALETTE_ADMIN_PASSWORD, PALETTE_TLS_PORT (the site
// fed by the zone, names=console.example.com), PALETTE_OTHER_URL (another
// site whose page posts an upload to the API), PALETTE_CERT_DIR (the
// fixtures of t/lib/gen-certs.sh), PALETTE_SCREENSHOTS and PALETTE_CHROMIUM.
//
// Each test opens the page in a fresh browser context, checks what a person
// sees, checks the server's state through the JSON API and a fresh TLS
// handshake, saves a full-page screenshot, and fails on any console error,
// uncaught exception or Content-Security-Policy violation in the page.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { chromium } from "playwright-core";

function env(name) {
    const v = process.env[name];
    if (!v) {
        throw new Error(`${name} is not set: run scripts/test-browser.sh`);
    }
    return v;
}

const API = env("PALETTE_ADMIN_URL");
const LIST = `${API}/`;
const EXACT = env("PALETTE_EXACT_URL");
const USER = env("PALETTE_ADMIN_USER");
const PASSWORD = env("PALETTE_ADMIN_PASSWORD");
const TLS_PORT = Number(env("PALETTE_TLS_PORT"));
const OTHER = env("PALETTE_OTHER_URL");
const CERTS = env("PALETTE_CERT_DIR");
const SHOTS = env("PALETTE_SCREENSHOTS");
const CHROMIUM = env("PALETTE_CHROMIUM");

const SNI = "console.example.com";
const AUTH = "Basic " + Buffer.from(`${USER}:${PASSWORD}`).toString("base64");
const TIMEOUT = 15000;

let browser;

function fixture(name) {
    return readFileSync(path.join(CERTS, name), "utf8");
}

function sha256Of(name) {
    return fixture(`${name}.sha256`).trim();
}

function upload(name) {
    return {
        certificate: fixture(`${name}.chain.pem`),
        key: fixture(`${name}.key`),
        ca: fixture("ca.pem"),
    };
}

// The JSON API, as a script calls it (no Origin: not a browser).
async function api(method = "GET", body, headers = {}) {
    return request(API, method, body, headers);
}

async function request(url, method = "GET", body, headers = {}) {
    const res = await fetch(url, {
        method,
        headers: {
            Accept: "application/json",
            Authorization: AUTH,
            ...(body ? { "Content-Type": "application/json" } : {}),
            ...headers,
        },
        body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    return { status: res.status, etag: res.headers.get("etag"), json };
}

async function current() {
    const r = await api();
    assert.equal(r.status, 200, "GET answers 200");
    assert.equal(r.etag, `"${r.json.generation}"`, "ETag is the generation");
    return r.json;
}

// The leaf a new TLS handshake is given, as lowercase hex SHA-256.
function served() {
    return new Promise((resolve, reject) => {
        const s = tls.connect({
            host: "127.0.0.1", port: TLS_PORT, servername: SNI,
            rejectUnauthorized: false, session: undefined,
        }, () => {
            const fp = s.getPeerCertificate().fingerprint256;
            s.end();
            resolve(fp.replace(/:/g, "").toLowerCase());
        });
        s.setTimeout(TIMEOUT, () => s.destroy(new Error("TLS timeout")));
        s.on("error", reject);
    });
}

// A fresh browser context signed in to the endpoint, and a page in it
// whose console errors, uncaught exceptions and CSP violations are kept.
async function openContext(options = {}) {
    const context = await browser.newContext({
        httpCredentials: { username: USER, password: PASSWORD },
        viewport: { width: 1100, height: 900 },
        ...options,
    });
    context.setDefaultTimeout(TIMEOUT);

    await context.addInitScript(() => {
        window.__csp = [];
        document.addEventListener("securitypolicyviolation", (e) => {
            window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
        });
    });

    const page = await context.newPage();
    const problems = [];

    page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") {
            problems.push({ text: `console ${m.type()}: ${m.text()}`,
                            url: m.location().url });
        }
    });
    page.on("pageerror", (e) => problems.push({ text: `page error: ${e.message}` }));

    // the API answers the test provokes (a 422, a 412) are logged by
    // Chromium as failed loads: those of the API with the statuses in
    // "expected" are expected, and so is what a test's "allow" accepts
    return { context, page, problems, expected: new Set(), allow: [] };
}

function unexpected(o) {
    return o.problems.filter((p) => {
        const m = /^console error: Failed to load resource: the server responded with a status of (\d+)/
            .exec(p.text);
        const url = (p.url || "").split("?")[0];
        return !(m && (url === API || url.startsWith(LIST))
                 && o.expected.has(Number(m[1])))
            && !o.allow.some((f) => f(p));
    }).map((p) => `${p.text} (${p.url || "no url"})`);
}

// The console opened at url; prepare(o) runs before it is loaded.
async function openConsole(options, url = API, prepare = async () => {}) {
    const o = await openContext(options);
    await prepare(o);
    const res = await o.page.goto(url);

    assert.equal(res.status(), 200, "the page is answered 200");
    assert.match(res.headers()["content-type"], /^text\/html/);
    assert.match(res.headers()["content-security-policy"],
                 /default-src 'none'/);

    // loaded: the current certificate is shown
    await o.page.locator("#current .cn").waitFor();
    return o;
}

async function closeContext(o, shot) {
    try {
        if (shot) {
            await o.page.screenshot({ path: path.join(SHOTS, shot),
                                      fullPage: true });
        }
        const csp = await o.page.evaluate(() => window.__csp || [])
            .catch(() => []);
        assert.deepEqual([...unexpected(o), ...csp.map((v) => `CSP: ${v}`)],
                         [], "no console error, page error or CSP violation");
    } finally {
        await o.context.close();
    }
}

async function fillFields(page, { certificate, key, ca }) {
    await page.getByLabel("Certificate", { exact: true }).fill(certificate);
    await page.getByLabel("Key", { exact: true }).fill(key);
    await page.getByLabel("Certificate authority", { exact: true })
        .fill(ca || "");
}

async function resultPanel(page) {
    const panel = page.locator("#result");
    await panel.waitFor({ state: "visible" });
    return panel;
}


before(async () => {
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
        ],
    });
});

after(async () => {
    if (browser) {
        await browser.close();
    }
});


test("a: the page opened through auth_basic shows the current self-signed certificate", async () => {
    const cur = await current();
    assert.equal(cur.source, "self-signed");

    const o = await openConsole();
    const { page } = o;

    await assert.doesNotReject(
        page.getByText("Self-signed default", { exact: true }).waitFor());
    const box = page.locator("#current");
    const text = await box.innerText();

    assert.match(text, /CN=console\.example\.com/);
    assert.match(text, /console\.example\.com/);
    assert.ok(text.includes(cur.sha256), "the sha256 is shown");
    assert.match(text, new RegExp(`Generation\\s+${cur.generation}\\b`));
    assert.match(text, /expires in \d+ days/);
    assert.match(text, /EC P-256/);
    assert.equal(await served(), cur.sha256, "the served leaf is the one shown");

    // one self-contained page: no request but the page and its API call
    assert.equal(await page.title(), "TLS certificate");
    assert.ok(await page.locator("h1").isVisible());

    await closeContext(o, "01-current.png");
});


test("b: a valid chain, key and CA pasted and saved go live at once", async () => {
    const before = await current();
    const o = await openConsole();
    const { page } = o;

    await fillFields(page, upload("leaf-a"));
    await page.getByRole("button", { name: "Save", exact: true }).click();

    const panel = await resultPanel(page);
    await assert.doesNotReject(
        panel.getByText("Saved: the new certificate is live").waitFor());
    const text = await panel.innerText();
    assert.ok(text.includes(sha256Of("leaf-a")), "the panel shows the new sha256");
    assert.match(text, /generation \d+/);

    const after = await current();
    assert.equal(after.generation, before.generation + 1);
    assert.equal(after.sha256, sha256Of("leaf-a"));
    assert.equal(after.source, "uploaded");
    assert.equal(await served(), sha256Of("leaf-a"),
                 "a fresh handshake gets the new leaf");

    // the current view follows, and the key is gone from the page
    assert.ok((await page.locator("#current").innerText())
        .includes(sha256Of("leaf-a")));
    assert.equal(await page.getByLabel("Key", { exact: true }).inputValue(), "");
    assert.equal(await page.getByLabel("Certificate", { exact: true })
        .inputValue(), "");

    await closeContext(o, "02-saved.png");
});


test("c: a key that does not match is shown under the Key field and changes nothing", async () => {
    const before = await current();
    const beforeServed = await served();
    const o = await openConsole();
    const { page } = o;
    o.expected.add(422);

    await fillFields(page, { ...upload("leaf-a"), key: fixture("leaf-b.key") });
    await page.getByRole("button", { name: "Save", exact: true }).click();

    const err = page.locator("#key-error");
    await err.waitFor({ state: "visible" });
    assert.match(await err.innerText(), /does not match/i);

    const key = page.getByLabel("Key", { exact: true });
    assert.equal(await key.getAttribute("aria-invalid"), "true");
    assert.match(await key.getAttribute("aria-describedby"), /key-error/);
    assert.equal(await page.evaluate(() => document.activeElement.id), "key",
                 "the field at fault has the focus");
    assert.ok(await page.locator("#certificate-error").isHidden());
    assert.ok(await page.locator("#result").isHidden(), "no success panel");
    assert.match(await page.locator("#busy").innerText(), /^Key: .*does not match/,
                 "the status line, read out by screen readers, says it too");

    // what was pasted is kept, to be corrected
    assert.equal(await key.inputValue(), fixture("leaf-b.key"));

    const after = await current();
    assert.equal(after.generation, before.generation);
    assert.equal(after.sha256, before.sha256);
    assert.equal(await served(), beforeServed);

    await closeContext(o, "03-key-mismatch.png");
});


test("d: Check runs every test and changes nothing", async () => {
    const before = await current();
    const beforeServed = await served();
    const o = await openConsole();
    const { page } = o;

    await fillFields(page, upload("leaf-c"));
    await page.getByRole("button", { name: "Check", exact: true }).click();

    const panel = await resultPanel(page);
    await assert.doesNotReject(panel.getByText(
        "These would be accepted; nothing was changed").waitFor());
    assert.ok((await panel.innerText()).includes(sha256Of("leaf-c")));

    const after = await current();
    assert.equal(after.generation, before.generation);
    assert.equal(after.sha256, before.sha256);
    assert.equal(await served(), beforeServed);

    // the fields stay, ready to be saved
    assert.equal(await page.getByLabel("Key", { exact: true }).inputValue(),
                 fixture("leaf-c.key"));

    await closeContext(o, "04-check.png");
});


test("e: a page left open while someone else changed the certificate gets 412, then saves after a reload", async () => {
    const o = await openConsole();
    const { page } = o;
    const shown = await current();
    o.expected.add(412);

    // someone else, meanwhile, with a script
    const other = await api("PUT", upload("leaf-b"));
    assert.equal(other.status, 200);
    assert.equal(other.json.generation, shown.generation + 1);

    await fillFields(page, upload("leaf-c"));
    await page.getByRole("button", { name: "Save", exact: true }).click();

    const panel = await resultPanel(page);
    await assert.doesNotReject(
        panel.getByText("Someone else changed the certificate").waitFor());
    const text = await panel.innerText();
    assert.match(text, new RegExp(`generation ${shown.generation}\\b`));
    assert.match(text, new RegExp(`now generation ${shown.generation + 1}\\b`));

    // nothing changed by the page, and what was pasted is kept
    const mid = await current();
    assert.equal(mid.generation, shown.generation + 1);
    assert.equal(mid.sha256, sha256Of("leaf-b"));
    assert.equal(await served(), sha256Of("leaf-b"));
    assert.equal(await page.getByLabel("Key", { exact: true }).inputValue(),
                 fixture("leaf-c.key"));

    await page.screenshot({ path: path.join(SHOTS, "05-conflict.png"),
                            fullPage: true });

    await page.getByRole("button", { name: "Load the current certificate" })
        .click();
    await page.locator("#current").getByText(sha256Of("leaf-b")).waitFor();
    assert.ok(await page.locator("#result").isHidden(), "the warning is gone");
    assert.match(await page.locator("#current").innerText(),
                 new RegExp(`Generation\\s+${mid.generation}\\b`));

    await page.getByRole("button", { name: "Save", exact: true }).click();
    await (await resultPanel(page))
        .getByText("Saved: the new certificate is live").waitFor();

    const after = await current();
    assert.equal(after.generation, mid.generation + 1);
    assert.equal(after.sha256, sha256Of("leaf-c"));
    assert.equal(await served(), sha256Of("leaf-c"));

    await closeContext(o, "06-conflict-saved.png");
});


test("f: the file pickers fill the fields, and Save uploads them", async () => {
    const before = await current();
    const o = await openConsole();
    const { page } = o;

    await page.getByLabel("Certificate file")
        .setInputFiles(path.join(CERTS, "leaf-b.chain.pem"));
    await page.getByLabel("Key file").setInputFiles(path.join(CERTS, "leaf-b.key"));
    await page.getByLabel("Certificate authority file")
        .setInputFiles(path.join(CERTS, "ca.pem"));

    const cert = page.getByLabel("Certificate", { exact: true });
    await page.waitForFunction(() =>
        document.getElementById("ca").value.includes("BEGIN CERTIFICATE"));
    assert.equal(await cert.inputValue(), fixture("leaf-b.chain.pem"));
    assert.equal(await page.getByLabel("Key", { exact: true }).inputValue(),
                 fixture("leaf-b.key"));
    assert.equal(await page.getByLabel("Certificate authority", { exact: true })
        .inputValue(), fixture("ca.pem"));

    await page.screenshot({ path: path.join(SHOTS, "07-files-chosen.png"),
                            fullPage: true });

    await page.getByRole("button", { name: "Save", exact: true }).click();
    await (await resultPanel(page))
        .getByText("Saved: the new certificate is live").waitFor();

    const after = await current();
    assert.equal(after.generation, before.generation + 1);
    assert.equal(after.sha256, sha256Of("leaf-b"));
    assert.equal(after.key_type, "RSA 2048");
    assert.equal(await served(), sha256Of("leaf-b"));

    await closeContext(o, "08-files-saved.png");
});


test("g: the keyboard alone reaches every field and button in order, and saves", async () => {
    const before = await current();
    const o = await openConsole();
    const { page } = o;

    // the fields are found by their plain labels
    for (const [label, id] of [["Certificate", "certificate"], ["Key", "key"],
                               ["Certificate authority", "ca"]]) {
        const f = page.getByLabel(label, { exact: true });
        assert.equal(await f.getAttribute("id"), id, `"${label}" labels #${id}`);
        assert.equal(await f.evaluate((e) => e.tagName), "TEXTAREA");
    }

    // Tab order from the top of the page
    const order = [];
    for (let i = 0; i < 30; i++) {
        await page.keyboard.press("Tab");
        const id = await page.evaluate(() => document.activeElement.id);
        if (id && !order.includes(id)) {
            order.push(id);
        }
        if (id === "save") {
            break;
        }
    }
    const want = ["refresh", "certificate", "certificate-file", "key", "key-file",
                  "ca", "ca-file", "schedule", "check", "save"];
    const seen = order.filter((id) => want.includes(id));
    assert.deepEqual(seen, want, `tab order: ${order.join(", ")}`);

    // a visible focus ring on the focused button
    const outline = await page.evaluate(() =>
        getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(outline, "solid", "Save shows a focus ring");

    // type everything with the keyboard: Shift+Tab back to the first field
    for (let i = 0; i < 20; i++) {
        if (await page.evaluate(() => document.activeElement.id) === "certificate") {
            break;
        }
        await page.keyboard.press("Shift+Tab");
    }
    const { certificate, key, ca } = upload("leaf-a");
    await page.keyboard.insertText(certificate);
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.insertText(key);
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.insertText(ca);

    // past the CA's file picker and "Schedule for", left empty (Chromium
    // stops at each part of its date and time), to Save
    for (let i = 0; i < 12; i++) {
        await page.keyboard.press("Tab");
        if (await page.evaluate(() => document.activeElement.id) === "save") {
            break;
        }
    }
    assert.equal(await page.evaluate(() => document.activeElement.id), "save");
    await page.keyboard.press("Enter");

    await (await resultPanel(page))
        .getByText("Saved: the new certificate is live").waitFor();
    const after = await current();
    assert.equal(after.generation, before.generation + 1);
    assert.equal(after.sha256, sha256Of("leaf-a"));
    assert.equal(await served(), sha256Of("leaf-a"));

    // the outcome is announced
    assert.match(await page.locator("#result").getAttribute("role"), /status|alert/);

    await closeContext(o, "09-keyboard.png");
});


test("h: on a phone the page fits the screen", async () => {
    const o = await openConsole({
        viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
        isMobile: true, hasTouch: true,
    });
    const { page } = o;

    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no horizontal scrolling (${width}px wide)`);

    for (const id of ["certificate", "key", "ca", "schedule", "save", "check",
                      "history-reload", "csr-names", "csr-make"]) {
        const box = await page.locator(`#${id}`).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390,
                  `#${id} is within the screen`);
    }

    await closeContext(o, "10-phone.png");
});


test("i: another site's form posting to the endpoint gets 403 cross_origin and changes nothing", async () => {
    const before = await current();
    const beforeServed = await served();
    const o = await openContext();
    const { page } = o;

    const answer = page.waitForResponse((r) =>
        r.url() === API && r.request().method() === "POST");
    await page.goto(OTHER);
    const res = await answer;

    assert.equal(res.status(), 403);
    const body = await res.json();
    assert.equal(body.error, "cross_origin");
    assert.equal(body.field, null);

    await page.waitForURL(API);
    await page.waitForLoadState();

    const after = await current();
    assert.equal(after.generation, before.generation);
    assert.equal(after.sha256, before.sha256);
    assert.equal(await served(), beforeServed);

    // the browser shows that JSON answer (it asks for a favicon there too)
    o.expected.add(403);
    o.allow.push((p) => (p.url || "").endsWith("/favicon.ico")
                        && /status of 404/.test(p.text));
    await closeContext(o, "11-cross-site.png");
});


test("j: restoring the self-signed default asks for confirmation first", async () => {
    const before = await current();
    assert.equal(before.source, "uploaded");
    const o = await openConsole();
    const { page } = o;

    await page.getByRole("button", { name: "Restore the self-signed default…" })
        .click();
    const confirm = page.locator("#confirm");
    await confirm.waitFor({ state: "visible" });

    // Cancel changes nothing
    await page.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "hidden" });
    assert.equal((await current()).generation, before.generation);

    await page.getByRole("button", { name: "Restore the self-signed default…" })
        .click();
    await page.screenshot({ path: path.join(SHOTS, "12-restore-confirm.png"),
                            fullPage: true });
    await page.getByRole("button", { name: "Restore the default", exact: true })
        .click();
    await page.locator("#current-msg")
        .getByText("The self-signed default is served again").waitFor();

    const after = await current();
    assert.equal(after.source, "self-signed");
    assert.equal(after.generation, before.generation + 1);
    assert.equal(await served(), after.sha256);
    await page.getByText("Self-signed default", { exact: true }).waitFor();

    await closeContext(o, "13-restored.png");
});


test("k: empty fields, errors without a field and a lost connection are shown where the admin looks", async () => {
    const before = await current();
    const o = await openConsole();
    const { page } = o;
    o.expected.add(422);

    // empty fields: said at once, under each, and nothing is sent
    let puts = 0;
    page.on("request", (r) => { puts += r.method() === "PUT" ? 1 : 0; });
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.locator("#certificate-error").waitFor({ state: "visible" });
    assert.match(await page.locator("#certificate-error").innerText(),
                 /Paste the certificate chain/);
    assert.match(await page.locator("#key-error").innerText(),
                 /Paste the private key/);
    assert.ok(await page.locator("#ca-error").isHidden(), "the CA is optional");
    assert.equal(await page.evaluate(() => document.activeElement.id),
                 "certificate");
    assert.equal(puts, 0, "nothing was sent");

    // an expired leaf: the message is shown, nothing changes
    await fillFields(page, upload("leaf-expired"));
    await page.getByRole("button", { name: "Check", exact: true }).click();
    await page.waitForFunction(() =>
        [...document.querySelectorAll(".field-error, #result")]
            .some((e) => !e.hidden && e.textContent.trim()));
    const shownError = await page.evaluate(() =>
        [...document.querySelectorAll(".field-error, #result")]
            .filter((e) => !e.hidden).map((e) => e.textContent).join(" "));
    assert.match(shownError, /expired/i);

    // the server cannot be reached
    await page.route(API, (route) => route.request().method() === "PUT"
        ? route.abort("connectionrefused") : route.continue());
    await fillFields(page, upload("leaf-a"));
    await page.getByRole("button", { name: "Save", exact: true }).click();
    const panel = await resultPanel(page);
    await panel.getByText("No answer from the server").waitFor();
    assert.equal(await panel.getAttribute("role"), "alert");
    assert.ok(await page.getByRole("button", { name: "Save", exact: true })
        .isEnabled(), "Save can be tried again");
    await page.unroute(API);

    assert.equal((await current()).generation, before.generation);

    // the PUT cut short is logged by the browser as a failed load
    o.allow.push((p) => p.url === API && /ERR_CONNECTION_REFUSED/.test(p.text));
    await closeContext(o, "14-no-answer.png");
});


test("l: the page follows a dark colour scheme", async () => {
    const o = await openConsole({ colorScheme: "dark" });
    const { page } = o;

    const bg = await page.evaluate(() =>
        getComputedStyle(document.body).backgroundColor);
    assert.notEqual(bg, "rgb(243, 244, 246)", "the dark background is used");

    await closeContext(o, "15-dark.png");
});


// Named certificates: the list below the API's location, and one at
// LIST + ID.  The tests below build on each other in order: m adds three
// with a script, o one with the page, r deletes one.

const DAY = 86400000;

async function named(id, method = "GET", body, headers = {}) {
    return request(LIST + id, method, body, headers);
}

// Every page of the list, as a script reads it.
async function namedList() {
    const all = [];
    let after = "";

    for (;;) {
        const r = await request(`${LIST}?limit=1000`
                                + (after ? `&after=${after}` : ""));
        assert.equal(r.status, 200, "the list answers 200");
        all.push(...r.json.certificates);
        if (r.json.next === null) {
            return all;
        }
        after = r.json.next;
    }
}

async function seed(id, name) {
    const r = await named(id, "PUT", upload(name), { "If-None-Match": "*" });
    assert.equal(r.status, 200, `${id} is added: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.id, id);
    return r.json;
}

// A time as the page shows it.
function shownTime(iso) {
    return new Date(iso).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

// The IDs of the rows of the list the page shows, in order.
async function namedRows(page) {
    return page.locator("#named-list tr[data-id]").evaluateAll((rows) =>
        rows.map((r) => r.getAttribute("data-id")));
}

async function namedRow(page, id) {
    return page.locator(`#named-list tr[data-id="${id}"]`);
}

// The console, once the list of named certificates is shown.
async function openNamed(options, url, prepare) {
    const o = await openConsole(options, url, prepare);
    await o.page.locator("#named").waitFor();
    await o.page.locator("#named-count").filter({ hasText: /certificate/ })
        .waitFor();
    return o;
}

async function fillNamed(page, { certificate, key, ca }) {
    await page.getByLabel("Certificate chain", { exact: true }).fill(certificate);
    await page.getByLabel("Private key", { exact: true }).fill(key);
    await page.getByLabel("CA certificate", { exact: true }).fill(ca || "");
}

// No value left in a field of the page, and no line of the key in it.
async function noKeyLeft(page, name) {
    const filled = await page.evaluate(() =>
        [...document.querySelectorAll("textarea, input")]
            .filter((e) => e.value).map((e) => e.id));
    assert.deepEqual(filled, [], "every field of the page is empty");

    const line = fixture(`${name}.key`).split("\n")[1];
    assert.ok(line.length > 40);
    assert.ok(!(await page.content()).includes(line),
              "no line of the key is left in the page");
}


test("m: the named certificates are listed with their names, key type and expiry, and the search filters them", async () => {
    const seeded = [await seed("shop", "leaf-wrong-name"),
                    await seed("wild", "leaf-wildcard"),
                    await seed("rsa-site", "leaf-b")];
    const ids = (await namedList()).map((c) => c.id);
    assert.deepEqual(ids, ["rsa-site", "shop", "wild"]);

    const o = await openNamed();
    const { page } = o;

    assert.deepEqual(await namedRows(page), ids, "sorted by ID, as listed");
    assert.match(await page.locator("#named-count").innerText(),
                 /^3 certificates\b/);

    for (const c of seeded) {
        const text = await (await namedRow(page, c.id)).innerText();
        for (const n of c.names) {
            assert.ok(text.includes(n), `${c.id}: ${n} is shown`);
        }
        assert.ok(text.includes(c.key_type), `${c.id}: ${c.key_type}`);
        assert.ok(text.includes(shownTime(c.not_after)),
                  `${c.id}: its expiry, ${c.not_after}, is shown`);
        assert.match(text, /expires in \d+ days/);
        assert.match(text, new RegExp(`\\b${c.generation}\\b`));
    }
    assert.match(await (await namedRow(page, "rsa-site")).innerText(),
                 /RSA 2048/);
    assert.match(await (await namedRow(page, "wild")).innerText(),
                 /\*\.example\.com/);

    // by a name, whatever its case, by an ID, by a part of several names
    const search = page.getByLabel("Search by name or ID", { exact: true });
    await search.fill("OTHER.example");
    assert.deepEqual(await namedRows(page), ["shop"]);
    assert.match(await page.locator("#named-count").innerText(),
                 /^1 of 3 certificates match “OTHER\.example”/);

    await search.fill("wild");
    assert.deepEqual(await namedRows(page), ["wild"]);

    await search.fill("example.com");
    assert.deepEqual(await namedRows(page), ["rsa-site", "wild"]);
    await page.screenshot({ path: path.join(SHOTS, "16-named-search.png"),
                            fullPage: true });

    await search.fill("nowhere.test");
    assert.deepEqual(await namedRows(page), []);
    assert.match(await page.locator("#named-list").innerText(),
                 /No certificate has an ID or a name with “nowhere\.test”/);

    await search.fill("");
    assert.deepEqual(await namedRows(page), ids);

    await closeContext(o, "17-named-list.png");
});


test("n: a named certificate near its expiry, or past it, is marked in the list", async () => {
    const shop = (await named("shop")).json;
    const end = Date.parse(shop.not_after);

    for (const [time, days, cls, shot] of [
        [end - 10 * DAY - 3600000, /expires in 10 days/, "warn", "18-named-expiring.png"],
        [end + 3 * DAY + 3600000, /expired 3 days ago/, "bad", "19-named-expired.png"],
    ]) {
        const o = await openNamed(undefined, API,
            (c) => c.context.clock.setFixedTime(time));
        const row = await namedRow(o.page, "shop");

        assert.match(await row.innerText(), days);
        assert.equal(await row.getAttribute("class"), cls);
        assert.equal(await row.locator(".days").getAttribute("class"),
                     `days ${cls}`, "the days left are highlighted");

        await closeContext(o, shot);
    }
});


test("o: a named certificate added with the form is in the API and the list, and its key leaves the page", async () => {
    const o = await openNamed();
    const { page } = o;
    o.expected.add(422);

    await page.getByRole("button", { name: "Add a certificate…" }).click();
    assert.equal(await page.evaluate(() => document.activeElement.id),
                 "named-id");
    await page.getByLabel("ID", { exact: true }).fill("site-a");

    // chosen with the file pickers, first with another certificate's key
    await page.getByLabel("Certificate chain from a file")
        .setInputFiles(path.join(CERTS, "leaf-a.chain.pem"));
    await page.getByLabel("Private key from a file")
        .setInputFiles(path.join(CERTS, "leaf-b.key"));
    await page.getByLabel("CA certificate from a file")
        .setInputFiles(path.join(CERTS, "ca.pem"));
    await page.waitForFunction(() =>
        document.getElementById("named-ca").value.includes("BEGIN CERTIFICATE"));
    assert.equal(await page.getByLabel("Certificate chain", { exact: true })
        .inputValue(), fixture("leaf-a.chain.pem"));
    assert.equal(await page.getByLabel("Private key", { exact: true })
        .inputValue(), fixture("leaf-b.key"));

    await page.getByRole("button", { name: "Add", exact: true }).click();

    const err = page.locator("#named-key-error");
    await err.waitFor({ state: "visible" });
    assert.match(await err.innerText(), /does not match/i);
    const key = page.getByLabel("Private key", { exact: true });
    assert.equal(await key.getAttribute("aria-invalid"), "true");
    assert.match(await key.getAttribute("aria-describedby"), /named-key-error/);
    assert.equal(await page.evaluate(() => document.activeElement.id),
                 "named-key", "the field at fault has the focus");
    assert.match(await page.locator("#named-busy").innerText(),
                 /^Private key: .*does not match/);
    assert.ok(await page.locator("#named-result").isHidden());
    assert.equal((await named("site-a")).status, 404, "nothing was added");
    await page.screenshot({ path: path.join(SHOTS, "20-named-key-mismatch.png"),
                            fullPage: true });

    await page.getByLabel("Private key from a file")
        .setInputFiles(path.join(CERTS, "leaf-a.key"));
    await page.waitForFunction((k) =>
        document.getElementById("named-key").value === k, fixture("leaf-a.key"));
    await page.getByRole("button", { name: "Add", exact: true }).click();

    const msg = page.locator("#named-msg");
    await msg.getByText("Added: “site-a” is live").waitFor();
    assert.ok((await msg.innerText()).includes(sha256Of("leaf-a")));

    const added = await named("site-a");
    assert.equal(added.status, 200);
    assert.equal(added.json.id, "site-a");
    assert.equal(added.json.sha256, sha256Of("leaf-a"));
    assert.equal(added.etag, `"${added.json.generation}"`);
    assert.ok(added.json.names.includes("console.example.com"));

    // the list follows; the form is closed and empty
    await (await namedRow(page, "site-a")).waitFor();
    assert.deepEqual(await namedRows(page),
                     (await namedList()).map((c) => c.id));
    assert.ok(await page.locator("#named-form").isHidden());
    await noKeyLeft(page, "leaf-a");

    await closeContext(o, "21-named-added.png");
});


test("p: replacing a named certificate someone else changed meanwhile gets 412 under the form, then replaces it once loaded again", async () => {
    const o = await openNamed();
    const { page } = o;
    o.expected.add(412);
    const before = (await named("site-a")).json;

    await page.getByRole("button", { name: "Replace site-a" }).click();
    await page.getByRole("heading", { name: "Replace “site-a”" }).waitFor();
    const id = page.getByLabel("ID", { exact: true });
    assert.equal(await id.inputValue(), "site-a", "the ID is filled in");
    assert.equal(await id.isEditable(), false, "and cannot be changed");
    assert.equal(await page.evaluate(() => document.activeElement.id),
                 "named-certificate");

    // someone else, meanwhile, with a script
    const other = await named("site-a", "PUT", upload("leaf-deep"),
                              { "If-Match": `"${before.generation}"` });
    assert.equal(other.status, 200);

    await fillNamed(page, upload("leaf-c"));
    await page.getByRole("button", { name: "Replace", exact: true }).click();

    const panel = page.locator("#named-result");
    await panel.getByText("Someone else changed “site-a”").waitFor();
    assert.equal(await panel.getAttribute("role"), "alert");
    const text = await panel.innerText();
    assert.match(text, new RegExp(`generation ${before.generation}\\b`));
    assert.match(text, new RegExp(`now generation ${other.json.generation}\\b`));

    // nothing changed by the page, and what was entered is kept
    assert.equal((await named("site-a")).json.sha256, sha256Of("leaf-deep"));
    assert.equal(await page.getByLabel("Private key", { exact: true })
        .inputValue(), fixture("leaf-c.key"));
    await page.screenshot({ path: path.join(SHOTS, "22-named-conflict.png"),
                            fullPage: true });

    await page.getByRole("button", { name: "Load “site-a” again" }).click();
    await page.locator("#named-form-note")
        .getByText(`It replaces generation ${other.json.generation},`).waitFor();
    assert.ok(await panel.isHidden(), "the warning is gone");

    await page.getByRole("button", { name: "Replace", exact: true }).click();
    await page.locator("#named-msg").getByText("Replaced: “site-a” is live")
        .waitFor();

    const after = (await named("site-a")).json;
    assert.equal(after.sha256, sha256Of("leaf-c"));
    assert.ok(after.generation > other.json.generation);
    assert.match(await (await namedRow(page, "site-a")).innerText(),
                 new RegExp(`\\b${after.generation}\\b`));
    await noKeyLeft(page, "leaf-c");

    await closeContext(o, "23-named-replaced.png");
});


test("q: a name another ID covers gets 409 name_conflict under the certificate, naming that ID; a taken ID is said under the ID", async () => {
    const o = await openNamed();
    const { page } = o;
    o.expected.add(409);
    o.expected.add(412);
    const shop = (await named("shop")).json;

    // leaf-a's names, ECDSA as site-a's
    await page.getByRole("button", { name: "Add a certificate…" }).click();
    await page.getByLabel("ID", { exact: true }).fill("site-b");
    await fillNamed(page, upload("leaf-a"));
    await page.getByRole("button", { name: "Add", exact: true }).click();

    const err = page.locator("#named-certificate-error");
    await err.waitFor({ state: "visible" });
    assert.match(await err.innerText(), /site-a/, "the other ID is named");
    assert.equal(await page.getByLabel("Certificate chain", { exact: true })
        .getAttribute("aria-invalid"), "true");
    assert.equal(await page.evaluate(() => document.activeElement.id),
                 "named-certificate");
    assert.ok(await page.locator("#named-result").isHidden());
    assert.equal((await named("site-b")).status, 404, "nothing was added");
    await page.screenshot({ path: path.join(SHOTS, "24-named-name-conflict.png"),
                            fullPage: true });

    // an ID that is taken: If-None-Match: * gets 412
    await page.getByLabel("ID", { exact: true }).fill("shop");
    await fillNamed(page, upload("leaf-wrong-name"));
    await page.getByRole("button", { name: "Add", exact: true }).click();

    const idErr = page.locator("#named-id-error");
    await idErr.waitFor({ state: "visible" });
    assert.match(await idErr.innerText(), /already a certificate “shop”/);
    assert.ok(await err.isHidden(), "the earlier error is gone");
    assert.equal(await page.evaluate(() => document.activeElement.id),
                 "named-id");
    assert.equal((await named("shop")).json.generation, shop.generation,
                 "shop is unchanged");

    // an ID that cannot be one is said before anything is sent
    let puts = 0;
    page.on("request", (r) => { puts += r.method() === "PUT" ? 1 : 0; });
    await page.getByLabel("ID", { exact: true }).fill("-no");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.locator("#named-id-error").getByText(/cannot be an ID/).waitFor();
    assert.equal(puts, 0, "nothing was sent");

    // closing the form empties it
    await page.getByRole("button", { name: "Close the form" }).click();
    assert.ok(await page.locator("#named-form").isHidden());
    await noKeyLeft(page, "leaf-wrong-name");

    await closeContext(o, "25-named-id-taken.png");
});


test("r: deleting a named certificate asks for confirmation, then removes it from the list", async () => {
    const o = await openNamed();
    const { page } = o;
    const confirm = page.locator("#named-confirm");

    // Keep it changes nothing
    await page.getByRole("button", { name: "Delete shop" }).click();
    await confirm.waitFor({ state: "visible" });
    assert.match(await confirm.innerText(), /Delete “shop” \(other\.example\.net\)\?/);
    assert.equal(await page.evaluate(() => document.activeElement.id),
                 "named-confirm-no", "the safe choice has the focus");
    await page.getByRole("button", { name: "Keep it" }).click();
    await confirm.waitFor({ state: "hidden" });
    assert.equal((await named("shop")).status, 200);

    await page.getByRole("button", { name: "Delete shop" }).click();
    await page.screenshot({ path: path.join(SHOTS, "26-named-delete-confirm.png"),
                            fullPage: true });
    await page.getByRole("button", { name: "Delete it", exact: true }).click();
    await page.locator("#named-msg").getByText("Deleted: “shop”").waitFor();

    assert.ok(!(await namedRows(page)).includes("shop"), "gone from the list");
    const gone = await named("shop");
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error, "not_found");
    assert.ok(!(await namedList()).some((c) => c.id === "shop"));
    assert.deepEqual(await namedRows(page),
                     (await namedList()).map((c) => c.id));

    await closeContext(o, "27-named-deleted.png");
});


test("s: the list is read page by page, following next to its end", async () => {
    const asked = [];
    const o = await openNamed(undefined, API, (c) => c.page.route(
        (url) => url.href.startsWith(`${LIST}?`),
        (route) => {
            // pages of one, to see the page follow "next"
            const url = new URL(route.request().url());
            url.searchParams.set("limit", "1");
            asked.push(url.searchParams.get("after") || "");
            return route.continue({ url: url.href });
        }));
    const ids = (await namedList()).map((c) => c.id);

    assert.ok(ids.length >= 3);
    assert.deepEqual(await namedRows(o.page), ids);
    assert.deepEqual(asked.slice(0, ids.length), ["", ...ids.slice(0, -1)],
                     "each page asked for after the last one's end");

    await closeContext(o);
});


test("t: the page, served at the list's URL, works out the API from its own address", async () => {
    const cur = await current();

    // a browser opening the list's URL gets the page, as at the default's
    const o = await openNamed(undefined, LIST);
    const { page } = o;
    assert.equal(page.url(), LIST);

    assert.ok((await page.locator("#current").innerText()).includes(cur.sha256),
              "the default certificate is shown");
    assert.deepEqual(await namedRows(page),
                     (await namedList()).map((c) => c.id));

    await closeContext(o, "28-named-at-list-url.png");
});


test("u: at an exact location, with no list below it, the page shows the default certificate only", async () => {
    const cur = await current();
    const o = await openConsole(undefined, EXACT);
    const { page } = o;

    // the list was asked for, and its answer handled
    await page.waitForFunction(() =>
        !document.getElementById("named-reload").disabled);
    assert.ok(await page.locator("#named").isHidden());
    assert.ok((await page.locator("#current").innerText()).includes(cur.sha256));

    o.allow.push((p) => (p.url || "").startsWith(`${EXACT}/`)
                        && /status of 404/.test(p.text));
    await closeContext(o, "29-exact-location.png");
});


test("v: on a phone the list of named certificates fits the screen", async () => {
    const o = await openNamed({
        viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
        isMobile: true, hasTouch: true,
    });
    const { page } = o;

    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no horizontal scrolling (${width}px wide)`);
    const box = await page.getByRole("button", { name: "Delete rsa-site" })
        .boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390);

    await closeContext(o, "30-named-phone.png");
});


// The default certificate's history, staged uploads and keys made by the
// server.  These tests build on each other in order too: w deletes the
// named certificates left above (they, not the default, are served for
// console.example.com) and uploads twice, x uses the history w leaves.

async function history() {
    const r = await request(`${API}?history`);
    assert.equal(r.status, 200, "GET ?history answers 200");
    return r.json.history;
}

// The generations of the rows of the history the page shows, in order.
async function historyRows(page) {
    return page.locator("#history-list tr[data-generation]").evaluateAll((rows) =>
        rows.map((r) => Number(r.getAttribute("data-generation"))));
}

// The SHA-256 of a PEM certificate, as the API writes it.
function sha256OfPem(pem) {
    return new X509Certificate(pem).fingerprint256.replace(/:/g, "")
        .toLowerCase();
}

// A time as "Schedule for" takes it in a browser in Asia/Kolkata (UTC+05:30
// all year), and as the API writes it: whole minutes, "ms" from now.
const KOLKATA = { timezoneId: "Asia/Kolkata" };

function kolkata(ms) {
    const at = new Date(Math.floor((Date.now() + ms) / 60000) * 60000);
    return {
        local: new Date(at.getTime() + 330 * 60000).toISOString().slice(0, 16),
        utc: at.toISOString().slice(0, 19) + "Z",
    };
}


test("w: the history lists the versions two uploads replaced; a rollback confirmed on the page serves one again", async () => {
    // the named certificates left by the tests above are served for
    // console.example.com instead of the default: they go first
    for (const c of await namedList()) {
        assert.equal((await named(c.id, "DELETE")).status, 200);
    }

    const start = await current();
    const a = await api("PUT", upload("leaf-a"), { "If-Match": `"${start.generation}"` });
    assert.equal(a.status, 200);
    const b = await api("PUT", upload("leaf-b"), { "If-Match": `"${a.json.generation}"` });
    assert.equal(b.status, 200);

    const kept = await history();
    assert.deepEqual(kept.slice(0, 2).map((v) => [v.generation, v.sha256]),
                     [[a.json.generation, sha256Of("leaf-a")],
                      [start.generation, start.sha256]], "newest first");

    const o = await openConsole();
    const { page } = o;
    const posts = [];
    page.on("request", (r) => {
        if (r.method() === "POST") {
            posts.push({ url: r.url(), ifMatch: r.headers()["if-match"] });
        }
    });

    // every version the server keeps, as it lists them
    await page.locator("#history-list tr[data-generation]").first().waitFor();
    assert.deepEqual(await historyRows(page), kept.map((v) => v.generation));
    assert.match(await page.locator("#history-count").innerText(),
                 new RegExp(`^${kept.length} earlier versions?, newest first`));

    const row = page.locator(`#history-list tr[data-generation="${a.json.generation}"]`);
    const text = await row.innerText();
    assert.ok(text.includes(sha256Of("leaf-a").slice(0, 16)), "the SHA-256, shortened");
    assert.ok(!text.includes(sha256Of("leaf-a")), "not in full");
    assert.ok(text.includes(shownTime(a.json.not_after)), "its expiry");
    assert.match(text, /expires in \d+ days/);
    assert.match(text, /Uploaded/);
    assert.ok(text.includes(shownTime(kept[0].replaced_at)), "when it was replaced");
    const before = page.locator(`#history-list tr[data-generation="${start.generation}"]`);
    assert.match(await before.innerText(),
                 start.source === "self-signed" ? /Self-signed/ : /Uploaded/);
    await page.screenshot({ path: path.join(SHOTS, "31-history.png"),
                            fullPage: true });

    // the confirmation, on the page, says which version
    await page.getByRole("button", { name: `Roll back to generation ${a.json.generation}`,
                                     exact: true }).click();
    const confirm = page.locator("#history-confirm");
    await confirm.waitFor({ state: "visible" });
    assert.match(await confirm.innerText(),
                 new RegExp(`Roll back to generation ${a.json.generation} \\(SHA-256 ${sha256Of("leaf-a").slice(0, 16)}`));
    assert.equal(await page.evaluate(() => document.activeElement.id),
                 "history-confirm-no", "the safe choice has the focus");
    assert.equal(posts.length, 0, "nothing is sent before the confirmation");
    await page.screenshot({ path: path.join(SHOTS, "32-history-confirm.png"),
                            fullPage: true });

    await page.getByRole("button", { name: "Roll back", exact: true }).click();
    const msg = page.locator("#history-msg");
    await msg.getByText(`Rolled back: generation ${a.json.generation} is live again`)
        .waitFor();
    assert.equal(await msg.getAttribute("role"), "status");
    assert.ok((await msg.innerText()).includes(sha256Of("leaf-a")));

    // one POST ?rollback=GEN, with If-Match of the generation shown
    assert.deepEqual(posts, [{ url: `${API}?rollback=${a.json.generation}`,
                               ifMatch: `"${b.json.generation}"` }]);

    const after = await current();
    assert.equal(after.generation, b.json.generation + 1, "a new generation");
    assert.equal(after.sha256, sha256Of("leaf-a"));
    assert.equal(await served(), sha256Of("leaf-a"),
                 "a fresh handshake gets the version rolled back to");

    // the current view and the history follow: leaf-b is now history
    await page.locator("#current").getByText(sha256Of("leaf-a")).waitFor();
    assert.match(await page.locator("#current").innerText(),
                 new RegExp(`Generation\\s+${after.generation}\\b`));
    assert.ok(await confirm.isHidden());
    await page.waitForFunction((g) => document.querySelector(
        "#history-list tr[data-generation]").getAttribute("data-generation") === String(g),
        b.json.generation);
    assert.deepEqual(await historyRows(page), (await history()).map((v) => v.generation));
    assert.match(await row.innerText(), /the one served now/);

    await closeContext(o, "33-history-rolled-back.png");
});


test("x: cancelling the confirmation of a rollback sends nothing and changes nothing", async () => {
    const before = await current();
    const beforeServed = await served();
    const kept = await history();
    const oldest = kept[kept.length - 1];
    const o = await openConsole();
    const { page } = o;
    let posts = 0;
    page.on("request", (r) => { posts += r.method() === "POST" ? 1 : 0; });

    const button = page.getByRole("button", {
        name: `Roll back to generation ${oldest.generation}`, exact: true });
    await button.click();
    const confirm = page.locator("#history-confirm");
    await confirm.waitFor({ state: "visible" });
    assert.match(await confirm.innerText(),
                 new RegExp(`Roll back to generation ${oldest.generation}\\b`));

    await page.getByRole("button", { name: "Keep the current one" }).click();
    await confirm.waitFor({ state: "hidden" });
    assert.equal(await button.evaluate((b) => b === document.activeElement), true,
                 "the focus goes back to the row's button");
    assert.ok(await page.locator("#history-msg").isHidden());

    assert.equal(posts, 0, "nothing was sent");
    const after = await current();
    assert.equal(after.generation, before.generation);
    assert.equal(after.sha256, before.sha256);
    assert.equal(await served(), beforeServed);
    assert.deepEqual((await history()).map((v) => v.generation),
                     kept.map((v) => v.generation));

    await closeContext(o, "34-history-kept.png");
});


test("y: an upload scheduled a minute ahead, in the browser's local time, is shown as scheduled, and Cancel removes it", async () => {
    const before = await current();
    const beforeServed = await served();
    const o = await openConsole(KOLKATA);
    const { page } = o;
    const at = kolkata(120000);

    await fillFields(page, upload("leaf-c"));
    await page.getByLabel("Schedule for").fill(at.local);
    assert.match(await page.locator("#schedule-hint").innerText(),
                 /\(Asia\/(Kolkata|Calcutta), UTC\+05:30\)/, "the time zone is said");
    assert.equal(await page.locator("#schedule-utc").innerText(),
                 `That is ${shownTime(at.utc)}.`, "and the time in UTC");
    await page.getByRole("button", { name: "Save", exact: true }).click();

    const panel = await resultPanel(page);
    await panel.getByText(`Scheduled: it goes live at ${shownTime(at.utc)}`).waitFor();
    assert.ok((await panel.innerText()).includes(sha256Of("leaf-c")));

    // staged for that time, in UTC; nothing served changed
    const mid = await current();
    assert.deepEqual(mid.staged && [mid.staged.activate_at, mid.staged.sha256, mid.staged.refused],
                     [at.utc, sha256Of("leaf-c"), null]);
    assert.equal(mid.generation, before.generation);
    assert.equal(mid.sha256, before.sha256);
    assert.equal(await served(), beforeServed);

    // shown with the current certificate; the form is cleared
    const staged = page.locator("#staged");
    await staged.waitFor({ state: "visible" });
    assert.match(await staged.innerText(), new RegExp(
        `Scheduled: CN=www\\.example\\.com at ${shownTime(at.utc)}`));
    assert.ok((await staged.innerText()).includes(sha256Of("leaf-c")));
    assert.equal(await page.getByLabel("Schedule for").inputValue(), "");
    assert.equal(await page.getByLabel("Key", { exact: true }).inputValue(), "");
    await page.screenshot({ path: path.join(SHOTS, "35-scheduled.png"),
                            fullPage: true });

    // Cancel: DELETE ?staged
    await staged.getByRole("button", { name: "Cancel the scheduled version" }).click();
    await page.locator("#current-msg")
        .getByText(`Cancelled: nothing goes live at ${shownTime(at.utc)}`).waitFor();
    assert.ok(await staged.isHidden());

    const after = await current();
    assert.equal(after.staged, null, "nothing is staged");
    assert.equal(after.generation, before.generation);
    assert.equal(await served(), beforeServed);

    await closeContext(o, "36-schedule-cancelled.png");
});


test("z: an upload scheduled in the past gets the server's message under Schedule for, and nothing is staged", async () => {
    const before = await current();
    const o = await openConsole(KOLKATA);
    const { page } = o;
    o.expected.add(400);

    await fillFields(page, upload("leaf-c"));
    await page.getByLabel("Schedule for").fill(kolkata(-3600000).local);
    await page.getByRole("button", { name: "Save", exact: true }).click();

    const err = page.locator("#schedule-error");
    await err.waitFor({ state: "visible" });
    assert.match(await err.innerText(), /not in the future/);
    const field = page.getByLabel("Schedule for");
    assert.equal(await field.getAttribute("aria-invalid"), "true");
    assert.match(await field.getAttribute("aria-describedby"), /schedule-error/);
    assert.equal(await page.evaluate(() => document.activeElement.id), "schedule");
    assert.match(await page.locator("#busy").innerText(), /^Schedule for: .*not in the future/);
    assert.ok(await page.locator("#result").isHidden(), "no success panel");
    assert.ok(await page.locator("#staged").isHidden());

    const after = await current();
    assert.equal(after.staged, null);
    assert.equal(after.generation, before.generation);

    // what was entered is kept, to be corrected
    assert.equal(await page.getByLabel("Key", { exact: true }).inputValue(),
                 fixture("leaf-c.key"));

    await closeContext(o, "37-schedule-past.png");
});


test("aa: a CSR made on the page is shown with Copy and Download; the certificate signed for it is uploaded without a key", async () => {
    const before = await current();
    const o = await openConsole();
    const { page, context } = o;
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);

    // the zone's names=, console.example.com and 127.0.0.1
    await page.getByLabel("Names", { exact: true })
        .fill("console.example.com,\n127.0.0.1");
    await page.getByLabel("Key type").selectOption("EC P-384");
    await page.getByLabel("Subject").fill("CN=console.example.com, O=Palette Test");
    await page.getByRole("button", { name: "Generate CSR" }).click();

    const box = page.locator("#csr-pending");
    await box.waitFor({ state: "visible" });
    const pem = await page.getByLabel("Certificate signing request (PEM)").inputValue();
    assert.match(pem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
    assert.equal(await page.getByLabel("Certificate signing request (PEM)")
        .getAttribute("readonly"), "");
    const facts = await box.innerText();
    assert.match(facts, /console\.example\.com/);
    assert.match(facts, /127\.0\.0\.1/);
    assert.match(facts, /EC P-384/);
    assert.match(await page.locator("#csr-busy").innerText(), /^Made an EC P-384 key and a CSR/);

    // the request asks for what was given
    const req = execFileSync("openssl", ["req", "-noout", "-subject", "-text"],
                             { input: pem, stdio: ["pipe", "pipe", "pipe"] }).toString();
    assert.match(req, /subject=CN = console\.example\.com, O = Palette Test/);
    assert.match(req, /DNS:console\.example\.com, IP Address:127\.0\.0\.1/);
    assert.match(req, /NIST CURVE: P-384/);

    // the server keeps it; the key field is now optional, and says why
    const pending = (await current()).csr_pending;
    assert.equal(pending.csr, pem);
    assert.equal(pending.key_type, "EC P-384");
    assert.ok(await page.locator("#key-opt").isVisible(), "Key is marked optional");
    assert.match(await page.locator("#key-hint").innerText(),
                 /Leave it empty to use the EC P-384 key this server made/);

    await page.screenshot({ path: path.join(SHOTS, "38-csr.png"), fullPage: true });

    // Copy and Download
    await box.getByRole("button", { name: "Copy", exact: true }).click();
    await page.locator("#csr-copied").getByText("The CSR was copied.").waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), pem);

    const [download] = await Promise.all([
        page.waitForEvent("download"),
        box.getByRole("button", { name: "Download", exact: true }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "console.example.com.csr");
    assert.equal(readFileSync(await download.path(), "utf8"), pem);
    await closeContext(o);

    // a page opened later shows the pending key and its request again
    const o2 = await openConsole();
    const page2 = o2.page;
    await page2.locator("#csr-pending").waitFor({ state: "visible" });
    assert.equal(await page2.getByLabel("Certificate signing request (PEM)")
        .inputValue(), pem);
    assert.match(await page2.locator("#csr-pending").innerText(),
                 new RegExp(shownTime(pending.created)));

    // signed by int-ca, with the names the request asks for
    const leaf = execFileSync("openssl", [
        "x509", "-req", "-CA", path.join(CERTS, "int-ca.crt"),
        "-CAkey", path.join(CERTS, "int-ca.key"), "-days", "30",
        "-copy_extensions", "copy",
    ], { input: pem, stdio: ["pipe", "pipe", "pipe"] }).toString();
    const sha = sha256OfPem(leaf);

    await page2.getByRole("button", { name: "Upload the signed certificate" }).click();
    assert.equal(await page2.evaluate(() => document.activeElement.id), "certificate");
    await fillFields(page2, { certificate: leaf + fixture("int-ca.crt"), key: "",
                              ca: fixture("ca.pem") });
    await page2.getByRole("button", { name: "Save", exact: true }).click();

    const panel = await resultPanel(page2);
    await panel.getByText("Saved: the new certificate is live").waitFor();
    assert.match(await panel.innerText(), /uses the key this server made for the CSR/);

    const after = await current();
    assert.equal(after.generation, before.generation + 1);
    assert.equal(after.sha256, sha);
    assert.equal(after.key_type, "EC P-384");
    assert.equal(after.csr_pending, null, "the pending key is in service now");
    assert.equal(await served(), sha, "a fresh handshake gets it");

    // the notice is gone, and the key is required again
    assert.ok(await page2.locator("#csr-pending").isHidden());
    assert.ok(await page2.locator("#key-opt").isHidden());

    await closeContext(o2, "39-csr-signed-saved.png");
});


test("ab: a CSR whose names leave out one of the zone's gets the server's message under Names, and no key is made", async () => {
    const o = await openConsole();
    const { page } = o;
    o.expected.add(422);
    let posts = 0;
    page.on("request", (r) => { posts += r.method() === "POST" ? 1 : 0; });

    // no names: said at once, nothing is sent
    await page.getByRole("button", { name: "Generate CSR" }).click();
    await page.locator("#csr-names-error").getByText(/Give the names/).waitFor();
    assert.equal(posts, 0, "nothing was sent");

    await page.getByLabel("Names", { exact: true }).fill("console.example.com");
    await page.getByRole("button", { name: "Generate CSR" }).click();

    const err = page.locator("#csr-names-error");
    await err.getByText(/127\.0\.0\.1/).waitFor();
    const names = page.getByLabel("Names", { exact: true });
    assert.equal(await names.getAttribute("aria-invalid"), "true");
    assert.match(await names.getAttribute("aria-describedby"), /csr-names-error/);
    assert.equal(await page.evaluate(() => document.activeElement.id), "csr-names");
    assert.match(await page.locator("#csr-busy").innerText(), /^Names: /);
    assert.ok(await page.locator("#csr-pending").isHidden());

    assert.equal((await current()).csr_pending, null, "no key is pending");

    await closeContext(o, "40-csr-name-mismatch.png");
});
