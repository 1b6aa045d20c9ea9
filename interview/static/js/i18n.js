/**
 * The recorder's messages in the page's language. The server renders the catalogue as a JSON
 * data block (<script type="application/json" id="messages">, never run, so the CSP allows it);
 * English pages carry an empty one and every message falls back to its English text.
 * Placeholders are written %(name)s, as in the server's catalogues (pybabel checks them).
 */

const block = document.getElementById("messages");
let data = {};
try {
  data = block ? JSON.parse(block.textContent) : {};
} catch {
  data = {};
}
const catalog = data.messages || {};
export const language = data.lang || document.documentElement.lang || "en";
// The catalogue's plural forms are in the order of the language's CLDR categories (the server
// sends them: ["one", "many", "other"] for Spanish); Intl.PluralRules says which one `n` takes.
const rules = new Intl.PluralRules(language);
const categories = data.plurals || ["one", "other"];

function fill(text, params) {
  return text.replace(/%\((\w+)\)s/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** `msgid` in the page's language, with %(name)s placeholders filled from `params`. */
export function gettext(msgid, params = {}) {
  const text = catalog[msgid];
  return fill(typeof text === "string" && text ? text : msgid, params);
}

/** The form for `n`; %(num)s is `n` itself (formatted for the language). */
export function ngettext(singular, plural, n, params = {}) {
  const forms = catalog[singular];
  const found = categories.indexOf(rules.select(n));
  const index = found === -1 ? categories.length - 1 : found;
  const fallback = n === 1 ? singular : plural;
  const text = Array.isArray(forms) && forms[index] ? forms[index] : fallback;
  return fill(text, { num: new Intl.NumberFormat(language).format(n), ...params });
}

export const _ = gettext;
