// The console page in a real browser, as a new admin would use it.
//
// Run by scripts/test-browser.sh, which starts nginx and passes, in the
// environment: PALETTE_ADMIN_URL (the API location, behind auth_basic),
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
    const res = await fetch(API, {
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
        return !(m && (p.url || "").split("?")[0] === API
                 && o.expected.has(Number(m[1])))
            && !o.allow.some((f) => f(p));
    }).map((p) => `${p.text} (${p.url || "no url"})`);
}

async function openConsole(options) {
    const o = await openContext(options);
    const res = await o.page.goto(API);

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
                  "ca", "ca-file", "check", "save"];
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
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
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

    for (const id of ["certificate", "key", "ca", "save", "check"]) {
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
