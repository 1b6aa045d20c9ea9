// Times marked <time datetime="…" data-local-time> are shown in the reader's own time zone,
// with the zone named ("Tuesday 1 December 2026 at 14:00 Argentina Standard Time"). The server
// rendered them in the organisation's zone, which is what a reader without script sees.
const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZoneName: "long",
});

for (const element of document.querySelectorAll("time[data-local-time]")) {
  const moment = new Date(element.getAttribute("datetime"));
  if (Number.isNaN(moment.getTime())) continue;
  element.title = element.textContent; // the organisation's time stays one hover away
  element.textContent = format.format(moment);
}
