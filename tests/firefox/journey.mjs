// A candidate's whole interview in Debian's Firefox ESR, driven through WebDriver BiDi by
// puppeteer-core (no browser download): consent, device check, each question recorded with
// Firefox's own MediaRecorder (fake camera and microphone from Firefox's preferences), kept,
// submitted. Prints one JSON line: what was recorded, for the Python test to check.
//
//   node journey.mjs BASE_URL TOKEN SECONDS_PER_ANSWER
import puppeteer from "puppeteer-core";

const [base, token, seconds = "2"] = process.argv.slice(2);
const FIREFOX = process.env.FIREFOX || "/usr/bin/firefox-esr";
const STEP_TIMEOUT = 90_000; // generous: CI machines can be busy

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: FIREFOX,
  headless: true,
  protocolTimeout: 180_000,
  extraPrefsFirefox: {
    "media.navigator.streams.fake": true, // a test pattern and a tone instead of real devices
    "media.navigator.permission.disabled": true, // as if the person allowed the camera
  },
});
const log = [];
const page = await browser.newPage();
try {
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("console", (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  const visible = (selector) => page.waitForSelector(selector, { visible: true });

  await page.goto(`${base}/i/${token}`);
  await page.click("input[type=checkbox][name=consent]");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit].btn-primary")]);

  await visible("#devicecheck");
  if (!(await page.$eval("#dc-live", (el) => !el.hidden && el.offsetParent !== null))) {
    await page.click("#dc-start");
  }
  await visible("#dc-live");
  // A person touches the page (Firefox lets audio run only after an interaction).
  await page.click("#dc-title");
  // The fake microphone plays a tone: the level meter moves before the person goes on.
  await page.waitForFunction(
    () => Number(document.querySelector("#dc-level")?.dataset.level || 0) > 0.01,
  );
  await page.waitForSelector("#dc-continue:not([disabled])", { visible: true });
  await page.click("#dc-continue");

  const questions = [];
  while (true) {
    await visible("#question");
    await visible("#q-before");
    questions.push(await page.$eval("#q-progress", (el) => el.textContent.trim()));
    // Locators wait for the element to be visible, enabled and still, and find it again if
    // it is replaced in between: the page swaps in a fresh copy of a button whenever it gives
    // the button a new action (interview.js onClick), which detached the one found before.
    await page.locator("#q-reveal").click();
    await visible("#q-prompt-box");
    await page.locator("#q-start").click();
    await visible("#q-recording");
    await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
    await page.locator("#q-stop").click();
    await page.waitForSelector("#q-save[data-phase=saved]", { timeout: 180_000 });
    await Promise.all([
      page.waitForFunction(
        (before) => location.pathname.endsWith("/review")
          || document.querySelector("#q-progress")?.textContent.trim() !== before,
        {},
        questions[questions.length - 1],
      ),
      page.locator("#q-keep:not([disabled])").click(),
    ]);
    // The last keep goes on to the review page, any other to the next question. The first
    // sign of change above can come before either (the progress line changes as the page
    // leaves): wait for where it lands before deciding, or the loop waits for a question on
    // the review page.
    await page.waitForFunction(
      (before) => location.pathname.endsWith("/review")
        || (document.querySelector("#q-before")?.offsetParent != null
          && document.querySelector("#q-progress")?.textContent.trim() !== before),
      { timeout: 60_000 },
      questions[questions.length - 1],
    );
    if (new URL(page.url()).pathname.endsWith("/review")) break;
  }
  const takes = await page.evaluate(() => window.__interviewDebug?.takes || {});
  const submit = "form button[type=submit].btn-primary:not([disabled])";
  await page.waitForSelector(submit, { timeout: 180_000 });
  await Promise.all([page.waitForNavigation(), page.click(submit)]);
  const done = new URL(page.url()).pathname.endsWith("/done");
  const userAgent = await page.evaluate(() => navigator.userAgent);
  console.log(JSON.stringify({ ok: done, questions, takes, userAgent, log }));
} catch (error) {
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  console.log(JSON.stringify({ ok: false, error: String(error && error.stack || error), log }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
